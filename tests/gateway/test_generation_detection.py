"""How the gateway finds the upstream's API generation: ``/api/version``, then GET probes, else undecided.

Each test runs the real gateway; the upstream is the embedded server or, where an answer no embedded
server gives is needed (a v2 that refuses ``/api/version``, junk versions), a scripted one.
"""

from __future__ import annotations

import base64
import itertools
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.generations import SEED, V1_5, V2, Generation
from app.settings import Settings, SettingsError, load_settings
from app.web import create_app
from tests.gateway.arrange import FailingTransport, upstream_error
from tests.gateway.documents import CREATE_TEAM_SHORT

# Writes are what need the generation (reads parse every shape): a team create asks for it.
_names = itertools.count()


async def ask(app: Any, query: str = CREATE_TEAM_SHORT, headers: dict[str, str] | None = None, **variables: Any) -> Any:
    if query is CREATE_TEAM_SHORT and not variables:
        variables = {"input": {"name": f"team-{next(_names)}"}}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def gateway_over(transport: httpx.AsyncBaseTransport, **settings: Any) -> Any:
    return create_app(Settings(bifrost_url="http://bifrost.internal", **settings), transport=transport)


def known(app: Any) -> Generation | None:
    generation: Generation | None = app.state.bifrost.generation.known
    return generation


class Scripted:
    """An upstream that answers some paths as scripted and 404s the rest, recording what it was asked."""

    def __init__(self, answers: dict[str, Callable[[httpx.Request], httpx.Response]]) -> None:
        self.answers = answers
        self.seen: list[tuple[str, str]] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        answer = self.answers.get(request.url.path)
        if answer is None:
            return upstream_error(404, "Not found")
        return answer(request)


def json(body: Any, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=body)


EMPTY_TEAMS = json({"teams": [], "count": 0, "total_count": 0, "limit": 1, "offset": 0})
V15_TEAM = {"id": "t1", "name": "a", "budgets": [], "virtual_key_count": 0}


@pytest.mark.parametrize(
    ("version", "generation"),
    [("v1.4.0", SEED), ("v1.5.2", V1_5), ("1.5.0", V1_5), ("v2.0.0", V2), ("v2.2.5", V2), ("v3.1.0", V2)],
)
async def test_the_version_string_names_the_generation(version: str, generation: Generation) -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="current", version=version)
    app = gateway_over(httpx.ASGITransport(app=upstream))
    await ask(app)
    assert known(app) is generation
    # The version settled it: no probe went out.
    assert [r.path for r in upstream.state.request_log] == ["/api/version", "/api/governance/teams"]


@pytest.mark.parametrize("junk", ["dev-build", "", "latest", 42, None, {"version": "v2.2.5"}, ["v2"]])
async def test_a_version_that_is_no_version_falls_back_to_probes(junk: Any) -> None:
    script = Scripted({"/api/version": json(junk), "/api/governance/teams": json({"teams": [V15_TEAM], "count": 1})})
    app = gateway_over(script.transport())
    await ask(app)
    assert known(app) is V1_5
    assert ("GET", "/api/governance/teams") in script.seen


async def test_a_version_answer_that_is_not_json_falls_back_to_probes() -> None:
    script = Scripted(
        {
            "/api/version": lambda r: httpx.Response(200, text="<html>Bifrost</html>"),
            "/api/governance/teams": json({"teams": [{"id": "t1", "name": "a", "budget_id": None}], "count": 1}),
        }
    )
    app = gateway_over(script.transport())
    await ask(app)
    assert known(app) is SEED


async def test_without_a_version_route_a_team_tells_seed_from_v1_5() -> None:
    for generation, expected in (("seed", SEED), ("current", V1_5)):
        upstream = create_embedded_bifrost(database=":memory:", generation=generation, expose_version=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream), base_url="http://b") as up:
            await up.post("/api/governance/teams", json={"name": "existing"})
        app = gateway_over(httpx.ASGITransport(app=upstream))
        await ask(app)
        assert known(app) is expected


async def test_an_undecided_answer_is_not_remembered_and_asked_again() -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="seed", expose_version=False)
    app = gateway_over(httpx.ASGITransport(app=upstream))
    # Nothing stored yet: no probe can tell, and the request still succeeds.
    body = await ask(app, CREATE_TEAM_SHORT, input={"name": "first", "budget": {"maxLimit": 1, "resetDuration": "1d"}})
    assert body["data"]["createTeam"]["userErrors"] == []
    assert known(app) is None
    first = [r.path for r in upstream.state.request_log if r.method == "GET"]
    assert first.count("/api/version") == 1
    # Now a team exists: the next request asks again and decides.
    upstream.state.request_log.clear()
    await ask(app)
    assert known(app) is SEED
    assert [r.path for r in upstream.state.request_log].count("/api/version") == 1
    # Decided: asked no more.
    upstream.state.request_log.clear()
    await ask(app)
    assert [r.path for r in upstream.state.request_log] == ["/api/governance/teams"]


async def test_probes_are_reads_only() -> None:
    script = Scripted({"/api/governance/teams": EMPTY_TEAMS})
    app = gateway_over(script.transport())
    await ask(app)
    await ask(app)
    assert known(app) is None
    # Everything but the two creates themselves was a read.
    assert [m for m, path in script.seen if m != "GET"] == ["POST", "POST"]
    assert {path for m, path in script.seen if m != "GET"} == {"/api/governance/teams"}
    # Undecided twice: asked twice.
    assert [path for _, path in script.seen].count("/api/version") == 2


