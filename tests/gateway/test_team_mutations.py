"""updateTeam and deleteTeam end to end over the embedded Bifrost (both API generations)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gateway.arrange import MISSING_ID, codes, result_of, upstream_get, upstream_post, writes
from tests.gateway.conftest import Gateway

UPDATE_TEAM = """
mutation UpdateTeam($input: UpdateTeamInput!) {
  updateTeam(input: $input) {
    team {
      id name customerId
      customer { id name teams { name } }
      budgets { id maxLimit resetDuration }
      rateLimit { id requestMaxLimit }
    }
    userErrors { field message code }
  }
}
"""

DELETE_TEAM = """
mutation DeleteTeam($input: DeleteTeamInput!) {
  deleteTeam(input: $input) { deletedId userErrors { field message code } }
}
"""


async def update(gw: Gateway, given: dict[str, Any]) -> dict[str, Any]:
    return result_of(await gw.graphql(UPDATE_TEAM, {"input": given}), "updateTeam")


async def test_update_team_renames_and_attaches_customer(gateway: Gateway) -> None:
    customer = await upstream_post(gateway, "customers", {"name": "Acme"})
    team = await upstream_post(gateway, "teams", {"name": "platform"})
    result = await update(gateway, {"id": team["id"], "name": "infra", "customerId": customer["id"]})
    assert result["userErrors"] == []
    assert result["team"]["name"] == "infra"
    assert result["team"]["customerId"] == customer["id"]
    # The customer was read (existence check) before the write: its team list must be fresh anyway.
    assert result["team"]["customer"] == {"id": customer["id"], "name": "Acme", "teams": [{"name": "infra"}]}
    assert [(r.method, r.path) for r in writes(gateway)] == [("PUT", f"/api/governance/teams/{team['id']}")]
    stored = await upstream_get(gateway, "teams", team["id"])
    assert stored is not None and stored["name"] == "infra" and stored["customer_id"] == customer["id"]


async def test_update_team_customer_null_detaches(gateway: Gateway) -> None:
    customer = await upstream_post(gateway, "customers", {"name": "Acme"})
    team = await upstream_post(gateway, "teams", {"name": "platform", "customer_id": customer["id"]})
    result = await update(gateway, {"id": team["id"], "customerId": None})
    assert result["team"]["customerId"] is None
    assert result["team"]["customer"] is None
    stored = await upstream_get(gateway, "teams", team["id"])
    assert stored is not None and stored.get("customer_id") is None


async def test_update_team_without_customer_keeps_it(gateway: Gateway) -> None:
    customer = await upstream_post(gateway, "customers", {"name": "Acme"})
    team = await upstream_post(gateway, "teams", {"name": "platform", "customer_id": customer["id"]})
    result = await update(gateway, {"id": team["id"], "name": "renamed"})
    assert result["team"]["customerId"] == customer["id"]


async def test_update_team_budgets_are_reconciled_on_current(current_gateway: Gateway) -> None:
    gw = current_gateway
    team = await upstream_post(
        gw,
        "teams",
        {
            "name": "t",
            "budgets": [{"max_limit": 10, "reset_duration": "1d"}, {"max_limit": 100, "reset_duration": "1M"}],
        },
    )
    daily = next(b for b in team["budgets"] if b["reset_duration"] == "1d")
    result = await update(
        gw,
        {
            "id": team["id"],
            "budgets": [{"maxLimit": 20, "resetDuration": "1d"}, {"maxLimit": 5, "resetDuration": "1w"}],
        },
    )
    budgets = {b["resetDuration"]: b for b in result["team"]["budgets"]}
    assert set(budgets) == {"1d", "1w"}
    assert budgets["1d"] == {"id": daily["id"], "maxLimit": 20, "resetDuration": "1d"}

    result = await update(gw, {"id": team["id"], "budgets": []})
    assert result["userErrors"] == []
    assert result["team"]["budgets"] == []
    stored = await upstream_get(gw, "teams", team["id"])
    assert stored is not None and not stored.get("budgets")
    assert len(writes(gw)) == 2


async def test_update_team_rate_limit_set_then_removed_on_current(current_gateway: Gateway) -> None:
    team = await upstream_post(current_gateway, "teams", {"name": "t"})
    limit = {"requestMaxLimit": 10, "requestResetDuration": "1m"}
    result = await update(current_gateway, {"id": team["id"], "rateLimit": limit})
    assert result["team"]["rateLimit"]["requestMaxLimit"] == "10"  # Int64 travels as a string
    result = await update(current_gateway, {"id": team["id"], "rateLimit": None})
    assert result["team"]["rateLimit"] is None
    stored = await upstream_get(current_gateway, "teams", team["id"])
    assert stored is not None and stored.get("rate_limit_id") is None


async def test_update_team_single_budget_on_seed(seed_gateway: Gateway) -> None:
    team = await upstream_post(seed_gateway, "teams", {"name": "t", "budget": {"max_limit": 1, "reset_duration": "1d"}})
    result = await update(seed_gateway, {"id": team["id"], "budgets": [{"maxLimit": 7, "resetDuration": "1d"}]})
    assert [b["maxLimit"] for b in result["team"]["budgets"]] == [7]
    assert result["team"]["budgets"][0]["id"] == team["budget"]["id"]


@pytest.mark.parametrize(
    ("given", "field"),
    [
        pytest.param({"budgets": []}, ["input", "budgets"], id="remove-budgets"),
        pytest.param(
            {"budgets": [{"maxLimit": 1, "resetDuration": "1d"}, {"maxLimit": 2, "resetDuration": "1w"}]},
            ["input", "budgets"],
            id="several-budgets",
        ),
        pytest.param({"rateLimit": {"requestMaxLimit": 1, "requestResetDuration": "1m"}}, ["input", "rateLimit"]),
    ],
)
async def test_update_team_unsupported_on_seed_is_not_sent(
    seed_gateway: Gateway, given: dict[str, Any], field: list[str]
) -> None:
    team = await upstream_post(seed_gateway, "teams", {"name": "t"})
    result = await update(seed_gateway, {"id": team["id"], **given})
    assert codes(result) == [(field, "UNSUPPORTED_BY_UPSTREAM")]
    assert writes(seed_gateway) == []


@pytest.mark.parametrize(
    ("given", "field"),
    [
        pytest.param({"id": "../budgets"}, ["input", "id"], id="id-path"),
        pytest.param({"name": " "}, ["input", "name"], id="name-blank"),
        pytest.param({"name": "x" * 256}, ["input", "name"], id="name-too-long"),
        pytest.param({"customerId": "a?b"}, ["input", "customerId"], id="customer-id-path"),
        pytest.param(
            {"budgets": [{"maxLimit": 0, "resetDuration": "1d"}]}, ["input", "budgets", "0", "maxLimit"], id="zero"
        ),
        pytest.param(
            {"budgets": [{"maxLimit": 1, "resetDuration": "1D"}]},
            ["input", "budgets", "0", "resetDuration"],
            id="duration",
        ),
        pytest.param(
            {"rateLimit": {"tokenMaxLimit": 5}}, ["input", "rateLimit", "tokenResetDuration"], id="rate-limit"
        ),
    ],
)
async def test_update_team_invalid_input_is_refused_before_upstream(
    gateway: Gateway, given: dict[str, Any], field: list[str]
) -> None:
    result = await update(gateway, {"id": MISSING_ID, **given})
    assert result["team"] is None
    assert field in [e["field"] for e in result["userErrors"]]
    assert {e["code"] for e in result["userErrors"]} == {"INVALID_INPUT"}
    assert gateway.upstream_calls() == []


async def test_update_team_unknown_customer_is_user_error(gateway: Gateway) -> None:
    team = await upstream_post(gateway, "teams", {"name": "t"})
    result = await update(gateway, {"id": team["id"], "customerId": MISSING_ID})
    assert codes(result) == [(["input", "customerId"], "CUSTOMER_NOT_FOUND")]
    assert writes(gateway) == []


async def test_update_team_name_taken_on_both_generations(gateway: Gateway) -> None:
    await upstream_post(gateway, "teams", {"name": "taken"})
    team = await upstream_post(gateway, "teams", {"name": "t"})
    result = await update(gateway, {"id": team["id"], "name": "taken"})
    assert result["team"] is None
    assert codes(result) == [(["input", "name"], "NAME_TAKEN")]
    assert len(writes(gateway)) == 1


async def test_update_team_missing_is_not_found(gateway: Gateway) -> None:
    result = await update(gateway, {"id": MISSING_ID, "name": "x"})
    assert codes(result) == [(["input", "id"], "NOT_FOUND")]
    assert len(writes(gateway)) == 1


async def test_delete_team_detaches_its_keys(gateway: Gateway) -> None:
    team = await upstream_post(gateway, "teams", {"name": "doomed"})
    key = await upstream_post(gateway, "virtual-keys", {"name": "k", "team_id": team["id"]})
    result = result_of(await gateway.graphql(DELETE_TEAM, {"input": {"id": team["id"]}}), "deleteTeam")
    assert result == {"deletedId": team["id"], "userErrors": []}
    assert await upstream_get(gateway, "teams", team["id"]) is None
    stored = await upstream_get(gateway, "virtual-keys", key["id"])
    assert stored is not None and stored.get("team_id") is None
    assert [r.method for r in writes(gateway)] == ["DELETE"]


async def test_delete_team_missing_is_not_found(gateway: Gateway) -> None:
    result = result_of(await gateway.graphql(DELETE_TEAM, {"input": {"id": MISSING_ID}}), "deleteTeam")
    assert result["deletedId"] is None
    assert codes(result) == [(["input", "id"], "NOT_FOUND")]


async def test_delete_team_unsafe_id_is_not_sent(gateway: Gateway) -> None:
    result = result_of(await gateway.graphql(DELETE_TEAM, {"input": {"id": "../customers"}}), "deleteTeam")
    assert codes(result) == [(["input", "id"], "INVALID_INPUT")]
    assert gateway.upstream_calls() == []
