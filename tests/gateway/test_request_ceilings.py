"""Run-time ceilings of one request: upstream calls, upstream bytes, response bytes (set small here)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.bifrost import BifrostClient, TooManyUpstreamCalls, UpstreamDataTooLarge, UpstreamProtocolError
from app.bifrost.wire import HttpxWire
from tests.gateway.arrange import upstream_post
from tests.gateway.conftest import Gateway, make_gateway
from tests.gateway.test_dashboard_calls import DASHBOARD, seed_data
from tests.gateway.test_query_cost import KEYS_TEAMS_BUDGETS

KEYS = 5


async def keys_of_distinct_teams(gw: Gateway) -> None:
    for i in range(KEYS):
        team = await upstream_post(gw, "teams", {"name": f"team-{i}"})
        await upstream_post(gw, "virtual-keys", {"name": f"key-{i}", "team_id": team["id"]})


async def test_calls_past_the_ceiling_are_not_sent_and_fail_with_their_own_code() -> None:
    gw = await make_gateway("current", max_upstream_calls_per_request=3)
    try:
        await keys_of_distinct_teams(gw)
        body = await gw.graphql(KEYS_TEAMS_BUDGETS)
        # The key list, then one GET per key's team: the ceiling lets two of those five through.
        assert len(gw.upstream_calls()) == 3
        assert body["errors"]
        assert {error["extensions"]["code"] for error in body["errors"]} == {"TOO_MANY_UPSTREAM_CALLS"}
        assert {error["extensions"]["limit"] for error in body["errors"]} == {3}
        assert all(error["path"][-2:] == ["team", "budgets"] for error in body["errors"])
        assert len(body["data"]["virtualKeys"]["nodes"]) == KEYS  # what did not need a call is still there
        message = body["errors"][0]["message"]
        assert "http" not in message.lower() and "internal" not in message
    finally:
        await gw.http.aclose()


async def test_the_call_ceiling_is_per_request() -> None:
    gw = await make_gateway("current", max_upstream_calls_per_request=6)
    try:
        await keys_of_distinct_teams(gw)
        for _ in range(3):  # each request has its own six calls
            body = await gw.graphql(KEYS_TEAMS_BUDGETS)
            assert "errors" not in body, body
        assert len(gw.upstream_calls()) == 3 * (1 + KEYS)
    finally:
        await gw.http.aclose()


async def test_the_dashboard_stays_within_the_default_call_ceiling() -> None:
    gw = await make_gateway("current")
    try:
        await seed_data(gw.upstream, 100)
        body = await gw.graphql(DASHBOARD)
        assert "errors" not in body
    finally:
        await gw.http.aclose()


async def test_upstream_bytes_past_the_ceiling_fail_with_their_own_code() -> None:
    gw = await make_gateway("current", max_upstream_bytes_per_request=1024)
    try:
        for i in range(20):
            await upstream_post(gw, "teams", {"name": f"a-team-with-a-longish-name-{i:02}"})
        body = await gw.graphql("{ teams(first: 100) { nodes { id } } }")
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"] == {"code": "UPSTREAM_DATA_TOO_LARGE", "limit": 1024}
        assert (await gw.graphql("{ teams(first: 1) { nodes { id } } }"))["data"]["teams"]["nodes"]
    finally:
        await gw.http.aclose()


def sized_upstream(sizes: dict[str, int], sent: list[str]) -> BifrostClient:
    """A client over a mock Bifrost answering each path with a JSON body of the given size."""

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        size = sizes[request.url.path]
        return httpx.Response(200, content=b'{"message":"' + b"x" * (size - 14) + b'"}')

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://bifrost")
    return BifrostClient(HttpxWire(client), generation="current", max_response_bytes=10_000)


async def test_an_answer_is_read_only_up_to_what_remains_and_nothing_is_sent_after() -> None:
    sent: list[str] = []
    client = sized_upstream({"/a": 600, "/b": 600, "/c": 10}, sent)
    session = client.session({}, max_bytes=1000)
    await session.call("GET", "/a")
    with pytest.raises(UpstreamDataTooLarge) as refused:
        await session.call("GET", "/b")  # 600 more than the 400 left
    assert refused.value.limit == 1000
    with pytest.raises(UpstreamDataTooLarge):
        await session.call("GET", "/c")
    assert sent == ["/a", "/b"]
    # The per-response limit is still its own error, and another request has its own allowance.
    await client.session({}, max_bytes=1000).call("GET", "/a")
    larger_than_any_answer = sized_upstream({"/a": 20_000}, []).session({}, max_bytes=50_000)
    with pytest.raises(UpstreamProtocolError):
        await larger_than_any_answer.call("GET", "/a")


async def test_the_call_ceiling_counts_calls_sent_not_calls_asked_for() -> None:
    sent: list[str] = []
    client = sized_upstream({"/a": 20}, sent)
    session = client.session({}, max_calls=2)
    await session.call("GET", "/a")
    await session.call("GET", "/a")
    with pytest.raises(TooManyUpstreamCalls) as refused:
        await session.call("GET", "/a")
    assert refused.value.limit == 2
    assert len(sent) == 2 and session.calls == 2


async def test_a_shared_read_stopped_by_its_senders_ceiling_is_sent_again_for_the_others() -> None:
    """Two requests read the same team list at once; the one that sent it has a tiny allowance."""
    arrived, gate = asyncio.Event(), asyncio.Event()
    sent: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        arrived.set()
        await gate.wait()
        return httpx.Response(200, json={"teams": [], "count": 0, "total_count": 0, "limit": 10, "offset": 0})

    wire = HttpxWire(httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://bifrost"))
    client = BifrostClient(wire, generation="current")
    assert client.reads is not None
    first = asyncio.ensure_future(client.session({}, max_bytes=10).list_teams())
    await arrived.wait()
    second = asyncio.ensure_future(client.session({}).list_teams())
    async with asyncio.timeout(5):
        while client.reads.waiting() != 1:  # noqa: ASYNC110 (the coalescer has no event to wait on)
            await asyncio.sleep(0)
    gate.set()
    with pytest.raises(UpstreamDataTooLarge):
        await first
    page: Any = await second
    assert page.teams == []
    assert len(sent) == 2  # the second request sent it again rather than taking the first one's refusal


async def test_a_response_larger_than_the_ceiling_is_replaced_by_an_error() -> None:
    gw = await make_gateway("current", max_response_bytes=1024)
    try:
        for i in range(30):
            await upstream_post(gw, "teams", {"name": f"team-{i:02}"})
        for accept in ("application/json", "application/graphql-response+json"):
            response = await gw.http.post(
                "/graphql", json={"query": "{ teams(first: 100) { nodes { id name } } }"}, headers={"accept": accept}
            )
            assert response.status_code == 200
            assert len(response.content) <= 1024
            assert response.json() == {
                "errors": [
                    {
                        "message": "The response is larger than the gateway sends for one request; ask for less.",
                        "extensions": {"code": "RESPONSE_TOO_LARGE", "limit": 1024},
                    }
                ],
                "data": None,
            }
        small = await gw.graphql("{ teams(first: 2) { nodes { id } } }")
        assert len(small["data"]["teams"]["nodes"]) == 2
    finally:
        await gw.http.aclose()
