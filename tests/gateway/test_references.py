"""Looking references up: a few by id, many from list pages, whichever takes fewer calls past the first page."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from app.schema.references import find_by_reference


@dataclass(frozen=True)
class Row:
    id: str


class Upstream:
    """A list of rows read by pages (clamped like Bifrost's) or by id; every call is recorded."""

    def __init__(self, count: int, clamp: int = 100, reports_paging: bool = True) -> None:
        self.rows = [Row(f"r{i}") for i in range(count)]
        self.clamp = clamp
        self.reports_paging = reports_paging
        self.calls: list[str] = []

    async def page(self, offset: int, limit: int) -> tuple[list[Row], int | None, int | None]:
        self.calls.append(f"page {offset}")
        if not self.reports_paging:
            return self.rows, None, None
        size = min(limit, self.clamp)
        return self.rows[offset : offset + size], len(self.rows), size

    async def by_id(self, ids: list[str]) -> list[Row | None]:
        self.calls.extend(f"get {entity_id}" for entity_id in ids)
        known = {row.id: row for row in self.rows}
        return [known.get(entity_id) for entity_id in ids]

    async def find(self, ids: list[str]) -> list[str | None]:
        found = await find_by_reference(ids, self.by_id, self.page, asyncio.Semaphore(3))
        return [row.id if row else None for row in found]


async def test_a_few_references_are_read_by_id() -> None:
    upstream = Upstream(1_000)
    assert await upstream.find(["r900", "r1", "nope"]) == ["r900", "r1", None]
    assert upstream.calls == ["get r900", "get r1", "get nope"]


async def test_many_references_within_the_first_page_take_one_call() -> None:
    upstream = Upstream(100)
    ids = [f"r{i}" for i in range(99, -1, -1)]
    assert await upstream.find(ids) == ids
    assert upstream.calls == ["page 0"]


async def test_the_rest_of_a_short_list_is_read_in_pages() -> None:
    upstream = Upstream(350)
    ids = [f"r{i}" for i in (0, 150, 250, 320, 349, 349)]
    assert await upstream.find(ids) == ids
    assert upstream.calls == ["page 0", "page 100", "page 200", "page 300"]


async def test_a_long_list_is_not_read_for_a_few_references_past_its_first_page() -> None:
    upstream = Upstream(10_000)
    ids = [f"r{i}" for i in (1, 5_000, 6_000, 7_000, 8_000, 9_999)]
    assert await upstream.find(ids) == ids
    assert upstream.calls == ["page 0", "get r5000", "get r6000", "get r7000", "get r8000", "get r9999"]


async def test_the_upstream_page_size_is_followed() -> None:
    upstream = Upstream(250, clamp=50)  # a generation that pages by 50 whatever is asked
    ids = [f"r{i}" for i in (0, 60, 110, 160, 210, 249)]
    assert await upstream.find(ids) == ids
    assert upstream.calls == ["page 0", "page 50", "page 100", "page 150", "page 200"]


async def test_an_unpaged_list_answers_everything_at_once() -> None:
    upstream = Upstream(300, reports_paging=False)
    assert await upstream.find(["r1", "r2", "r299", "r3", "r4", "gone"]) == ["r1", "r2", "r299", "r3", "r4", None]
    assert upstream.calls == ["page 0"]
