"""Concurrent createTeam over real sockets: every distinct name once, one name exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.reliability.conftest import EmbeddedServer, RealGateway, real_gateway
from tests.reliability.documents import CREATE_TEAM


@pytest.fixture(params=["seed", "current"])
def generation_upstream(request: pytest.FixtureRequest) -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(generation=request.param).start()
    yield server
    server.stop()


@pytest.fixture
async def direct_gateway(generation_upstream: EmbeddedServer) -> AsyncIterator[RealGateway]:
    """The gateway straight to the embedded server over TCP, with default timeouts and its own detection."""
    gw = real_gateway(generation_upstream.url)
    yield gw
    await gw.aclose()


async def test_200_concurrent_distinct_names_create_200_teams(
    direct_gateway: RealGateway, generation_upstream: EmbeddedServer
) -> None:
    results = await asyncio.gather(
        *(direct_gateway.graphql(CREATE_TEAM, {"input": {"name": f"team-{i:03}"}}) for i in range(200))
    )
    assert all("errors" not in r for r in results), [r for r in results if "errors" in r][:3]
    names = sorted(r["data"]["createTeam"]["team"]["name"] for r in results)
    assert names == [f"team-{i:03}" for i in range(200)]
    assert len({r["data"]["createTeam"]["team"]["id"] for r in results}) == 200
    assert await generation_upstream.team_count() == 200
    assert generation_upstream.posts("/api/governance/teams") == 200, "each mutation forwarded once, over TCP"


async def test_50_concurrent_same_name_create_one_team(
    direct_gateway: RealGateway, generation_upstream: EmbeddedServer
) -> None:
    results = await asyncio.gather(
        *(direct_gateway.graphql(CREATE_TEAM, {"input": {"name": "contended"}}) for _ in range(50))
    )
    assert all("errors" not in r for r in results), [r for r in results if "errors" in r][:3]
    payloads = [r["data"]["createTeam"] for r in results]
    created = [p for p in payloads if p["team"] is not None]
    taken = [p for p in payloads if [e["code"] for e in p["userErrors"]] == ["NAME_TAKEN"]]
    assert len(created) == 1 and created[0]["userErrors"] == []
    assert len(taken) == 49 and all(p["team"] is None for p in taken)
    assert await generation_upstream.teams_named("contended") == 1
    assert await generation_upstream.team_count() == 1
    assert generation_upstream.posts("/api/governance/teams") == 50
