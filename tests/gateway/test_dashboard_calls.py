"""The dashboard query's upstream call plan is pinned: no N+1, waves grow with depth only."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.settings import Settings
from app.web import create_app
from tests.gateway.arrange import FailingTransport, upstream_error

DASHBOARD = """
query Dashboard {
  teams(first: 100) {
    totalCount
    edges { node {
      id name
      customer { id name budget { id maxLimit } teams { id name } }
      budgets { id maxLimit currentUsage }
      virtualKeys { id name providerConfigs { provider keys { keyId name } budget { id } rateLimit { id } } }
    } }
  }
}
"""
CUSTOMERS = 5


class WaveRecorder(httpx.AsyncBaseTransport):
    """Wraps a transport; gives each request a wave: 1 + the deepest wave completed before it started."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.completed_max = 0
        self.calls: list[tuple[int, str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        wave = self.completed_max + 1
        self.calls.append((wave, request.method, request.url.path))
        # Like network latency: requests issued together all start before any of them completes.
        await asyncio.sleep(0.002)
        response = await self.inner.handle_async_request(request)
        await response.aread()
        self.completed_max = max(self.completed_max, wave)
        return response


async def seed_data(upstream: Any, teams: int) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream), base_url="http://b") as up:
        customer_ids = []
        for c in range(CUSTOMERS):
            body = {"name": f"customer-{c}", "budget": {"max_limit": 1000, "reset_duration": "1M"}}
            customer_ids.append((await up.post("/api/governance/customers", json=body)).json()["customer"]["id"])
        for t in range(teams):
            body = {
                "name": f"team-{t}",
                "customer_id": customer_ids[t % CUSTOMERS],
                "budgets": [{"max_limit": 100, "reset_duration": "1d"}],
            }
            team = (await up.post("/api/governance/teams", json=body)).json()["team"]
            key = {
                "name": f"key-{t}",
                "team_id": team["id"],
                "budgets": [{"max_limit": 5, "reset_duration": "1d"}],
                "provider_configs": [
                    {
                        "provider": "openai",
                        "weight": 1,
                        "allowed_models": ["*"],
                        "key_ids": ["*"],
                        "budgets": [{"max_limit": 1, "reset_duration": "1h"}],
                        "rate_limit": {"request_max_limit": 10, "request_reset_duration": "1m"},
                    }
                ],
            }
            response = await up.post("/api/governance/virtual-keys", json=key)
            assert response.status_code == 200, response.text


