"""createCustomer, updateCustomer and deleteCustomer end to end over the embedded Bifrost."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gateway.arrange import MISSING_ID, codes, result_of, upstream_get, upstream_post, writes
from tests.gateway.conftest import Gateway

CUSTOMER_FIELDS = """
  id name budgetId
  budget { id maxLimit resetDuration currentUsage }
  rateLimit { id requestMaxLimit requestResetDuration }
  teams { id name }
  virtualKeys { id name value }
"""

CREATE_CUSTOMER = f"""
mutation CreateCustomer($input: CreateCustomerInput!) {{
  createCustomer(input: $input) {{ customer {{ {CUSTOMER_FIELDS} }} userErrors {{ field message code }} }}
}}
"""

UPDATE_CUSTOMER = f"""
mutation UpdateCustomer($input: UpdateCustomerInput!) {{
  updateCustomer(input: $input) {{ customer {{ {CUSTOMER_FIELDS} }} userErrors {{ field message code }} }}
}}
"""

DELETE_CUSTOMER = """
mutation DeleteCustomer($input: DeleteCustomerInput!) {
  deleteCustomer(input: $input) { deletedId userErrors { field message code } }
}
"""


async def create(gw: Gateway, given: dict[str, Any]) -> dict[str, Any]:
    return result_of(await gw.graphql(CREATE_CUSTOMER, {"input": given}), "createCustomer")


async def update(gw: Gateway, given: dict[str, Any]) -> dict[str, Any]:
    return result_of(await gw.graphql(UPDATE_CUSTOMER, {"input": given}), "updateCustomer")


async def test_create_customer_with_budget(gateway: Gateway) -> None:
    result = await create(gateway, {"name": "Acme", "budget": {"maxLimit": 500, "resetDuration": "1M"}})
    assert result["userErrors"] == []
    customer = result["customer"]
    assert customer["name"] == "Acme"
    assert customer["budget"]["maxLimit"] == 500
    assert customer["budget"]["resetDuration"] == "1M"
    assert customer["teams"] == []
    assert customer["virtualKeys"] == []
    assert [r.method for r in writes(gateway)] == ["POST"]
    stored = await upstream_get(gateway, "customers", customer["id"])
    assert stored is not None
    # v2 answers a customer's budgets as an array (no single ``budget``).
    budget = stored["budgets"][0] if gateway.generation.customer_budgets == "array" else stored["budget"]
    assert budget["max_limit"] == 500


async def test_create_customer_with_rate_limit_on_current(current_gateway: Gateway) -> None:
    limit = {"requestMaxLimit": 100, "requestResetDuration": "1m"}
    result = await create(current_gateway, {"name": "Acme", "rateLimit": limit})
    assert result["customer"]["rateLimit"]["requestMaxLimit"] == "100"  # Int64 travels as a string


async def test_create_customer_rate_limit_on_seed_is_unsupported(seed_gateway: Gateway) -> None:
    limit = {"requestMaxLimit": 100, "requestResetDuration": "1m"}
    result = await create(seed_gateway, {"name": "Acme", "rateLimit": limit})
    assert codes(result) == [(["input", "rateLimit"], "UNSUPPORTED_BY_UPSTREAM")]
    assert writes(seed_gateway) == []


@pytest.mark.parametrize(
    ("given", "field"),
    [
        pytest.param({"name": ""}, ["input", "name"], id="name-empty"),
        pytest.param({"name": "\t "}, ["input", "name"], id="name-blank"),
        pytest.param({"name": "x" * 256}, ["input", "name"], id="name-too-long"),
        pytest.param(
            {"name": "c", "budget": {"maxLimit": 0, "resetDuration": "1M"}}, ["input", "budget", "maxLimit"], id="zero"
        ),
        pytest.param(
            {"name": "c", "budget": {"maxLimit": 5, "resetDuration": "monthly"}},
            ["input", "budget", "resetDuration"],
            id="duration",
        ),
        pytest.param(
            {"name": "c", "rateLimit": {"requestMaxLimit": -1, "requestResetDuration": "1m"}},
            ["input", "rateLimit", "requestMaxLimit"],
            id="rate-limit",
        ),
    ],
)
async def test_create_customer_invalid_input_is_refused_before_upstream(
    gateway: Gateway, given: dict[str, Any], field: list[str]
) -> None:
    result = await create(gateway, given)
    assert result["customer"] is None
    assert field in [e["field"] for e in result["userErrors"]]
    assert {e["code"] for e in result["userErrors"]} == {"INVALID_INPUT"}
    assert gateway.upstream_calls() == []


async def test_update_customer_renames_and_changes_budget(gateway: Gateway) -> None:
    customer = await upstream_post(
        gateway, "customers", {"name": "Acme", "budget": {"max_limit": 5, "reset_duration": "1d"}}
    )
    team = await upstream_post(gateway, "teams", {"name": "t", "customer_id": customer["id"]})
    result = await update(
        gateway, {"id": customer["id"], "name": "Acme Corp", "budget": {"maxLimit": 50, "resetDuration": "1w"}}
    )
    assert result["userErrors"] == []
    updated = result["customer"]
    assert updated["name"] == "Acme Corp"
    assert (updated["budget"]["maxLimit"], updated["budget"]["resetDuration"]) == (50, "1w")
    assert updated["teams"] == [{"id": team["id"], "name": "t"}]
    assert [r.method for r in writes(gateway)] == ["PUT"]


async def test_update_customer_budget_null_removes_it(gateway: Gateway) -> None:
    customer = await upstream_post(
        gateway, "customers", {"name": "Acme", "budget": {"max_limit": 5, "reset_duration": "1d"}}
    )
    result = await update(gateway, {"id": customer["id"], "budget": None})
    assert result["customer"]["budget"] is None
    stored = await upstream_get(gateway, "customers", customer["id"])
    assert stored is not None and stored.get("budget_id") is None and stored.get("budget") is None


async def test_update_customer_without_budget_keeps_it(gateway: Gateway) -> None:
    customer = await upstream_post(
        gateway, "customers", {"name": "Acme", "budget": {"max_limit": 5, "reset_duration": "1d"}}
    )
    result = await update(gateway, {"id": customer["id"], "name": "renamed"})
    assert result["customer"]["budget"]["maxLimit"] == 5


async def test_update_customer_rate_limit_null_removes_it_on_current(current_gateway: Gateway) -> None:
    limit = {"request_max_limit": 5, "request_reset_duration": "1m"}
    customer = await upstream_post(current_gateway, "customers", {"name": "Acme", "rate_limit": limit})
    result = await update(current_gateway, {"id": customer["id"], "rateLimit": None})
    assert result["customer"]["rateLimit"] is None
    stored = await upstream_get(current_gateway, "customers", customer["id"])
    assert stored is not None and stored.get("rate_limit_id") is None


@pytest.mark.parametrize(
    ("given", "field"),
    [
        pytest.param({"id": "a/b"}, ["input", "id"], id="id-path"),
        pytest.param({"name": ""}, ["input", "name"], id="name-empty"),
        pytest.param({"budget": {"maxLimit": -3, "resetDuration": "1d"}}, ["input", "budget", "maxLimit"], id="neg"),
        pytest.param({"rateLimit": {"tokenResetDuration": "1h"}}, ["input", "rateLimit", "tokenMaxLimit"], id="rl"),
    ],
)
async def test_update_customer_invalid_input_is_refused_before_upstream(
    gateway: Gateway, given: dict[str, Any], field: list[str]
) -> None:
    result = await update(gateway, {"id": MISSING_ID, **given})
    assert field in [e["field"] for e in result["userErrors"]]
    assert {e["code"] for e in result["userErrors"]} == {"INVALID_INPUT"}
    assert gateway.upstream_calls() == []


async def test_update_customer_missing_is_not_found(gateway: Gateway) -> None:
    result = await update(gateway, {"id": MISSING_ID, "name": "x"})
    assert result["customer"] is None
    assert codes(result) == [(["input", "id"], "NOT_FOUND")]
    assert len(writes(gateway)) == 1


async def test_delete_customer_detaches_teams_and_keys(gateway: Gateway) -> None:
    customer = await upstream_post(gateway, "customers", {"name": "Acme"})
    team = await upstream_post(gateway, "teams", {"name": "t", "customer_id": customer["id"]})
    key = await upstream_post(gateway, "virtual-keys", {"name": "k", "customer_id": customer["id"]})
    body = await gateway.graphql(DELETE_CUSTOMER, {"input": {"id": customer["id"]}})
    assert result_of(body, "deleteCustomer") == {"deletedId": customer["id"], "userErrors": []}
    assert [r.method for r in writes(gateway)] == ["DELETE"]
    assert await upstream_get(gateway, "customers", customer["id"]) is None
    stored_team = await upstream_get(gateway, "teams", team["id"])
    stored_key = await upstream_get(gateway, "virtual-keys", key["id"])
    assert stored_team is not None and stored_team.get("customer_id") is None
    assert stored_key is not None and stored_key.get("customer_id") is None


async def test_delete_customer_missing_is_not_found(gateway: Gateway) -> None:
    body = await gateway.graphql(DELETE_CUSTOMER, {"input": {"id": MISSING_ID}})
    result = result_of(body, "deleteCustomer")
    assert result["deletedId"] is None
    assert codes(result) == [(["input", "id"], "NOT_FOUND")]


async def test_delete_customer_unsafe_id_is_not_sent(gateway: Gateway) -> None:
    body = await gateway.graphql(DELETE_CUSTOMER, {"input": {"id": "..%2f"}})
    assert codes(result_of(body, "deleteCustomer")) == [(["input", "id"], "INVALID_INPUT")]
    assert gateway.upstream_calls() == []
