"""Limits hold (also through fragments), profiles differ, and the validation cache really hits."""

from __future__ import annotations

from typing import Any

import pytest

from app.schema.executor import Executor
from app.schema.limits import Limits
from app.schema.schema import build_schema
from tests.gateway.conftest import Gateway, make_gateway

GRAPHQL_RESPONSE = "application/graphql-response+json"


def nested(depth: int) -> str:
    # team { customer { teams { customer ... { id } } } }: `depth` levels of selection.
    fields = [("customer" if level % 2 == 0 else "teams") for level in range(depth - 2)]
    inner = "id"
    for field in reversed(fields):
        inner = f"{field} {{ {inner} }}"
    return f'{{ team(id: "x") {{ {inner} }} }}'


async def rejected(gw: Gateway, query: str, code: str, variables: dict[str, Any] | None = None) -> None:
    response = await gw.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert gw.upstream_calls(prefix="/") == []


async def test_depth_limit(current_gateway: Gateway) -> None:
    await rejected(current_gateway, nested(12), "QUERY_TOO_DEEP")
    ok = await current_gateway.graphql(nested(9))
    assert ok == {"data": {"team": None}}


async def test_depth_limit_through_fragments(current_gateway: Gateway) -> None:
    query = """
    query Deep { team(id: "x") { ...A } }
    fragment A on Team { customer { teams { customer { teams { ...B } } } } }
    fragment B on Team { customer { teams { customer { teams { customer { teams { id } } } } } } }
    """
    await rejected(current_gateway, query, "QUERY_TOO_DEEP")


async def test_alias_limit_direct_and_through_fragments(current_gateway: Gateway) -> None:
    direct = "{ " + " ".join(f"a{i}: __typename" for i in range(16)) + " }"
    await rejected(current_gateway, direct, "TOO_MANY_ALIASES")
    fragments = (
        "query Q { ...F ...F2 }"
        " fragment F on Query { " + " ".join(f"a{i}: __typename" for i in range(8)) + " }"
        " fragment F2 on Query { " + " ".join(f"b{i}: __typename" for i in range(8)) + " }"
    )
    await rejected(current_gateway, fragments, "TOO_MANY_ALIASES")
    allowed = "{ " + " ".join(f"a{i}: __typename" for i in range(15)) + " }"
    assert "errors" not in await current_gateway.graphql(allowed)


async def test_token_limit(current_gateway: Gateway) -> None:
    query = "{ " + " ".join("__typename" for _ in range(2100)) + " }"
    await rejected(current_gateway, query, "TOO_MANY_TOKENS")


async def test_document_size_limit(current_gateway: Gateway) -> None:
    query = "{ __typename }" + " " * (64 * 1024)
    response = await current_gateway.http.post("/graphql", json={"query": query})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "DOCUMENT_TOO_LARGE"


async def test_limits_are_settings() -> None:
    gw = await make_gateway("current", max_query_depth=3, max_aliases=1)
    try:
        await rejected(gw, nested(5), "QUERY_TOO_DEEP")
        await rejected(gw, "{ a: __typename b: __typename }", "TOO_MANY_ALIASES")
    finally:
        await gw.http.aclose()


INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_development_profile_has_introspection_graphiql_and_suggestions(current_gateway: Gateway) -> None:
    assert (await current_gateway.graphql(INTROSPECTION))["data"]["__schema"]["queryType"]["name"] == "Query"
    page = await current_gateway.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    suggestion = await current_gateway.graphql("{ teem(id: 1) { id } }")
    assert "Did you mean" in suggestion["errors"][0]["message"]


async def test_production_profile_hides_introspection_graphiql_and_suggestions() -> None:
    gw = await make_gateway("current", gateway_env="production")
    try:
        await rejected(gw, INTROSPECTION, "INTROSPECTION_DISABLED")
        page = await gw.http.get("/graphql", headers={"accept": "text/html"})
        assert "text/html" not in page.headers["content-type"]
        assert (await gw.http.get("/graphiql/static/boot.js")).status_code == 404
        suggestion = await gw.graphql("{ teem(id: 1) { id } }")
        assert "Did you mean" not in suggestion["errors"][0]["message"]
    finally:
        await gw.http.aclose()


def test_production_refuses_wildcard_cors_with_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.settings import SettingsError, load_settings

    monkeypatch.setenv("GATEWAY_ENV", "production")
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "*")
    with pytest.raises(SettingsError, match="CORS_ALLOW_ORIGINS"):
        load_settings()


async def test_document_cache_hits_across_requests(current_gateway: Gateway) -> None:
    cache = current_gateway.app.state.executor.prepare
    query = "query CacheProbe { teams(first: 1) { totalCount } }"
    await current_gateway.graphql(query)
    before = cache.cache_info()
    for _ in range(5):
        await current_gateway.graphql(query)
    after = cache.cache_info()
    assert after.hits - before.hits == 5
    assert after.misses == before.misses


def test_prepared_document_carries_operation_facts_and_errors() -> None:
    executor = Executor(build_schema(), Limits(), hide_suggestions=False)
    prepared = executor.prepare("query A { __typename } mutation B { logout { success } }", "B")
    assert (prepared.operation_type, prepared.operation_name, prepared.errors) == ("mutation", "B", ())
    missing = executor.prepare("query A { __typename } query C { __typename }", None)
    assert missing.document is None
    assert "operation name" in missing.errors[0].message
