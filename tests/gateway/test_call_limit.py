"""A request keeps to DATALOADER_CONCURRENCY upstream calls at once, and its slots are never lost.

``CallLimit`` is the request's bound: a counter while a slot is free, a wait in arrival order when none is.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.schema.call_limit import CallLimit
from app.settings import Settings
from app.web import create_app


async def test_async_with_holds_a_slot_and_waiters_go_in_arrival_order() -> None:
    limit = CallLimit(1)
    order: list[str] = []
    inside = asyncio.Event()
    leave = asyncio.Event()

    async def first() -> None:
        async with limit:
            inside.set()
            await leave.wait()
            order.append("first")

    async def later(name: str) -> None:
        async with limit:
            order.append(name)

    tasks = [asyncio.create_task(first())]
    await inside.wait()
    tasks += [asyncio.create_task(later("second")), asyncio.create_task(later("third"))]
    while limit.waiting() < 2:  # noqa: ASYNC110 (the limit has no event to wait on; each turn lets them move)
        await asyncio.sleep(0)
    leave.set()
    await asyncio.gather(*tasks)
    assert order == ["first", "second", "third"]
    assert limit.take()  # every slot given back
    assert not limit.take()


async def test_a_waiter_that_leaves_takes_no_slot_with_it() -> None:
    limit = CallLimit(1)
    assert limit.take()

    async def waiting() -> None:
        async with limit:
            raise AssertionError("never gets the slot")

    leaver = asyncio.create_task(waiting())
    while not limit.waiting():  # noqa: ASYNC110 (as above)
        await asyncio.sleep(0)
    leaver.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaver
    limit.release()
    assert limit.take()


async def test_a_failing_call_gives_its_slot_back() -> None:
    limit = CallLimit(1)
    with pytest.raises(RuntimeError):
        async with limit:
            raise RuntimeError("the call failed")
    assert limit.take()


class Holding(httpx.AsyncBaseTransport):
    """The embedded upstream, counting the team reads in flight; none goes on before ``hold`` are in flight."""

    def __init__(self, app: Any, hold: int) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.hold = hold
        self.in_flight = 0
        self.most = 0
        self.released = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET" or not request.url.path.startswith("/api/governance/teams/"):
            return await self.inner.handle_async_request(request)
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        if self.in_flight >= self.hold:
            self.released.set()
        try:
            await self.released.wait()
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "graphql-core"])
async def test_lookups_of_one_request_keep_to_the_concurrency_setting(compiled: bool) -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    transport = Holding(upstream, hold=2)
    app = create_app(
        Settings(
            bifrost_url="http://bifrost.internal:8080",
            dataloader_concurrency=2,
            gateway_compiled_execution=compiled,
            coalesce_queries=False,
        ),
        transport=transport,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        ids = []
        for i in range(6):
            created = await http.post(
                "/graphql",
                json={
                    "query": "mutation C($n: String!) { createTeam(input: {name: $n}) { team { id } } }",
                    "variables": {"n": f"limit-{i}"},
                },
            )
            ids.append(created.json()["data"]["createTeam"]["team"]["id"])
        lookups = " ".join(f't{i}: team(id: "{team_id}") {{ name }}' for i, team_id in enumerate(ids))
        answer = await http.post("/graphql", json={"query": f"{{ {lookups} }}"})
    assert answer.json() == {"data": {f"t{i}": {"name": f"limit-{i}"} for i in range(6)}}
    assert transport.most == 2  # two at once (not one after another), never more
