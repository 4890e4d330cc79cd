"""MAX_QUERY_COST over HTTP: refused before anything runs, with the price; accepted ones report it on request."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from app.observability import JsonFormatter
from tests.gateway.conftest import Gateway, make_gateway
from tests.gateway.test_dashboard_calls import DASHBOARD, seed_data
from tests.gateway.test_query_cost import KEYS_TEAMS_BUDGETS, TEN_TEAMS, WORST

GRAPHQL_RESPONSE = "application/graphql-response+json"
PAGED = "query Paged($n: Int) { teams(first: $n) { nodes { id } } }"


async def post(gw: Gateway, query: str, variables: dict[str, Any] | None = None, **headers: str) -> Any:
    return await gw.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def refusal(body: dict[str, Any]) -> dict[str, Any]:
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "locations" not in error and "path" not in error
    extensions: dict[str, Any] = error["extensions"]
    return extensions


async def test_the_issues_worst_case_document_is_refused_with_its_price_and_nothing_goes_upstream(
    current_gateway: Gateway,
) -> None:
    response = await post(current_gateway, WORST, accept=GRAPHQL_RESPONSE)
    assert response.status_code == 400
    extensions = refusal(response.json())
    assert extensions["maxCost"] == 50_000
    assert extensions["cost"] > 100 * 50_000
    assert str(extensions["cost"]) in response.json()["errors"][0]["message"]
    assert current_gateway.upstream_calls(prefix="/") == []


async def test_a_refusal_over_legacy_json_is_200_with_null_data_like_a_validation_error(
    current_gateway: Gateway,
) -> None:
    response = await post(current_gateway, WORST)
    assert response.status_code == 200
    assert response.json()["data"] is None
    refusal(response.json())
    assert current_gateway.upstream_calls(prefix="/") == []


async def test_a_refusal_over_get_is_the_same() -> None:
    gw = await make_gateway("current", max_query_cost=20)
    try:
        response = await gw.http.get("/graphql", params={"query": TEN_TEAMS}, headers={"accept": GRAPHQL_RESPONSE})
        assert response.status_code == 400
        assert refusal(response.json()) == {"code": "QUERY_TOO_COMPLEX", "cost": 21, "maxCost": 20}
        assert gw.upstream_calls(prefix="/") == []
    finally:
        await gw.http.aclose()


async def test_the_limit_is_a_setting_and_is_inclusive() -> None:
    gw = await make_gateway("current", max_query_cost=21)
    try:
        assert "errors" not in await gw.graphql(TEN_TEAMS)  # costs exactly 21
        refusal(await gw.graphql("{ teams(first: 11) { totalCount nodes { id name } } }"))
    finally:
        await gw.http.aclose()


@pytest.mark.parametrize(
    ("n", "refused"),
    [
        pytest.param(5, False, id="small page"),
        pytest.param(50, True, id="large page"),
        pytest.param(10**30, True, id="huge: priced as the largest page"),
        pytest.param("lots", True, id="string: priced as the largest page"),
        pytest.param(-1, False, id="negative: priced as no items, refused by the resolver"),
    ],
)
async def test_first_given_as_a_variable_is_priced_per_request(n: Any, refused: bool) -> None:
    gw = await make_gateway("current", max_query_cost=40)
    try:
        body = (await post(gw, PAGED, {"n": n})).json()
        if refused:
            refusal(body)
            assert gw.upstream_calls(prefix="/") == []
        else:
            assert all(error["extensions"]["code"] != "QUERY_TOO_COMPLEX" for error in body.get("errors", []))
    finally:
        await gw.http.aclose()


async def test_a_variable_of_the_wrong_type_is_still_a_variable_error_when_the_price_allows() -> None:
    gw = await make_gateway("current")
    try:
        body = (await post(gw, PAGED, {"n": "lots"})).json()
        assert body["data"] is None
        assert "$n" in body["errors"][0]["message"]
        assert gw.upstream_calls(prefix="/") == []
    finally:
        await gw.http.aclose()


async def test_the_dashboard_passes_and_reports_its_price_on_request() -> None:
    gw = await make_gateway("current")
    try:
        await seed_data(gw.upstream, 100)
        asked = (await post(gw, DASHBOARD, **{"x-query-cost": "1"})).json()
        assert "errors" not in asked
        assert len(asked["data"]["teams"]["edges"]) == 100
        assert asked["extensions"] == {"cost": {"requestedQueryCost": 23_771, "maxQueryCost": 50_000}}
        plain = (await post(gw, DASHBOARD)).json()
        assert "extensions" not in plain
        assert plain["data"] == asked["data"]
    finally:
        await gw.http.aclose()


async def test_a_price_that_depends_on_variables_is_reported_for_those_variables(current_gateway: Gateway) -> None:
    for n, expected in ((3, 14), (100, 111)):
        body = (await post(current_gateway, PAGED, {"n": n}, **{"x-query-cost": "1"})).json()
        assert body["extensions"]["cost"]["requestedQueryCost"] == expected


async def test_a_document_making_many_calls_passes_the_price_and_meets_the_call_ceiling_instead(
    current_gateway: Gateway,
) -> None:
    # The issue's 97-call document is cheap to complete; what bounds it is MAX_UPSTREAM_CALLS_PER_REQUEST.
    body = (await post(current_gateway, KEYS_TEAMS_BUDGETS, **{"x-query-cost": "1"})).json()
    assert "errors" not in body
    assert body["extensions"]["cost"]["requestedQueryCost"] < 50_000


async def test_mutations_are_priced_and_pass(current_gateway: Gateway) -> None:
    create = 'mutation { createTeam(input: {name: "priced"}) { team { id } userErrors { message } } }'
    body = (await post(current_gateway, create, **{"x-query-cost": "1"})).json()
    assert body["data"]["createTeam"]["team"]["id"]
    assert body["extensions"]["cost"]["requestedQueryCost"] == 17


async def test_the_cost_header_is_allowed_cross_origin() -> None:
    gw = await make_gateway("current", cors_allow_origins=["https://app.example"])
    try:
        preflight = await gw.http.options(
            "/graphql",
            headers={
                "origin": "https://app.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type, x-query-cost",
            },
        )
        assert preflight.status_code == 200
        assert "x-query-cost" in preflight.headers["access-control-allow-headers"].lower()
    finally:
        await gw.http.aclose()


async def test_a_refusal_is_logged_with_its_price_and_code(
    current_gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.request")
    body = (await post(current_gateway, WORST, **{"x-query-cost": "1"})).json()
    assert body["extensions"]["cost"]["requestedQueryCost"] == refusal(body)["cost"]
    [record] = [r for r in caplog.records if r.name == "app.request"]
    line = json.loads(JsonFormatter().format(record))
    assert (line["outcome"], line["cost"], line["upstream_calls"]) == ("QUERY_TOO_COMPLEX", refusal(body)["cost"], 0)
