"""The upstream bodies of the model-config writes: only what the input mentions (never a scope on update)."""

from __future__ import annotations

from typing import Any

from app.schema.budgets.inputs import BudgetInput
from app.schema.changes import list_change
from app.schema.model_configs.inputs import CreateModelConfigInput, ModelRateLimitRuleInput, UpdateModelConfigInput
from app.schema.rate_limits.types import RateLimitMetric

__all__ = ["create_model_config_body", "update_model_config_body"]


def _rule(rule: ModelRateLimitRuleInput) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metric": "tokens" if rule.metric is RateLimitMetric.TOKENS else "requests",
        "max_limit": rule.max_limit,
        "reset_duration": rule.reset_duration,
    }
    if rule.id is not None:
        body["id"] = rule.id
    return body


def _budgets(budgets: list[BudgetInput]) -> list[dict[str, Any]]:
    return [budget.to_bifrost() for budget in budgets]


def create_model_config_body(data: CreateModelConfigInput) -> dict[str, Any]:
    """The POST body.

    Example:
        >>> create_model_config_body(CreateModelConfigInput(model_name="gpt-4o"))
        {'model_name': 'gpt-4o', 'scope': 'global'}
    """
    body: dict[str, Any] = {"model_name": data.model_name, "scope": data.scope.value}
    if data.provider is not None:
        body["provider"] = data.provider
    if data.scope_id is not None:
        body["scope_id"] = data.scope_id
    if data.budgets:
        body["budgets"] = _budgets(data.budgets)
    if data.rate_limit is not None:
        body["rate_limit"] = data.rate_limit.to_bifrost()
    if data.rate_limits:
        body["rate_limits"] = [_rule(rule) for rule in data.rate_limits]
    return body


def update_model_config_body(data: UpdateModelConfigInput) -> dict[str, Any]:
    """The PUT body: a list left out stays as it is, ``[]`` (or null) removes every item, a null rate limit is
    sent as ``{}`` (Bifrost removes a rate limit whose fields are all null)."""
    body: dict[str, Any] = {}
    if data.model_name is not None:
        body["model_name"] = data.model_name.value
    if data.provider is not None:
        body["provider"] = data.provider.value
    budgets = list_change(data.budgets)
    if budgets is not None:
        body["budgets"] = _budgets(budgets)
    if data.rate_limit is not None:
        body["rate_limit"] = data.rate_limit.value.to_bifrost() if data.rate_limit.value is not None else {}
    rules = list_change(data.rate_limits)
    if rules is not None:
        body["rate_limits"] = [_rule(rule) for rule in rules]
    return body
