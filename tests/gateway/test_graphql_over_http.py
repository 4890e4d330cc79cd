"""GraphQL-over-HTTP rules at the edge."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import Gateway
from tests.gateway.documents import CREATE_TEAM_SHORT

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def test_get_query_is_allowed(current_gateway: Gateway) -> None:
    response = await current_gateway.http.get("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_get_mutation_is_405_and_not_sent(current_gateway: Gateway) -> None:
    response = await current_gateway.http.get(
        "/graphql", params={"query": CREATE_TEAM_SHORT, "variables": '{"input": {"name": "x"}}'}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert current_gateway.upstream_calls() == []


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]
)
async def test_post_with_non_json_content_type_is_refused(current_gateway: Gateway, content_type: str) -> None:
    response = await current_gateway.http.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers={"content-type": content_type}
    )
    assert response.status_code == 415


async def test_malformed_json_is_400(current_gateway: Gateway) -> None:
    response = await current_gateway.http.post(
        "/graphql", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "request body is not valid JSON"


@pytest.mark.parametrize(
    "body",
    [{"query": 1}, {"query": ""}, {"query": "{ __typename }", "variables": []}, {"query": "{ a }", "operationName": 3}],
)
async def test_bad_params_are_400(current_gateway: Gateway, body: dict[str, object]) -> None:
    response = await current_gateway.http.post("/graphql", json=body)
    assert response.status_code == 400


async def test_batching_is_refused(current_gateway: Gateway) -> None:
    response = await current_gateway.http.post("/graphql", json=[{"query": "{ __typename }"}])
    assert response.status_code == 400


async def test_validation_error_status_depends_on_accept(current_gateway: Gateway) -> None:
    legacy = await current_gateway.http.post("/graphql", json={"query": "{ nope }"})
    assert legacy.status_code == 200
    assert legacy.headers["content-type"].startswith("application/json")
    modern = await current_gateway.http.post(
        "/graphql", json={"query": "{ nope }"}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert modern.status_code == 400
    assert modern.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert "data" not in modern.json()
    assert modern.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_parse_error_has_code(current_gateway: Gateway) -> None:
    response = await current_gateway.http.post("/graphql", json={"query": "{"})
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


async def test_wrong_variable_type_names_the_field(current_gateway: Gateway) -> None:
    body = await current_gateway.graphql(CREATE_TEAM_SHORT, {"input": {"name": 5}})
    message = body["errors"][0]["message"]
    assert "name" in message
    assert current_gateway.upstream_calls() == []


async def test_body_over_limit_is_413(current_gateway: Gateway) -> None:
    response = await current_gateway.http.post(
        "/graphql", json={"query": "{ __typename }", "variables": {"x": "a" * (1024 * 1024 + 10)}}
    )
    assert response.status_code == 413


async def test_health_and_readiness(current_gateway: Gateway) -> None:
    assert (await current_gateway.http.get("/healthz")).json() == {"status": "ok"}
    ready = await current_gateway.http.get("/readyz")
    assert ready.status_code == 200