@pytest.mark.parametrize("teams", [10, 100])
async def test_dashboard_query_upstream_calls_are_pinned(teams: int) -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    await seed_data(upstream, teams)
    recorder = WaveRecorder(httpx.ASGITransport(app=upstream))
    app = create_app(
        Settings(bifrost_url="http://bifrost.internal", bifrost_api_generation="current"), transport=recorder
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        response = await http.post("/graphql", json={"query": DASHBOARD})
    body = response.json()
    assert "errors" not in body, body
    nodes = [edge["node"] for edge in body["data"]["teams"]["edges"]]
    assert len(nodes) == teams
    for node in nodes:
        assert node["customer"]["budget"]["maxLimit"] == 1000
        assert node["name"] in {t["name"] for t in node["customer"]["teams"]}
        assert [b["maxLimit"] for b in node["budgets"]] == [100]
        [key] = node["virtualKeys"]
        [config] = key["providerConfigs"]
        assert config["keys"] and config["budget"] is not None and config["rateLimit"] is not None

    # Wave 1: the team page. Wave 2, concurrently: one customer GET per distinct customer (for its teams)
    # and one virtual-key list for all 100 teams' keys. Nothing else, whatever the number of teams.
    paths = sorted(path for _, _, path in recorder.calls)
    assert paths.count("/api/governance/teams") == 1
    assert paths.count("/api/governance/virtual-keys") == 1
    assert len([p for p in paths if p.startswith("/api/governance/customers/")]) == CUSTOMERS
    assert len(recorder.calls) == 2 + CUSTOMERS
    assert max(wave for wave, _, _ in recorder.calls) == 2
    # The key list goes out beside the team page, not after it.
    assert [wave for wave, _, path in recorder.calls if path == "/api/governance/virtual-keys"] == [1]


# The same dashboard on Bifrost v2, with the fields v2 added ------------------------------------------

DASHBOARD_V2 = """
query Dashboard {
  teams(first: 100) {
    totalCount
    edges { node {
      id name calendarAligned
      customer { id name budget { id maxLimit } teams { id name }
        budgets { id maxLimit effectiveMaxLimit override { mode amount } } virtualKeyCount calendarAligned }
      budgets { id maxLimit currentUsage effectiveMaxLimit override { mode } }
      virtualKeys { id name expiresAt calendarAligned allowAllProviders rotatedAt previousValueExpiresAt
        budgets { effectiveMaxLimit override { mode cyclesRemaining } }
        providerConfigs { provider keys { keyId name } budget { id } rateLimit { id metric }
          blacklistedModels allowAllKeys modelBudgets { modelName budgets { id } rateLimit { id } } } }
    } }
  }
}
"""


@pytest.mark.parametrize("teams", [10, 100])
async def test_the_v2_dashboard_with_v2_fields_makes_the_same_calls(teams: int) -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="v2")
    await seed_data(upstream, teams)
    recorder = WaveRecorder(httpx.ASGITransport(app=upstream))
    app = create_app(Settings(bifrost_url="http://bifrost.internal", bifrost_api_generation="v2"), transport=recorder)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        response = await http.post("/graphql", json={"query": DASHBOARD_V2})
    body = response.json()
    assert "errors" not in body, body
    nodes = [edge["node"] for edge in body["data"]["teams"]["edges"]]
    assert len(nodes) == teams
    for node in nodes:
        customer = node["customer"]
        # v2 keeps the deprecated `budget` of the create as the first of `budgets`.
        assert customer["budget"]["maxLimit"] == 1000 and [b["maxLimit"] for b in customer["budgets"]] == [1000]
        assert customer["budgets"][0]["effectiveMaxLimit"] == 1000 and customer["budgets"][0]["override"] is None
        assert customer["virtualKeyCount"] == 0  # the keys belong to its teams, not to the customer
        assert customer["calendarAligned"] is False and node["calendarAligned"] is False
        assert [b["maxLimit"] for b in node["budgets"]] == [100]
        [key] = node["virtualKeys"]
        assert key["expiresAt"] is None and key["rotatedAt"] is None and key["allowAllProviders"] is False
        [config] = key["providerConfigs"]
        assert config["allowAllKeys"] is True and config["blacklistedModels"] == [] and config["modelBudgets"] == []
        assert config["budget"] is not None and config["rateLimit"] == {"id": config["rateLimit"]["id"], "metric": None}

    # The v2 fields arrive embedded or from the customer GETs the dashboard already makes: the plan is the same.
    paths = sorted(path for _, _, path in recorder.calls)
    assert paths.count("/api/governance/teams") == 1
    assert paths.count("/api/governance/virtual-keys") == 1
    assert len([p for p in paths if p.startswith("/api/governance/customers/")]) == CUSTOMERS
    assert len(recorder.calls) == 2 + CUSTOMERS
    assert max(wave for wave, _, _ in recorder.calls) == 2


# The teams' key list sent beside the page --------------------------------------------------------

KEYS_OF_TEAMS = """
query Keys($first: Int!, $search: String) {
  teams(first: $first, search: $search) { edges { node { name virtualKeys { id name team { name } } } } }
}
"""


