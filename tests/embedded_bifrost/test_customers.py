"""Customers: validation, embedded teams and virtual keys, budget updates, delete cascades."""

from __future__ import annotations

import httpx
import pytest
from bifrost_helpers import message_of

CUSTOMERS = "/api/governance/customers"
BUDGET = {"max_limit": 100.0, "reset_duration": "1M"}


async def _budget_count(client: httpx.AsyncClient) -> int:
    count: int = (await client.get("/api/governance/budgets")).json()["count"]
    return count


@pytest.mark.parametrize("body", [{}, {"name": ""}])
async def test_create_customer_name_required(any_generation: httpx.AsyncClient, body: dict[str, str]) -> None:
    response = await any_generation.post(CUSTOMERS, json=body)
    assert response.status_code == 400
    assert message_of(response) == "Customer name is required"


@pytest.mark.parametrize(
    "budget",
    [
        {"max_limit": -1, "reset_duration": "1d"},
        {"max_limit": 0, "reset_duration": "1d"},
        {"max_limit": 5, "reset_duration": "2x"},
    ],
)
async def test_create_customer_budget_problem_is_500(
    any_generation: httpx.AsyncClient, budget: dict[str, object]
) -> None:
    response = await any_generation.post(CUSTOMERS, json={"name": "c", "budget": budget})
    assert response.status_code == 500
    assert message_of(response) == "failed to create customer"
    assert (await any_generation.get(CUSTOMERS)).json()["count"] == 0
    assert await _budget_count(any_generation) == 0


async def test_create_customer_shape_with_empty_relations(any_generation: httpx.AsyncClient) -> None:
    response = await any_generation.post(CUSTOMERS, json={"name": "Acme", "budget": BUDGET})
    assert response.status_code == 200
    assert response.json()["message"] == "Customer created successfully"
    customer = response.json()["customer"]
    assert customer["teams"] == [] and customer["virtual_keys"] == []
    assert customer["budget"]["max_limit"] == 100.0 and customer["budget_id"] == customer["budget"]["id"]


async def test_get_customer_embeds_teams_and_customer_scoped_keys(current: httpx.AsyncClient) -> None:
    customer = (await current.post(CUSTOMERS, json={"name": "Acme"})).json()["customer"]
    budgets = [{"max_limit": 5, "reset_duration": "1d"}]
    team = (
        await current.post(
            "/api/governance/teams", json={"name": "t", "customer_id": customer["id"], "budgets": budgets}
        )
    ).json()["team"]
    await current.post("/api/governance/virtual-keys", json={"name": "team-key", "team_id": team["id"]})
    await current.post("/api/governance/virtual-keys", json={"name": "cust-key", "customer_id": customer["id"]})
    got = (await current.get(f"{CUSTOMERS}/{customer['id']}")).json()["customer"]
    assert [t["name"] for t in got["teams"]] == ["t"]
    assert got["teams"][0]["budgets"][0]["max_limit"] == 5
    assert [k["name"] for k in got["virtual_keys"]] == ["cust-key"]
    listed = (await current.get(CUSTOMERS)).json()["customers"][0]
    assert [k["name"] for k in listed["virtual_keys"]] == ["cust-key"]


async def test_update_customer_budget_patched_then_removed(any_generation: httpx.AsyncClient) -> None:
    customer = (await any_generation.post(CUSTOMERS, json={"name": "c", "budget": BUDGET})).json()["customer"]
    path = f"{CUSTOMERS}/{customer['id']}"
    patched = (await any_generation.put(path, json={"budget": {"max_limit": 7}})).json()
    assert patched["message"] == "Customer updated successfully"
    assert patched["customer"]["budget"]["id"] == customer["budget"]["id"]
    assert patched["customer"]["budget"]["max_limit"] == 7 and patched["customer"]["budget"]["reset_duration"] == "1M"
    removed = (await any_generation.put(path, json={"budget": {}})).json()["customer"]
    assert "budget" not in removed and "budget_id" not in removed
    assert await _budget_count(any_generation) == 0


async def test_update_customer_name_only_keeps_budget(any_generation: httpx.AsyncClient) -> None:
    customer = (await any_generation.post(CUSTOMERS, json={"name": "c", "budget": BUDGET})).json()["customer"]
    updated = (await any_generation.put(f"{CUSTOMERS}/{customer['id']}", json={"name": "d"})).json()["customer"]
    assert updated["name"] == "d" and updated["budget"]["id"] == customer["budget"]["id"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_customer_unknown_id_is_404(any_generation: httpx.AsyncClient, method: str) -> None:
    response = await any_generation.request(method, f"{CUSTOMERS}/nope", json={})
    assert response.status_code == 404
    assert message_of(response) == "Customer not found"


async def test_delete_customer_detaches_teams_and_keys(current: httpx.AsyncClient) -> None:
    body = {"name": "c", "budget": BUDGET, "rate_limit": {"request_max_limit": 5, "request_reset_duration": "1m"}}
    customer = (await current.post(CUSTOMERS, json=body)).json()["customer"]
    team = (await current.post("/api/governance/teams", json={"name": "t", "customer_id": customer["id"]})).json()
    key = (await current.post("/api/governance/virtual-keys", json={"name": "k", "customer_id": customer["id"]})).json()
    response = await current.delete(f"{CUSTOMERS}/{customer['id']}")
    assert response.json() == {"message": "Customer deleted successfully"}
    team_after = (await current.get(f"/api/governance/teams/{team['team']['id']}")).json()["team"]
    assert "customer_id" not in team_after
    key_after = (await current.get(f"/api/governance/virtual-keys/{key['virtual_key']['id']}")).json()["virtual_key"]
    assert "customer_id" not in key_after
    assert await _budget_count(current) == 0
    assert (await current.get("/api/governance/rate-limits")).json()["count"] == 0


async def test_list_customers_pagination_and_search(any_generation: httpx.AsyncClient) -> None:
    for name in ("Acme", "acme labs", "Globex"):
        await any_generation.post(CUSTOMERS, json={"name": name})
    assert "total_count" not in (await any_generation.get(CUSTOMERS)).json()
    page = (await any_generation.get(f"{CUSTOMERS}?search=ACME&limit=1&offset=1")).json()
    assert (page["count"], page["total_count"], page["limit"], page["offset"]) == (1, 2, 1, 1)
    assert page["customers"][0]["name"] == "acme labs"
