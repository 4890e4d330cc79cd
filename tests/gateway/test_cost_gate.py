"""Expensive operations take turns through the cost gate; cheap ones never wait."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import httpx
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.schema.cost_gate import CostGate
from app.settings import Settings
from app.web import create_app
from tests.gateway.test_dashboard_calls import seed_data
from tests.gateway.test_read_coalescing import LIST_TEAMS, TEAMS, Gate, Setup


class Signalling(deque[Any]):
    """A gate's queue that says when someone starts waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.joined = asyncio.Event()

    def append(self, item: Any) -> None:
        super().append(item)
        self.joined.set()


def watched(gate: CostGate) -> Signalling:
    queue = Signalling()
    gate._queue = queue
    return queue


async def hold(gate: CostGate, cost: int, entered: asyncio.Event, leave: asyncio.Event, log: list[str]) -> None:
    async with gate.admit(cost):
        log.append(f"in {cost}")
        entered.set()
        await leave.wait()
    log.append(f"out {cost}")


async def test_cheap_operations_never_wait_even_when_the_gate_is_full() -> None:
    gate = CostGate(capacity=100, queue_above=10)
    entered, leave, log = asyncio.Event(), asyncio.Event(), []
    running = asyncio.ensure_future(hold(gate, 100, entered, leave, log))
    await entered.wait()
    queue = watched(gate)
    waiting = asyncio.ensure_future(hold(gate, 50, asyncio.Event(), leave, log))
    await queue.joined.wait()
    async with gate.admit(10):  # at the threshold: straight through, ahead of the waiting one
        assert (gate.in_flight, gate.waiting) == (100, 1)
    leave.set()
    await asyncio.gather(running, waiting)
    assert log == ["in 100", "out 100", "in 50", "out 50"]
    assert (gate.in_flight, gate.waiting) == (0, 0)


async def test_expensive_operations_share_the_capacity_first_come_first_served() -> None:
    gate = CostGate(capacity=100, queue_above=0)
    queue = watched(gate)
    leave = {name: asyncio.Event() for name in ("a", "b", "c", "d")}
    entered = {name: asyncio.Event() for name in leave}
    log: list[str] = []
    costs = {"a": 60, "b": 30, "c": 50, "d": 10}
    tasks = {}
    for name in ("a", "b", "c"):
        tasks[name] = asyncio.ensure_future(hold(gate, costs[name], entered[name], leave[name], log))
    await entered["a"].wait()
    await entered["b"].wait()
    await queue.joined.wait()  # c (50) does not fit beside a and b (90)
    # d would fit (90 + 10) but arrived after c: it waits its turn instead of overtaking.
    queue.joined.clear()
    tasks["d"] = asyncio.ensure_future(hold(gate, costs["d"], entered["d"], leave["d"], log))
    await queue.joined.wait()
    assert gate.waiting == 2 and gate.in_flight == 90
    leave["a"].set()
    await entered["c"].wait()
    await entered["d"].wait()  # 30 + 50 + 10
    assert gate.in_flight == 90
    for event in leave.values():
        event.set()
    await asyncio.gather(*tasks.values())
    assert log[:4] == ["in 60", "in 30", "out 60", "in 50"]
    assert gate.in_flight == 0


async def test_an_operation_priced_above_the_capacity_runs_alone() -> None:
    gate = CostGate(capacity=100, queue_above=0)
    async with gate.admit(10**9):
        assert gate.in_flight == 100
    assert gate.in_flight == 0


async def test_a_caller_leaving_while_it_waits_gives_its_turn_to_the_next() -> None:
    gate = CostGate(capacity=100, queue_above=0)
    queue = watched(gate)
    entered, leave, log = asyncio.Event(), asyncio.Event(), []
    first = asyncio.ensure_future(hold(gate, 100, entered, leave, log))
    await entered.wait()
    leaving = asyncio.ensure_future(hold(gate, 100, asyncio.Event(), leave, log))
    await queue.joined.wait()
    queue.joined.clear()
    next_entered = asyncio.Event()
    after = asyncio.ensure_future(hold(gate, 100, next_entered, leave, log))
    await queue.joined.wait()
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert gate.waiting == 1
    leave.set()
    await asyncio.gather(first, after)
    assert log == ["in 100", "out 100", "in 100", "out 100"]
    assert (gate.in_flight, gate.waiting) == (0, 0)


async def test_a_caller_leaving_just_as_it_is_admitted_hands_the_room_on() -> None:
    gate = CostGate(capacity=100, queue_above=0)
    queue = watched(gate)
    log: list[str] = []
    first = gate.admit(100)
    await first.__aenter__()
    gone = asyncio.ensure_future(hold(gate, 60, asyncio.Event(), asyncio.Event(), log))
    await queue.joined.wait()
    queue.joined.clear()
    last_entered, leave = asyncio.Event(), asyncio.Event()
    last = asyncio.ensure_future(hold(gate, 60, last_entered, leave, log))
    await queue.joined.wait()
    await first.__aexit__(None, None, None)  # admits the first 60: its turn is set, its task has not run yet
    gone.cancel()  # ... and its caller leaves before it runs
    with pytest.raises(asyncio.CancelledError):
        await gone
    await last_entered.wait()  # the room went on to the next one
    leave.set()
    await last
    assert log == ["in 60", "out 60"]
    assert (gate.in_flight, gate.waiting) == (0, 0)


# Through the gateway -------------------------------------------------------------------------------

PAGE = "{ teams(first: 100) { nodes { id name } } }"  # priced 111


async def test_an_expensive_query_waits_for_its_turn_while_a_lookup_goes_straight_through() -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    await seed_data(upstream, 10)
    settings = Settings(
        bifrost_url="http://bifrost.internal",
        bifrost_api_generation="current",
        max_cost_in_flight=150,
        queue_above_cost=50,
        upstream_coalesce_reads=False,
        coalesce_queries=False,  # two identical pages, each its own execution
    )
    held = Gate(upstream)
    app = create_app(settings, transport=held)
    s = Setup(held, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw"))
    try:
        executor_gate = app.state.executor.gate
        queue = watched(executor_gate)
        s.gate.hold = lambda request: request.method == "GET" and request.url.path == TEAMS
        first = asyncio.ensure_future(s.graphql(PAGE))
        await s.gate.until_held(1, LIST_TEAMS)
        second = asyncio.ensure_future(s.graphql(PAGE))
        await queue.joined.wait()  # priced 111: does not fit beside the first (111 of 150)
        s.gate.hold = lambda request: False
        lookup = await s.graphql("{ virtualKeys(first: 1) { totalCount } }")  # priced 11: never waits
        assert lookup["data"]["virtualKeys"]["totalCount"] == 10
        assert s.gate.count("GET", TEAMS) == 1  # the waiting query has sent nothing
        s.gate.release(LIST_TEAMS)
        answers = await asyncio.gather(first, second)
        assert all(len(answer["data"]["teams"]["nodes"]) == 10 for answer in answers)
        assert s.gate.count("GET", TEAMS) == 2
        assert (executor_gate.in_flight, executor_gate.waiting) == (0, 0)
    finally:
        await s.http.aclose()
