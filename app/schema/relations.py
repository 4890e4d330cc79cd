"""Resolving relations that a payload may or may not embed: embedded wins, otherwise load."""

from __future__ import annotations

from app.bifrost import models
from app.schema.context import Info

__all__ = ["budgets_of", "rate_limit_of"]


async def budgets_of(root: models.WithBudgets, info: Info) -> list[models.Budget]:
    """The owner's budgets: embedded ones, else loaded (a team by id, others from the budget list)."""
    if root.has_budgets_loaded:
        return root.all_budgets
    if isinstance(root, models.Team):
        team = await info.context.loaders.team.load(root.id)
        return team.all_budgets if team is not None else []
    if isinstance(root, models.Customer):
        customer = await info.context.loaders.customer.load(root.id)
        if customer is not None and customer.has_budgets_loaded:
            return customer.all_budgets
    if root.budget_id is None:
        return []
    budget = await info.context.loaders.budget.load(root.budget_id)
    return [budget] if budget is not None else []


async def rate_limit_of(
    root: models.Team | models.Customer | models.VirtualKey | models.ProviderConfig, info: Info
) -> models.RateLimit | None:
    """The owner's rate limit: embedded, else loaded by ``rate_limit_id`` from the rate-limit list."""
    if root.rate_limit is not None or root.rate_limit_id is None:
        return root.rate_limit
    if isinstance(root, models.Customer):
        # The full customer is usually loaded anyway (for its teams): one GET serves both.
        customer = await info.context.loaders.customer.load(root.id)
        if customer is not None and customer.rate_limit is not None:
            return customer.rate_limit
    return await info.context.loaders.rate_limit.load(root.rate_limit_id)
