"""Bifrost before v2 has no rotation, overrides, model configs or provider governance: each mutation answers
UNSUPPORTED_BY_UPSTREAM with nothing sent upstream, each query answers empty (or null), and the request log proves
that not one call reached a route of those domains."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.settings import Settings
from app.web import create_app
from tests.gateway.arrange import MISSING_ID, codes, result_of, upstream_post, writes
from tests.gateway.conftest import REVEALING, Gateway, make_gateway
from tests.gateway.v2_documents import (
    CLEAR_OVERRIDE,
    CREATE_MODEL_CONFIG,
    DELETE_MODEL_CONFIG,
    DELETE_PROVIDER_GOVERNANCE,
    KEYS_WITH_MODEL_CONFIGS,
    MODEL_CONFIG,
    MODEL_CONFIGS,
    PROVIDER_GOVERNANCE,
    ROTATE_KEY,
    ROTATE_KEY_MASKED,
    ROTATE_KEYS,
    SET_OVERRIDE,
    SET_PROVIDER_GOVERNANCE,
    UPDATE_MODEL_CONFIG,
)

V2_ROUTES = ("/rotate", "/override", "/api/governance/model-configs", "/api/governance/providers")


@pytest.fixture(params=["seed", "current"])
async def older(request: pytest.FixtureRequest) -> AsyncIterator[Gateway]:
    gw = await make_gateway(request.param)
    yield gw
    await gw.http.aclose()


def v2_calls(gw: Gateway) -> list[Any]:
    return [record for record in gw.upstream_calls() if any(route in record.path for route in V2_ROUTES)]


MUTATIONS = [
    pytest.param(ROTATE_KEY, "rotateVirtualKey", {"id": MISSING_ID}, id="rotateVirtualKey"),
    pytest.param(ROTATE_KEYS, "rotateVirtualKeys", {"ids": [MISSING_ID]}, id="rotateVirtualKeys"),
    pytest.param(
        SET_OVERRIDE,
        "setBudgetOverride",
        {"key": MISSING_ID, "budget": MISSING_ID, "input": {"amount": 5, "mode": "FOREVER"}},
        id="setBudgetOverride",
    ),
    pytest.param(CLEAR_OVERRIDE, "clearBudgetOverride", {"key": MISSING_ID, "budget": MISSING_ID}, id="clear"),
    pytest.param(CREATE_MODEL_CONFIG, "createModelConfig", {"input": {"modelName": "gpt-4o"}}, id="createModelConfig"),
    pytest.param(
        UPDATE_MODEL_CONFIG, "updateModelConfig", {"id": MISSING_ID, "input": {"modelName": "x"}}, id="update"
    ),
    pytest.param(DELETE_MODEL_CONFIG, "deleteModelConfig", {"id": MISSING_ID}, id="deleteModelConfig"),
    pytest.param(
        SET_PROVIDER_GOVERNANCE,
        "setProviderGovernance",
        {"provider": "openai", "input": {"budgets": [{"maxLimit": 10, "resetDuration": "1d"}]}},
        id="setProviderGovernance",
    ),
    pytest.param(DELETE_PROVIDER_GOVERNANCE, "deleteProviderGovernance", {"provider": "openai"}, id="delete"),
]


@pytest.mark.parametrize(("document", "mutation", "variables"), MUTATIONS)
async def test_v2_mutations_are_refused_with_nothing_sent(
    older: Gateway, document: str, mutation: str, variables: dict[str, Any]
) -> None:
    payload = result_of(await older.graphql(document, variables, headers=REVEALING), mutation)
    assert [code for _, code in codes(payload)] == ["UNSUPPORTED_BY_UPSTREAM"]
    assert "v2" in payload["userErrors"][0]["message"]
    assert writes(older) == [] and v2_calls(older) == []


async def test_rotating_a_key_that_exists_is_refused_too_and_the_value_stays(older: Gateway) -> None:
    key = await upstream_post(older, "virtual-keys", {"name": "stays"})
    payload = result_of(await older.graphql(ROTATE_KEY, {"id": key["id"]}, headers=REVEALING), "rotateVirtualKey")
    assert payload["virtualKey"] is None and codes(payload) == [(["id"], "UNSUPPORTED_BY_UPSTREAM")]
    shown = await older.graphql(
        "query($id: ID!) { virtualKey(id: $id) { value(reveal: true) } }", {"id": key["id"]}, headers=REVEALING
    )
    assert shown["data"]["virtualKey"]["value"] == key["value"]
    assert v2_calls(older) == []


async def test_v2_queries_answer_empty_or_null_with_nothing_sent(older: Gateway) -> None:
    configs = await older.graphql(MODEL_CONFIGS, {"first": 10, "scope": "VIRTUAL_KEY"})
    assert configs == {
        "data": {"modelConfigs": {"totalCount": 0, "pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}}
    }
    assert await older.graphql(MODEL_CONFIG, {"id": MISSING_ID}) == {"data": {"modelConfig": None}}
    assert await older.graphql(PROVIDER_GOVERNANCE) == {"data": {"providerGovernance": []}}
    assert v2_calls(older) == []


async def test_a_keys_model_configs_are_null_before_v2(older: Gateway) -> None:
    for name in ("a", "b", "c"):
        await upstream_post(older, "virtual-keys", {"name": name})
    body = await older.graphql(KEYS_WITH_MODEL_CONFIGS, {"first": 10})
    assert "errors" not in body, body
    nodes = body["data"]["virtualKeys"]["nodes"]
    assert len(nodes) == 3 and all(node["modelConfigs"] is None for node in nodes)
    assert v2_calls(older) == []


async def test_an_upstream_of_unknown_version_is_sent_no_v2_call() -> None:
    # No version route and nothing stored to look at: detection cannot tell, and tries again next time.
    upstream = create_embedded_bifrost(database=":memory:", generation="seed", expose_version=False)
    app = create_app(Settings(bifrost_url="http://bifrost.internal:8080"), transport=httpx.ASGITransport(app=upstream))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        for document, mutation, variables in [(ROTATE_KEY_MASKED, "rotateVirtualKey", {"id": MISSING_ID})] + [
            (param.values[0], param.values[1], param.values[2]) for param in MUTATIONS[1:]
        ]:
            response = await http.post("/graphql", json={"query": document, "variables": variables})
            payload = result_of(response.json(), mutation)
            assert [code for _, code in codes(payload)] == ["UNSUPPORTED_BY_UPSTREAM"], payload
            assert "not known yet" in payload["userErrors"][0]["message"]
        listed = (await http.post("/graphql", json={"query": MODEL_CONFIGS, "variables": {}})).json()
        assert listed["data"]["modelConfigs"]["nodes"] == []
    sent = [r for r in upstream.state.request_log if r.method != "GET" or any(route in r.path for route in V2_ROUTES)]
    assert sent == []
