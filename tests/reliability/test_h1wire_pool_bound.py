"""H1Wire under 200 concurrent calls: never more connections than its limit, and callers that leave while waiting
for a free connection (cancelled, or cut short by their deadline) take no slot with them.

Every server here listens on 127.0.0.1. Each wait is on the server's gate filling, bounded by ``WAIT``; nothing is
timed. On both event loops.
"""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from app.bifrost.h1wire import H1Wire
from app.bifrost.wire import UpstreamResponse, WireConnectTimeout
from tests.reliability.scripted_upstream import ScriptedUpstream

LIMIT = 256 * 1024
LONG = 30.0
WAIT = 20.0
POOL = 8


def call(wire: H1Wire, path: str, deadline: float | None = None) -> asyncio.Task[UpstreamResponse]:
    return asyncio.ensure_future(
        wire.send("GET", path, {"accept": "application/json"}, None, None, LIMIT, deadline=deadline)
    )


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_two_hundred_calls_share_the_limit_and_waiters_that_leave_keep_no_slot(loop: str) -> None:
    factory = uvloop.new_event_loop if loop == "uvloop" else asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(two_hundred_calls())


async def two_hundred_calls() -> None:
    server = await ScriptedUpstream().start()
    try:
        await two_hundred_calls_to(server)
    finally:
        server.open_gate()
        await server.stop()


async def two_hundred_calls_to(server: ScriptedUpstream) -> None:
    wire = H1Wire(server.url, max_connections=POOL, connect_timeout=LONG, read_timeout=LONG)
    server.gate_size = POOL
    try:
        calls = [call(wire, f"/gate/{index}") for index in range(200)]
        await asyncio.wait_for(server.gate_filled.wait(), WAIT)
        assert server.accepted == POOL
        # The 192 others wait for a slot: a quarter of them leave (cancelled), a few by a deadline already past.
        leaving = [task for task in calls if not task.done()][POOL::4]
        for task in leaving:
            task.cancel()
        past = [call(wire, "/gate/past", deadline=asyncio.get_running_loop().time()) for _ in range(10)]
        server.open_gate()
        results = await asyncio.wait_for(asyncio.gather(*calls, *past, return_exceptions=True), WAIT)
    finally:
        server.open_gate()
    answered = [result for result in results if isinstance(result, UpstreamResponse)]
    cancelled = [result for result in results if isinstance(result, asyncio.CancelledError)]
    timed_out = [result for result in results if isinstance(result, WireConnectTimeout)]
    assert len(cancelled) == len(leaving) and len(timed_out) == len(past)
    assert len(answered) == 200 - len(leaving)
    assert all(response.status == 200 for response in answered)
    assert server.most_open <= POOL
    assert not [request for request in server.received if request.target == "/gate/past"]
    # Every slot is back: POOL calls held at once all reach the server, and one more waits for a slot.
    server.in_gate, server.gate_filled, server._gate = 0, asyncio.Event(), asyncio.Event()
    held = [call(wire, f"/gate/again-{index}") for index in range(POOL + 1)]
    try:
        await asyncio.wait_for(server.gate_filled.wait(), WAIT)
        assert server.in_gate == POOL
        assert not any(task.done() for task in held)
        assert server.most_open <= POOL
    finally:
        server.open_gate()
        await asyncio.wait_for(asyncio.gather(*held), WAIT)
        await wire.aclose()
    assert server.most_open <= POOL
