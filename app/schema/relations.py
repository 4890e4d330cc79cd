"""Resolving relations that a payload may or may not embed: embedded wins, otherwise load."""

from __future__ import annotations

from app.bifrost import models
from app.schema.context import Info

__all__ = ["budgets_of", "rate_limit_of"]


async def budgets_of(root: models.WithBudgets, info: Info) -> list[models.Budget]:
    """The owner's budgets: embedded ones, else the one referenced by ``budget_id`` from the budget list."""
    if root.has_budgets_loaded:
        return root.all_budgets
    assert root.budget_id is not None  # has_budgets_loaded is only False with an id
    budget = await info.context.loaders.budget.load(root.budget_id)
    return [budget] if budget is not None else []


async def rate_limit_of(
    root: models.Team | models.Customer | models.VirtualKey | models.ProviderConfig, info: Info
) -> models.RateLimit | None:
    """The owner's rate limit: embedded, else loaded by ``rate_limit_id`` from the rate-limit list."""
    if root.rate_limit is not None or root.rate_limit_id is None:
        return root.rate_limit
    return await info.context.loaders.rate_limit.load(root.rate_limit_id)
