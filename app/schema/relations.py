"""Resolving relations that a payload may or may not embed: embedded wins, otherwise load.

Resolvers are plain functions that return the value when the payload embeds it and an awaitable only
when something must be loaded. graphql-core awaits what needs awaiting; everything else completes
synchronously, which matters for dashboards where thousands of embedded fields would otherwise each
become a coroutine and a task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeAlias, TypeVar, Union

from app.bifrost import models
from app.schema.context import Info

__all__ = [
    "MaybeAwaitable",
    "budget_id_of",
    "budgets_of",
    "customer_of",
    "customer_part",
    "customer_virtual_key_count",
    "first_budget",
    "rate_limit_of",
    "team_of",
    "team_virtual_keys",
]

T = TypeVar("T")
U = TypeVar("U")
MaybeAwaitable: TypeAlias = Union[T, Awaitable[T]]  # noqa: UP007 (a generic alias needs Union)


def then(awaitable: Awaitable[T], function: Callable[[T], U]) -> asyncio.Future[U]:
    """``function`` applied to a loader's future (or any awaitable), as a future.

    Unlike a coroutine, this asks the loader now, while the rest of the list is being resolved, so the
    load joins the same batch (and the same round trip) as its siblings.
    """
    future = asyncio.ensure_future(awaitable)
    result: asyncio.Future[U] = future.get_loop().create_future()

    def settle(done: asyncio.Future[T]) -> None:
        if result.cancelled():
            return
        if done.cancelled():
            result.cancel()
        elif (error := done.exception()) is not None:
            result.set_exception(error)
        else:
            result.set_result(function(done.result()))

    future.add_done_callback(settle)
    return result


def budgets_of(root: models.WithBudgets, info: Info) -> MaybeAwaitable[list[models.Budget]]:
    """The owner's budgets: embedded ones, else loaded (a team by id, others from the budget list)."""
    if root.has_budgets_loaded:
        return root.all_budgets
    if isinstance(root, models.TeamCore):
        return then(info.context.loaders.team.load(root.id), lambda team: team.all_budgets if team else [])
    return _load_budgets(root, info)


async def _load_budgets(root: models.WithBudgets, info: Info) -> list[models.Budget]:
    if isinstance(root, models.Customer):
        customer = await info.context.loaders.customer.load(root.id)
        if customer is not None and customer.has_budgets_loaded:
            return customer.all_budgets
    if root.budget_id is None:
        return []
    budget = await info.context.loaders.budget.load(root.budget_id)
    return [budget] if budget is not None else []


def first_budget(root: models.WithBudgets, info: Info) -> MaybeAwaitable[models.Budget | None]:
    """The only or first budget."""
    budgets = budgets_of(root, info)
    if isinstance(budgets, list):
        return budgets[0] if budgets else None
    return then(budgets, lambda found: found[0] if found else None)


def budget_id_of(root: models.Customer, info: Info) -> MaybeAwaitable[str | None]:
    """``budget_id`` where the payload has one, else the first budget's id (v2 has ``budgets`` and no ``budget_id``)."""
    if root.budget_id is not None:
        return root.budget_id
    budget = first_budget(root, info)
    if budget is None or isinstance(budget, models.Budget):
        return budget.id if budget is not None else None
    return then(budget, lambda found: found.id if found is not None else None)


def customer_virtual_key_count(root: models.Customer, info: Info) -> MaybeAwaitable[int | None]:
    """How many customer-scoped keys the customer has: from its payload, else from its GET (a partial customer)."""
    count = root.own_virtual_key_count
    if count is not None:
        return count
    return then(info.context.loaders.customer.load(root.id), lambda full: full.own_virtual_key_count if full else None)


def rate_limit_of(
    root: models.Team | models.Customer | models.VirtualKey | models.ProviderConfig, info: Info
) -> MaybeAwaitable[models.RateLimit | None]:
    """The owner's rate limit: embedded, else loaded."""
    if root.rate_limit is not None or root.rate_limit_id is None:
        return root.rate_limit
    return _load_rate_limit(root, info, root.rate_limit_id)


async def _load_rate_limit(
    root: models.Team | models.Customer | models.VirtualKey | models.ProviderConfig, info: Info, rate_limit_id: str
) -> models.RateLimit | None:
    if isinstance(root, models.Customer):
        # The full customer is usually loaded anyway (for its teams): one GET serves both.
        customer = await info.context.loaders.customer.load(root.id)
        if customer is not None and customer.rate_limit is not None:
            return customer.rate_limit
    return await info.context.loaders.rate_limit.load(rate_limit_id)


def customer_of(root: models.Team | models.VirtualKey, info: Info) -> MaybeAwaitable[models.Customer | None]:
    """The embedded customer, else the one ``customer_id`` names (null when there is none)."""
    if root.customer is not None or root.customer_id is None:
        return root.customer
    return info.context.loaders.customer.load(root.customer_id)


def team_of(root: models.VirtualKey, info: Info) -> MaybeAwaitable[models.Team | None]:
    """The embedded team, else the one ``team_id`` names."""
    if root.team is not None or root.team_id is None:
        return root.team
    return info.context.loaders.team.load(root.team_id)


def team_virtual_keys(root: models.Team, info: Info) -> MaybeAwaitable[list[models.VirtualKey]]:
    """A team's keys: Bifrost's team endpoints never embed them, so they are loaded."""
    if root.virtual_keys is not None:
        return root.virtual_keys
    loaders = info.context.loaders
    known = loaders.team_keys(root.id)
    if known is not None:
        return known  # fetched beside the team page: no future, nothing to wait for
    return loaders.virtual_keys_by_team.load(root.id)


def customer_part(root: models.Customer, info: Info, part: str) -> MaybeAwaitable[list[object]]:
    """A customer's ``teams`` or ``virtual_keys``: embedded, else from the full customer (one GET)."""
    embedded = getattr(root, part)
    if embedded is not None:
        return list(embedded)
    return then(info.context.loaders.customer.load(root.id), lambda full: list(getattr(full, part) or []))
