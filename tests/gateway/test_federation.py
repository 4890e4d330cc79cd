"""The gateway as an Apollo Federation v2 subgraph (``FEDERATION=true``): ``_entities`` and ``_service``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import build_ast_schema, parse

from app.schema.export import export_sdl
from app.schema.federation.schema import served_sdl
from app.settings import SettingsError, load_settings
from tests.gateway.arrange import MISSING_ID, upstream_post
from tests.gateway.conftest import Gateway, make_gateway

SERVICE = "{ _service { sdl } }"
ENTITIES = """
query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Team { id name customer { id name } }
    ... on Customer { id name }
    ... on VirtualKey { id name team { id } }
    ... on Budget { id maxLimit }
  }
}
"""
TEAM_NAMES = """
query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Team { id name } }
}
"""
TEAM_PAGE = "{ teams(first: 100) { nodes { id name } } }"


@pytest.fixture(params=["seed", "current"])
async def subgraph(request: pytest.FixtureRequest) -> AsyncIterator[Gateway]:
    gw = await make_gateway(request.param, federation=True)
    yield gw
    await gw.http.aclose()


@pytest.fixture(params=[True, False], ids=["compiled", "graphql-core"])
async def on_both_engines(request: pytest.FixtureRequest) -> AsyncIterator[Gateway]:
    gw = await make_gateway("current", federation=True, gateway_compiled_execution=request.param)
    assert gw.app.state.executor.compiled is request.param
    yield gw
    await gw.http.aclose()


async def teams(gw: Gateway, count: int, customer_id: str | None = None) -> list[dict[str, Any]]:
    return [
        await upstream_post(gw, "teams", {"name": f"team-{i:03}", "customer_id": customer_id}) for i in range(count)
    ]


def calls(gw: Gateway) -> list[tuple[str, str, str]]:
    return [(record.method, record.path, record.query) for record in gw.upstream_calls()]


def refs(type_name: str, ids: list[str]) -> dict[str, Any]:
    return {"representations": [{"__typename": type_name, "id": entity_id} for entity_id in ids]}


async def test_entities_of_every_type_resolve_in_order_on_both_engines(on_both_engines: Gateway) -> None:
    gw = on_both_engines
    customer = await upstream_post(gw, "customers", {"name": "acme"})
    team = await upstream_post(gw, "teams", {"name": "core", "customer_id": customer["id"]})
    team_budget = await upstream_post(
        gw, "teams", {"name": "budgeted", "budgets": [{"max_limit": 50, "reset_duration": "1M"}]}
    )
    key = await upstream_post(gw, "virtual-keys", {"name": "vk", "team_id": team["id"]})
    representations = [
        {"__typename": "VirtualKey", "id": key["id"]},
        {"__typename": "Team", "id": team["id"]},
        {"__typename": "Budget", "id": team_budget["budgets"][0]["id"]},
        {"__typename": "Customer", "id": customer["id"]},
        {"__typename": "Team", "id": MISSING_ID},
    ]
    body = await gw.graphql(ENTITIES, {"representations": representations})
    assert "errors" not in body, body
    assert body["data"]["_entities"] == [
        {"__typename": "VirtualKey", "id": key["id"], "name": "vk", "team": {"id": team["id"]}},
        {"__typename": "Team", "id": team["id"], "name": "core", "customer": {"id": customer["id"], "name": "acme"}},
        {"__typename": "Budget", "id": team_budget["budgets"][0]["id"], "maxLimit": 50.0},
        {"__typename": "Customer", "id": customer["id"], "name": "acme"},
        None,
    ]


async def test_a_hundred_team_references_cost_what_a_page_of_a_hundred_teams_costs(subgraph: Gateway) -> None:
    created = await teams(subgraph, 100)
    page = await subgraph.graphql(TEAM_PAGE)
    page_calls = calls(subgraph)
    subgraph.upstream.state.request_log.clear()

    ids = [team["id"] for team in reversed(created)]  # any order: answers follow the references
    body = await subgraph.graphql(TEAM_NAMES, refs("Team", ids))

    assert calls(subgraph) == page_calls == [("GET", "/api/governance/teams", "limit=100&offset=0")]
    assert [entity["id"] for entity in body["data"]["_entities"]] == ids
    assert sorted(body["data"]["_entities"], key=lambda t: t["name"]) == page["data"]["teams"]["nodes"]


async def test_a_few_references_are_read_by_id(subgraph: Gateway) -> None:
    created = await teams(subgraph, 6)
    ids = [team["id"] for team in created[:4]]
    body = await subgraph.graphql(TEAM_NAMES, refs("Team", ids))
    assert [entity["name"] for entity in body["data"]["_entities"]] == ["team-000", "team-001", "team-002", "team-003"]
    assert sorted(calls(subgraph)) == sorted(("GET", f"/api/governance/teams/{i}", "") for i in ids)


async def test_references_beyond_the_first_page_read_the_next_page(subgraph: Gateway) -> None:
    created = await teams(subgraph, 130)
    wanted = [created[5]["id"], *(team["id"] for team in created[110:125]), MISSING_ID]
    body = await subgraph.graphql(TEAM_NAMES, refs("Team", wanted))
    found = body["data"]["_entities"]
    assert [entity and entity["id"] for entity in found] == [*wanted[:-1], None]
    # Two pages, then the one reference no page held, by id (it might have moved between the pages).
    assert calls(subgraph) == [
        ("GET", "/api/governance/teams", "limit=100&offset=0"),
        ("GET", "/api/governance/teams", "limit=100&offset=100"),
        ("GET", f"/api/governance/teams/{MISSING_ID}", ""),
    ]


async def test_repeated_references_are_loaded_once(subgraph: Gateway) -> None:
    (team,) = await teams(subgraph, 1)
    body = await subgraph.graphql(TEAM_NAMES, refs("Team", [team["id"]] * 3))
    assert body["data"]["_entities"] == [{"id": team["id"], "name": "team-000"}] * 3
    assert calls(subgraph) == [("GET", f"/api/governance/teams/{team['id']}", "")]


async def test_unknown_and_malformed_ids_are_null_entities(subgraph: Gateway) -> None:
    body = await subgraph.graphql(
        ENTITIES,
        {
            "representations": [
                {"__typename": "Team", "id": MISSING_ID},
                {"__typename": "Customer", "id": "../virtual-keys"},
                {"__typename": "VirtualKey", "id": ""},
                {"__typename": "Budget", "id": MISSING_ID},
            ]
        },
    )
    assert body == {"data": {"_entities": [None, None, None, None]}}
    assert sorted(call[1] for call in calls(subgraph)) == [
        "/api/governance/budgets",
        f"/api/governance/teams/{MISSING_ID}",
    ]


@pytest.mark.parametrize(
    ("representation", "message"),
    [
        ("Team", "representations[1] must be an object with __typename (one of Budget, Customer, Team, VirtualKey)"),
        ({"id": MISSING_ID}, "representations[1] __typename must be one of Budget, Customer, Team, VirtualKey"),
        ({"__typename": "RateLimit", "id": MISSING_ID}, "representations[1] __typename must be one of"),
        ({"__typename": "Query", "id": MISSING_ID}, "representations[1] __typename must be one of"),
        ({"__typename": ["Team"], "id": MISSING_ID}, "representations[1] __typename must be one of"),
        ({"__typename": "Team"}, "representations[1] id must be a string"),
        ({"__typename": "Team", "id": 7}, "representations[1] id must be a string"),
        ({"__typename": "Team", "id": {"id": MISSING_ID}}, "representations[1] id must be a string"),
        (None, "Variable '$representations' has invalid value at [1]: Expected value of non-null type '_Any!'"),
    ],
)
async def test_a_malformed_representation_refuses_the_field_and_nothing_goes_upstream(
    subgraph: Gateway, representation: Any, message: str
) -> None:
    good = {"__typename": "Team", "id": MISSING_ID}
    body = await subgraph.graphql(TEAM_NAMES, {"representations": [good, representation]})
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["message"].startswith(message)
    if representation is not None:
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["argument"] == "representations"
        assert error["path"] == ["_entities"]
    assert calls(subgraph) == []


async def test_representations_written_in_the_document_resolve_too(subgraph: Gateway) -> None:
    (team,) = await teams(subgraph, 1)
    written = f'[{{__typename: "Team", id: "{team["id"]}"}}]'
    body = await subgraph.graphql(f"{{ _entities(representations: {written}) {{ ... on Team {{ name }} }} }}")
    assert body["data"] == {"_entities": [{"name": "team-000"}]}


async def test_service_sdl_answers_where_introspection_is_off() -> None:
    gw = await make_gateway("current", federation=True, gateway_env="production")
    try:
        refused = await gw.graphql("{ __schema { queryType { name } } }")
        assert refused["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
        body = await gw.graphql(SERVICE)
    finally:
        await gw.http.aclose()
    assert body["data"]["_service"]["sdl"] == served_sdl()
    assert calls(gw) == []


async def test_service_sdl_is_the_default_sdl_with_federation_directives(on_both_engines: Gateway) -> None:
    sdl = (await on_both_engines.graphql(SERVICE))["data"]["_service"]["sdl"]
    assert sdl.startswith('extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])')
    for entity in ("Team", "Customer", "VirtualKey", "Budget"):
        assert f'type {entity} @key(fields: "id") {{' in sdl
    assert sdl.count("@key(") == 4 and "_entities" not in sdl and "_Any" not in sdl
    # Without the directives it is exactly the default schema.
    plain = sdl.split("\n", 2)[2].replace(' @key(fields: "id")', "")
    default = build_ast_schema(parse(export_sdl()))
    assert build_ast_schema(parse(plain)).to_kwargs().keys() == default.to_kwargs().keys()
    assert sorted(build_ast_schema(parse(plain)).type_map) == sorted(default.type_map)


async def test_without_the_setting_there_is_no_federation_field(current_gateway: Gateway) -> None:
    for document in (SERVICE, TEAM_NAMES):
        body = await current_gateway.graphql(document, {"representations": []})
        assert body["data"] is None if "data" in body else True
        assert "Cannot query field" in body["errors"][0]["message"] or "Unknown type" in body["errors"][0]["message"]
    assert "_service" not in export_sdl() and "@key" not in export_sdl()


def test_the_setting_is_off_by_default_and_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().federation is False
    monkeypatch.setenv("FEDERATION", "true")
    assert load_settings().federation is True
    monkeypatch.setenv("FEDERATION", "sometimes")
    with pytest.raises(SettingsError, match="FEDERATION"):
        load_settings()
