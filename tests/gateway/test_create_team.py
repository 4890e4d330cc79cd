"""createTeam end to end: GraphQL -> gateway -> embedded Bifrost (both API generations)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.generations import Feature
from tests.gateway.conftest import Gateway, make_gateway, upstream_http
from tests.gateway.documents import CREATE_CUSTOMER_REST, CREATE_TEAM, CREATE_TEAM_SHORT, TEAM_BY_ID


async def create_customer(gw: Gateway, body: dict[str, Any] = CREATE_CUSTOMER_REST) -> str:
    """Create a customer directly on the upstream."""
    async with upstream_http(gw) as up:
        response = await up.post("/api/governance/customers", json=body)
    assert response.status_code == 200, response.text
    customer_id: str = response.json()["customer"]["id"]
    return customer_id


def payload(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["createTeam"]
    return result


async def test_create_team_returns_whole_graph(gateway: Gateway) -> None:
    customer_id = await create_customer(gateway)
    body = await gateway.graphql(
        CREATE_TEAM,
        {
            "input": {
                "name": "platform",
                "customerId": customer_id,
                "budget": {"maxLimit": 250.5, "resetDuration": "1M"},
            }
        },
    )
    result = payload(body)
    assert result["userErrors"] == []
    team = result["team"]
    assert team["name"] == "platform"
    assert team["customerId"] == customer_id
    assert team["customer"]["id"] == customer_id
    assert team["customer"]["name"] == "Acme"
    assert team["customer"]["budget"]["maxLimit"] == 500
    assert [t["name"] for t in team["customer"]["teams"]] == ["platform"]
    assert team["budget"]["maxLimit"] == 250.5
    assert team["budget"]["resetDuration"] == "1M"
    assert team["budget"]["currentUsage"] == 0
    assert team["budgets"] == [{"id": team["budget"]["id"], "maxLimit": 250.5, "resetDuration": "1M"}]
    assert team["virtualKeys"] == []
    assert team["createdAt"].startswith("20")
    if gateway.generation.owner_budgets == "single":
        assert team["budgetId"] == team["budget"]["id"]
    if gateway.generation.has(Feature.TEAM_VIRTUAL_KEY_COUNT):
        assert team["virtualKeyCount"] == 0
    else:
        assert team["virtualKeyCount"] is None


async def test_create_team_is_forwarded_exactly_once(gateway: Gateway) -> None:
    await gateway.graphql(CREATE_TEAM_SHORT, {"input": {"name": "once"}})
    posts = gateway.upstream_calls("POST", "/api/governance/teams")
    assert len(posts) == 1


async def test_create_team_several_budgets_and_rate_limit_on_current(current_gateway: Gateway) -> None:
    body = await current_gateway.graphql(
        CREATE_TEAM,
        {
            "input": {
                "name": "multi",
                "budgets": [{"maxLimit": 10, "resetDuration": "1d"}, {"maxLimit": 200, "resetDuration": "1M"}],
                "rateLimit": {
                    "tokenMaxLimit": 5_000_000_000,
                    "tokenResetDuration": "1h",
                    "requestMaxLimit": 100,
                    "requestResetDuration": "1m",
                },
            }
        },
    )
    team = payload(body)["team"]
    assert sorted(b["resetDuration"] for b in team["budgets"]) == ["1M", "1d"]
    assert team["budget"]["id"] in {b["id"] for b in team["budgets"]}
    assert team["rateLimit"]["tokenMaxLimit"] == "5000000000"  # Int64 travels as a string
    assert team["rateLimit"]["requestResetDuration"] == "1m"


async def test_create_team_several_budgets_on_seed_is_user_error(seed_gateway: Gateway) -> None:
    body = await seed_gateway.graphql(
        CREATE_TEAM_SHORT,
        {
            "input": {
                "name": "multi",
                "budgets": [{"maxLimit": 10, "resetDuration": "1d"}, {"maxLimit": 20, "resetDuration": "1w"}],
                "rateLimit": {"requestMaxLimit": 5, "requestResetDuration": "1m"},
            }
        },
    )
    errors = payload(body)["userErrors"]
    assert {e["code"] for e in errors} == {"UNSUPPORTED_BY_UPSTREAM"}
    assert {tuple(e["field"]) for e in errors} == {("input", "budgets"), ("input", "rateLimit")}
    assert seed_gateway.upstream_calls("POST") == []


# CONTRACT.md's createTeam table, row by row. Every row the gateway can check is refused locally
# (nothing sent); the rest map Bifrost's answer to a userError.
LOCAL_ROWS = [
    pytest.param({"name": ""}, ["input", "name"], id="name-empty"),
    pytest.param({"name": "   "}, ["input", "name"], id="name-whitespace"),
    pytest.param(
        {"name": "t", "budget": {"maxLimit": -1, "resetDuration": "1d"}},
        ["input", "budget", "maxLimit"],
        id="max-limit-negative",
    ),
    pytest.param(
        {"name": "t", "budget": {"maxLimit": 0, "resetDuration": "1d"}},
        ["input", "budget", "maxLimit"],
        id="max-limit-zero",
    ),
    pytest.param(
        {"name": "t", "budget": {"maxLimit": 5, "resetDuration": "2x"}},
        ["input", "budget", "resetDuration"],
        id="duration-unparsable",
    ),
    pytest.param(
        {"name": "t", "budget": {"maxLimit": 5, "resetDuration": "1D"}},
        ["input", "budget", "resetDuration"],
        id="duration-case-matters",
    ),
    pytest.param(
        {"name": "t", "budgets": [{"maxLimit": 5, "resetDuration": "1d"}, {"maxLimit": 6, "resetDuration": "1d"}]},
        ["input", "budgets", "1", "resetDuration"],
        id="duration-duplicate",
    ),
    pytest.param(
        {"name": "t", "rateLimit": {"tokenMaxLimit": 0, "tokenResetDuration": "1h"}},
        ["input", "rateLimit", "tokenMaxLimit"],
        id="rate-limit-zero",
    ),
    pytest.param(
        {"name": "t", "rateLimit": {"requestMaxLimit": 10}},
        ["input", "rateLimit", "requestResetDuration"],
        id="rate-limit-no-duration",
    ),
    pytest.param({"name": "t", "customerId": "../budgets"}, ["input", "customerId"], id="customer-id-path"),
]


@pytest.mark.parametrize(("given", "field"), LOCAL_ROWS)
async def test_create_team_invalid_input_is_refused_before_upstream(
    gateway: Gateway, given: dict[str, Any], field: list[str]
) -> None:
    body = await gateway.graphql(CREATE_TEAM_SHORT, {"input": given})
    result = payload(body)
    assert result["team"] is None
    assert field in [e["field"] for e in result["userErrors"]]
    assert all(e["code"] == "INVALID_INPUT" for e in result["userErrors"])
    assert gateway.upstream_calls() == []


async def test_create_team_unknown_customer_is_user_error(gateway: Gateway) -> None:
    body = await gateway.graphql(
        CREATE_TEAM_SHORT, {"input": {"name": "t", "customerId": "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"}}
    )
    assert payload(body)["userErrors"] == [
        {"field": ["input", "customerId"], "message": "customer not found", "code": "CUSTOMER_NOT_FOUND"}
    ]
    assert gateway.upstream_calls("POST") == []


async def test_create_team_name_taken_on_both_generations(gateway: Gateway) -> None:
    first = payload(await gateway.graphql(CREATE_TEAM_SHORT, {"input": {"name": "dup"}}))
    assert first["userErrors"] == []
    second = payload(await gateway.graphql(CREATE_TEAM_SHORT, {"input": {"name": "dup"}}))
    assert second["team"] is None
    assert [(e["field"], e["code"]) for e in second["userErrors"]] == [(["input", "name"], "NAME_TAKEN")]


async def test_create_team_concurrent_same_name_creates_one(gateway: Gateway) -> None:
    results = await asyncio.gather(
        *(gateway.graphql(CREATE_TEAM_SHORT, {"input": {"name": "race"}}) for _ in range(50))
    )
    created = [r for r in results if payload(r)["team"] is not None]
    taken = [r for r in results if [e["code"] for e in payload(r)["userErrors"]] == ["NAME_TAKEN"]]
    assert len(created) == 1
    assert len(taken) == 49
    listing = await gateway.graphql(TEAM_BY_ID, {"id": payload(created[0])["team"]["id"]})
    assert listing["data"]["team"]["name"] == "race"
    assert len(gateway.upstream_calls("POST")) == 50


async def test_create_team_concurrent_distinct_names_creates_all(current_gateway: Gateway) -> None:
    results = await asyncio.gather(
        *(current_gateway.graphql(CREATE_TEAM_SHORT, {"input": {"name": f"team-{i}"}}) for i in range(200))
    )
    ids = {payload(r)["team"]["id"] for r in results}
    assert len(ids) == 200
    async with upstream_http(current_gateway) as up:
        listed = (await up.get("/api/governance/teams")).json()["teams"]
    assert {team["id"] for team in listed} == ids


async def test_create_team_lookup_by_id_reads_back(gateway: Gateway) -> None:
    created = payload(
        await gateway.graphql(
            CREATE_TEAM_SHORT, {"input": {"name": "readback", "budget": {"maxLimit": 3, "resetDuration": "1w"}}}
        )
    )["team"]
    body = await gateway.graphql(TEAM_BY_ID, {"id": created["id"]})
    assert body["data"]["team"]["budget"]["maxLimit"] == 3
    assert body["data"]["team"]["budgets"][0]["maxLimit"] == 3


@pytest.mark.parametrize("bad_id", ["../teams", "a?b=c", "%2e%2e", "a/b", " x", "x" * 200])
async def test_team_lookup_with_unsafe_id_is_null_and_not_sent(current_gateway: Gateway, bad_id: str) -> None:
    body = await current_gateway.graphql(TEAM_BY_ID, {"id": bad_id})
    assert body == {"data": {"team": None}}
    assert current_gateway.upstream_calls() == []


async def test_generation_detected_by_probing_without_version_endpoint() -> None:
    import httpx

    from app.embedded_bifrost import create_app as create_embedded_bifrost
    from app.settings import Settings
    from app.web import create_app

    upstream = create_embedded_bifrost(database=":memory:", generation="seed", expose_version=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream), base_url="http://b") as up:
        await up.post("/api/governance/teams", json={"name": "existing"})
    app = create_app(Settings(bifrost_url="http://bifrost.internal"), transport=httpx.ASGITransport(app=upstream))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        response = await http.post(
            "/graphql",
            json={
                "query": CREATE_TEAM_SHORT,
                "variables": {
                    "input": {
                        "name": "t",
                        "budgets": [{"maxLimit": 1, "resetDuration": "1d"}, {"maxLimit": 2, "resetDuration": "1w"}],
                    }
                },
            },
        )
    errors = response.json()["data"]["createTeam"]["userErrors"]
    assert [e["code"] for e in errors] == ["UNSUPPORTED_BY_UPSTREAM"]


async def test_unknown_generation_sends_both_budget_shapes() -> None:
    gw = await make_gateway("seed", bifrost_api_generation="auto")
    try:
        gw.upstream.state.request_log.clear()
        body = await gw.graphql(
            CREATE_TEAM_SHORT, {"input": {"name": "t", "budget": {"maxLimit": 1, "resetDuration": "1d"}}}
        )
        assert payload(body)["userErrors"] == []
        assert [r.path for r in gw.upstream_calls(prefix="/api")][:1] == ["/api/version"]
    finally:
        await gw.http.aclose()
