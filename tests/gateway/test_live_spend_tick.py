"""``spendTick``: a running total from ``/api/logs/stats``, one call per interval, checked arguments, v2 only.

The upstream is mostly a mock of Bifrost's stats route (the real client code runs, only the wire is swapped), so
each test decides what the totals are and sees every query string the gateway sent; the last test runs against the
embedded server, whose chat completions write the request log the totals are read from.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from app.keys import entry_for
from app.live import LocalHub
from app.settings import Settings
from app.web import create_app
from app.web.edge import GatewayASGI
from tests.gateway.conftest import REVEAL_KEY, upstream_http
from tests.gateway.live import AsgiWebSocket, SteppedClock, make_live_gateway

TICK = """
subscription Tick($teams: [ID!], $keys: [ID!], $providers: [String!], $models: [String!], $since: DateTime) {
  spendTick(teamIds: $teams, virtualKeyIds: $keys, providers: $providers, models: $models, since: $since) {
    totalCost totalRequests totalTokens since
  }
}
"""


class Stats:
    """Bifrost's stats route: answers ``totals`` and records each query."""

    def __init__(self) -> None:
        self.totals = {"total_requests": 0, "total_tokens": 0, "total_cost": 0.0}
        self.queries: list[dict[str, list[str]]] = []
        self.status = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/api/logs/stats":
            return httpx.Response(404, json={"error": {"message": "not found"}})
        self.queries.append(parse_qs(request.url.query.decode()))
        if self.status != 200:
            return httpx.Response(self.status, json={"error": {"message": "Unauthorized"}})
        return httpx.Response(200, json={**self.totals, "success_rate": 100, "average_latency": 1.0})


def gateway(stats: Stats, clock: SteppedClock, generation: str = "v2") -> GatewayASGI:
    settings = Settings(
        bifrost_url="http://bifrost.internal",
        bifrost_api_generation=generation,
        gateway_api_keys=entry_for("tests", REVEAL_KEY, can_reveal=True),
    )
    return create_app(settings, transport=httpx.MockTransport(stats), live_hub=LocalHub(2.0, sleep=clock.sleep))


async def first(ws: AsgiWebSocket, variables: dict[str, Any]) -> dict[str, Any]:
    await ws.subscribe("t", TICK, variables)
    message = await ws.receive_except_pings()
    assert message["type"] in ("next", "error"), message
    payload: dict[str, Any] = message["payload"]
    return payload


async def test_the_total_comes_first_then_each_change_one_call_per_interval() -> None:
    stats, clock = Stats(), SteppedClock()
    stats.totals = {"total_requests": 3, "total_tokens": 33, "total_cost": 0.5}
    app = gateway(stats, clock)
    async with AsgiWebSocket(app) as ws, AsgiWebSocket(app, client=("10.0.0.9", 1)) as other:
        await ws.init()
        await other.init()
        payload = await first(ws, {"teams": ["t1"]})
        assert payload == {
            "data": {"spendTick": {"totalCost": 0.5, "totalRequests": "3", "totalTokens": "33", "since": None}}
        }
        await first(other, {"teams": ["t1"]})
        assert len(stats.queries) == 1, "a second subscriber of the same filters shares the poll"
        await clock.until_waiting()
        clock.step()  # the same totals: nothing is pushed
        await clock.until_waiting()
        assert len(stats.queries) == 2
        stats.totals = {"total_requests": 4, "total_tokens": 44, "total_cost": 0.75}
        clock.step()
        pushed = await ws.receive_except_pings()
        assert pushed["payload"]["data"]["spendTick"]["totalCost"] == 0.75
        assert (await other.receive_except_pings())["payload"]["data"]["spendTick"]["totalRequests"] == "4"
    assert stats.queries[0] == {"team_ids": ["t1"]}


async def test_filters_and_since_go_upstream_as_bifrost_reads_them() -> None:
    stats, clock = Stats(), SteppedClock()
    async with AsgiWebSocket(gateway(stats, clock)) as ws:
        await ws.init()
        variables = {
            "teams": ["t2", "t1", "t2"],
            "keys": ["k1"],
            "providers": ["openai"],
            "models": ["gpt-4o-mini", "gpt-4o"],
            "since": "2026-03-01T12:30:00+02:00",
        }
        payload = await first(ws, variables)
    assert payload["data"]["spendTick"]["since"] == "2026-03-01T12:30:00+02:00"
    assert stats.queries == [
        {
            "team_ids": ["t1,t2"],
            "virtual_key_ids": ["k1"],
            "providers": ["openai"],
            "models": ["gpt-4o,gpt-4o-mini"],
            "start_time": ["2026-03-01T10:30:00Z"],
        }
    ]


async def test_repeated_ids_and_names_count_once_against_the_filter_limits() -> None:
    stats, clock = Stats(), SteppedClock()
    async with AsgiWebSocket(gateway(stats, clock)) as ws:
        await ws.init()
        payload = await first(ws, {"teams": ["t1"] * 500, "models": ["gpt-4o"] * 500})
    assert payload["data"]["spendTick"]["totalRequests"] == "0", payload
    assert stats.queries == [{"team_ids": ["t1"], "models": ["gpt-4o"]}]


