"""``H1Wire`` ends a call by the Bifrost client's total deadline on its own read timer, and the client sets no
timer of its own around it: the deadline must surface exactly as ``asyncio.timeout`` around the call did, and
better where nothing was sent (a wait for a free connection or a connect cut short is a connect timeout, so a
write that never left is not an unknown outcome).

Every server here listens on 127.0.0.1. Timeouts that must not fire are 30 s, far past the deadlines under test:
which of the two timers ended a call is told by the exception, never by the clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

import pytest

from app.bifrost import BifrostClient
from app.bifrost.errors import UpstreamOutcomeUnknown, UpstreamTimeout
from app.bifrost.h1wire import H1Wire
from app.bifrost.wire import UpstreamResponse, WireConnectTimeout, WireTimeout
from tests.reliability.scripted_upstream import ScriptedUpstream, blackhole_listener

LIMIT = 256 * 1024
LONG = 30.0  # a connect or read timeout that never fires in these tests
SHORT = 0.3  # the total deadline under test


def make_wire(url: str, *, max_connections: int = 1, read_timeout: float = LONG) -> H1Wire:
    return H1Wire(url, max_connections=max_connections, connect_timeout=LONG, read_timeout=read_timeout)


def bifrost(wire: H1Wire) -> BifrostClient:
    return BifrostClient(wire, total_timeout=SHORT, read_retries=0)


@pytest.fixture
async def server() -> AsyncIterator[ScriptedUpstream]:
    upstream = await ScriptedUpstream(drip=0.05).start()
    yield upstream
    upstream.open_gate()
    await upstream.stop()


async def call(wire: H1Wire, method: str, path: str, deadline: float | None) -> UpstreamResponse:
    body = b"{}" if method != "GET" else None
    return await wire.send(method, path, {"accept": "application/json"}, body, None, LIMIT, deadline=deadline)


def soon(seconds: float = SHORT) -> float:
    return asyncio.get_running_loop().time() + seconds


# Before anything is sent: a connect timeout -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_the_deadline_reached_waiting_for_a_free_connection_sends_nothing(
    method: str, server: ScriptedUpstream
) -> None:
    wire = make_wire(server.url)
    try:
        held = asyncio.create_task(call(wire, "GET", "/gate", None))  # the only connection, held upstream
        await asyncio.wait_for(server.gate_filled.wait(), 10)
        with pytest.raises(WireConnectTimeout):
            await call(wire, method, "/echo", soon())
        with pytest.raises(UpstreamTimeout) as error:  # never "outcome unknown": the write never left
            await bifrost(wire).request(method, "/echo", headers={}, body={"name": "t"} if method != "GET" else None)
        assert not isinstance(error.value, UpstreamOutcomeUnknown)
        server.open_gate()
        assert (await held).status == 200
    finally:
        await wire.aclose()
    assert [request.target for request in server.received] == ["/gate"]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_the_deadline_reached_while_connecting_sends_nothing(method: str) -> None:
    port, held = blackhole_listener()  # connects hang: only the deadline can end them
    wire = make_wire(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(WireConnectTimeout):
            await call(wire, method, "/echo", soon())
        with pytest.raises(UpstreamTimeout) as error:
            await bifrost(wire).request(method, "/teams", headers={}, body={"name": "t"} if method != "GET" else None)
        assert not isinstance(error.value, UpstreamOutcomeUnknown)
    finally:
        await wire.aclose()
        for sock in held:
            sock.close()


# After writing: TimeoutError, as asyncio.timeout's --------------------------------------------------------------------


async def test_the_deadline_after_writing_is_a_timeout_for_a_read_and_an_unknown_outcome_for_a_write(
    server: ScriptedUpstream,
) -> None:
    wire = make_wire(server.url, max_connections=2)
    try:
        with pytest.raises(TimeoutError):  # what asyncio.timeout around the call raised, not the read timeout's
            await call(wire, "GET", "/silent", soon())
        with pytest.raises(UpstreamTimeout):
            await bifrost(wire).request("GET", "/silent", headers={})
        with pytest.raises(UpstreamOutcomeUnknown):
            await bifrost(wire).request("POST", "/silent", headers={}, body={"name": "t"})
        await asyncio.wait_for(server.all_closed.wait(), 10)  # each call that ran out dropped its connection
        assert not wire._open and not wire._idle
    finally:
        await wire.aclose()
    assert [request.method for request in server.received] == ["GET", "GET", "POST"]  # the write left once


async def test_a_trickled_answer_keeps_the_read_timer_going_but_the_deadline_stops_it(server: ScriptedUpstream) -> None:
    # One byte every 0.05 s of 64: each read re-arms the read timer (1 s, never reached between bytes); the total
    # deadline ends the call long before the body does.
    wire = make_wire(server.url, read_timeout=1.0)
    try:
        with pytest.raises(TimeoutError):
            await call(wire, "GET", "/drip", soon())
        with pytest.raises(UpstreamOutcomeUnknown):
            await bifrost(wire).request("POST", "/drip", headers={}, body={"name": "t"})
    finally:
        await wire.aclose()
    assert [request.method for request in server.received] == ["GET", "POST"]


async def test_the_read_timeout_still_ends_a_call_whose_deadline_is_far(server: ScriptedUpstream) -> None:
    wire = make_wire(server.url, read_timeout=SHORT)
    try:
        with pytest.raises(WireTimeout) as error:
            await call(wire, "GET", "/silent", soon(LONG))
        assert not isinstance(error.value, WireConnectTimeout)
    finally:
        await wire.aclose()


async def test_a_deadline_already_past_sends_nothing(server: ScriptedUpstream) -> None:
    wire = make_wire(server.url)
    try:
        with pytest.raises(WireConnectTimeout):  # connecting is cut short at once
            await call(wire, "POST", "/echo", soon(-1.0))
        assert (await call(wire, "GET", "/echo", None)).status == 200  # a pooled one now: written, then ended
        with pytest.raises(TimeoutError):
            await call(wire, "GET", "/silent", soon(-1.0))
    finally:
        await wire.aclose()
    assert [request.target for request in server.received] == ["/echo", "/silent"]


# A call that ends leaves its timer to the next call on the connection -----------------------------------------------
#
# A connection keeps one timer from call to call rather than making and cancelling one per call: a timer a finished
# call left behind must never end a later call early, never let one run past its own bounds, and never touch the
# connection while it is idle.


async def finished(task: asyncio.Task[UpstreamResponse]) -> asyncio.Task[UpstreamResponse]:
    """``task`` once it has ended; a call that never ends fails the test (after 10 s) instead of hanging it."""
    done, _ = await asyncio.wait({task}, timeout=10)
    if task not in done:
        task.cancel()
        raise AssertionError("the call was never ended by its own deadline or read timeout")
    return task


async def test_a_finished_calls_deadline_never_reaches_the_next_call(server: ScriptedUpstream) -> None:
    loop = asyncio.get_running_loop()
    wire = make_wire(server.url)
    try:
        first_deadline = soon(1.0)
        assert (await call(wire, "GET", "/echo", first_deadline)).status == 200
        (connection,) = wire._idle
        # The same connection serves the next call, held upstream until the first call's deadline has passed.
        held = asyncio.create_task(call(wire, "GET", "/gate", soon(LONG)))
        await asyncio.wait_for(server.gate_filled.wait(), 10)
        passed = asyncio.Event()  # set by a timer due after any the first call could have left behind
        loop.call_at(first_deadline + 0.01, passed.set)
        await asyncio.wait_for(passed.wait(), 10)
        server.open_gate()
        assert (await held).status == 200
        assert (await call(wire, "GET", "/echo", None)).status == 200
        assert wire._idle == [connection]
    finally:
        await wire.aclose()
    assert server.accepted == 1


async def test_a_timer_left_on_an_idle_connection_leaves_it_usable(server: ScriptedUpstream) -> None:
    loop = asyncio.get_running_loop()
    wire = make_wire(server.url)
    try:
        deadline = soon()
        assert (await call(wire, "GET", "/echo", deadline)).status == 200
        (connection,) = wire._idle
        passed = asyncio.Event()  # runs after the timer the call left behind has run, on the idle connection
        loop.call_at(deadline + 0.01, passed.set)
        await asyncio.wait_for(passed.wait(), 10)
        assert wire._idle == [connection] and not connection.lost
        assert (await call(wire, "GET", "/echo", soon())).status == 200
    finally:
        await wire.aclose()
    assert server.accepted == 1


async def test_a_deadline_earlier_than_the_timer_left_behind_still_ends_the_call(server: ScriptedUpstream) -> None:
    # The first call has no deadline: the timer it leaves is due a read timeout (30 s) after it started. The next
    # call's deadline comes far sooner and must end it; keeping the old timer would let it wait out the 30 s.
    wire = make_wire(server.url)
    try:
        assert (await call(wire, "GET", "/echo", None)).status == 200
        (connection,) = wire._idle
        silent = await finished(asyncio.create_task(call(wire, "GET", "/silent", soon())))
        with pytest.raises(TimeoutError):
            silent.result()
        assert connection.lost and not wire._idle
    finally:
        await wire.aclose()
    assert server.accepted == 1


async def test_the_clients_deadline_after_a_call_without_one_still_ends_the_call(server: ScriptedUpstream) -> None:
    # The same, through the Bifrost client: a wire shared by a client with no total bound that cannot end its
    # calls before the read timeout and one with a short one.
    wire = make_wire(server.url)
    try:
        assert (await wire.send("GET", "/echo", {}, None, None, LIMIT)).status == 200
        silent = await finished(asyncio.create_task(bifrost(wire).request("GET", "/silent", headers={})))
        with pytest.raises(UpstreamTimeout):
            silent.result()
    finally:
        await wire.aclose()


async def test_the_read_timeout_ends_a_silent_call_on_a_reused_connection(server: ScriptedUpstream) -> None:
    # The timer the first call left fires while the second waits: it finds no read since the second began and
    # must wait out the rest of the read timeout, then end the call (never drop the bound, never end it early).
    loop = asyncio.get_running_loop()
    wire = make_wire(server.url, read_timeout=SHORT)
    try:
        assert (await call(wire, "GET", "/echo", soon(LONG))).status == 200
        (connection,) = wire._idle
        halfway = asyncio.Event()  # the second call starts well after the first: the old timer fires first
        loop.call_at(connection.timer_at - SHORT / 2, halfway.set)
        await asyncio.wait_for(halfway.wait(), 10)
        silent = await finished(asyncio.create_task(call(wire, "GET", "/silent", soon(LONG))))
        error = silent.exception()
        assert isinstance(error, WireTimeout) and not isinstance(error, WireConnectTimeout)
        assert connection.lost
    finally:
        await wire.aclose()
    assert server.accepted == 1


async def test_a_failed_or_abandoned_call_leaves_no_timer(server: ScriptedUpstream) -> None:
    wire = make_wire(server.url)
    try:
        held = asyncio.create_task(call(wire, "GET", "/gate", soon(LONG)))
        await asyncio.wait_for(server.gate_filled.wait(), 10)
        (connection,) = wire._open
        assert connection.timer is not None
        held.cancel()
        with pytest.raises(asyncio.CancelledError):
            await held
        assert connection.timer is None and connection.lost
        with pytest.raises(TimeoutError):
            await call(wire, "GET", "/silent", soon())
        assert all(connection.timer is None for connection in wire._open | set(wire._idle))
    finally:
        await wire.aclose()


# The Bifrost client: the deadline handed down, or a timer of its own ------------------------------------------------


class Recording:
    """A wire that answers at once and keeps the keyword arguments of each call."""

    def __init__(self, enforces: bool) -> None:
        if enforces:
            self.enforces_total_timeout = True
        self.calls: list[dict[str, float]] = []

    async def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, str | int] | None,
        max_bytes: int,
        **keywords: float,
    ) -> UpstreamResponse:
        self.calls.append(keywords)
        return UpstreamResponse(200, b"{}", [], None)

    async def aclose(self) -> None:
        return None


async def test_the_client_hands_the_total_deadline_to_a_wire_that_enforces_it_and_to_no_other() -> None:
    loop = asyncio.get_running_loop()
    enforcing, other = Recording(True), Recording(False)
    before = loop.time()
    await BifrostClient(enforcing, total_timeout=7.0).request("GET", "/x", headers={})
    after = loop.time()
    await BifrostClient(other, total_timeout=7.0).request("GET", "/x", headers={})
    ((keywords,),) = [enforcing.calls]
    assert set(keywords) == {"deadline"} and before + 7.0 <= keywords["deadline"] <= after + 7.0
    assert other.calls == [{}]


async def test_an_endless_total_timeout_leaves_the_read_timeout_in_charge(server: ScriptedUpstream) -> None:
    # A client built with no total bound: the deadline is infinite and never the timer's.
    wire = make_wire(server.url, read_timeout=1.0)
    client = BifrostClient(wire, total_timeout=float("inf"), read_retries=0)
    try:
        assert (await call(wire, "GET", "/echo", float("inf"))).status == 200
        with pytest.raises(WireTimeout) as error:
            await call(wire, "GET", "/silent", float("inf"))
        assert not isinstance(error.value, WireConnectTimeout)
        with pytest.raises(UpstreamTimeout):
            await client.request("GET", "/silent", headers={})
    finally:
        await wire.aclose()
