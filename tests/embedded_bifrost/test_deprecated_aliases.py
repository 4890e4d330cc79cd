"""The legacy ``/api/teams`` paths v2 keeps: the same handlers, with Bifrost's deprecation headers."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest
from bifrost_helpers import client_for, message_of

from app.embedded_bifrost import create_app

TEAMS = "/api/governance/teams"
HEADERS = {
    "deprecation": "true",
    "x-bifrost-deprecated-route": "true",
    "x-bifrost-route-removal": "following-major-release",
}


@pytest.fixture
async def v2() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(generation="v2")) as client:
        yield client


def _deprecated(response: httpx.Response, successor: str) -> bool:
    headers = {name: response.headers.get(name) for name in HEADERS}
    return headers == HEADERS and response.headers.get("link") == f'<{successor}>; rel="successor-version"'


async def test_alias_answers_what_the_canonical_path_answers(v2: httpx.AsyncClient) -> None:
    created = await v2.post("/api/teams", json={"name": "alpha"})
    assert created.status_code == 200
    assert _deprecated(created, TEAMS)
    team = created.json()["team"]
    assert created.json()["message"] == "Team created successfully"
    listed = await v2.get("/api/teams")
    assert _deprecated(listed, TEAMS)
    assert listed.json() == (await v2.get(TEAMS)).json()
    one = await v2.get(f"/api/teams/{team['id']}")
    assert _deprecated(one, f"{TEAMS}/{{team_id}}")
    assert one.json() == {"team": team} == (await v2.get(f"{TEAMS}/{team['id']}")).json()
    renamed = await v2.put(f"/api/teams/{team['id']}", json={"name": "beta"})
    assert renamed.json()["team"]["name"] == "beta"
    deleted = await v2.delete(f"/api/teams/{team['id']}")
    assert (deleted.status_code, _deprecated(deleted, f"{TEAMS}/{{team_id}}")) == (200, True)
    assert (await v2.get(TEAMS)).json()["count"] == 0


async def test_errors_on_the_alias_carry_the_headers_too(v2: httpx.AsyncClient) -> None:
    missing = await v2.get("/api/teams/nope")
    assert (missing.status_code, message_of(missing)) == (404, "Team not found")
    assert _deprecated(missing, f"{TEAMS}/{{team_id}}")
    refused = await v2.post("/api/teams", json={"name": ""})
    assert (refused.status_code, message_of(refused)) == (400, "Team name is required")
    assert _deprecated(refused, TEAMS)


async def test_the_link_never_echoes_the_request_path(v2: httpx.AsyncClient) -> None:
    response = await v2.get("/api/teams/x%0D%0Ainjected:%20yes")
    assert response.status_code == 404
    assert "injected" not in response.headers
    assert response.headers["link"] == f'<{TEAMS}/{{team_id}}>; rel="successor-version"'


async def test_canonical_paths_carry_no_deprecation(v2: httpx.AsyncClient) -> None:
    response = await v2.get(TEAMS)
    assert not any(name in response.headers for name in (*HEADERS, "link"))


async def test_alias_needs_credentials_like_the_canonical_path() -> None:
    app = create_app(generation="v2", auth=("admin", "pw"))
    async with client_for(app) as client:
        assert (await client.get("/api/teams")).status_code == 401
        token = base64.b64encode(b"admin:pw").decode()
        response = await client.get("/api/teams", headers={"authorization": f"Basic {token}"})
        assert response.status_code == 200


@pytest.mark.parametrize("generation", ["seed", "current"])
async def test_older_generations_have_no_alias(generation: str) -> None:
    async with client_for(create_app(generation=generation)) as client:
        for method, path in [("GET", "/api/teams"), ("POST", "/api/teams"), ("GET", "/api/teams/x")]:
            response = await client.request(method, path, json={"name": "t"})
            assert (response.status_code, message_of(response)) == (404, "Not found")
