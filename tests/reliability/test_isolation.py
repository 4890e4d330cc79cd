"""Requests share nothing: not DataLoader caches, not data fetched with another caller's credentials."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.reliability.conftest import FAST, EmbeddedServer, RealGateway, real_gateway
from tests.reliability.documents import error_codes
from tests.reliability.fault_proxy import Fault, FaultProxy

HELD_OPEN = """
query HeldOpen($id: ID!) {
  early: team(id: $id) { name }
  customers(first: 1) { edges { node { id } } }
}
"""
TEAM_NAME = "query TeamName($id: ID!) { team(id: $id) { name } }"
GRAPH = """
query Graph($id: ID!) {
  team(id: $id) { id name customer { id name } budgets { id maxLimit } }
  teams(first: 10) { edges { node { id name customer { name } } } }
}
"""


async def test_concurrent_requests_do_not_share_loader_caches(proxy: FaultProxy, upstream: EmbeddedServer) -> None:
    # Timeouts well above the held call: a loaded machine must not turn this into a timeout test.
    gateway = real_gateway(proxy.url, **{**FAST, "upstream_read_timeout": 10.0, "upstream_total_timeout": 20.0})
    team = await upstream.post("teams", {"name": "before"})
    team_path = f"/api/governance/teams/{team['id']}"
    try:
        # Request A reads the team at once, then is held open by a customers call the proxy holds until released.
        await proxy.set(Fault.LATENCY, match="/api/governance/customers", hold=True)
        held = asyncio.create_task(gateway.graphql(HELD_OPEN, {"id": team["id"]}))
        await proxy.arrived("GET", "/api/governance/customers")
        # The upstream answers each request synchronously on its one thread: once A's read is in its log,
        # the change below is served after it, so A read "before" whenever its answer reaches A.
        async with asyncio.timeout(5):
            while not upstream.received("GET", team_path):  # noqa: ASYNC110 (filled by the server thread)
                await asyncio.sleep(0.005)
        assert not held.done()

        async with upstream.rest() as rest:
            assert (await rest.put(team_path, json={"name": "after"})).status_code == 200
        second = await gateway.graphql(TEAM_NAME, {"id": team["id"]})
        assert not held.done()
        proxy.release()
        first = await held
    finally:
        await gateway.aclose()

    assert second == {"data": {"team": {"name": "after"}}}, "the second request saw the first one's cache"
    assert first["data"]["early"] == {"name": "before"}, "the first request did read before the change"
    assert len(proxy.requests("GET", team_path)) == 2


def basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def guarded_upstream() -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(auth=("admin", "pw")).start()
    yield server
    server.stop()


@pytest.fixture
async def open_gateway(guarded_upstream: EmbeddedServer) -> AsyncIterator[RealGateway]:
    """A gateway with no service credential: each caller's own credentials decide."""
    gw = real_gateway(guarded_upstream.url, bifrost_api_generation="current", breaker_failure_threshold=10_000)
    yield gw
    await gw.aclose()


async def test_callers_never_receive_data_fetched_with_other_credentials(
    open_gateway: RealGateway, guarded_upstream: EmbeddedServer
) -> None:
    customer = await guarded_upstream.post("customers", {"name": "Private Customer"})
    team = await guarded_upstream.post(
        "teams",
        {"name": "Private Team", "customer_id": customer["id"], "budgets": [{"max_limit": 9, "reset_duration": "1d"}]},
    )
    valid, wrong, anonymous = basic("admin", "pw"), basic("admin", "wrong"), {}
    for _ in range(40):
        answers = await asyncio.gather(
            open_gateway.post(GRAPH, {"id": team["id"]}, headers=valid),
            open_gateway.post(GRAPH, {"id": team["id"]}, headers=wrong),
            open_gateway.post(GRAPH, {"id": team["id"]}, headers=anonymous),
            open_gateway.post(GRAPH, {"id": team["id"]}, headers=valid),
        )
        for response in answers:
            assert response.status_code == 200, response.text
        allowed = [answers[0].json(), answers[3].json()]
        for body in allowed:
            assert "errors" not in body, body
            assert body["data"]["team"]["customer"]["name"] == "Private Customer"
            assert [e["node"]["name"] for e in body["data"]["teams"]["edges"]] == ["Private Team"]
        for refused in (answers[1], answers[2]):
            body = refused.json()
            assert body["data"] is None, body
            assert set(error_codes(body)) == {"UNAUTHENTICATED"}, body
            assert "Private" not in refused.text
    gets = [r for r in guarded_upstream.app.state.request_log if r.method == "GET"]
    assert len(gets) >= 160, "every caller's request went upstream with its own credentials"