V2_AUTH = {"is_auth_enabled": True, "has_valid_token": False, "auth_type": "password"}


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"/api/session/is-auth-enabled": json({**V2_AUTH, "inference_auth_enforced": False})}, V2),
        ({"/api/routing/rules": json({"rules": [], "count": 0})}, V2),
        ({"/api/governance/virtual-keys": json({"virtual_keys": [{"id": "k", "allow_all_providers": False}]})}, V2),
        ({"/api/governance/customers": json({"customers": [{"id": "c", "budgets": [], "virtual_key_count": 0}]})}, V2),
        ({"/api/governance/teams": json({"teams": [{**V15_TEAM, "calendar_aligned": False}]})}, V2),
        ({"/api/governance/teams": json({"teams": [V15_TEAM]})}, V1_5),
        # A UI page where a v2 route would be is no v2 route.
        ({"/api/routing/rules": lambda r: httpx.Response(200, text="<!doctype html>")}, None),
        # Keys and customers of v1.5 and the seed look alike: undecided without a team.
        ({"/api/governance/virtual-keys": json({"virtual_keys": [{"id": "k", "name": "x"}]})}, None),
    ],
)
async def test_v2_is_told_by_its_routes_and_fields_when_api_version_refuses(
    answers: dict[str, Callable[[httpx.Request], httpx.Response]], expected: Generation | None
) -> None:
    # Bifrost v2 with auth on wants credentials for /api/version.
    script = Scripted({"/api/version": lambda r: upstream_error(401, "Unauthorized"), **answers})
    app = gateway_over(script.transport())
    await ask(app)
    assert known(app) is expected


async def test_a_caller_without_credentials_leaves_the_generation_undecided_for_the_next() -> None:
    credentials = "Basic " + base64.b64encode(b"admin:s3cret").decode()
    upstream = create_embedded_bifrost(database=":memory:", generation="current", auth=("admin", "s3cret"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream), base_url="http://b") as up:
        await up.post("/api/governance/teams", json={"name": "t"}, headers={"authorization": credentials})

    def refuse_version_without_credentials(request: httpx.Request) -> httpx.Response | None:
        # As Bifrost v2 does with auth on: /api/version is not on its list of open routes.
        if request.url.path == "/api/version" and "authorization" not in request.headers:
            return upstream_error(401, "Unauthorized")
        return None

    app = gateway_over(FailingTransport(upstream, refuse_version_without_credentials))
    body = await ask(app)
    assert body["errors"]  # the caller's own request needs credentials too
    assert known(app) is None
    seen = [(r.method, r.path) for r in upstream.state.request_log]
    # The refused probe ended detection: no probe past the first one refused.
    assert ("GET", "/api/governance/customers") not in seen
    await ask(app, headers={"authorization": credentials})
    assert known(app) is V1_5


async def test_an_unreachable_upstream_leaves_the_generation_undecided() -> None:
    calls: list[str] = []

    def down(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        raise httpx.ConnectError("refused")

    app = gateway_over(httpx.MockTransport(down), upstream_read_retries=0, breaker_failure_threshold=1000)
    body = await ask(app)
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert known(app) is None
    # Detection stopped at the first failure instead of probing an upstream that is down.
    assert calls == ["/api/version", "/api/governance/teams"]


@pytest.mark.parametrize(("setting", "generation"), [("seed", SEED), ("current", V1_5), ("v1.5", V1_5), ("V2", V2)])
async def test_a_fixed_generation_asks_nothing(setting: str, generation: Generation) -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    app = gateway_over(httpx.ASGITransport(app=upstream), bifrost_api_generation=setting)
    assert known(app) is generation
    await ask(app)
    assert [r.path for r in upstream.state.request_log] == ["/api/governance/teams"]


@pytest.mark.parametrize("value", ["v3", "1.5", "", "auto,seed", "x" * 500])
def test_an_unknown_generation_setting_is_refused_by_name_with_the_choices(value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(bifrost_api_generation=value)
    message = str(raised.value)
    assert message.startswith("invalid setting BIFROST_API_GENERATION:")
    for choice in ("'auto'", "'seed'", "'v1.5'", "'current'", "'v2'"):
        assert choice in message
    assert "x" * 100 not in message


def deprecated_count(route: str) -> float:
    value = REGISTRY.get_sample_value("gateway_upstream_deprecated_total", {"route": route})
    return value or 0.0


async def test_deprecated_answers_are_logged_once_per_route_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    team_id = "6b1f4c2e-8a3d-4e5f-9a0b-1c2d3e4f5a6b"
    team = {"id": team_id, "name": "a", "budgets": [], "virtual_key_count": 0}

    def deprecated(body: Any) -> Callable[[httpx.Request], httpx.Response]:
        return lambda r: httpx.Response(
            200, json=body, headers={"deprecation": "true", "x-bifrost-deprecated-route": "1"}
        )

    script = Scripted(
        {
            "/api/version": json("v2.2.5"),
            "/api/governance/teams": deprecated({"teams": [team], "count": 1, "total_count": 1}),
            f"/api/governance/teams/{team_id}": deprecated({"team": team}),
        }
    )
    app = gateway_over(script.transport(), upstream_coalesce_reads=False)
    route = "GET /api/governance/teams/{id}"
    before = deprecated_count(route)
    by_id = "query($id: ID!) { team(id: $id) { name } }"
    with caplog.at_level(logging.WARNING, logger="app.bifrost.client"):
        for _ in range(3):
            await ask(app, by_id, id=team_id)
        await ask(app, "query { teams(first: 1) { nodes { id name } } }")
    assert deprecated_count(route) == before + 3
    warnings = [r for r in caplog.records if r.name == "app.bifrost.client"]
    assert sorted(getattr(r, "route", "") for r in warnings) == [
        "GET /api/governance/teams",
        "GET /api/governance/teams/{id}",
    ]
    assert team_id not in caplog.text
