"""Reading back a create whose earlier attempt may have happened (an idempotent retry after an unknown outcome).

When a create's answer was lost (``UPSTREAM_OUTCOME_UNKNOWN``) and the client retries with the same
``Idempotency-Key``, the mutation first looks for the entity by exact name and answers with it instead of
writing a second one. Team and virtual-key names are unique in Bifrost, so a match is the one. Customer names
are not: only a customer created since the first attempt counts (Bifrost's clock may differ from ours by up to
``CLOCK_ALLOWANCE``), the newest first.

Example:
    >>> # team = await existing_team(context.bifrost, "platform")  -> the team, or None: write it
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from app.bifrost import BifrostSession, models

__all__ = ["CLOCK_ALLOWANCE", "existing_customer", "existing_team", "existing_virtual_key"]

CLOCK_ALLOWANCE = 300.0  # seconds
_PAGE = 100
_MAX_PAGES = 10  # a name that is a substring of a thousand others is searched no further

E = TypeVar("E", models.Team, models.Customer, models.VirtualKey)


async def existing_team(bifrost: BifrostSession, name: str) -> models.Team | None:
    """The team named exactly ``name``, if Bifrost has one."""

    async def page(params: dict[str, Any]) -> Sequence[models.Team]:
        return (await bifrost.list_teams(params)).teams

    found = await _named(page, name)
    return found[0] if found else None


async def existing_virtual_key(bifrost: BifrostSession, name: str) -> models.VirtualKey | None:
    """The virtual key named exactly ``name``, if Bifrost has one."""

    async def page(params: dict[str, Any]) -> Sequence[models.VirtualKey]:
        return (await bifrost.list_virtual_keys(params)).virtual_keys

    found = await _named(page, name)
    return found[0] if found else None


async def existing_customer(bifrost: BifrostSession, name: str, since: float) -> models.Customer | None:
    """The newest customer named exactly ``name`` created since ``since`` (epoch seconds, less the allowance)."""

    async def page(params: dict[str, Any]) -> Sequence[models.Customer]:
        return (await bifrost.list_customers(params)).customers

    earliest = since - CLOCK_ALLOWANCE
    recent = [c for c in await _named(page, name) if _epoch(c.created_at) >= earliest]
    return max(recent, key=lambda c: _epoch(c.created_at)) if recent else None


async def _named(page: Callable[[dict[str, Any]], Awaitable[Sequence[E]]], name: str) -> list[E]:
    # ``search`` is a case-insensitive substring match: keep exact names only, over every page.
    found: list[E] = []
    for number in range(_MAX_PAGES):
        items = await page({"search": name, "limit": _PAGE, "offset": number * _PAGE})
        found += [item for item in items if item.name == name]
        if len(items) < _PAGE:
            break
    return found


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()
