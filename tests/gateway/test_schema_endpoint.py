"""``GET /graphql/schema.graphql`` serves the SDL where introspection is off, and only when allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema as build_graphql_schema

from app.settings import Settings, SettingsError, load_settings
from tests.gateway.conftest import make_gateway

SDL_FILE = Path(__file__).parents[2] / "graphql_schema.graphql"
SCHEMA_PATH = "/graphql/schema.graphql"
INTROSPECTION = "{ __schema { queryType { name } } }"
PROFILES = {"development": {}, "production": {"gateway_env": "production"}}


@pytest.mark.parametrize("profile", PROFILES)
async def test_schema_endpoint_serves_the_published_sdl(profile: str) -> None:
    gw = await make_gateway(**PROFILES[profile])
    async with gw.http:
        response = await gw.http.get(SCHEMA_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == "public, no-cache"
    assert response.headers["etag"].startswith('"')
    assert response.text == SDL_FILE.read_text()
    build_graphql_schema(response.text)  # what gql's Client(schema=...) and codegen do with it
    assert gw.upstream_calls() == []


async def test_schema_endpoint_stands_in_for_introspection_in_production() -> None:
    gw = await make_gateway(gateway_env="production")
    async with gw.http:
        introspection = await gw.http.post("/graphql", json={"query": INTROSPECTION})
        schema = await gw.http.get(SCHEMA_PATH)
    assert "data" not in introspection.json() or introspection.json()["data"] is None
    assert schema.status_code == 200
    assert "type Query" in schema.text


@pytest.mark.parametrize("profile", PROFILES)
async def test_schema_endpoint_off_is_404(profile: str) -> None:
    gw = await make_gateway(schema_endpoint=False, **PROFILES[profile])
    async with gw.http:
        response = await gw.http.get(SCHEMA_PATH)
    assert response.status_code == 404
    assert "type Query" not in response.text


@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", "W/{etag}", '"stale", {etag}', "*"],
    ids=["exact", "weak", "among-others", "any"],
)
async def test_schema_endpoint_revalidation_is_304_without_body(if_none_match: str) -> None:
    gw = await make_gateway(gateway_env="production")
    async with gw.http:
        first = await gw.http.get(SCHEMA_PATH)
        again = await gw.http.get(
            SCHEMA_PATH, headers={"if-none-match": if_none_match.format(etag=first.headers["etag"])}
        )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


@pytest.mark.parametrize("if_none_match", ['"stale"', "", "garbage,,,", 'W/"' + "0" * 5000 + '"'])
async def test_schema_endpoint_other_validators_get_the_body(if_none_match: str) -> None:
    gw = await make_gateway()
    async with gw.http:
        response = await gw.http.get(SCHEMA_PATH, headers={"if-none-match": if_none_match})
    assert response.status_code == 200
    assert response.text == SDL_FILE.read_text()


async def test_schema_endpoint_head_and_other_methods() -> None:
    gw = await make_gateway(gateway_env="production")
    async with gw.http:
        head = await gw.http.head(SCHEMA_PATH)
        post = await gw.http.post(SCHEMA_PATH, content=b"type Query { x: Int }")
        beside = await gw.http.get("/graphql/schema.graphqls")
    assert head.status_code == 200 and head.content == b""
    assert post.status_code == 405
    assert beside.status_code == 404


def test_schema_endpoint_setting_defaults_on_in_both_profiles() -> None:
    assert Settings().schema_endpoint is True
    assert Settings(gateway_env="production", embedded_bifrost=True).schema_endpoint is True


def test_schema_endpoint_setting_is_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEMA_ENDPOINT", "false")
    assert load_settings().schema_endpoint is False
    monkeypatch.setenv("SCHEMA_ENDPOINT", "sometimes")
    with pytest.raises(SettingsError, match="SCHEMA_ENDPOINT"):
        load_settings()
