"""Teams, customers and virtual keys by exact name.

Bifrost has no exact-name lookup, only ``search``: a case-insensitive substring match over pages of at most
100. Every page of it is read and only exact names are kept, so that many similar names (``pad-001-x``,
``pad-002-x`` ... before ``x``) cannot hide the one asked for. Reading stops at the last page, or when the
upstream does not page as asked (it would answer the same rows again).

Example:
    >>> # [team.id for team in await teams_named(bifrost, "platform")]  -> at most one: team names are unique
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from app.bifrost import BifrostSession, models

__all__ = ["customers_named", "teams_named", "virtual_keys_named"]

_PAGE = 100  # Bifrost's largest page
_MAX_PAGES = 1000  # a last ceiling (100,000 similar names) against an upstream that pages forever

E = TypeVar("E", models.Team, models.Customer, models.VirtualKey)
Read = Callable[[dict[str, Any]], Awaitable[tuple[models.Page, Sequence[E]]]]


async def teams_named(bifrost: BifrostSession, name: str) -> list[models.Team]:
    """Every team named exactly ``name`` (one at most: Bifrost keeps team names unique)."""

    async def read(params: dict[str, Any]) -> tuple[models.Page, Sequence[models.Team]]:
        page = await bifrost.list_teams(params)
        return page, page.teams

    return await _named(read, name)


async def virtual_keys_named(bifrost: BifrostSession, name: str) -> list[models.VirtualKey]:
    """Every virtual key named exactly ``name`` (one at most: Bifrost keeps key names unique)."""

    async def read(params: dict[str, Any]) -> tuple[models.Page, Sequence[models.VirtualKey]]:
        page = await bifrost.list_virtual_keys(params)
        return page, page.virtual_keys

    return await _named(read, name)


async def customers_named(bifrost: BifrostSession, name: str) -> list[models.Customer]:
    """Every customer named exactly ``name`` (customer names need not be unique)."""

    async def read(params: dict[str, Any]) -> tuple[models.Page, Sequence[models.Customer]]:
        page = await bifrost.list_customers(params)
        return page, page.customers

    return await _named(read, name)


async def _named(read: Read[E], name: str) -> list[E]:
    found: list[E] = []
    offset = 0
    for _ in range(_MAX_PAGES):
        page, items = await read({"search": name, "limit": _PAGE, "offset": offset})
        found += [item for item in items if item.name == name]
        if page.offset != offset:
            break  # the upstream did not page as asked: reading on would see the same rows again
        offset += len(items)
        if len(items) < (page.limit or _PAGE) or (page.total_count is not None and offset >= page.total_count):
            break
    return found
