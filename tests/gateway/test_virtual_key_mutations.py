"""createVirtualKey, updateVirtualKey and deleteVirtualKey end to end over the embedded Bifrost.

The embedded server reproduces Bifrost v1.5's trap (a PUT naming neither team_id nor customer_id detaches the
key from both), so these tests show the gateway never detaches a key by omission.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.gateway.arrange import MISSING_ID, codes, result_of, upstream_get, upstream_post, writes
from tests.gateway.conftest import REVEALING, Gateway

KEY_FIELDS = """
  id name description isActive teamId customerId
  value secret: value(reveal: true)
  team { id name virtualKeys { name } }
  customer { id name }
  budgets { maxLimit resetDuration }
  rateLimit { requestMaxLimit }
  providerConfigs { id provider weight allowedModels budgets { maxLimit } }
"""

CREATE_KEY = f"""
mutation CreateVirtualKey($input: CreateVirtualKeyInput!) {{
  createVirtualKey(input: $input) {{ virtualKey {{ {KEY_FIELDS} }} userErrors {{ field message code }} }}
}}
"""

UPDATE_KEY = f"""
mutation UpdateVirtualKey($input: UpdateVirtualKeyInput!) {{
  updateVirtualKey(input: $input) {{ virtualKey {{ {KEY_FIELDS} }} userErrors {{ field message code }} }}
}}
"""

DELETE_KEY = """
mutation DeleteVirtualKey($input: DeleteVirtualKeyInput!) {
  deleteVirtualKey(input: $input) { deletedId userErrors { field message code } }
}
"""


async def create(gw: Gateway, given: dict[str, Any]) -> dict[str, Any]:
    return result_of(await gw.graphql(CREATE_KEY, {"input": given}), "createVirtualKey")


async def update(gw: Gateway, given: dict[str, Any]) -> dict[str, Any]:
    # Reading a key's value after an update needs a caller allowed to reveal it.
    return result_of(await gw.graphql(UPDATE_KEY, {"input": given}, headers=REVEALING), "updateVirtualKey")


async def stored_key(gw: Gateway, key_id: str) -> dict[str, Any]:
    found = await upstream_get(gw, "virtual-keys", key_id)
    assert found is not None
    return found


async def test_create_virtual_key_for_a_team(gateway: Gateway) -> None:
    team = await upstream_post(gateway, "teams", {"name": "platform"})
    result = await create(
        gateway,
        {
            "name": "ci",
            "description": "for CI",
            "teamId": team["id"],
            "budgets": [{"maxLimit": 10, "resetDuration": "1d"}],
            "rateLimit": {"requestMaxLimit": 60, "requestResetDuration": "1m"},
            "providerConfigs": [
                {
                    "provider": "openai",
                    "weight": 1.5,
                    "allowedModels": ["gpt-4o"],
                    "budgets": [{"maxLimit": 3, "resetDuration": "1w"}],
                }
            ],
        },
    )
    assert result["userErrors"] == []
    key = result["virtualKey"]
    assert (key["name"], key["description"], key["isActive"]) == ("ci", "for CI", True)
    assert key["secret"].startswith("sk-bf-")
    assert key["value"] == f"sk-bf-…{key['secret'][-4:]}"
    assert key["teamId"] == team["id"] and key["customerId"] is None
    assert key["team"]["name"] == "platform"
    assert key["team"]["virtualKeys"] == [{"name": "ci"}]
    assert key["budgets"] == [{"maxLimit": 10, "resetDuration": "1d"}]
    assert key["rateLimit"]["requestMaxLimit"] == "60"  # Int64 travels as a string
    [config] = key["providerConfigs"]
    assert (config["provider"], config["weight"], config["allowedModels"]) == ("openai", 1.5, ["gpt-4o"])
    assert config["budgets"] == [{"maxLimit": 3}]
    assert [(r.method, r.path) for r in writes(gateway)] == [("POST", "/api/governance/virtual-keys")]


async def test_create_virtual_key_for_a_customer(gateway: Gateway) -> None:
    customer = await upstream_post(gateway, "customers", {"name": "Acme"})
    result = await create(gateway, {"name": "k", "customerId": customer["id"], "isActive": False})
    key = result["virtualKey"]
    assert key["customer"] == {"id": customer["id"], "name": "Acme"}
    assert key["isActive"] is False


async def test_create_virtual_key_several_budgets_on_seed_is_unsupported(seed_gateway: Gateway) -> None:
    budgets = [{"maxLimit": 1, "resetDuration": "1d"}, {"maxLimit": 2, "resetDuration": "1w"}]
    result = await create(seed_gateway, {"name": "k", "budgets": budgets})
    assert codes(result) == [(["input", "budgets"], "UNSUPPORTED_BY_UPSTREAM")]
    assert writes(seed_gateway) == []


@pytest.mark.parametrize(
    ("given", "field"),
    [
        pytest.param({"name": " "}, ["input", "name"], id="name-blank"),
        pytest.param({"name": "x" * 256}, ["input", "name"], id="name-too-long"),
        pytest.param({"teamId": MISSING_ID, "customerId": MISSING_ID}, ["input", "customerId"], id="both-owners"),
        pytest.param({"teamId": "../teams"}, ["input", "teamId"], id="team-id-path"),
        pytest.param({"customerId": "x?y"}, ["input", "customerId"], id="customer-id-path"),
        pytest.param({"budgets": [{"maxLimit": 0, "resetDuration": "1d"}]}, ["input", "budgets", "0", "maxLimit"]),
        pytest.param({"rateLimit": {"requestMaxLimit": 5}}, ["input", "rateLimit", "requestResetDuration"]),
        pytest.param({"providerConfigs": [{"provider": " "}]}, ["input", "providerConfigs", "0", "provider"]),
        pytest.param(
            {"providerConfigs": [{"provider": "openai", "weight": -1}]}, ["input", "providerConfigs", "0", "weight"]
        ),
        pytest.param(
            {"providerConfigs": [{"provider": "openai", "allowedModels": ["gpt-4o", ""]}]},
            ["input", "providerConfigs", "0", "allowedModels", "1"],
        ),
        pytest.param(
            {"providerConfigs": [{"provider": "openai", "budgets": [{"maxLimit": 1, "resetDuration": "x"}]}]},
            ["input", "providerConfigs", "0", "budgets", "0", "resetDuration"],
        ),
        pytest.param({"providerConfigs": [{"provider": "openai", "id": 3}]}, ["input", "providerConfigs", "0", "id"]),
        pytest.param(
            {"mcpConfigs": [{"mcpClientName": "", "toolsToExecute": ["*"]}]},
            ["input", "mcpConfigs", "0", "mcpClientName"],
        ),
    ],
)
async def test_create_virtual_key_invalid_input_is_refused_before_upstream(
    gateway: Gateway, given: dict[str, Any], field: list[str]
) -> None:
    result = await create(gateway, {"name": "k", **given})
    assert result["virtualKey"] is None
    assert field in [e["field"] for e in result["userErrors"]]
    assert {e["code"] for e in result["userErrors"]} == {"INVALID_INPUT"}
    assert gateway.upstream_calls() == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param({"teamId": MISSING_ID}, (["input", "teamId"], "TEAM_NOT_FOUND"), id="team"),
        pytest.param({"customerId": MISSING_ID}, (["input", "customerId"], "CUSTOMER_NOT_FOUND"), id="customer"),
    ],
)
async def test_create_virtual_key_unknown_owner_is_user_error(
    gateway: Gateway, given: dict[str, Any], expected: tuple[list[str], str]
) -> None:
    result = await create(gateway, {"name": "k", **given})
    assert codes(result) == [expected]
    assert writes(gateway) == []


async def test_create_virtual_key_unknown_provider_points_at_its_config(gateway: Gateway) -> None:
    configs = [{"provider": "openai"}, {"provider": "nosuch"}]
    result = await create(gateway, {"name": "k", "providerConfigs": configs})
    assert codes(result) == [(["input", "providerConfigs", "1", "provider"], "INVALID_INPUT")]
    assert len(writes(gateway)) == 1


async def test_create_virtual_key_name_taken_on_both_generations(gateway: Gateway) -> None:
    await upstream_post(gateway, "virtual-keys", {"name": "taken"})
    result = await create(gateway, {"name": "taken"})
    assert result["virtualKey"] is None
    assert codes(result) == [(["input", "name"], "NAME_TAKEN")]
    assert len(writes(gateway)) == 1


async def test_create_virtual_key_name_taken_among_many_similar_names(gateway: Gateway) -> None:
    # More than a page of keys contain the name: Bifrost's own text says the name is taken, no read needed.
    for i in range(100):
        await upstream_post(gateway, "virtual-keys", {"name": f"prod-{i}"})
    await upstream_post(gateway, "virtual-keys", {"name": "prod"})
    result = await create(gateway, {"name": "prod"})
    assert codes(result) == [(["input", "name"], "NAME_TAKEN")]
    assert gateway.upstream_calls("GET", "/api/governance/virtual-keys") == []


@pytest.mark.parametrize(
    ("configs", "field"),
    [
        pytest.param(
            [{"mcpClientName": "nosuch", "toolsToExecute": ["*"]}], ["input", "mcpConfigs", "0", "mcpClientName"]
        ),
        pytest.param(
            [{"mcpClientName": "github", "toolsToExecute": ["*"]}, {"mcpClientName": "nosuch", "toolsToExecute": []}],
            ["input", "mcpConfigs"],
            id="one-of-two",
        ),
    ],
)
async def test_create_virtual_key_unknown_mcp_client_is_a_user_error(
    gateway: Gateway, configs: list[dict[str, Any]], field: list[str]
) -> None:
    body = await gateway.graphql(CREATE_KEY, {"input": {"name": "k", "mcpConfigs": configs}})
    result = result_of(body, "createVirtualKey")
    assert result["virtualKey"] is None
    assert codes(result) == [(field, "INVALID_INPUT")]
    assert "record not found" not in str(body)
    assert len(writes(gateway)) == 1


async def test_update_virtual_key_unknown_mcp_client_is_a_user_error(gateway: Gateway) -> None:
    key = await upstream_post(gateway, "virtual-keys", {"name": "k"})
    configs = [{"mcpClientName": "nosuch", "toolsToExecute": ["*"]}]
    result = await update(gateway, {"id": key["id"], "mcpConfigs": configs})
    assert codes(result) == [(["input", "mcpConfigs", "0", "mcpClientName"], "INVALID_INPUT")]
    assert (await stored_key(gateway, key["id"]))["name"] == "k"


async def test_update_virtual_key_keeps_its_team_when_not_mentioned(gateway: Gateway) -> None:
    team = await upstream_post(gateway, "teams", {"name": "platform"})
    key = await upstream_post(gateway, "virtual-keys", {"name": "k", "team_id": team["id"]})
    result = await update(gateway, {"id": key["id"], "name": "renamed"})
    assert result["userErrors"] == []
    assert result["virtualKey"]["teamId"] == team["id"]
    assert result["virtualKey"]["team"]["virtualKeys"] == [{"name": "renamed"}]
    stored = await stored_key(gateway, key["id"])
    assert (stored["name"], stored.get("team_id"), stored.get("customer_id")) == ("renamed", team["id"], None)
    assert [(r.method, r.path) for r in writes(gateway)] == [("PUT", f"/api/governance/virtual-keys/{key['id']}")]


async def test_update_virtual_key_keeps_its_customer_when_not_mentioned(gateway: Gateway) -> None:
    customer = await upstream_post(gateway, "customers", {"name": "Acme"})
    key = await upstream_post(gateway, "virtual-keys", {"name": "k", "customer_id": customer["id"]})
    await update(gateway, {"id": key["id"], "isActive": False, "teamId": None})
    stored = await stored_key(gateway, key["id"])
    assert (stored["is_active"], stored.get("customer_id")) == (False, customer["id"])


async def test_update_virtual_key_team_null_detaches(gateway: Gateway) -> None:
    team = await upstream_post(gateway, "teams", {"name": "platform"})
    key = await upstream_post(gateway, "virtual-keys", {"name": "k", "team_id": team["id"]})
    result = await update(gateway, {"id": key["id"], "teamId": None})
    assert result["virtualKey"]["teamId"] is None and result["virtualKey"]["team"] is None
    stored = await stored_key(gateway, key["id"])
    assert stored.get("team_id") is None


async def test_update_virtual_key_moves_from_team_to_customer(gateway: Gateway) -> None:
    team = await upstream_post(gateway, "teams", {"name": "platform"})
    customer = await upstream_post(gateway, "customers", {"name": "Acme"})
    key = await upstream_post(gateway, "virtual-keys", {"name": "k", "team_id": team["id"]})
    result = await update(gateway, {"id": key["id"], "customerId": customer["id"]})
    assert result["virtualKey"]["customer"] == {"id": customer["id"], "name": "Acme"}
    stored = await stored_key(gateway, key["id"])
    assert (stored.get("team_id"), stored.get("customer_id")) == (None, customer["id"])


async def test_update_virtual_key_both_owners_is_user_error(gateway: Gateway) -> None:
    result = await update(gateway, {"id": MISSING_ID, "teamId": MISSING_ID, "customerId": MISSING_ID})
    assert codes(result) == [(["input", "customerId"], "INVALID_INPUT")]
    assert gateway.upstream_calls() == []


async def test_update_virtual_key_unknown_team_is_user_error(gateway: Gateway) -> None:
    key = await upstream_post(gateway, "virtual-keys", {"name": "k"})
    result = await update(gateway, {"id": key["id"], "teamId": MISSING_ID})
    assert codes(result) == [(["input", "teamId"], "TEAM_NOT_FOUND")]
    assert writes(gateway) == []


async def test_update_virtual_key_missing_is_not_found(gateway: Gateway) -> None:
    result = await update(gateway, {"id": MISSING_ID, "name": "x"})
    assert codes(result) == [(["input", "id"], "NOT_FOUND")]
    if gateway.generation.owners == "presence_aware":
        # Nothing to read first (leaving the owners out keeps them): the PUT itself finds no key, and changes nothing.
        assert [r.method for r in writes(gateway)] == ["PUT"]
    else:
        # The key is read first, to re-send its owner: a missing one is found out without a write.
        assert writes(gateway) == []


async def test_update_virtual_key_name_taken(gateway: Gateway) -> None:
    await upstream_post(gateway, "virtual-keys", {"name": "taken"})
    key = await upstream_post(gateway, "virtual-keys", {"name": "k"})
    result = await update(gateway, {"id": key["id"], "name": "taken"})
    assert codes(result) == [(["input", "name"], "NAME_TAKEN")]
    assert len(writes(gateway)) == 1


async def test_update_virtual_key_provider_configs_and_budgets_on_current(current_gateway: Gateway) -> None:
    gw = current_gateway
    key = await upstream_post(
        gw,
        "virtual-keys",
        {
            "name": "k",
            "budgets": [{"max_limit": 5, "reset_duration": "1d"}],
            "provider_configs": [{"provider": "openai"}, {"provider": "anthropic"}],
        },
    )
    openai = next(c for c in key["provider_configs"] if c["provider"] == "openai")
    result = await update(
        gw,
        {
            "id": key["id"],
            "description": None,
            "budgets": [],
            "providerConfigs": [
                {"id": openai["id"], "provider": "openai", "weight": 2, "allowedModels": ["*"]},
                {"provider": "mistral"},
            ],
        },
    )
    updated = result["virtualKey"]
    assert updated["budgets"] == []
    assert updated["description"] in ("", None)
    by_provider = {c["provider"]: c for c in updated["providerConfigs"]}
    assert set(by_provider) == {"openai", "mistral"}
    assert by_provider["openai"]["id"] == openai["id"]
    assert by_provider["openai"]["weight"] == 2


@pytest.mark.parametrize(
    ("given", "field"),
    [
        pytest.param({"id": "../x"}, ["input", "id"], id="id-path"),
        pytest.param({"name": ""}, ["input", "name"], id="name"),
        pytest.param({"teamId": "a b"}, ["input", "teamId"], id="team-id"),
        pytest.param({"budgets": [{"maxLimit": 1, "resetDuration": "0s"}]}, ["input", "budgets", "0", "resetDuration"]),
        pytest.param(
            {"providerConfigs": [{"provider": "openai", "weight": -0.5}]}, ["input", "providerConfigs", "0", "weight"]
        ),
    ],
)
async def test_update_virtual_key_invalid_input_is_refused_before_upstream(
    gateway: Gateway, given: dict[str, Any], field: list[str]
) -> None:
    result = await update(gateway, {"id": MISSING_ID, **given})
    assert field in [e["field"] for e in result["userErrors"]]
    assert {e["code"] for e in result["userErrors"]} == {"INVALID_INPUT"}
    assert gateway.upstream_calls() == []


async def test_delete_virtual_key(gateway: Gateway) -> None:
    team = await upstream_post(gateway, "teams", {"name": "platform"})
    key = await upstream_post(gateway, "virtual-keys", {"name": "k", "team_id": team["id"]})
    body = await gateway.graphql(DELETE_KEY, {"input": {"id": key["id"]}})
    assert result_of(body, "deleteVirtualKey") == {"deletedId": key["id"], "userErrors": []}
    assert await upstream_get(gateway, "virtual-keys", key["id"]) is None
    assert [r.method for r in writes(gateway)] == ["DELETE"]


async def test_delete_virtual_key_missing_is_not_found(gateway: Gateway) -> None:
    body = await gateway.graphql(DELETE_KEY, {"input": {"id": MISSING_ID}})
    result = result_of(body, "deleteVirtualKey")
    assert result["deletedId"] is None
    assert codes(result) == [(["input", "id"], "NOT_FOUND")]


async def test_delete_virtual_key_unsafe_id_is_not_sent(gateway: Gateway) -> None:
    body = await gateway.graphql(DELETE_KEY, {"input": {"id": "../teams/x"}})
    assert codes(result_of(body, "deleteVirtualKey")) == [(["input", "id"], "INVALID_INPUT")]
    assert gateway.upstream_calls() == []
