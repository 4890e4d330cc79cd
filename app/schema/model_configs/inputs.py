"""Inputs of the model-config mutations and their checks, made before anything is sent.

Bifrost's rules: a model name; a scope other than GLOBAL needs the key's or user's id; ``rateLimit`` and
``rateLimits`` not both; each rule a metric, a max limit above 0 and a positive window, no two rules with the same
metric and window; rule ids only on update. On update a list left out is unchanged and ``[]`` (or null) removes
every item; the scope cannot change.
"""

from __future__ import annotations

import strawberry

from app.schema.budgets.inputs import BudgetInput, check_budgets
from app.schema.changes import check_not_null, list_change
from app.schema.checks import check_id, invalid
from app.schema.durations import is_valid_reset_duration
from app.schema.errors import UserError
from app.schema.model_configs.types import ModelConfigScope
from app.schema.names import check_name
from app.schema.rate_limits.inputs import RateLimitInput, check_rate_limit
from app.schema.rate_limits.types import RateLimitMetric
from app.schema.scalars import Int64

__all__ = ["CreateModelConfigInput", "ModelRateLimitRuleInput", "UpdateModelConfigInput"]


@strawberry.input(description="A rate-limit rule: at most `maxLimit` of `metric` per `resetDuration`.")
class ModelRateLimitRuleInput:
    id: strawberry.ID | None = strawberry.field(
        default=None, description="An existing rule of the config, to keep its usage (updates only)."
    )
    metric: RateLimitMetric
    max_limit: Int64 = strawberry.field(description="Greater than 0.")
    reset_duration: str = strawberry.field(description="`30s`, `5m`, `1h`, `1d`, `1w`, `1M`.")


def _check_rules(rules: list[ModelRateLimitRuleInput], *, ids_allowed: bool) -> list[UserError]:
    errors: list[UserError] = []
    seen: set[tuple[RateLimitMetric, str]] = set()
    for index, rule in enumerate(rules):
        at = ["input", "rateLimits", str(index)]
        if rule.id is not None:
            if not ids_allowed:
                errors.append(invalid([*at, "id"], "a new model config's rules have no id"))
            else:
                errors += check_id(rule.id, [*at, "id"])
        if rule.max_limit <= 0:
            errors.append(invalid([*at, "maxLimit"], "maxLimit must be greater than 0"))
        if not is_valid_reset_duration(rule.reset_duration):
            errors.append(invalid([*at, "resetDuration"], f"resetDuration {rule.reset_duration[:64]!r} is not valid"))
        elif (rule.metric, rule.reset_duration) in seen:
            errors.append(invalid([*at, "resetDuration"], "two rules with the same metric and resetDuration"))
        seen.add((rule.metric, rule.reset_duration))
    return errors


def _check_scope(scope: ModelConfigScope, scope_id: str | None) -> list[UserError]:
    if scope is ModelConfigScope.GLOBAL:
        return [invalid(["input", "scopeId"], "a GLOBAL model config has no scopeId")] if scope_id is not None else []
    if scope_id is None:
        return [invalid(["input", "scopeId"], "scopeId is required when scope is not GLOBAL")]
    return check_id(scope_id, ["input", "scopeId"])


