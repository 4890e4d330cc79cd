"""Concurrent requests never interleave half-written state."""

from __future__ import annotations

import asyncio

import httpx

TEAMS = "/api/governance/teams"


async def test_concurrent_distinct_creates_all_succeed(current: httpx.AsyncClient) -> None:
    budgets = [{"max_limit": 1, "reset_duration": "1d"}]
    responses = await asyncio.gather(
        *(current.post(TEAMS, json={"name": f"team-{i}", "budgets": budgets}) for i in range(200))
    )
    assert [r.status_code for r in responses] == [200] * 200
    assert (await current.get(TEAMS)).json()["count"] == 200
    assert (await current.get("/api/governance/budgets")).json()["count"] == 200


async def test_concurrent_same_name_exactly_one_wins(current: httpx.AsyncClient) -> None:
    budgets = [{"max_limit": 1, "reset_duration": "1d"}]
    responses = await asyncio.gather(
        *(current.post(TEAMS, json={"name": "same", "budgets": budgets}) for _ in range(20))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 19
    assert (await current.get(TEAMS)).json()["count"] == 1
    assert (await current.get("/api/governance/budgets")).json()["count"] == 1


async def test_concurrent_same_name_seed_generation(seed: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(*(seed.post(TEAMS, json={"name": "same"}) for _ in range(20)))
    assert sorted(r.status_code for r in responses) == [200] + [500] * 19
    assert (await seed.get(TEAMS)).json()["count"] == 1
