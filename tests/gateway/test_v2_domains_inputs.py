"""Hostile and mistaken inputs to the v2 domains are refused with userErrors naming the field, before anything goes
upstream: the upstream here says it is v2 (so a missing check would send the call), and its request log stays empty.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.gateway.arrange import codes, recording_gateway, result_of
from tests.gateway.conftest import Gateway
from tests.gateway.v2_documents import (
    CLEAR_OVERRIDE,
    CREATE_MODEL_CONFIG,
    DELETE_PROVIDER_GOVERNANCE,
    ROTATE_KEY,
    ROTATE_KEYS,
    SET_OVERRIDE,
    SET_PROVIDER_GOVERNANCE,
    UPDATE_MODEL_CONFIG,
)

KEY = "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"
BUDGET = "9a1c7e4a-1d2f-4e5a-9b8c-7d6e5f4a3b2c"
UNSAFE_IDS = ["../budgets", "a/b", "..", "", "a b", "x%2Fy", "a?b=c"]


@pytest.fixture
async def gw() -> AsyncIterator[Gateway]:
    gateway, _ = await recording_gateway("current", version="v2.2.5")
    yield gateway
    assert list(gateway.upstream.state.request_log) == [], "nothing may go upstream"
    await gateway.http.aclose()


async def refused(gw: Gateway, document: str, mutation: str, variables: dict[str, Any]) -> list[Any]:
    payload = result_of(await gw.graphql(document, variables), mutation)
    assert all(code == "INVALID_INPUT" for _, code in codes(payload)), payload
    return [field for field, _ in codes(payload)]


# Rotation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key_id", UNSAFE_IDS)
async def test_rotate_refuses_an_id_that_could_change_the_path(gw: Gateway, key_id: str) -> None:
    assert await refused(gw, ROTATE_KEY, "rotateVirtualKey", {"id": key_id}) == [["id"]]


async def test_bulk_rotate_refuses_no_ids(gw: Gateway) -> None:
    assert await refused(gw, ROTATE_KEYS, "rotateVirtualKeys", {"ids": []}) == [["ids"]]


@pytest.mark.parametrize("count", [101, 10_000])
async def test_bulk_rotate_refuses_more_ids_than_the_limit(gw: Gateway, count: int) -> None:
    ids = [f"key-{i}" for i in range(count)]
    payload = result_of(await gw.graphql(ROTATE_KEYS, {"ids": ids}), "rotateVirtualKeys")
    assert codes(payload) == [(["ids"], "INVALID_INPUT")]
    assert "at most 100" in payload["userErrors"][0]["message"]


async def test_bulk_rotate_names_each_unsafe_or_repeated_id_by_its_index(gw: Gateway) -> None:
    ids = [KEY, "../budgets", KEY, "a/b", ""]
    fields = await refused(gw, ROTATE_KEYS, "rotateVirtualKeys", {"ids": ids})
    assert fields == [["ids", "1"], ["ids", "2"], ["ids", "3"], ["ids", "4"]]


# Budget overrides -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "fields"),
    [
        pytest.param({"amount": 0, "mode": "FOREVER"}, [["input", "amount"]], id="zero"),
        pytest.param({"amount": -5, "mode": "FOREVER"}, [["input", "amount"]], id="negative"),
        pytest.param({"amount": 5, "mode": "CYCLES"}, [["input", "cycles"]], id="cycles-missing"),
        pytest.param({"amount": 5, "mode": "CYCLES", "cycles": 0}, [["input", "cycles"]], id="cycles-zero"),
        pytest.param({"amount": 5, "mode": "CYCLES", "cycles": -3}, [["input", "cycles"]], id="cycles-negative"),
        pytest.param({"amount": 5, "mode": "FOREVER", "cycles": 2}, [["input", "cycles"]], id="cycles-forever"),
        pytest.param(
            {"amount": -1, "mode": "CYCLES", "cycles": -1}, [["input", "amount"], ["input", "cycles"]], id="both"
        ),
    ],
)
async def test_override_refuses_what_bifrost_refuses(gw: Gateway, override: dict[str, Any], fields: list[Any]) -> None:
    variables = {"key": KEY, "budget": BUDGET, "input": override}
    assert await refused(gw, SET_OVERRIDE, "setBudgetOverride", variables) == fields


@pytest.mark.parametrize("literal", ["1e400", "-1e400"])
async def test_override_refuses_an_infinite_amount(gw: Gateway, literal: str) -> None:
    # JSON has no Infinity or NaN, but a GraphQL literal this large is parsed as infinity.
    document = (
        f'mutation {{ setBudgetOverride(virtualKeyId: "{KEY}", budgetId: "{BUDGET}", '
        f"input: {{amount: {literal}, mode: FOREVER}}) {{ userErrors {{ field message code }} }} }}"
    )
    assert await refused(gw, document, "setBudgetOverride", {}) == [["input", "amount"]]


async def test_override_amounts_json_cannot_carry_are_refused_as_bad_json(gw: Gateway) -> None:
    for amount in (b"NaN", b"Infinity", b"-Infinity"):
        body = (
            b'{"query":"mutation($i: BudgetOverrideInput!) { setBudgetOverride(virtualKeyId: \\"k\\", '
            b'budgetId: \\"b\\", input: $i) { userErrors { code } } }",'
            b'"variables":{"i":{"amount":' + amount + b',"mode":"FOREVER"}}}'
        )
        response = await gw.http.post("/graphql", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400, response.text


@pytest.mark.parametrize("unsafe", UNSAFE_IDS)
async def test_override_refuses_unsafe_key_and_budget_ids(gw: Gateway, unsafe: str) -> None:
    override = {"amount": 5, "mode": "FOREVER"}
    assert await refused(
        gw, SET_OVERRIDE, "setBudgetOverride", {"key": unsafe, "budget": BUDGET, "input": override}
    ) == [["virtualKeyId"]]
    assert await refused(gw, CLEAR_OVERRIDE, "clearBudgetOverride", {"key": KEY, "budget": unsafe}) == [["budgetId"]]


# Model configs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "fields"),
    [
        pytest.param({"modelName": ""}, [["input", "modelName"]], id="empty-name"),
        pytest.param({"modelName": "gpt\u202e4o"}, [["input", "modelName"]], id="bidi-name"),
        pytest.param({"modelName": "m" * 256}, [["input", "modelName"]], id="long-name"),
        pytest.param({"modelName": "gpt-4o", "scope": "VIRTUAL_KEY"}, [["input", "scopeId"]], id="scope-without-id"),
        pytest.param({"modelName": "gpt-4o", "scopeId": KEY}, [["input", "scopeId"]], id="global-with-id"),
        pytest.param(
            {"modelName": "gpt-4o", "scope": "VIRTUAL_KEY", "scopeId": "../x"}, [["input", "scopeId"]], id="unsafe-id"
        ),
        pytest.param(
            {
                "modelName": "gpt-4o",
                "rateLimit": {"tokenMaxLimit": 10, "tokenResetDuration": "1m"},
                "rateLimits": [{"metric": "TOKENS", "maxLimit": 10, "resetDuration": "1m"}],
            },
            [["input", "rateLimits"]],
            id="both-rate-limits",
        ),
        pytest.param(
            {"modelName": "*", "rateLimits": [{"metric": "REQUESTS", "maxLimit": 0, "resetDuration": "1m"}]},
            [["input", "rateLimits", "0", "maxLimit"]],
            id="rule-zero",
        ),
        pytest.param(
            {"modelName": "*", "rateLimits": [{"metric": "REQUESTS", "maxLimit": 5, "resetDuration": "soon"}]},
            [["input", "rateLimits", "0", "resetDuration"]],
            id="rule-duration",
        ),
        pytest.param(
            {
                "modelName": "*",
                "rateLimits": [
                    {"metric": "TOKENS", "maxLimit": 5, "resetDuration": "1h"},
                    {"metric": "TOKENS", "maxLimit": 9, "resetDuration": "1h"},
                ],
            },
            [["input", "rateLimits", "1", "resetDuration"]],
            id="rule-duplicate",
        ),
        pytest.param(
            {"modelName": "*", "rateLimits": [{"id": KEY, "metric": "TOKENS", "maxLimit": 5, "resetDuration": "1h"}]},
            [["input", "rateLimits", "0", "id"]],
            id="rule-id-on-create",
        ),
        pytest.param(
            {"modelName": "*", "budgets": [{"maxLimit": -1, "resetDuration": "1d"}]},
            [["input", "budgets", "0", "maxLimit"]],
            id="budget-negative",
        ),
    ],
)
async def test_create_model_config_refuses(gw: Gateway, config: dict[str, Any], fields: list[Any]) -> None:
    assert await refused(gw, CREATE_MODEL_CONFIG, "createModelConfig", {"input": config}) == fields


async def test_create_model_config_refuses_an_infinite_budget(gw: Gateway) -> None:
    document = (
        'mutation { createModelConfig(input: {modelName: "*", budgets: [{maxLimit: 1e400, resetDuration: "1d"}]}) '
        "{ userErrors { field message code } } }"
    )
    assert await refused(gw, document, "createModelConfig", {}) == [["input", "budgets", "0", "maxLimit"]]


@pytest.mark.parametrize(
    ("variables", "fields"),
    [
        pytest.param({"id": "../x", "input": {}}, [["id"]], id="unsafe-id"),
        pytest.param({"id": KEY, "input": {"modelName": None}}, [["input", "modelName"]], id="null-name"),
        pytest.param({"id": KEY, "input": {"scope": None}}, [["input", "scope"]], id="null-scope"),
        pytest.param(
            {
                "id": KEY,
                "input": {"rateLimits": [{"id": "a/b", "metric": "TOKENS", "maxLimit": 1, "resetDuration": "1h"}]},
            },
            [["input", "rateLimits", "0", "id"]],
            id="unsafe-rule-id",
        ),
    ],
)
async def test_update_model_config_refuses(gw: Gateway, variables: dict[str, Any], fields: list[Any]) -> None:
    assert await refused(gw, UPDATE_MODEL_CONFIG, "updateModelConfig", variables) == fields


# Provider governance ---------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["../teams", "a/b", "..", "", "open ai", "openai%2F.."])
async def test_provider_governance_refuses_a_provider_that_could_change_the_path(gw: Gateway, provider: str) -> None:
    variables = {"provider": provider, "input": {"calendarAligned": True}}
    assert await refused(gw, SET_PROVIDER_GOVERNANCE, "setProviderGovernance", variables) == [["provider"]]
    assert await refused(gw, DELETE_PROVIDER_GOVERNANCE, "deleteProviderGovernance", {"provider": provider}) == [
        ["provider"]
    ]


async def test_provider_governance_refuses_bad_budgets_and_rate_limits(gw: Gateway) -> None:
    variables = {
        "provider": "openai",
        "input": {
            "budgets": [{"maxLimit": 0, "resetDuration": "1d"}, {"maxLimit": 5, "resetDuration": "never"}],
            "rateLimit": {"tokenMaxLimit": 0, "tokenResetDuration": "1m"},
        },
    }
    assert await refused(gw, SET_PROVIDER_GOVERNANCE, "setProviderGovernance", variables) == [
        ["input", "budgets", "0", "maxLimit"],
        ["input", "budgets", "1", "resetDuration"],
        ["input", "rateLimit", "tokenMaxLimit"],
    ]
