"""GraphiQL's Bifrost v2 examples run as shipped on the embedded v2 server, and do what they say once the ids
their comments point to are filled in."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.web.graphiql_examples import MODEL_CONFIGS, ROTATE_KEY, SET_BUDGET_OVERRIDE, SavedOperation
from tests.gateway.arrange import codes, result_of, upstream_get, upstream_post
from tests.gateway.conftest import Gateway, make_gateway


@pytest.fixture
async def v2() -> AsyncIterator[Gateway]:
    gw = await make_gateway("v2")
    yield gw
    await gw.http.aclose()


async def run(gw: Gateway, example: SavedOperation, **variables: Any) -> dict[str, Any]:
    """What GraphiQL sends for the example's tab, with ``variables`` typed over the shipped ones."""
    tab = example.as_tab()
    return await gw.graphql(
        tab["query"], {**json.loads(tab["variables"]), **variables}, headers=json.loads(tab["headers"])
    )


@pytest.mark.parametrize("example", [ROTATE_KEY, SET_BUDGET_OVERRIDE, MODEL_CONFIGS], ids=lambda op: op.title)
async def test_each_v2_example_runs_as_shipped(v2: Gateway, example: SavedOperation) -> None:
    body = await run(v2, example)
    assert "errors" not in body, body


async def test_the_rotate_example_rotates_the_key_named(v2: Gateway) -> None:
    key = await upstream_post(v2, "virtual-keys", {"name": "graphiql-rotate"})
    payload = result_of(await run(v2, ROTATE_KEY, id=key["id"]), "rotateVirtualKey")
    assert payload["userErrors"] == [] and payload["virtualKey"]["id"] == key["id"]
    stored = await upstream_get(v2, "virtual-keys", key["id"])
    assert stored is not None and stored["value"] != key["value"]


async def test_the_override_example_sets_an_override(v2: Gateway) -> None:
    key = await upstream_post(
        v2, "virtual-keys", {"name": "graphiql-override", "budgets": [{"max_limit": 100.0, "reset_duration": "1M"}]}
    )
    budget = key["budgets"][0]["id"]
    payload = result_of(
        await run(v2, SET_BUDGET_OVERRIDE, virtualKeyId=key["id"], budgetId=budget), "setBudgetOverride"
    )
    assert payload["userErrors"] == [] and payload["effectiveMaxLimit"] == 150.0


async def test_the_model_configs_example_lists_them(v2: Gateway) -> None:
    created = await v2.graphql(
        'mutation { createModelConfig(input: {modelName: "gpt-4o", provider: "openai"}) { userErrors { field code } } }'
    )
    assert codes(result_of(created, "createModelConfig")) == []
    page = (await run(v2, MODEL_CONFIGS))["data"]["modelConfigs"]
    assert page["totalCount"] == 1 and page["nodes"][0]["modelName"] == "gpt-4o"
