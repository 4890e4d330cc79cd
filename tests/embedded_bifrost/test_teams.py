"""Teams: createTeam's validation table in both generations, reads, updates, deletes, lists."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from bifrost_helpers import client_for, message_of

from app.embedded_bifrost import create_app

TEAMS = "/api/governance/teams"
BUDGET_1D = {"max_limit": 10.0, "reset_duration": "1d"}

# (generation, body, status, error message); both generations unless the row says otherwise.
CREATE_TEAM_ERRORS: list[tuple[str, dict[str, Any], int, str]] = [
    ("seed", {}, 400, "Team name is required"),
    ("current", {}, 400, "Team name is required"),
    ("seed", {"name": ""}, 400, "Team name is required"),
    ("current", {"name": ""}, 400, "Team name is required"),
    ("seed", {"name": "t", "budget": {"max_limit": -1, "reset_duration": "1d"}}, 400,
     "budget max_limit cannot be negative: -1.00"),
    ("current", {"name": "t", "budgets": [{"max_limit": -1, "reset_duration": "1d"}]}, 400,
     "budget max_limit cannot be negative: -1.00"),
    ("seed", {"name": "t", "budget": {"max_limit": 0, "reset_duration": "1d"}}, 500, "failed to create team"),
    ("current", {"name": "t", "budgets": [{"max_limit": 0, "reset_duration": "1d"}]}, 500, "failed to create team"),
    ("seed", {"name": "t", "budget": {"max_limit": 5, "reset_duration": "2x"}}, 400,
     "invalid reset duration format: 2x"),
    ("current", {"name": "t", "budgets": [{"max_limit": 5, "reset_duration": "2x"}]}, 400,
     "invalid reset duration format: 2x"),
    ("current", {"name": "t", "budgets": [BUDGET_1D, {"max_limit": 20, "reset_duration": "1d"}]}, 400,
     "duplicate reset_duration in budgets: 1d"),
    ("current", {"name": "t", "rate_limit": {"token_max_limit": 0, "token_reset_duration": "1h"}}, 400,
     "Invalid rate limit: rate limit token max limit cannot be negative or zero: 0"),
    ("current", {"name": "t", "rate_limit": {"request_max_limit": -5, "request_reset_duration": "1h"}}, 400,
     "Invalid rate limit: rate limit request max limit cannot be negative or zero: -5"),
    ("current", {"name": "t", "rate_limit": {"token_max_limit": 100}}, 400,
     "Invalid rate limit: rate limit token reset duration is required"),
    ("current", {"name": "t", "rate_limit": {"request_max_limit": 100}}, 400,
     "Invalid rate limit: rate limit request reset duration is required"),
]  # fmt: skip


async def _count(client: httpx.AsyncClient, path: str, key: str) -> int:
    response = await client.get(path)
    assert response.status_code == 200
    count: int = response.json()["count"]
    assert count == len(response.json()[key])
    return count


@pytest.mark.parametrize(("generation", "body", "status", "message"), CREATE_TEAM_ERRORS)
async def test_create_team_rejected_writes_nothing(
    generation: str, body: dict[str, Any], status: int, message: str
) -> None:
    async with client_for(create_app(generation=generation)) as client:
        response = await client.post(TEAMS, json=body)
        assert response.status_code == status
        assert message_of(response) == message
        assert await _count(client, TEAMS, "teams") == 0
        assert await _count(client, "/api/governance/budgets", "budgets") == 0
        assert await _count(client, "/api/governance/rate-limits", "rate_limits") == 0


async def test_create_team_whitespace_name_accepted(any_generation: httpx.AsyncClient) -> None:
    response = await any_generation.post(TEAMS, json={"name": "   "})
    assert response.status_code == 200
    assert response.json()["message"] == "Team created successfully"
    assert response.json()["team"]["name"] == "   "


async def test_create_team_duplicate_name_seed_is_500(seed: httpx.AsyncClient) -> None:
    assert (await seed.post(TEAMS, json={"name": "dup"})).status_code == 200
    response = await seed.post(TEAMS, json={"name": "dup"})
    assert response.status_code == 500
    assert message_of(response) == "failed to create team"


async def test_create_team_duplicate_name_current_is_409(current: httpx.AsyncClient) -> None:
    assert (await current.post(TEAMS, json={"name": "dup"})).status_code == 200
    response = await current.post(TEAMS, json={"name": "dup"})
    assert response.status_code == 409
    assert message_of(response) == "A team with this name already exists"
    assert await _count(current, TEAMS, "teams") == 1


@pytest.mark.parametrize(
    "body",
    [
        {"name": "plain"},
        {"name": "nulls", "customer_id": None, "budget": None, "budgets": None, "rate_limit": None},
        {"name": "no budgets", "budgets": []},
        {"NAME": "folded"},
    ],
)
async def test_create_plain_team_answers_what_a_read_returns(any_generation: httpx.AsyncClient, body: dict) -> None:
    # A team with nothing attached is answered from the row as written, without reading it back: the answer
    # must still be exactly what GET returns, key order included.
    created = (await any_generation.post(TEAMS, json=body)).json()["team"]
    got = (await any_generation.get(f"{TEAMS}/{created['id']}")).json()["team"]
    assert created == got
    assert list(created) == list(got)
    listed = (await any_generation.get(TEAMS)).json()["teams"]
    assert listed == [got]


async def test_create_team_unknown_customer_stored_dangling(any_generation: httpx.AsyncClient) -> None:
    response = await any_generation.post(TEAMS, json={"name": "t", "customer_id": "no-such-customer"})
    assert response.status_code == 200
    team = response.json()["team"]
    assert team["customer_id"] == "no-such-customer"
    assert "customer" not in team


async def test_create_team_current_shape(current: httpx.AsyncClient) -> None:
    body = {
        "name": "t",
        "budgets": [BUDGET_1D, {"max_limit": 100, "reset_duration": "1M"}],
        "rate_limit": {"token_max_limit": 1000, "token_reset_duration": "1h"},
        "budget": {"max_limit": 7, "reset_duration": "1w"},  # the singular form is silently ignored
    }
    team = (await current.post(TEAMS, json=body)).json()["team"]
    assert [b["reset_duration"] for b in team["budgets"]] == ["1d", "1M"]
    assert all(b["team_id"] == team["id"] and b["current_usage"] == 0 for b in team["budgets"])
    assert team["rate_limit"]["token_max_limit"] == 1000
    assert team["rate_limit_id"] == team["rate_limit"]["id"]
    assert team["virtual_key_count"] == 0
    assert "budget" not in team and "budget_id" not in team and "virtual_keys" not in team
    assert team["profile"] is None and team["config"] is None and team["claims"] is None
    assert team["created_at"].endswith("Z") and len(team["created_at"]) == len("2026-01-01T00:00:00.123456789Z")
    assert team["budgets"][0]["last_reset"]


async def test_create_team_seed_shape(seed: httpx.AsyncClient) -> None:
    body = {"name": "t", "budget": BUDGET_1D, "rate_limit": {"token_max_limit": 1, "token_reset_duration": "1h"}}
    team = (await seed.post(TEAMS, json=body)).json()["team"]
    assert team["budget"]["max_limit"] == 10.0
    assert team["budget_id"] == team["budget"]["id"]
    assert "team_id" not in team["budget"]
    for absent in ("budgets", "rate_limit", "rate_limit_id", "virtual_key_count", "virtual_keys"):
        assert absent not in team
    assert await _count(seed, "/api/governance/rate-limits", "rate_limits") == 0


async def test_get_team_embeds_customer_without_relations(any_generation: httpx.AsyncClient) -> None:
    customer = (await any_generation.post("/api/governance/customers", json={"name": "c"})).json()["customer"]
    created = (await any_generation.post(TEAMS, json={"name": "t", "customer_id": customer["id"]})).json()["team"]
    team = (await any_generation.get(f"{TEAMS}/{created['id']}")).json()["team"]
    assert team["customer"]["id"] == customer["id"]
    assert team["customer"]["teams"] is None and team["customer"]["virtual_keys"] is None
    assert "virtual_keys" not in team


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_team_unknown_id_is_404(any_generation: httpx.AsyncClient, method: str) -> None:
    response = await any_generation.request(method, f"{TEAMS}/nope", json={"name": "x"})
    assert response.status_code == 404
    assert message_of(response) == "Team not found"


async def test_update_team_budgets_reconciled_by_duration(current: httpx.AsyncClient) -> None:
    body = {"name": "t", "budgets": [BUDGET_1D, {"max_limit": 50, "reset_duration": "1w"}]}
    team = (await current.post(TEAMS, json=body)).json()["team"]
    kept = next(b for b in team["budgets"] if b["reset_duration"] == "1d")
    update = {"budgets": [{"max_limit": 99, "reset_duration": "1d"}, {"max_limit": 500, "reset_duration": "1M"}]}
    response = await current.put(f"{TEAMS}/{team['id']}", json=update)
    assert response.status_code == 200
    assert response.json()["message"] == "Team updated successfully"
    budgets = {b["reset_duration"]: b for b in response.json()["team"]["budgets"]}
    assert set(budgets) == {"1d", "1M"}
    assert budgets["1d"]["id"] == kept["id"] and budgets["1d"]["max_limit"] == 99
    assert await _count(current, "/api/governance/budgets", "budgets") == 2


async def test_update_team_budgets_omitted_unchanged_and_empty_deletes(current: httpx.AsyncClient) -> None:
    team = (await current.post(TEAMS, json={"name": "t", "budgets": [BUDGET_1D]})).json()["team"]
    renamed = (await current.put(f"{TEAMS}/{team['id']}", json={"name": "u"})).json()["team"]
    assert renamed["name"] == "u" and len(renamed["budgets"]) == 1
    cleared = (await current.put(f"{TEAMS}/{team['id']}", json={"budgets": []})).json()["team"]
    assert "budgets" not in cleared
    assert await _count(current, "/api/governance/budgets", "budgets") == 0


async def test_update_team_customer_empty_string_detaches(any_generation: httpx.AsyncClient) -> None:
    customer = (await any_generation.post("/api/governance/customers", json={"name": "c"})).json()["customer"]
    team = (await any_generation.post(TEAMS, json={"name": "t", "customer_id": customer["id"]})).json()["team"]
    updated = (await any_generation.put(f"{TEAMS}/{team['id']}", json={"customer_id": ""})).json()["team"]
    assert "customer_id" not in updated and "customer" not in updated


async def test_update_team_rate_limit_both_null_deletes(current: httpx.AsyncClient) -> None:
    body = {"name": "t", "rate_limit": {"token_max_limit": 10, "token_reset_duration": "1m"}}
    team = (await current.post(TEAMS, json=body)).json()["team"]
    replaced = await current.put(
        f"{TEAMS}/{team['id']}", json={"rate_limit": {"request_max_limit": 5, "request_reset_duration": "1h"}}
    )
    limit = replaced.json()["team"]["rate_limit"]
    assert limit["id"] == team["rate_limit"]["id"]
    assert limit["request_max_limit"] == 5 and "token_max_limit" not in limit  # all four fields overwritten
    payload = {"rate_limit": {"token_max_limit": None, "request_max_limit": None}}
    deleted = (await current.put(f"{TEAMS}/{team['id']}", json=payload)).json()["team"]
    assert "rate_limit" not in deleted and "rate_limit_id" not in deleted
    assert await _count(current, "/api/governance/rate-limits", "rate_limits") == 0


async def test_update_team_duplicate_name_is_500_and_unchanged(any_generation: httpx.AsyncClient) -> None:
    await any_generation.post(TEAMS, json={"name": "a"})
    team = (await any_generation.post(TEAMS, json={"name": "b", "customer_id": "c1"})).json()["team"]
    response = await any_generation.put(f"{TEAMS}/{team['id']}", json={"name": "a", "customer_id": "c2"})
    assert response.status_code == 500
    assert message_of(response) == "Failed to update team"
    unchanged = (await any_generation.get(f"{TEAMS}/{team['id']}")).json()["team"]
    assert unchanged["name"] == "b" and unchanged["customer_id"] == "c1"


async def test_update_team_seed_budget_created_then_patched(seed: httpx.AsyncClient) -> None:
    team = (await seed.post(TEAMS, json={"name": "t"})).json()["team"]
    created = (await seed.put(f"{TEAMS}/{team['id']}", json={"budget": BUDGET_1D})).json()["team"]
    patched = (await seed.put(f"{TEAMS}/{team['id']}", json={"budget": {"max_limit": 3}})).json()["team"]
    assert patched["budget"]["id"] == created["budget"]["id"]
    assert patched["budget"]["max_limit"] == 3 and patched["budget"]["reset_duration"] == "1d"


async def test_delete_team_detaches_keys_and_drops_limits(current: httpx.AsyncClient) -> None:
    body = {"name": "t", "budgets": [BUDGET_1D], "rate_limit": {"token_max_limit": 1, "token_reset_duration": "1h"}}
    team = (await current.post(TEAMS, json=body)).json()["team"]
    key = (await current.post("/api/governance/virtual-keys", json={"name": "k", "team_id": team["id"]})).json()
    response = await current.delete(f"{TEAMS}/{team['id']}")
    assert response.status_code == 200
    assert response.json() == {"message": "Team deleted successfully"}
    assert (await current.get(f"{TEAMS}/{team['id']}")).status_code == 404
    vk = (await current.get(f"/api/governance/virtual-keys/{key['virtual_key']['id']}")).json()["virtual_key"]
    assert "team_id" not in vk and "team" not in vk
    assert await _count(current, "/api/governance/budgets", "budgets") == 0
    assert await _count(current, "/api/governance/rate-limits", "rate_limits") == 0


async def test_team_virtual_key_count_counts_team_keys(current: httpx.AsyncClient) -> None:
    team = (await current.post(TEAMS, json={"name": "t"})).json()["team"]
    for name in ("k1", "k2"):
        await current.post("/api/governance/virtual-keys", json={"name": name, "team_id": team["id"]})
    assert (await current.get(f"{TEAMS}/{team['id']}")).json()["team"]["virtual_key_count"] == 2


async def test_list_teams_without_pagination_returns_all(any_generation: httpx.AsyncClient) -> None:
    for index in range(30):
        await any_generation.post(TEAMS, json={"name": f"team-{index:02d}"})
    body = (await any_generation.get(TEAMS)).json()
    assert body["count"] == 30 and len(body["teams"]) == 30
    assert "total_count" not in body
    assert [t["name"] for t in body["teams"]] == [f"team-{i:02d}" for i in range(30)]


@pytest.mark.parametrize(
    ("query", "limit", "offset", "count"),
    [
        ("limit=0", 25, 0, 25),
        ("limit=-3", 25, 0, 25),
        ("limit=1000", 100, 0, 30),
        ("limit=10&offset=25", 10, 25, 5),
        ("offset=-4", 25, 0, 25),
        ("offset=28", 25, 28, 2),
        ("limit=abc", 25, 0, 25),
    ],
)
async def test_list_teams_pagination_clamps(
    any_generation: httpx.AsyncClient, query: str, limit: int, offset: int, count: int
) -> None:
    for index in range(30):
        await any_generation.post(TEAMS, json={"name": f"team-{index:02d}"})
    body = (await any_generation.get(f"{TEAMS}?{query}")).json()
    assert (body["limit"], body["offset"], body["count"], body["total_count"]) == (limit, offset, count, 30)
    assert len(body["teams"]) == count


async def test_list_teams_search_and_customer_filter(any_generation: httpx.AsyncClient) -> None:
    customer = (await any_generation.post("/api/governance/customers", json={"name": "c"})).json()["customer"]
    await any_generation.post(TEAMS, json={"name": "Alpha Platform", "customer_id": customer["id"]})
    await any_generation.post(TEAMS, json={"name": "beta platform"})
    await any_generation.post(TEAMS, json={"name": "Gamma"})
    found = (await any_generation.get(f"{TEAMS}?search=PLATFORM")).json()
    assert sorted(t["name"] for t in found["teams"]) == ["Alpha Platform", "beta platform"]
    assert found["total_count"] == 2
    filtered = (await any_generation.get(f"{TEAMS}?customer_id={customer['id']}")).json()
    assert [t["name"] for t in filtered["teams"]] == ["Alpha Platform"]
    both = (await any_generation.get(f"{TEAMS}?customer_id={customer['id']}&search=beta")).json()
    assert both["teams"] == [] and both["total_count"] == 0