async def dashboard_gateway(teams: int, transport: Any = None) -> tuple[httpx.AsyncClient, WaveRecorder, Any]:
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    await seed_data(upstream, teams)
    recorder = WaveRecorder(transport or httpx.ASGITransport(app=upstream))
    app = create_app(
        Settings(bifrost_url="http://bifrost.internal", bifrost_api_generation="current"), transport=recorder
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw"), recorder, upstream


async def post(http: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_keys_fetched_beside_the_page_equal_the_keys_loaded_after_it() -> None:
    http, recorder, _ = await dashboard_gateway(12)
    beside = await post(http, KEYS_OF_TEAMS, {"first": 100})
    assert [(wave, path) for wave, _, path in recorder.calls] == [
        (1, "/api/governance/teams"),
        (1, "/api/governance/virtual-keys"),
    ]
    recorder.calls.clear()
    recorder.completed_max = 0
    # A search may leave a handful of teams: the keys are then loaded after the page, by the loader.
    after = await post(http, KEYS_OF_TEAMS, {"first": 100, "search": "team-"})
    assert [(wave, path) for wave, _, path in recorder.calls] == [
        (1, "/api/governance/teams"),
        (2, "/api/governance/virtual-keys"),
    ]
    assert "errors" not in beside and beside == after
    nodes = [edge["node"] for edge in beside["data"]["teams"]["edges"]]
    assert len(nodes) == 12
    assert all([key["team"]["name"] for key in node["virtualKeys"]] == [node["name"]] for node in nodes)
    await http.aclose()


@pytest.mark.parametrize(
    "selection",
    [
        pytest.param("edges { node { ...Keys } } } } fragment Keys on Team { virtualKeys { id } }", id="fragment"),
        pytest.param("edges { ... on TeamEdge { node { virtualKeys { id } } } } } }", id="inline-fragment"),
        pytest.param("nodes { virtualKeys { id } } } }", id="nodes"),
    ],
)
async def test_keys_are_fetched_beside_the_page_whatever_the_selection_shape(selection: str) -> None:
    http, recorder, _ = await dashboard_gateway(6)
    body = await post(http, "query Q { teams(first: 10) { " + selection, {})
    assert "errors" not in body, body
    assert [(wave, path) for wave, _, path in recorder.calls] == [
        (1, "/api/governance/teams"),
        (1, "/api/governance/virtual-keys"),
    ]
    await http.aclose()


async def test_no_key_list_is_sent_for_a_page_that_does_not_ask_for_keys() -> None:
    http, recorder, _ = await dashboard_gateway(6)
    body = await post(
        http, "query Q($first: Int!) { teams(first: $first) { edges { node { id name } } } }", {"first": 10}
    )
    assert "errors" not in body
    assert [path for _, _, path in recorder.calls] == ["/api/governance/teams"]
    await http.aclose()


async def test_a_failed_key_list_beside_the_page_is_loaded_again_like_before() -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    failures = iter([True])  # the first key list fails, the next one answers

    def fail(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/api/governance/virtual-keys" and next(failures, False):
            return upstream_error(500, "database is locked")
        return None

    http, recorder, _ = await dashboard_gateway(6, FailingTransport(upstream, fail))
    await seed_data(upstream, 6)
    body = await post(http, KEYS_OF_TEAMS, {"first": 10})
    assert "errors" not in body, body
    assert all(len(edge["node"]["virtualKeys"]) == 1 for edge in body["data"]["teams"]["edges"])
    assert [(wave, path) for wave, _, path in recorder.calls] == [
        (1, "/api/governance/teams"),
        (1, "/api/governance/virtual-keys"),
        (2, "/api/governance/virtual-keys"),
    ]
    await http.aclose()


async def test_keys_that_keep_failing_fail_each_team_as_before() -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="current")

    def fail(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/api/governance/virtual-keys":
            return upstream_error(500, "database is locked")
        return None

    http, _, _ = await dashboard_gateway(6, FailingTransport(upstream, fail))
    await seed_data(upstream, 6)
    body = await post(http, "query Q { teams(first: 10) { edges { node { name virtualKeys { id } } } } }", {})
    # [VirtualKey!]! all the way up to the non-null root field: data is null, with the failed team's error.
    assert body["data"] is None
    assert body["errors"]
    for error in body["errors"]:
        assert error["path"][:2] == ["teams", "edges"] and error["path"][3:] == ["node", "virtualKeys"]
    assert {error["extensions"]["code"] for error in body["errors"]} == {"UPSTREAM_ERROR"}
    await http.aclose()


async def test_a_failed_page_abandons_the_key_list_and_the_gateway_keeps_serving() -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    broken = [True]

    def fail(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/api/governance/teams" and broken[0]:
            return upstream_error(500, "database is locked")
        return None

    http, _, _ = await dashboard_gateway(6, FailingTransport(upstream, fail))
    await seed_data(upstream, 6)
    body = await post(http, KEYS_OF_TEAMS, {"first": 10})
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "UPSTREAM_ERROR"
    broken[0] = False
    body = await post(http, KEYS_OF_TEAMS, {"first": 10})
    assert len(body["data"]["teams"]["edges"]) == 6
    await http.aclose()
