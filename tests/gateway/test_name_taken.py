"""NAME_TAKEN whatever the page: Bifrost answers some taken names with a bare 500, and its only name lookup is a
substring search, so the gateway reads every page of that search for the exact name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.generations import generation_named
from app.settings import Settings
from app.web import create_app
from tests.gateway.arrange import FailingTransport, codes, result_of, upstream_error, upstream_post
from tests.gateway.conftest import Gateway

CREATE_TEAM = """
mutation CreateTeam($input: CreateTeamInput!) {
  createTeam(input: $input) { team { id name } userErrors { field message code } }
}
"""
UPDATE_TEAM = """
mutation UpdateTeam($input: UpdateTeamInput!) {
  updateTeam(input: $input) { team { id name } userErrors { field message code } }
}
"""
CREATE_KEY = """
mutation CreateVirtualKey($input: CreateVirtualKeyInput!) {
  createVirtualKey(input: $input) { virtualKey { id name } userErrors { field message code } }
}
"""
UPDATE_KEY = """
mutation UpdateVirtualKey($input: UpdateVirtualKeyInput!) {
  updateVirtualKey(input: $input) { virtualKey { id name } userErrors { field message code } }
}
"""
PADDING = 100  # one full page of similar names before the taken one

Fail = Callable[[httpx.Request], "httpx.Response | None"]


async def gateway_with(generation: str, fail: Fail | None = None) -> Gateway:
    upstream = create_embedded_bifrost(database=":memory:", generation=generation)
    app = create_app(
        Settings(bifrost_url="http://bifrost.internal:8080"),
        transport=FailingTransport(upstream, fail or (lambda _: None)),
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
    return Gateway(app=app, http=http, upstream=upstream, generation=generation_named(generation))


@pytest.fixture(params=["seed", "current"])
async def gateway_failing(request: pytest.FixtureRequest) -> AsyncIterator[Callable[[Fail | None], Any]]:
    made: list[Gateway] = []

    async def make(fail: Fail | None = None) -> Gateway:
        gw = await gateway_with(request.param, fail)
        made.append(gw)
        return gw

    yield make
    for gw in made:
        await gw.http.aclose()


def searches(gw: Gateway, collection: str) -> list[str]:
    return [r.query for r in gw.upstream_calls("GET", f"/api/governance/{collection}") if "search=" in r.query]


async def pad(gw: Gateway, collection: str, name: str) -> None:
    for i in range(PADDING):
        await upstream_post(gw, collection, {"name": f"pad-{i:03d}-{name}"})


async def test_create_team_name_taken_after_a_full_page_of_similar_names(gateway: Gateway) -> None:
    await pad(gateway, "teams", "probedup")
    first = result_of(await gateway.graphql(CREATE_TEAM, {"input": {"name": "probedup"}}), "createTeam")
    assert first["userErrors"] == []
    second = result_of(await gateway.graphql(CREATE_TEAM, {"input": {"name": "probedup"}}), "createTeam")
    assert codes(second) == [(["input", "name"], "NAME_TAKEN")]
    if gateway.generation.duplicate_names.team_create == 500:
        # A bare 500 there; 101 results: the taken name is on the second page, and reading stops there.
        assert len(searches(gateway, "teams")) == 2


async def test_update_team_to_a_name_taken_beyond_the_first_page(gateway: Gateway) -> None:
    await pad(gateway, "teams", "probedup")
    await upstream_post(gateway, "teams", {"name": "probedup"})
    team = await upstream_post(gateway, "teams", {"name": "other"})
    result = result_of(
        await gateway.graphql(UPDATE_TEAM, {"input": {"id": team["id"], "name": "probedup"}}), "updateTeam"
    )
    assert codes(result) == [(["input", "name"], "NAME_TAKEN")]


async def test_renaming_a_team_to_its_own_name_among_many_similar_is_not_taken(gateway: Gateway) -> None:
    await pad(gateway, "teams", "probedup")
    team = await upstream_post(gateway, "teams", {"name": "probedup"})
    result = result_of(
        await gateway.graphql(UPDATE_TEAM, {"input": {"id": team["id"], "name": "probedup"}}), "updateTeam"
    )
    assert result["userErrors"] == [] and result["team"]["name"] == "probedup"


async def test_a_bare_500_with_no_such_name_anywhere_stays_an_upstream_error(
    gateway_failing: Callable[[Fail | None], Any],
) -> None:
    def fail(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST" and request.url.path == "/api/governance/teams":
            return upstream_error(500, "failed to create team")
        return None

    gw = await gateway_failing(fail)
    await pad(gw, "teams", "probedup")
    body = await gw.graphql(CREATE_TEAM, {"input": {"name": "probedup"}})
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_ERROR"
    # Every page was read (100 similar names: one full page, then an empty one at most).
    assert 1 <= len(searches(gw, "teams")) <= 2


@pytest.mark.parametrize("mutation", ["create", "update"])
async def test_virtual_key_name_taken_beyond_the_first_page_behind_a_generic_500(
    gateway_failing: Callable[[Fail | None], Any], mutation: str
) -> None:
    """An upstream whose 500 does not say why (another database, another wording) is read page by page."""

    def fail(request: httpx.Request) -> httpx.Response | None:
        if request.method in ("POST", "PUT") and request.url.path.startswith("/api/governance/virtual-keys"):
            return upstream_error(500, "failed to save virtual key")
        return None

    gw = await gateway_failing(fail)
    await pad(gw, "virtual-keys", "probekey")
    await upstream_post(gw, "virtual-keys", {"name": "probekey"})
    if mutation == "create":
        body = await gw.graphql(CREATE_KEY, {"input": {"name": "probekey"}})
        result = result_of(body, "createVirtualKey")
    else:
        key = await upstream_post(gw, "virtual-keys", {"name": "other"})
        body = await gw.graphql(UPDATE_KEY, {"input": {"id": key["id"], "name": "probekey"}})
        result = result_of(body, "updateVirtualKey")
    assert codes(result) == [(["input", "name"], "NAME_TAKEN")]
    assert len(searches(gw, "virtual-keys")) == 2


async def test_an_upstream_that_ignores_offset_is_read_once() -> None:
    """A list that answers the same rows whatever the offset would otherwise be read forever."""
    stamp = "2026-01-01T00:00:00Z"
    teams = [
        {"id": f"00000000-0000-4000-8000-{i:012d}", "name": f"pad-{i:03d}-x", "created_at": stamp, "updated_at": stamp}
        for i in range(100)
    ]
    reads = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return upstream_error(500, "failed to create team")
        reads.append(request.url.params.get("offset"))
        return httpx.Response(200, json={"teams": teams, "count": 100, "limit": 100, "offset": 0})

    app = create_app(
        Settings(bifrost_url="http://bifrost.internal", bifrost_api_generation="current"),
        transport=httpx.MockTransport(answer),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        body = (await http.post("/graphql", json={"query": CREATE_TEAM, "variables": {"input": {"name": "x"}}})).json()
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_ERROR"
    assert reads == ["0", "100"]
