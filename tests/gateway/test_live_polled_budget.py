"""The per-client budget of polled ids (``LIVE_MAX_POLLED_IDS_PER_CLIENT``) across sockets and HTTP streams.

Each limit of a stream holds alone; together they would let one address have 20 sockets x 20 subscriptions x 50
ids polled every interval. The budget caps the distinct ids all the open subscriptions of one address watch.
Here a subscription may watch 5 ids and an address 8 in all.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.gateway.conftest import Gateway
from tests.gateway.live import AsgiWebSocket, SteppedClock, make_live_gateway, until
from tests.gateway.streaming import MULTIPART, SSE, StreamingCall, sse_events

USAGE = """
subscription Usage($teams: [ID!]) {
  budgetUsage(teamIds: $teams) { initial counters { owner { id } } }
}
"""
TICK = """
subscription Tick($teams: [ID!]) {
  spendTick(teamIds: $teams) { totalRequests }
}
"""
LIMITS = {"live_max_watched_ids": 5, "live_max_polled_ids_per_client": 8}


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


def ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{n}" for n in range(count)]


def reads_of(gw: Gateway, team_ids: list[str]) -> int:
    paths = {f"/api/governance/teams/{team_id}" for team_id in team_ids}
    return len([call for call in gw.upstream_calls() if call.path in paths])


def in_use(gw: Gateway, address: str = "127.0.0.1") -> int:
    used: int = gw.app.state.live.polled_ids.in_use(address)
    return used


async def started(ws: AsgiWebSocket, operation_id: str, team_ids: list[str], query: str = USAGE) -> dict[str, Any]:
    await ws.subscribe(operation_id, query, {"teams": team_ids})
    message = await ws.receive_except_pings()
    assert message["type"] == "next" and message["id"] == operation_id, message
    assert "errors" not in message["payload"], message
    payload: dict[str, Any] = message["payload"]
    return payload


async def refused(ws: AsgiWebSocket, operation_id: str, team_ids: list[str], query: str = USAGE) -> dict[str, Any]:
    await ws.subscribe(operation_id, query, {"teams": team_ids})
    message = await ws.receive_except_pings()
    assert message == {"id": operation_id, "type": "error", "payload": message["payload"]}, message
    [error] = message["payload"]
    assert error["extensions"]["code"] == "TOO_MANY_POLLED_IDS"
    assert "LIVE_MAX_POLLED_IDS_PER_CLIENT" in error["message"] and "8" in error["message"]
    return dict(error)


async def test_sockets_and_streams_of_one_client_share_one_budget(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, **LIMITS)
    first, second = AsgiWebSocket(gw.app), AsgiWebSocket(gw.app)
    await first.connect()
    await first.init()
    await started(first, "a", ids("a", 5))
    stream = StreamingCall.post(gw.app, {"query": USAGE, "variables": {"teams": ids("b", 3)}}, SSE)
    await stream.start()
    assert (await stream.head())[0] == 200
    await stream.read_until(lambda body: b"event: next" in body)
    assert in_use(gw) == 8

    # Full: one more id is refused on another socket of the address and over HTTP, with nothing polled for it.
    await second.connect()
    await second.init()
    error = await refused(second, "c", ["c-0"])
    assert "8 are in use" in error["message"] and "needs 1" in error["message"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.app), base_url="http://gateway") as http:
        for accept in (SSE, MULTIPART):
            answer = await http.post("/graphql", json={"query": USAGE, "variables": {"teams": ["c-1"]}}, headers=accept)
            assert answer.status_code == 429
            [http_error] = answer.json()["errors"]
            assert http_error["extensions"]["code"] == "TOO_MANY_POLLED_IDS"
            assert "LIVE_MAX_POLLED_IDS_PER_CLIENT" in http_error["message"]
    assert reads_of(gw, ["c-0", "c-1"]) == 0
    assert in_use(gw) == 8
    assert gw.app.state.live.connections._open == {"127.0.0.1": 3}  # the refused HTTP streams hold no place

    # The refused socket stays open, and starts a subscription once the first one's ids are given back.
    await first.send_json({"id": "a", "type": "complete"})
    await until(lambda: in_use(gw) == 3, "the completed subscription gave its 5 ids back")
    await started(second, "d", ids("d", 5))
    assert in_use(gw) == 8

    await stream.leave()  # the client leaves the stream: its 3 ids come back
    await until(lambda: in_use(gw) == 5, "the stream gave its ids back")
    await started(first, "e", ids("e", 3))
    await first.disconnect()  # a socket that goes gives back what its subscriptions held
    await second.disconnect()
    await until(lambda: gw.app.state.live.polled_ids._in_use == {}, "every id given back")
    assert gw.app.state.live.hub.active_keys() == 0
    await gw.http.aclose()


async def test_another_client_address_has_its_own_budget(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, **LIMITS)
    mine, theirs = AsgiWebSocket(gw.app), AsgiWebSocket(gw.app, client=("10.0.0.9", 4000))
    for ws in (mine, theirs):
        await ws.connect()
        await ws.init()
    await started(mine, "1", ids("a", 5))
    await started(mine, "2", ids("b", 3))
    await refused(mine, "3", ["c-0"])
    await started(theirs, "1", ids("x", 5))
    await started(theirs, "2", ids("y", 3))
    assert (in_use(gw), in_use(gw, "10.0.0.9")) == (8, 8)
    await mine.disconnect()
    await until(lambda: in_use(gw) == 0, "the address that left holds nothing")
    assert in_use(gw, "10.0.0.9") == 8
    await theirs.disconnect()
    await until(lambda: gw.app.state.live.polled_ids._in_use == {}, "every id given back")
    await gw.http.aclose()


async def test_a_spend_tick_counts_one_whatever_its_filters(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, **LIMITS)
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await started(ws, "usage", ids("a", 5))
        await started(ws, "tick-1", ids("t", 5), TICK)  # five team filters, one stats call per interval
        await started(ws, "tick-2", ids("u", 4), TICK)
        await started(ws, "tick-3", [], TICK)
        assert in_use(gw) == 8
        stats_calls = len([call for call in gw.upstream_calls() if call.path == "/api/logs/stats"])
        await refused(ws, "tick-4", ids("v", 1), TICK)
        assert len([call for call in gw.upstream_calls() if call.path == "/api/logs/stats"]) == stats_calls
    await until(lambda: gw.app.state.live.polled_ids._in_use == {}, "every id given back")
    await gw.http.aclose()


async def test_duplicate_ids_count_once_against_the_budget(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, **LIMITS)
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await started(ws, "1", ["a-0"] * 500 + ["a-1"] * 500)
        assert in_use(gw) == 2
        await started(ws, "2", ids("b", 5) * 3)
        assert in_use(gw) == 7
    await gw.http.aclose()


async def test_refusals_hold_nothing_however_often_they_come(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, **LIMITS)
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await started(ws, "held", ids("a", 5))
        for attempt in range(30):  # over the budget, a bad id, too many ids: each refused, none holding a share
            await refused(ws, f"over-{attempt}", ids(f"o{attempt}", 4))
            await ws.subscribe(f"bad-{attempt}", USAGE, {"teams": ["../x"]})
            bad = await ws.receive_except_pings()
            assert bad["payload"]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
            assert (await ws.receive_json())["type"] == "complete"
            await ws.subscribe(f"many-{attempt}", USAGE, {"teams": ids("m", 6)})
            many = await ws.receive_except_pings()
            assert many["payload"]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
            assert (await ws.receive_json())["type"] == "complete"
        assert in_use(gw) == 5
        await started(ws, "fits", ids("f", 3))  # exactly the room that is left
        assert in_use(gw) == 8
    assert reads_of(gw, [f"o{n}-{i}" for n in range(30) for i in range(4)]) == 0
    assert reads_of(gw, ids("m", 6)) == 0
    await until(lambda: gw.app.state.live.polled_ids._in_use == {}, "every id given back")
    await gw.http.aclose()


@pytest.mark.parametrize("generation", ["seed", "current"])
async def test_a_subscription_refused_after_its_claim_gives_it_back(clock: SteppedClock, generation: str) -> None:
    # spendTick claims its one id before asking which Bifrost this is; an older one refuses it after the claim.
    gw = await make_live_gateway(generation, clock=clock, live_max_watched_ids=1, live_max_polled_ids_per_client=1)
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        for attempt in range(5):
            await ws.subscribe(f"tick-{attempt}", TICK, {"teams": []})
            message = await ws.receive_except_pings()
            assert message["payload"]["errors"][0]["extensions"]["code"] == "UNSUPPORTED_BY_UPSTREAM"
            assert (await ws.receive_json())["type"] == "complete"
            assert in_use(gw) == 0
        await started(ws, "usage", ["a-0"])
        assert in_use(gw) == 1
    await until(lambda: gw.app.state.live.polled_ids._in_use == {}, "every id given back")
    await gw.http.aclose()


async def test_a_stream_that_ends_with_an_error_gives_its_ids_back(clock: SteppedClock) -> None:
    # Bifrost with auth refuses an anonymous poll: the stream ends with UNAUTHENTICATED, the socket stays open.
    gw = await make_live_gateway("v2", clock=clock, auth=("admin", "s3cret"), **LIMITS)
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        for attempt in range(4):
            await ws.subscribe(str(attempt), USAGE, {"teams": ids(f"a{attempt}", 5)})
            message = await ws.receive_except_pings()
            assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert (await ws.receive_json()) == {"id": str(attempt), "type": "complete"}
            assert in_use(gw) == 0
    await gw.http.aclose()


async def test_an_http_stream_refused_for_its_budget_frees_its_connection(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, live_max_connections_per_client=2, **LIMITS)
    holder = StreamingCall.post(gw.app, {"query": USAGE, "variables": {"teams": ids("a", 5)}}, SSE)
    await holder.start()
    await holder.read_until(lambda body: b"event: next" in body)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.app), base_url="http://gateway") as http:
        for _ in range(5):  # a limit of two connections: every refusal gave its place back
            answer = await http.post(
                "/graphql", json={"query": USAGE, "variables": {"teams": ids("b", 4)}}, headers=SSE
            )
            assert answer.status_code == 429
            assert answer.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_POLLED_IDS"
    assert reads_of(gw, ids("b", 4)) == 0
    fits = StreamingCall.post(gw.app, {"query": USAGE, "variables": {"teams": ids("c", 3)}}, SSE)
    await fits.start()
    events = sse_events(await fits.read_until(lambda body: b"event: next" in body))
    assert events[0][0] == "next" and "errors" not in events[0][1]
    await fits.leave()
    await holder.leave()
    assert gw.app.state.live.polled_ids._in_use == {}
    assert gw.app.state.live.connections._open == {}
    await gw.http.aclose()
