"""Governance GET answers are reused only while the database is unchanged."""

from __future__ import annotations

from bifrost_helpers import client_for

from app.embedded_bifrost import create_app

TEAMS = "/api/governance/teams"


async def test_answer_cache_sees_writes_through_the_api() -> None:
    async with client_for(create_app()) as client:
        assert (await client.get(TEAMS)).json()["count"] == 0
        assert (await client.post(TEAMS, json={"name": "a"})).status_code == 200
        assert [team["name"] for team in (await client.get(TEAMS)).json()["teams"]] == ["a"]


async def test_answer_cache_sees_writes_through_the_connection() -> None:
    app = create_app()
    async with client_for(app) as client:
        team = (await client.post(TEAMS, json={"name": "a"})).json()["team"]
        first = (await client.get(TEAMS)).content
        assert (await client.get(TEAMS)).content == first
        app.state.store.db.execute("UPDATE teams SET name = 'b' WHERE id = ?", (team["id"],))
        assert (await client.get(TEAMS)).json()["teams"][0]["name"] == "b"


async def test_answer_cache_keys_on_the_query() -> None:
    async with client_for(create_app()) as client:
        for name in ("a", "b"):
            await client.post(TEAMS, json={"name": name})
        assert (await client.get(TEAMS, params={"limit": 1})).json()["count"] == 1
        assert (await client.get(TEAMS, params={"limit": 2})).json()["count"] == 2
