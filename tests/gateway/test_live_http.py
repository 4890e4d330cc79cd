"""``budgetUsage`` over GraphQL over SSE and Apollo's multipart protocol, through the real live layer.

The gateway is the real one over the embedded v2 server; its hub polls when the test steps the clock. Usage
changes the way it does in production: a client of Bifrost sends chat completions with a virtual key, and the
embedded server charges them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import Gateway, upstream_http
from tests.gateway.live import AsgiWebSocket, SteppedClock, make_live_gateway, until
from tests.gateway.streaming import MULTIPART, SSE, StreamingCall, multipart_parts, sse_events

USAGE = """
subscription Usage($teams: [ID!], $keys: [ID!]) {
  budgetUsage(teamIds: $teams, virtualKeyIds: $keys) {
    initial
    counters {
      owner { kind id name provider }
      budget { id currentUsage maxLimit }
      rateLimit { id requestCurrentUsage }
    }
  }
}
"""
CHAT = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Say something cheap, please."}]}


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
async def gw(clock: SteppedClock) -> AsyncIterator[Gateway]:
    gateway = await make_live_gateway("v2", clock=clock)
    yield gateway
    await gateway.http.aclose()


async def spending_key(gw: Gateway) -> dict[str, Any]:
    """A team and a key of it that may call every OpenAI model, each with a budget."""
    async with upstream_http(gw) as bifrost:
        team = await bifrost.post(
            "/api/governance/teams", json={"name": "live", "budgets": [{"max_limit": 10, "reset_duration": "1d"}]}
        )
        key = await bifrost.post(
            "/api/governance/virtual-keys",
            json={
                "name": "spender",
                "team_id": team.json()["team"]["id"],
                "budgets": [{"max_limit": 5, "reset_duration": "1h"}],
                "provider_configs": [{"provider": "openai", "allowed_models": ["*"], "key_ids": ["*"]}],
            },
        )
    assert key.status_code == 200, key.text
    made: dict[str, Any] = key.json()["virtual_key"]
    return made


async def chat(gw: Gateway, value: str) -> None:
    async with upstream_http(gw) as bifrost:
        response = await bifrost.post("/v1/chat/completions", json=CHAT, headers={"x-bf-vk": value})
    assert response.status_code == 200, response.text


async def key_budget_usage(gw: Gateway, key_id: str) -> float:
    async with upstream_http(gw) as bifrost:
        response = await bifrost.get(f"/api/governance/virtual-keys/{key_id}")
    usage: float = response.json()["virtual_key"]["budgets"][0]["current_usage"]
    return usage


def key_reads(gw: Gateway, key_id: str) -> int:
    return len([call for call in gw.upstream_calls("GET") if call.path == f"/api/governance/virtual-keys/{key_id}"])


def key_budget(update: dict[str, Any]) -> dict[str, Any]:
    [counter] = [c for c in update["counters"] if c["owner"]["kind"] == "VIRTUAL_KEY" and c["budget"]]
    budget: dict[str, Any] = counter["budget"]
    return budget


async def next_update(call: StreamingCall, count: int) -> dict[str, Any]:
    """The ``count``-th result the SSE stream carried, once it is there."""
    body = await call.read_until(lambda body: len([e for e in sse_events(body) if e[0] == "next"]) >= count)
    result: dict[str, Any] = [data for event, data in sse_events(body) if event == "next"][count - 1]
    assert "errors" not in result, result
    update: dict[str, Any] = result["data"]["budgetUsage"]
    return update


async def test_sse_pushes_the_counters_then_the_spend_a_chat_completion_charged(
    gw: Gateway, clock: SteppedClock
) -> None:
    key = await spending_key(gw)
    call = StreamingCall.post(gw.app, {"query": USAGE, "variables": {"keys": [key["id"]]}}, SSE)
    await call.start()
    assert (await call.head())[0] == 200
    first = await next_update(call, 1)
    assert first["initial"] is True and key_budget(first)["currentUsage"] == 0

    await chat(gw, key["value"])
    await clock.until_waiting()
    clock.step()
    second = await next_update(call, 2)

    assert second["initial"] is False
    assert key_budget(second)["currentUsage"] == pytest.approx(await key_budget_usage(gw, key["id"]))
    assert key_budget(second)["currentUsage"] > 0
    await call.leave()
    await until(lambda: gw.app.state.live.hub.active_keys() == 0, "the poller stopped with its last subscriber")


async def test_multipart_pushes_the_same_updates_in_payload_parts(gw: Gateway, clock: SteppedClock) -> None:
    key = await spending_key(gw)
    call = StreamingCall.post(gw.app, {"query": USAGE, "variables": {"keys": [key["id"]]}}, MULTIPART)
    await call.start()
    await call.head()
    await call.read_until(lambda body: len([p for p in multipart_parts(body) if "payload" in p]) == 1)
    await chat(gw, key["value"])
    await clock.until_waiting()
    clock.step()
    body = await call.read_until(lambda body: len([p for p in multipart_parts(body) if "payload" in p]) == 2)
    await call.leave()

    first, second = [part["payload"]["data"]["budgetUsage"] for part in multipart_parts(body) if "payload" in part]
    assert first["initial"] is True and second["initial"] is False
    assert key_budget(second)["currentUsage"] == pytest.approx(await key_budget_usage(gw, key["id"]))


async def test_sse_multipart_and_websocket_subscribers_of_one_set_share_one_poll_per_interval(
    gw: Gateway, clock: SteppedClock
) -> None:
    key = await spending_key(gw)
    payload = {"query": USAGE, "variables": {"keys": [key["id"]]}}
    calls = [StreamingCall.post(gw.app, payload, SSE) for _ in range(3)]
    calls.append(StreamingCall.post(gw.app, payload, MULTIPART))
    for call in calls:
        await call.start()
        await call.head()
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await ws.subscribe("1", USAGE, {"keys": [key["id"]]})
        await ws.receive_except_pings()
        for call in calls[:3]:
            await next_update(call, 1)
        await clock.until_waiting()
        reads = key_reads(gw, key["id"])
        clock.step()
        await clock.until_waiting()
        assert key_reads(gw, key["id"]) == reads + 1  # five subscribers, three transports, one poll
    for call in calls:
        await call.leave()
    await until(lambda: gw.app.state.live.hub.active_keys() == 0, "nobody listens any more")
    reads = key_reads(gw, key["id"])
    clock.step()
    assert key_reads(gw, key["id"]) == reads


async def test_a_subscription_without_credentials_gets_over_sse_the_answer_a_query_gets(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, auth=("admin", "s3cret"))
    team_id = "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"
    query = await gw.graphql("query Team($id: ID!) { team(id: $id) { id name } }", {"id": team_id})
    call = StreamingCall.post(gw.app, {"query": USAGE, "variables": {"teams": [team_id]}}, SSE)
    await call.start()
    assert (await call.head())[0] == 200
    events = sse_events(await call.read_to_end())
    assert [event for event, _ in events] == ["next", "complete"]
    [query_error], [error] = query["errors"], events[0][1]["errors"]
    assert (error["message"], error["extensions"]) == (query_error["message"], query_error["extensions"])
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    await gw.http.aclose()


async def test_the_connections_of_a_client_are_limited_across_http_streams(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, live_max_connections_per_client=1)
    key = await spending_key(gw)
    payload = {"query": USAGE, "variables": {"keys": [key["id"]]}}
    first = StreamingCall.post(gw.app, payload, SSE)
    await first.start()
    await first.head()
    await next_update(first, 1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.app), base_url="http://gateway") as http:
        second = await http.post("/graphql", json=payload, headers=MULTIPART)
    assert second.status_code == 429
    assert second.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_CONNECTIONS"

    await first.leave()  # its connection is counted no more: the next one opens
    third = StreamingCall.post(gw.app, payload, SSE)
    await third.start()
    assert (await third.head())[0] == 200
    await next_update(third, 1)
    await third.leave()
    assert gw.app.state.live.connections._open == {}
    await gw.http.aclose()


async def test_a_refused_start_counts_no_connection_and_polls_nothing(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, live_max_connections_per_client=1)
    for _ in range(3):  # each refusal gives its connection back: a limit of one lets every one through
        call = StreamingCall.post(gw.app, {"query": USAGE, "variables": {"keys": ["not an id\u0000"]}}, SSE)
        await call.start()
        events = sse_events(await call.read_to_end())
        assert events[0][1]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert events[-1] == ("complete", None)
    # Variables that do not fit: the operation's one result, in the client's protocol, and the stream ends.
    call = StreamingCall.post(gw.app, {"query": USAGE, "variables": {"keys": [{"not": "an id"}]}}, MULTIPART)
    await call.start()
    [heartbeat, only] = multipart_parts(await call.read_to_end())
    assert heartbeat == {} and "data" not in only["payload"]
    assert "$keys" in only["payload"]["errors"][0]["message"]
    assert gw.upstream_calls() == []
    assert gw.app.state.live.connections._open == {}
    await gw.http.aclose()


async def test_a_subscription_priced_above_the_limit_is_refused_before_anything_polls(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, max_query_cost=5)
    call = StreamingCall.post(gw.app, {"query": USAGE, "variables": {"teams": ["t1"]}}, SSE)
    await call.start()
    events = sse_events(await call.read_to_end())
    assert events[0][1]["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert gw.upstream_calls() == []
    await gw.http.aclose()


async def test_a_virtual_key_holder_cannot_watch_budgets_over_http(gw: Gateway) -> None:
    key = await spending_key(gw)
    arranged = len(gw.upstream_calls())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.app), base_url="http://gateway") as http:
        response = await http.post(
            "/graphql",
            json={"query": USAGE, "variables": {"keys": [key["id"]]}},
            headers={**SSE, "x-bf-vk": key["value"]},
        )
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert len(gw.upstream_calls()) == arranged
