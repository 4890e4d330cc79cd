"""Request errors that name only what the client sent: the production answer to a wrong document.

With introspection off, the schema must not be learnable from error messages either. graphql-core's
``hide_suggestions`` drops its "Did you mean ...?" texts; that is not enough, because the messages also
name things the client never wrote: ``Argument 'Query.team(id:)' of type 'ID!' is required``,
``Value 'NAMEE' does not exist in 'VirtualKeySort' enum``, ``Expected value of type 'CreateTeamInput' to
include required field 'name'``. Here every quoted name in a request error (validation, or variable
coercion at execution) that the client did not send itself, in the document or its variables, is
replaced by ``'<hidden>'``, and any suggestion sentence left by a rule that ignores the switch is cut.
Built-in scalars and the root type names stay: they are the same in every schema.

What the client sent is any name-shaped word of the document or variables, comments included: a
caller can always confirm a name it guesses by using it, so this hides nothing a guess could not find
and reveals nothing a guess did not already name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson
from graphql import GraphQLError

__all__ = ["HIDDEN", "conceal", "names_in", "names_in_variables"]

HIDDEN = "'<hidden>'"
_QUOTED = re.compile(r"'([^'\s]*)'")
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
_SUGGESTION = re.compile(r"\s*Did you mean\b[^?]*\?")
_BUILT_IN = frozenset({"String", "Int", "Float", "Boolean", "ID", "Query", "Mutation", "Subscription"})


def names_in(text: str) -> frozenset[str]:
    """Every name-shaped word of ``text``.

    Example:
        >>> sorted(names_in('{ team(idd: "x") { id } }'))
        ['id', 'idd', 'team', 'x']
    """
    return frozenset(_NAME.findall(text))


def names_in_variables(variables: dict[str, Any] | None) -> frozenset[str]:
    """Every name-shaped word of the variables' keys and values."""
    if not variables:
        return frozenset()
    try:
        return names_in(orjson.dumps(variables).decode())
    except TypeError:
        return frozenset()


def _concealed_message(message: str, sent: frozenset[str]) -> str:
    def keep_or_hide(match: re.Match[str]) -> str:
        names = _NAME.findall(match.group(1))
        return match.group(0) if all(name in sent or name in _BUILT_IN for name in names) else HIDDEN

    return _QUOTED.sub(keep_or_hide, _SUGGESTION.sub("", message))


def conceal(errors: Iterable[GraphQLError], sent: frozenset[str]) -> list[GraphQLError]:
    """The errors with every name the client did not send hidden and no suggestion left.

    Example:
        >>> error = GraphQLError("Unknown argument 'idd' on field 'Query.team'. Did you mean 'id'?")
        >>> conceal([error], names_in('{ team(idd: "x") { id } }'))[0].message
        "Unknown argument 'idd' on field 'Query.team'."
    """
    concealed: list[GraphQLError] = []
    for error in errors:
        message = _concealed_message(error.message, sent)
        if message == error.message:
            concealed.append(error)
            continue
        concealed.append(
            GraphQLError(
                message,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                original_error=error.original_error,
                extensions=error.extensions,
            )
        )
    return concealed
