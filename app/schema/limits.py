"""Limits on what one GraphQL document may ask for, enforced before anything runs.

The validation rules are built once per process and a document is validated once (the executor's
cache), so a limit costs nothing on repeated documents. The cost limit is checked per request (variables
can change the price, ``app.schema.cost``), against a price looked up, not recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import ASTValidationRule, FieldNode, GraphQLError, ValidationContext, ValidationRule
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

__all__ = ["QUERY_TOO_COMPLEX", "Limits", "OneLoginPerDocument", "limit_code", "limit_rules", "too_complex"]

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"


@dataclass(frozen=True)
class Limits:
    """What one document may ask for."""

    max_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2000
    introspection: bool = True
    max_cost: int = 50_000


def limit_rules(limits: Limits) -> list[type[ASTValidationRule]]:
    """Validation rules enforcing ``limits`` (the token limit applies at parse time)."""
    rules: list[type[ASTValidationRule]] = [
        depth_validator(limits.max_depth, should_ignore=None),
        alias_validator(limits.max_aliases),
        OneLoginPerDocument,
    ]
    if not limits.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return rules


class OneLoginPerDocument(ValidationRule):
    """At most one ``login`` field in a document (``TOO_MANY_LOGINS``): aliases must not multiply password
    guesses past the per-attempt limiter."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.logins = 0

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        schema = self.context.schema
        if node.name.value == "login" and self.context.get_parent_type() is schema.mutation_type:
            self.logins += 1
            if self.logins == 2:
                self.report_error(
                    GraphQLError(
                        "A document may hold at most one login field.",
                        node,
                        extensions={"code": "TOO_MANY_LOGINS"},
                    )
                )


def too_complex(cost: int, max_cost: int) -> GraphQLError:
    """The request error refusing an operation priced above ``max_cost`` (both numbers in ``extensions``)."""
    return GraphQLError(
        f"The query costs {cost}, more than the {max_cost} one request may cost.",
        extensions={"code": QUERY_TOO_COMPLEX, "cost": cost, "maxCost": max_cost},
    )


# graphql-core and Strawberry report these without a code; the texts are theirs.
_LIMIT_MESSAGES = (
    ("exceeds maximum operation depth", "QUERY_TOO_DEEP"),
    ("aliases found. Allowed:", "TOO_MANY_ALIASES"),
    ("Document contains more than", "TOO_MANY_TOKENS"),
    ("introspection has been disabled", "INTROSPECTION_DISABLED"),
)


def limit_code(error: GraphQLError) -> str | None:
    """The code of a limit rejection, or None when the error is not one."""
    return next((code for text, code in _LIMIT_MESSAGES if text in error.message), None)
