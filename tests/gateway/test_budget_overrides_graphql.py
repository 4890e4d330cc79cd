"""setBudgetOverride and clearBudgetOverride over the embedded v2 server: the body Bifrost reads, the effective
limit back, NOT_FOUND for a budget that is not the key's, and the budget's own limit untouched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.gateway.arrange import MISSING_ID, codes, recording_gateway, result_of, upstream_post
from tests.gateway.conftest import Gateway
from tests.gateway.v2_documents import CLEAR_OVERRIDE, SET_OVERRIDE

KEY_BUDGETS = {"budgets": [{"max_limit": 100.0, "reset_duration": "1M"}]}


@pytest.fixture
async def v2() -> AsyncIterator[tuple[Gateway, list[tuple[str, str, Any]]]]:
    gw, sent = await recording_gateway("v2")
    yield gw, sent
    await gw.http.aclose()


async def key_with_budget(gw: Gateway, name: str = "with-budget") -> tuple[str, str]:
    key = await upstream_post(gw, "virtual-keys", {"name": name, **KEY_BUDGETS})
    return key["id"], key["budgets"][0]["id"]


@pytest.mark.parametrize(
    ("override", "body", "effective"),
    [
        pytest.param(
            {"amount": 50, "mode": "CYCLES", "cycles": 2},
            {"amount": 50.0, "mode": "cycles", "cycles": 2},
            150.0,
            id="cycles",
        ),
        pytest.param({"amount": 25.5, "mode": "FOREVER"}, {"amount": 25.5, "mode": "forever"}, 125.5, id="forever"),
    ],
)
async def test_an_override_raises_the_effective_limit_and_keeps_max_limit(
    v2: tuple[Gateway, list[Any]], override: dict[str, Any], body: dict[str, Any], effective: float
) -> None:
    gw, sent = v2
    key_id, budget_id = await key_with_budget(gw)
    variables = {"key": key_id, "budget": budget_id, "input": override}
    payload = result_of(await gw.graphql(SET_OVERRIDE, variables), "setBudgetOverride")
    assert payload["userErrors"] == []
    assert payload["budget"]["id"] == budget_id and payload["budget"]["maxLimit"] == 100.0
    assert payload["effectiveMaxLimit"] == effective == payload["budget"]["effectiveMaxLimit"]
    stored = payload["budget"]["override"]
    assert (stored["amount"], stored["mode"]) == (override["amount"], override["mode"])
    assert stored["cyclesRemaining"] == stored["cyclesTotal"] == override.get("cycles")
    path = f"/api/governance/virtual-keys/{key_id}/budgets/{budget_id}/override"
    assert sent == [("PUT", path, body)]


async def test_clearing_an_override_brings_the_limit_back(v2: tuple[Gateway, list[Any]]) -> None:
    gw, sent = v2
    key_id, budget_id = await key_with_budget(gw)
    override = {"amount": 10, "mode": "FOREVER"}
    result_of(
        await gw.graphql(SET_OVERRIDE, {"key": key_id, "budget": budget_id, "input": override}), "setBudgetOverride"
    )
    payload = result_of(await gw.graphql(CLEAR_OVERRIDE, {"key": key_id, "budget": budget_id}), "clearBudgetOverride")
    assert payload["userErrors"] == [] and payload["effectiveMaxLimit"] == 100.0
    assert payload["budget"]["override"] is None and payload["budget"]["effectiveMaxLimit"] == 100.0
    assert [(method, body) for method, _, body in sent] == [
        ("PUT", {"amount": 10.0, "mode": "forever"}),
        ("DELETE", None),
    ]


async def test_a_budget_that_is_not_the_keys_is_not_found(v2: tuple[Gateway, list[Any]]) -> None:
    gw, _ = v2
    key_id, _ = await key_with_budget(gw, "owner")
    _, foreign_budget = await key_with_budget(gw, "other")
    override = {"amount": 5, "mode": "FOREVER"}
    for budget in (foreign_budget, MISSING_ID):
        payload = result_of(
            await gw.graphql(SET_OVERRIDE, {"key": key_id, "budget": budget, "input": override}), "setBudgetOverride"
        )
        assert payload["budget"] is None and codes(payload) == [(None, "NOT_FOUND")]
    cleared = result_of(
        await gw.graphql(CLEAR_OVERRIDE, {"key": MISSING_ID, "budget": foreign_budget}), "clearBudgetOverride"
    )
    assert codes(cleared) == [(None, "NOT_FOUND")]