@strawberry.input(description="A new model config. Give `rateLimit` or `rateLimits`, not both.")
class CreateModelConfigInput:
    model_name: str = strawberry.field(description="The model, or `*` for every model.")
    provider: str | None = strawberry.field(default=None, description="Only this provider's calls; null: any.")
    scope: ModelConfigScope = ModelConfigScope.GLOBAL
    scope_id: strawberry.ID | None = strawberry.field(
        default=None, description="The virtual key's or user's id; required unless scope is GLOBAL."
    )
    budgets: list[BudgetInput] | None = None
    rate_limit: RateLimitInput | None = None
    rate_limits: list[ModelRateLimitRuleInput] | None = None

    def check(self) -> list[UserError]:
        """Every problem that can be found without asking Bifrost."""
        errors = check_name(self.model_name, ["input", "modelName"])
        if self.provider is not None:
            errors += check_name(self.provider, ["input", "provider"])
        errors += _check_scope(self.scope, self.scope_id)
        errors += check_budgets([(["input", "budgets", str(i)], b) for i, b in enumerate(self.budgets or [])])
        if self.rate_limit is not None:
            errors += check_rate_limit(self.rate_limit, ["input", "rateLimit"])
            if self.rate_limits:
                errors.append(invalid(["input", "rateLimits"], "give rateLimit or rateLimits, not both"))
        errors += _check_rules(self.rate_limits or [], ids_allowed=False)
        return errors


@strawberry.input(description="Changes to a model config. Fields left out are unchanged; the scope cannot change.")
class UpdateModelConfigInput:
    model_name: strawberry.Maybe[str | None] = strawberry.field(description="A new model name; null is refused.")
    provider: strawberry.Maybe[str | None] = strawberry.field(description="A new provider; null is refused.")
    scope: strawberry.Maybe[ModelConfigScope | None] = strawberry.field(
        description="Accepted only when it is the config's scope already: a config's scope cannot change (delete "
        "it and create another)."
    )
    scope_id: strawberry.Maybe[strawberry.ID | None] = strawberry.field(
        description="Accepted only when it is the config's scopeId already."
    )
    budgets: strawberry.Maybe[list[BudgetInput] | None] = strawberry.field(
        description="The full desired set; `[]` or null removes every budget."
    )
    rate_limit: strawberry.Maybe[RateLimitInput | None] = strawberry.field(
        description="Replaces the rate limit; null removes it."
    )
    rate_limits: strawberry.Maybe[list[ModelRateLimitRuleInput] | None] = strawberry.field(
        description="The full desired set of rules (rules with an `id` keep their usage when metric and window stay); "
        "`[]` or null removes every rule."
    )

    def names_scope(self) -> bool:
        """Whether the input mentions the scope (then it must be the config's own)."""
        return self.scope is not None or self.scope_id is not None

    def check(self) -> list[UserError]:
        """Every problem that can be found without asking Bifrost."""
        errors = check_not_null(self.model_name, ["input", "modelName"])
        errors += check_not_null(self.provider, ["input", "provider"])
        errors += check_not_null(self.scope, ["input", "scope"])
        if self.model_name is not None and self.model_name.value is not None:
            errors += check_name(self.model_name.value, ["input", "modelName"])
        if self.provider is not None and self.provider.value is not None:
            errors += check_name(self.provider.value, ["input", "provider"])
        if self.scope_id is not None and self.scope_id.value is not None:
            errors += check_id(self.scope_id.value, ["input", "scopeId"])
        budgets = list_change(self.budgets)
        errors += check_budgets([(["input", "budgets", str(i)], b) for i, b in enumerate(budgets or [])])
        rules = list_change(self.rate_limits)
        if self.rate_limit is not None and self.rate_limit.value is not None:
            errors += check_rate_limit(self.rate_limit.value, ["input", "rateLimit"])
            if rules:
                errors.append(invalid(["input", "rateLimits"], "give rateLimit or rateLimits, not both"))
        errors += _check_rules(rules or [], ids_allowed=True)
        return errors

    def check_scope_kept(self, scope: str, scope_id: str | None) -> list[UserError]:
        """Errors when the input names a scope other than the config's (``scope``, ``scope_id``)."""
        errors: list[UserError] = []
        if self.scope is not None and self.scope.value is not None and self.scope.value.value != scope:
            errors.append(invalid(["input", "scope"], "a model config's scope cannot change"))
        if self.scope_id is not None and self.scope_id.value != scope_id:
            errors.append(invalid(["input", "scopeId"], "a model config's scopeId cannot change"))
        return errors
