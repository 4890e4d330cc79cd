"""Entities named by reference (a federation router's ``_entities``): a few by id, many from list pages.

Bifrost has no batch-by-ids endpoint. A few references (``BY_ID_AT_MOST``) are loaded by id through the
request's loaders (``GET /teams/{id}``, concurrent). More are looked up in pages of the entity's list
(``GET /teams?limit=100&offset=0``): the very call a page of a hundred teams makes, so a router's batch of
a hundred references costs one call wherever there are at most a hundred of them upstream. When the list is
longer than its first page, what that page did not hold is fetched whichever way takes fewer calls: the
rest of the pages (concurrently) or one read by id per reference.

Example:
    >>> # teams = await find_by_reference(ids, loaders.team.load_many, team_pages, semaphore)
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from app.schema.call_limit import CallLimit
from app.schema.pagination import MAX_PAGE_SIZE

__all__ = ["BY_ID_AT_MOST", "Identified", "Page", "find_by_reference"]

# Up to this many references, reads by id (concurrent) answer sooner than a page of a long list.
BY_ID_AT_MOST = 4


class Identified(Protocol):
    """An upstream entity: it has an id."""

    @property
    def id(self) -> str: ...


E = TypeVar("E", bound=Identified)

# One page of a list: ``(items, total_count, limit)`` for an ``(offset, limit)``; total and limit as the
# upstream reports them (None when it does not).
Page = Callable[[int, int], Awaitable[tuple[Sequence[E], int | None, int | None]]]


async def find_by_reference(
    ids: Sequence[str],
    by_id: Callable[[list[str]], Awaitable[Sequence[E | None]]],
    page: Page[E],
    limit: CallLimit,
) -> list[E | None]:
    """The entities of ``ids`` in order, ``None`` for an id nothing has.

    Args:
        ids: distinct ids, in the order the results come back.
        by_id: loads entities by id (the request's loader; ``None`` for a miss).
        page: reads one page of the entity's list.
        limit: the request's bound on concurrent upstream calls.
    """
    if len(ids) <= BY_ID_AT_MOST:
        return list(await by_id(list(ids)))
    wanted = set(ids)
    async with limit:
        items, total, clamp = await page(0, MAX_PAGE_SIZE)
    found = {item.id: item for item in items if item.id in wanted}
    step = clamp if clamp is not None and clamp > 0 else MAX_PAGE_SIZE  # the upstream's page size, when it says
    missing = [entity_id for entity_id in ids if entity_id not in found]
    if missing and total is not None and total > len(items) == step:
        rest = math.ceil((total - step) / step)
        if rest < len(missing):

            async def at(offset: int) -> Sequence[E]:
                async with limit:
                    return (await page(offset, step))[0]

            for more in await asyncio.gather(*(at(offset) for offset in range(step, total, step))):
                found.update((item.id, item) for item in more if item.id in wanted)
            # A delete between two page reads shifts an entity onto a page already read: look the few
            # still missing up by id rather than call them gone.
            missing = [entity_id for entity_id in missing if entity_id not in found]
        if missing:
            found.update((entity.id, entity) for entity in await by_id(missing) if entity is not None)
    return [found.get(entity_id) for entity_id in ids]
