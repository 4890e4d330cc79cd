"""Virtual keys: validation, provider configs and keys, MCP configs, the PUT trap, lists."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from bifrost_helpers import message_of

from app.embedded_bifrost.catalog import SEEDED_KEYS

VKS = "/api/governance/virtual-keys"
OPENAI_KEY = SEEDED_KEYS[0][2]
AZURE_FROM_ENV_KEY = SEEDED_KEYS[4][2]
FULL_KEY = {
    "name": "full",
    "description": "everything",
    "provider_configs": [
        {"provider": "openai", "weight": 0.5, "allowed_models": ["gpt-4o"], "key_ids": [OPENAI_KEY]},
        {"provider": "anthropic", "key_ids": ["*"], "rate_limit": {"token_max_limit": 5, "token_reset_duration": "1h"}},
    ],
    "mcp_configs": [{"mcp_client_name": "github", "tools_to_execute": ["create_issue"]}],
}


async def _create(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(VKS, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Virtual key created successfully"
    key: dict[str, Any] = response.json()["virtual_key"]
    return key


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Virtual key name is required"),
        ({"name": ""}, "Virtual key name is required"),
        ({"name": "k", "team_id": "t", "customer_id": "c"}, "VirtualKey cannot be attached to both Team and Customer"),
        ({"name": "k", "provider_configs": [{"provider": "openia"}]}, "invalid provider name: openia"),
        ({"name": "k", "mcp_configs": [{"mcp_client_name": "github"}, {"mcp_client_name": "github"}]},
         "duplicate mcp_client_name: github"),
    ],
)  # fmt: skip
async def test_create_virtual_key_rejected(
    any_generation: httpx.AsyncClient, body: dict[str, Any], message: str
) -> None:
    response = await any_generation.post(VKS, json=body)
    assert response.status_code == 400
    assert message_of(response) == message
    assert (await any_generation.get(VKS)).json()["count"] == 0


async def test_create_virtual_key_duplicate_name_is_500(any_generation: httpx.AsyncClient) -> None:
    await _create(any_generation, {"name": "k"})
    response = await any_generation.post(
        VKS, json={"name": "k", "budgets": [], "provider_configs": [{"provider": "openai"}]}
    )
    assert response.status_code == 500
    assert (await any_generation.get(VKS)).json()["count"] == 1
    assert (await any_generation.get("/api/governance/budgets")).json()["count"] == 0


async def test_create_virtual_key_unknown_key_id_is_500_and_rolled_back(any_generation: httpx.AsyncClient) -> None:
    body = {"name": "k", "provider_configs": [{"provider": "openai", "key_ids": ["no-such-key"]}]}
    response = await any_generation.post(VKS, json=body)
    assert response.status_code == 500
    assert message_of(response) == "some keys not found for provider openai: expected 1, found 0"
    assert (await any_generation.get(VKS)).json()["count"] == 0


async def test_create_virtual_key_full_shape_current(current: httpx.AsyncClient) -> None:
    key = await _create(current, FULL_KEY)
    assert key["value"].startswith("sk-bf-") and len(key["value"]) == len("sk-bf-") + 36
    assert key["is_active"] is True and key["description"] == "everything"
    openai, anthropic = key["provider_configs"]
    assert isinstance(openai["id"], int) and openai["virtual_key_id"] == key["id"]
    assert [k["key_id"] for k in openai["keys"]] == [OPENAI_KEY]
    assert openai["keys"][0]["value"] == {"value": "", "env_var": "", "from_env": False}
    assert len(anthropic["keys"]) == 2 and anthropic["weight"] is None
    assert anthropic["rate_limit"]["token_max_limit"] == 5
    mcp = key["mcp_configs"][0]
    assert mcp["mcp_client_name"] == "github" and mcp["mcp_client"]["name"] == "github"
    assert mcp["mcp_client_id"] == mcp["mcp_client"]["id"] and mcp["tools_to_execute"] == ["create_issue"]
    for absent in ("team_id", "customer_id", "team", "customer", "budgets", "budget", "rate_limit"):
        assert absent not in key


async def test_create_virtual_key_seed_shape(seed: httpx.AsyncClient) -> None:
    body = {**FULL_KEY, "budget": {"max_limit": 5, "reset_duration": "1d"}}
    key = await _create(seed, body)
    assert key["budget"]["max_limit"] == 5 and key["budget_id"] == key["budget"]["id"]
    assert key["mcp_configs"][0]["mcp_client_name"] == "github"
    assert "mcp_client" not in key["mcp_configs"][0] and "mcp_client_id" not in key["mcp_configs"][0]
    assert key["provider_configs"][1]["weight"] == 0.0


async def test_provider_keys_from_env_kept_and_literals_blanked(current: httpx.AsyncClient) -> None:
    key = await _create(
        current, {"name": "k", "provider_configs": [{"provider": "azure", "key_ids": [AZURE_FROM_ENV_KEY]}]}
    )
    azure = key["provider_configs"][0]["keys"][0]
    assert azure["value"] == {"value": "", "env_var": "env.AZURE_API_KEY", "from_env": True}
    assert azure["azure_endpoint"]["value"] == "https://demo-eastus.openai.azure.com"
    assert azure["azure_client_secret"]["value"] == ""


async def test_virtual_key_unknown_mcp_client_is_500(any_generation: httpx.AsyncClient) -> None:
    response = await any_generation.post(VKS, json={"name": "k", "mcp_configs": [{"mcp_client_name": "nope"}]})
    assert response.status_code == 500
    assert (await any_generation.get(VKS)).json()["count"] == 0


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_virtual_key_unknown_id_is_404(any_generation: httpx.AsyncClient, method: str) -> None:
    response = await any_generation.request(method, f"{VKS}/nope", json={})
    assert response.status_code == 404
    assert message_of(response) == "Virtual key not found"


async def test_update_virtual_key_without_owner_fields_clears_both(any_generation: httpx.AsyncClient) -> None:
    team = (await any_generation.post("/api/governance/teams", json={"name": "t"})).json()["team"]
    key = await _create(any_generation, {"name": "k", "team_id": team["id"]})
    updated = (await any_generation.put(f"{VKS}/{key['id']}", json={"description": "d"})).json()
    assert updated["message"] == "Virtual key updated successfully"
    assert "team_id" not in updated["virtual_key"] and "team" not in updated["virtual_key"]


async def test_update_virtual_key_switches_owner(any_generation: httpx.AsyncClient) -> None:
    team = (await any_generation.post("/api/governance/teams", json={"name": "t"})).json()["team"]
    customer = (await any_generation.post("/api/governance/customers", json={"name": "c"})).json()["customer"]
    key = await _create(any_generation, {"name": "k", "team_id": team["id"]})
    moved = (await any_generation.put(f"{VKS}/{key['id']}", json={"customer_id": customer["id"]})).json()["virtual_key"]
    assert moved["customer_id"] == customer["id"] and "team_id" not in moved
    assert moved["customer"]["name"] == "c"


async def test_update_virtual_key_both_owners_rejected(any_generation: httpx.AsyncClient) -> None:
    key = await _create(any_generation, {"name": "k"})
    response = await any_generation.put(f"{VKS}/{key['id']}", json={"team_id": "t", "customer_id": "c"})
    assert response.status_code == 400
    assert message_of(response) == "VirtualKey cannot be attached to both Team and Customer"


async def test_update_virtual_key_provider_configs_full_set(current: httpx.AsyncClient) -> None:
    key = await _create(current, FULL_KEY)
    openai, anthropic = key["provider_configs"]
    desired = [
        {"id": openai["id"], "provider": "openai", "weight": 0.9, "allowed_models": ["*"], "key_ids": []},
        {"provider": "mistral", "budgets": [{"max_limit": 3, "reset_duration": "1d"}]},
    ]
    response = await current.put(f"{VKS}/{key['id']}", json={"provider_configs": desired})
    configs = response.json()["virtual_key"]["provider_configs"]
    assert [(c["id"] == openai["id"], c["provider"]) for c in configs] == [(True, "openai"), (False, "mistral")]
    assert configs[0]["weight"] == 0.9 and configs[0]["keys"] == []
    assert configs[1]["budgets"][0]["provider_config_id"] == configs[1]["id"]
    assert (await current.get("/api/governance/rate-limits")).json()["count"] == 0  # anthropic's went with it
    assert anthropic["id"] not in [c["id"] for c in configs]


async def test_update_virtual_key_foreign_provider_config_id_is_500(current: httpx.AsyncClient) -> None:
    key = await _create(current, {"name": "k"})
    response = await current.put(f"{VKS}/{key['id']}", json={"provider_configs": [{"id": 999, "provider": "openai"}]})
    assert response.status_code == 500
    assert message_of(response) == "provider config 999 does not belong to this virtual key"


async def test_update_virtual_key_budgets_reconciled(current: httpx.AsyncClient) -> None:
    key = await _create(current, {"name": "k", "budgets": [{"max_limit": 1, "reset_duration": "1d"}]})
    budgets = [{"max_limit": 2, "reset_duration": "1d"}, {"max_limit": 9, "reset_duration": "1w"}]
    updated = (await current.put(f"{VKS}/{key['id']}", json={"budgets": budgets})).json()["virtual_key"]
    assert updated["budgets"][0]["id"] == key["budgets"][0]["id"]
    assert [(b["reset_duration"], b["max_limit"]) for b in updated["budgets"]] == [("1d", 2), ("1w", 9)]


async def test_delete_virtual_key_removes_configs_and_limits(current: httpx.AsyncClient) -> None:
    key = await _create(current, {**FULL_KEY, "budgets": [{"max_limit": 1, "reset_duration": "1d"}]})
    response = await current.delete(f"{VKS}/{key['id']}")
    assert response.json() == {"message": "Virtual key deleted successfully"}
    assert (await current.get("/api/governance/budgets")).json()["count"] == 0
    assert (await current.get("/api/governance/rate-limits")).json()["count"] == 0


@pytest.mark.parametrize(("query", "message"), [
    ("limit=ten", "Invalid limit parameter: must be a number"),
    ("offset=x", "Invalid offset parameter: must be a number"),
])  # fmt: skip
async def test_list_virtual_keys_non_numeric_paging_is_400(
    current: httpx.AsyncClient, query: str, message: str
) -> None:
    response = await current.get(f"{VKS}?{query}")
    assert response.status_code == 400
    assert message_of(response) == message


async def test_list_virtual_keys_filters_sort_and_search(current: httpx.AsyncClient) -> None:
    team = (await current.post("/api/governance/teams", json={"name": "t"})).json()["team"]
    customer = (await current.post("/api/governance/customers", json={"name": "c"})).json()["customer"]
    await _create(current, {"name": "bravo", "team_id": team["id"]})
    await _create(current, {"name": "alpha", "customer_id": customer["id"], "is_active": False})
    await _create(current, {"name": "charlie"})
    names = [k["name"] for k in (await current.get(f"{VKS}?sort_by=name&order=desc")).json()["virtual_keys"]]
    assert names == ["charlie", "bravo", "alpha"]
    by_team = (await current.get(f"{VKS}?team_id={team['id']}")).json()["virtual_keys"]
    assert [k["name"] for k in by_team] == ["bravo"] and by_team[0]["team"]["name"] == "t"
    by_customer = (await current.get(f"{VKS}?customer_id={customer['id']}")).json()["virtual_keys"]
    assert [k["name"] for k in by_customer] == ["alpha"]
    status = (await current.get(f"{VKS}?sort_by=status")).json()["virtual_keys"]
    assert status[0]["name"] == "alpha"
    page = (await current.get(f"{VKS}?search=A&limit=1")).json()
    assert (page["count"], page["total_count"], page["virtual_keys"][0]["name"]) == (1, 3, "bravo")