@pytest.mark.parametrize(
    ("variables", "argument", "fragment"),
    [
        ({"teams": ["a/b"]}, "teamIds", "teamIds[0] is not a valid id"),
        ({"keys": [f"k{n}" for n in range(51)]}, "virtualKeyIds", "at most 50"),
        ({"providers": ["open,ai"]}, "providers", "providers[0] must be"),
        ({"models": [" "]}, "models", "models[0] must be"),
        ({"models": ["m\u0000"]}, "models", "models[0] must be"),
        ({"models": ["m" * 201]}, "models", "models[0] must be"),
        ({"since": "2026-03-01T12:30:00"}, "since", "UTC offset"),
        ({"since": "0001-01-01T00:00:00Z"}, "since", "between the years 1970 and 9999"),
    ],
)
async def test_bad_arguments_are_refused_by_name_and_nothing_is_sent(
    variables: dict[str, Any], argument: str, fragment: str
) -> None:
    stats, clock = Stats(), SteppedClock()
    async with AsgiWebSocket(gateway(stats, clock)) as ws:
        await ws.init()
        payload = await first(ws, variables)
    (error,) = payload["errors"]
    assert fragment in error["message"]
    if error["extensions"]["code"] == "BAD_USER_INPUT":
        assert error["extensions"]["argument"] == argument
    assert stats.queries == []


async def test_an_unparseable_since_is_refused_by_the_scalar() -> None:
    stats, clock = Stats(), SteppedClock()
    async with AsgiWebSocket(gateway(stats, clock)) as ws:
        await ws.init()
        payload = await first(ws, {"since": "yesterday"})
    assert payload["errors"][0]["message"].startswith("Variable '$since' has invalid value")
    assert stats.queries == []


@pytest.mark.parametrize("generation", ["seed", "current"])
async def test_older_bifrost_versions_answer_unsupported_with_nothing_polled(generation: str) -> None:
    stats, clock = Stats(), SteppedClock()
    async with AsgiWebSocket(gateway(stats, clock, generation)) as ws:
        await ws.init()
        payload = await first(ws, {})
        assert (await ws.receive_json())["type"] == "complete"
    assert payload["errors"][0]["extensions"]["code"] == "UNSUPPORTED_BY_UPSTREAM"
    assert stats.queries == []


async def test_a_refused_poll_ends_the_stream_with_the_querys_error() -> None:
    stats, clock = Stats(), SteppedClock()
    async with AsgiWebSocket(gateway(stats, clock), headers=[("authorization", "Bearer expired")]) as ws:
        await ws.init()
        await first(ws, {})
        stats.status = 401
        await clock.until_waiting()
        clock.step()
        ended = await ws.receive_except_pings()
        assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert (await ws.receive_json())["type"] == "complete"


SPEND = "subscription Spend($teams: [ID!]) { spendTick(teamIds: $teams) { totalCost totalRequests totalTokens } }"
HELLO = [{"role": "user", "content": "Hello there"}]  # 3 prompt tokens, 8 completion tokens from the mock provider
HELLO_MINI_COST = (3 * 0.15 + 8 * 0.60) / 1_000_000  # gpt-4o-mini's price in the embedded server's table
OPENAI = {"provider": "openai", "allowed_models": ["*"]}


async def test_the_total_follows_chat_completions_through_the_embedded_server() -> None:
    clock = SteppedClock()
    gw = await make_live_gateway("v2", clock=clock)
    async with upstream_http(gw) as bifrost:
        team = (await bifrost.post("/api/governance/teams", json={"name": "spenders"})).json()["team"]
        key = (
            await bifrost.post(
                "/api/governance/virtual-keys",
                json={"name": "k", "team_id": team["id"], "provider_configs": [OPENAI]},
            )
        ).json()["virtual_key"]
        other = (
            await bifrost.post(
                "/api/governance/virtual-keys",
                json={"name": "elsewhere", "provider_configs": [OPENAI]},
            )
        ).json()["virtual_key"]

        async def chat(value: str) -> None:
            answer = await bifrost.post(
                "/v1/chat/completions",
                json={"model": "openai/gpt-4o-mini", "messages": HELLO},
                headers={"x-bf-vk": value},
            )
            assert answer.status_code == 200, answer.text

        await chat(key["value"])
        async with AsgiWebSocket(gw.app) as ws:
            await ws.init()
            await ws.subscribe("s", SPEND, {"teams": [team["id"]]})
            tick = (await ws.receive_except_pings())["payload"]["data"]["spendTick"]
            assert tick == {"totalCost": pytest.approx(HELLO_MINI_COST), "totalRequests": "1", "totalTokens": "11"}
            await chat(key["value"])
            await chat(key["value"])
            await chat(other["value"])  # another team's spend is not this total's
            await clock.until_waiting()
            clock.step()
            tick = (await ws.receive_except_pings())["payload"]["data"]["spendTick"]
    assert tick == {"totalCost": pytest.approx(3 * HELLO_MINI_COST), "totalRequests": "3", "totalTokens": "33"}
    await gw.http.aclose()


async def test_bifrost_down_for_a_moment_does_not_end_the_stream() -> None:
    stats, clock = Stats(), SteppedClock()
    settings = Settings(bifrost_url="http://bifrost.internal", bifrost_api_generation="v2", upstream_read_retries=0)
    app = create_app(settings, transport=httpx.MockTransport(stats), live_hub=None)
    hub = app.state.live.hub
    hub.sleep = clock.sleep  # the gateway's own hub (tolerating Bifrost's passing failures), on the test's clock
    async with AsgiWebSocket(app) as ws:
        await ws.init()
        await first(ws, {})
        stats.status = 503
        await clock.until_waiting()
        clock.step()
        await clock.until_waiting()  # the failed poll skipped its interval
        stats.status = 200
        stats.totals = {"total_requests": 1, "total_tokens": 11, "total_cost": 0.25}
        clock.step()
        pushed = await ws.receive_except_pings()
    assert pushed["payload"]["data"]["spendTick"]["totalCost"] == 0.25
    assert len(stats.queries) == 3
