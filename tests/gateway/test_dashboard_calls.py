"""The dashboard query's upstream call plan is pinned: no N+1, waves grow with depth only."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.settings import Settings
from app.web import create_app

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
