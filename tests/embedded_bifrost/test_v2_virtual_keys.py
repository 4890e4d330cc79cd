"""v2 virtual keys: shapes, expiry, owners, budgets by id, provider configs, names, paging, word-for-word errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bifrost_helpers import FakeClock, client_for, message_of

from app.embedded_bifrost import BifrostApp, create_app
from app.embedded_bifrost.catalog import SEEDED_KEYS
from app.embedded_bifrost.timestamps import format_rfc3339

VKS = "/api/governance/virtual-keys"
BUDGETS = "/api/governance/budgets"
OPENAI_KEY = SEEDED_KEYS[0][2]
DAY = 86_400 * 10**9
FAILED = "Failed to update virtual key: "

KEY_FIELDS = ["id", "name", "is_active", "provider_configs", "mcp_configs", "calendar_aligned", "allow_all_providers",
              "assigned_user", "config_hash", "created_at", "updated_at", "value"]  # fmt: skip
FULL_KEY_FIELDS = ["id", "name", "description", "is_active", "expires_at", "provider_configs", "mcp_configs",
                   "team_id", "rate_limit_id", "calendar_aligned", "allow_all_providers", "team", "rate_limit",
                   "budgets", "assigned_user", "config_hash", "created_at", "updated_at", "value"]  # fmt: skip
CONFIG_FIELDS = ["id", "virtual_key_id", "provider", "weight", "allow_all_keys", "rate_limit_id", "rate_limit",
                 "budgets", "keys", "allowed_models", "blacklisted_models"]  # fmt: skip


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> BifrostApp:
    served = create_app(generation="v2")
    served.state.context.clock = clock
    return served


@pytest.fixture
async def v2(app: BifrostApp) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


async def _create(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(VKS, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Virtual key created successfully"
    key: dict[str, Any] = response.json()["virtual_key"]
    return key


async def _update(client: httpx.AsyncClient, vk_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.put(f"{VKS}/{vk_id}", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Virtual key updated successfully"
    key: dict[str, Any] = response.json()["virtual_key"]
    return key


async def _team(client: httpx.AsyncClient, name: str = "t") -> str:
    team_id: str = (await client.post("/api/governance/teams", json={"name": name})).json()["team"]["id"]
    return team_id


async def _customer(client: httpx.AsyncClient, name: str = "c") -> str:
    customer_id: str = (await client.post("/api/governance/customers", json={"name": name})).json()["customer"]["id"]
    return customer_id


# Shapes


async def test_bare_key_shape(v2: httpx.AsyncClient) -> None:
    key = await _create(v2, {"name": "bare"})
    assert list(key) == KEY_FIELDS
    assert key["provider_configs"] == [] and key["mcp_configs"] == []  # no provider configs: no provider
    assert key["calendar_aligned"] is False and key["allow_all_providers"] is False
    assert key["assigned_user"] is None and key["is_active"] is True
    assert key["value"].startswith("sk-bf-") and len(key["value"]) == len("sk-bf-") + 36
    assert (await v2.get(f"{VKS}/{key['id']}")).json() == {"virtual_key": key}


async def test_full_key_shape(v2: httpx.AsyncClient, clock: FakeClock) -> None:
    team_id = await _team(v2)
    expires = format_rfc3339(clock() + DAY)
    key = await _create(
        v2,
        {
            "name": "full",
            "description": "everything",
            "team_id": team_id,
            "expires_at": expires,
            "calendar_aligned": True,
            "allow_all_providers": True,
            "budgets": [{"max_limit": 5, "reset_duration": "1d"}],
            "rate_limit": {"token_max_limit": 100, "token_reset_duration": "1h"},
            "provider_configs": [
                {"provider": "openai", "weight": 0.5, "allowed_models": ["gpt-4o"], "blacklisted_models": ["o1"],
                 "key_ids": [OPENAI_KEY], "budgets": [{"max_limit": 2, "reset_duration": "1w"}],
                 "rate_limit": {"request_max_limit": 10, "request_reset_duration": "1m"}},
            ],
            "mcp_configs": [{"mcp_client_name": "github", "tools_to_execute": ["*"]}],
        },
    )  # fmt: skip
    assert list(key) == FULL_KEY_FIELDS
    assert key["expires_at"] == expires and key["calendar_aligned"] is True and key["allow_all_providers"] is True
    assert key["team"]["id"] == team_id and key["budgets"][0]["virtual_key_id"] == key["id"]
    config = key["provider_configs"][0]
    assert list(config) == CONFIG_FIELDS
    assert (config["weight"], config["allow_all_keys"]) == (0.5, False)
    assert (config["allowed_models"], config["blacklisted_models"]) == (["gpt-4o"], ["o1"])
    assert [k["key_id"] for k in config["keys"]] == [OPENAI_KEY]
    assert config["budgets"][0]["provider_config_id"] == config["id"]
    assert config["rate_limit"]["request_max_limit"] == 10
    assert key["mcp_configs"][0]["mcp_client"]["name"] == "github"


async def test_provider_config_lists_never_null_and_weight_null(v2: httpx.AsyncClient) -> None:
    key = await _create(v2, {"name": "k", "provider_configs": [{"provider": "anthropic"}]})
    config = key["provider_configs"][0]
    assert list(config) == ["id", "virtual_key_id", "provider", "weight", "allow_all_keys", "keys", "allowed_models",
                            "blacklisted_models"]  # fmt: skip
    assert config["weight"] is None and config["keys"] == []
    assert config["allowed_models"] == [] and config["blacklisted_models"] == []  # empty allowed list: no model


async def test_key_ids_star_allows_all_keys_without_naming_them(v2: httpx.AsyncClient) -> None:
    key = await _create(v2, {"name": "k", "provider_configs": [{"provider": "openai", "key_ids": ["*"]}]})
    config = key["provider_configs"][0]
    assert config["allow_all_keys"] is True and config["keys"] == []


async def test_list_shape_without_paging_answers_every_paging_field(v2: httpx.AsyncClient) -> None:
    await _create(v2, {"name": "a"})
    await _create(v2, {"name": "b"})
    body = (await v2.get(VKS)).json()
    assert list(body) == ["virtual_keys", "count", "total_count", "limit", "offset"]
    assert (body["count"], body["total_count"], body["limit"], body["offset"]) == (2, 2, 2, 0)


@pytest.mark.parametrize(
    "query",
    ["limit=1", "offset=0", "search=a", "customer_id=x", "team_id=x", "user_id=x", "sort_by=name", "export=true",
     "exclude_access_profile_managed_virtual=true", "exclude_assigned_virtual_keys=true", "for_user_assignment=true"],
)  # fmt: skip
async def test_list_paging_triggers(v2: httpx.AsyncClient, query: str) -> None:
    await _create(v2, {"name": "a"})
    body = (await v2.get(f"{VKS}?{query}")).json()
    assert list(body) == ["virtual_keys", "count", "total_count", "limit", "offset"]
    assert body["limit"] in (25, 1) or query == "export=true"


async def test_list_order_alone_does_not_page(v2: httpx.AsyncClient) -> None:
    for name in ("a", "b", "c"):
        await _create(v2, {"name": name})
    body = (await v2.get(f"{VKS}?order=desc")).json()
    assert (body["limit"], body["offset"]) == (3, 0)


@pytest.mark.parametrize(
    ("query", "message"),
    [("limit=ten", "Invalid limit parameter: must be a number"),
     ("offset=x", "Invalid offset parameter: must be a number"),
     ("limit=-1", "Invalid limit parameter: must be non-negative"),
     ("offset=-5", "Invalid offset parameter: must be non-negative"),
     ("limit=1.5", "Invalid limit parameter: must be a number"),
     ("limit=99999999999999999999", "Invalid limit parameter: must be a number")],
)  # fmt: skip
async def test_list_bad_paging_is_400(v2: httpx.AsyncClient, query: str, message: str) -> None:
    response = await v2.get(f"{VKS}?{query}")
    assert response.status_code == 400
    assert message_of(response) == message


async def test_list_paging_clamps(v2: httpx.AsyncClient) -> None:
    await _create(v2, {"name": "a"})
    body = (await v2.get(f"{VKS}?limit=0")).json()
    assert body["limit"] == 25
    body = (await v2.get(f"{VKS}?limit=1000")).json()
    assert body["limit"] == 100


# Create refusals


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 400, "Virtual key name is required"),
        ({"name": "k", "team_id": "t", "customer_id": ""}, 400,
         "VirtualKey cannot be attached to both Team and Customer"),
        ({"name": "k", "expires_at": "tomorrow"}, 400, "Invalid JSON"),
        ({"name": "k", "expires_at": ""}, 400, "Invalid JSON"),
        ({"name": "k", "expires_at": 1893456000}, 400, "Invalid JSON"),
        ({"name": "k", "expires_at": "2001-01-01T00:00:00Z"}, 400, "expires_at must be a future timestamp"),
        ({"name": "k", "allow_all_providers": "yes"}, 400, "Invalid JSON"),
        ({"name": "k", "budgets": [{"max_limit": -1, "reset_duration": "1d"}]}, 400,
         "Budget max_limit cannot be negative: -1.00"),
        ({"name": "k", "budgets": [{"max_limit": 1, "reset_duration": "1x"}]}, 400,
         "Invalid reset duration (must be a positive duration): 1x"),
        ({"name": "k", "budgets": [{"max_limit": 1, "reset_duration": "1d"}, {"max_limit": 2, "reset_duration": "1d"}]},
         400, "Duplicate reset_duration in budgets: 1d"),
        ({"name": "k", "budgets": [{"max_limit": 0, "reset_duration": "1d"}]}, 500,
         "budget max limit cannot be negative or zero: 0.00"),
        ({"name": "k", "budgets": [{"id": "b-1", "max_limit": 1, "reset_duration": "1d"}]}, 400,
         "budget b-1 does not belong to this entity"),
        ({"name": "k", "provider_configs": [{"provider": " "}]}, 400, "provider name is required"),
        ({"name": "k", "provider_configs": [{"provider": "openia"}]}, 400, "invalid provider name: openia"),
        ({"name": "k", "provider_configs": [{"provider": "openai", "allowed_models": ["*", "gpt-4o"]}]}, 400,
         "invalid allowed_models for provider openai: wildcard '*' cannot be used with other values in the whitelist"),
        ({"name": "k", "provider_configs": [{"provider": "openai", "allowed_models": ["a", "A"]}]}, 400,
         "invalid allowed_models for provider openai: duplicate value 'A' in whitelist"),
        ({"name": "k", "provider_configs": [{"provider": "openai", "blacklisted_models": ["*", "x"]}]}, 400,
         "invalid blacklisted_models for provider openai: wildcard '*' cannot be used with other values in the"
         " blacklist"),
        ({"name": "k", "provider_configs": [{"provider": "openai", "key_ids": ["*", OPENAI_KEY]}]}, 400,
         "invalid key_ids for provider openai: wildcard '*' cannot be used with other values in the whitelist"),
        ({"name": "k", "provider_configs": [{"provider": "openai", "key_ids": ["missing"]}]}, 500,
         "some keys not found for provider openai: expected 1, found 0"),
        ({"name": "k", "provider_configs": [{"provider": "openai",
                                              "budgets": [{"max_limit": -2, "reset_duration": "1d"}]}]}, 400,
         "budget max_limit cannot be negative: -2.00"),
        ({"name": "k", "rate_limit": {"token_max_limit": 0, "token_reset_duration": "1h"}}, 500,
         "rate limit token max limit cannot be negative or zero: 0"),
        ({"name": "k", "mcp_configs": [{"mcp_client_name": "github"}, {"mcp_client_name": "github"}]}, 400,
         "duplicate mcp_client_name: github"),
        ({"name": "k", "mcp_configs": [{"mcp_client_name": "github", "tools_to_execute": ["a", "a"]}]}, 400,
         "invalid tools_to_execute for mcp client github: duplicate value 'a' in whitelist"),
        ({"name": "k", "mcp_configs": [{"mcp_client_name": "nope"}]}, 500,
         "failed to get MCP client: record not found"),
    ],
)  # fmt: skip
async def test_create_refused(v2: httpx.AsyncClient, body: dict[str, Any], status: int, message: str) -> None:
    response = await v2.post(VKS, json=body)
    assert response.status_code == status
    assert message_of(response) == message
    assert (await v2.get(VKS)).json()["count"] == 0
    assert (await v2.get(BUDGETS)).json()["count"] == 0


async def test_create_expiry_must_be_after_now(v2: httpx.AsyncClient, clock: FakeClock) -> None:
    response = await v2.post(VKS, json={"name": "k", "expires_at": format_rfc3339(clock())})
    assert message_of(response) == "expires_at must be a future timestamp"
    key = await _create(v2, {"name": "k", "expires_at": format_rfc3339(clock() + 1)})
    assert key["expires_at"] == format_rfc3339(clock() + 1)


async def test_create_expiry_with_offset_is_answered_in_utc(v2: httpx.AsyncClient) -> None:
    key = await _create(v2, {"name": "k", "expires_at": "2099-06-01T02:30:00.250+02:30"})
    assert key["expires_at"] == "2099-06-01T00:00:00.25Z"


async def test_duplicate_name_is_409_at_create_and_update(v2: httpx.AsyncClient) -> None:
    await _create(v2, {"name": "taken"})
    other = await _create(v2, {"name": "other"})
    for response in (
        await v2.post(VKS, json={"name": "taken", "budgets": [{"max_limit": 1, "reset_duration": "1d"}]}),
        await v2.put(f"{VKS}/{other['id']}", json={"name": "taken"}),
    ):
        assert response.status_code == 409
        assert message_of(response) == "A virtual key with this name already exists"
    assert (await v2.get(BUDGETS)).json()["count"] == 0
    assert (await v2.get(f"{VKS}/{other['id']}")).json()["virtual_key"]["name"] == "other"


# Update


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"team_id": "t", "customer_id": "c"}, 400, "VirtualKey cannot be attached to both Team and Customer"),
        ({"expires_at": "next week"}, 400, "expires_at must be an RFC3339 timestamp"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, 400, "expires_at must be a future timestamp"),
        ({"expires_at": 5}, 400, "Invalid JSON"),
        ({"reset_budget_usage": "true"}, 400, "Invalid JSON"),
        ({"budgets": [{"max_limit": -1, "reset_duration": "1d"}]}, 400,
         FAILED + "budget max_limit cannot be negative: -1.00"),
        ({"budgets": [{"max_limit": 1, "reset_duration": "0s"}]}, 400,
         FAILED + "invalid reset duration (must be a positive duration): 0s"),
        ({"budgets": [{"max_limit": 1, "reset_duration": "1h"}, {"max_limit": 1, "reset_duration": "1h"}]}, 400,
         FAILED + "duplicate reset_duration in budgets: 1h"),
        ({"budgets": [{"id": "elsewhere", "max_limit": 1, "reset_duration": "1h"}]}, 400,
         FAILED + "budget elsewhere does not belong to this entity"),
        ({"budgets": [{"max_limit": 0, "reset_duration": "1h"}]}, 500,
         FAILED + "budget max limit cannot be negative or zero: 0.00"),
        ({"provider_configs": [{"id": 999, "provider": "openai"}]}, 500,
         FAILED + "provider config 999 does not belong to this virtual key"),
        ({"provider_configs": [{"provider": "nope"}]}, 400, FAILED + "invalid provider name: nope"),
        ({"provider_configs": [{"provider": ""}]}, 400, FAILED + "provider name is required"),
        ({"rate_limit": {"request_max_limit": 5}}, 500, FAILED + "rate limit request reset duration is required"),
        ({"mcp_configs": [{"id": 77, "mcp_client_name": "github"}]}, 500,
         FAILED + "MCP config 77 does not belong to this virtual key"),
        ({"mcp_configs": [{"mcp_client_name": "github"}, {"mcp_client_name": "github"}]}, 400,
         FAILED + "duplicate mcp_client_name: github"),
    ],
)  # fmt: skip
async def test_update_refused(v2: httpx.AsyncClient, body: dict[str, Any], status: int, message: str) -> None:
    key = await _create(v2, {"name": "k", "budgets": [{"max_limit": 1, "reset_duration": "1d"}]})
    response = await v2.put(f"{VKS}/{key['id']}", json=body)
    assert response.status_code == status
    assert message_of(response) == message
    assert (await v2.get(f"{VKS}/{key['id']}")).json()["virtual_key"] == key  # nothing changed


async def test_update_unknown_key_is_404_after_the_body_checks(v2: httpx.AsyncClient) -> None:
    response = await v2.put(f"{VKS}/nope", json={"name": "x"})
    assert response.status_code == 404 and message_of(response) == "Virtual key not found"
    response = await v2.put(f"{VKS}/nope", json={"expires_at": "soon"})
    assert message_of(response) == "expires_at must be an RFC3339 timestamp"


async def test_update_expiry_set_keep_and_clear(v2: httpx.AsyncClient, clock: FakeClock) -> None:
    key = await _create(v2, {"name": "k"})
    expires = format_rfc3339(clock() + DAY)
    assert (await _update(v2, key["id"], {"expires_at": expires}))["expires_at"] == expires
    assert (await _update(v2, key["id"], {"description": "d"}))["expires_at"] == expires
    assert (await _update(v2, key["id"], {"expires_at": None}))["expires_at"] == expires
    assert "expires_at" not in await _update(v2, key["id"], {"expires_at": ""})


@pytest.mark.parametrize(
    ("start", "body", "owner"),
    [
        ("team", {}, "team"),
        ("team", {"description": "d"}, "team"),
        ("team", {"team_id": None}, None),
        ("team", {"customer_id": None}, None),
        ("team", {"team_id": ""}, None),
        ("team", {"customer_id": ""}, None),
        ("team", {"customer_id": "C"}, "customer"),
        ("customer", {"team_id": "T"}, "team"),
        ("customer", {"team_id": "T", "customer_id": ""}, "team"),
        ("customer", {"team_id": None, "customer_id": "C"}, "customer"),
        ("customer", {}, "customer"),
    ],
)
async def test_update_owners_are_presence_aware(
    v2: httpx.AsyncClient, start: str, body: dict[str, Any], owner: str | None
) -> None:
    team_id, customer_id = await _team(v2), await _customer(v2)
    ids = {"T": team_id, "C": customer_id}
    key = await _create(v2, {"name": "k", f"{start}_id": team_id if start == "team" else customer_id})
    sent = {field: ids.get(value, value) if isinstance(value, str) else value for field, value in body.items()}
    updated = await _update(v2, key["id"], sent)
    assert updated.get("team_id") == (team_id if owner == "team" else None)
    assert updated.get("customer_id") == (customer_id if owner == "customer" else None)
    assert ("team" in updated, "customer" in updated) == (owner == "team", owner == "customer")


async def test_update_keeps_a_whitespace_owner_id_as_sent(v2: httpx.AsyncClient) -> None:
    key = await _create(v2, {"name": "k"})
    assert (await _update(v2, key["id"], {"team_id": " "}))["team_id"] == " "


async def test_update_flags(v2: httpx.AsyncClient) -> None:
    key = await _create(v2, {"name": "k"})
    updated = await _update(v2, key["id"], {"calendar_aligned": True, "allow_all_providers": True, "is_active": False})
    assert (updated["calendar_aligned"], updated["allow_all_providers"], updated["is_active"]) == (True, True, False)
    kept = await _update(v2, key["id"], {"name": "renamed"})
    assert (kept["calendar_aligned"], kept["allow_all_providers"], kept["is_active"]) == (True, True, False)


def _spend(app: BifrostApp, budget_id: str, usage: float) -> None:
    # Usage comes from inference, which the server does not run: write it as the tracker would.
    with app.state.store.transaction() as db:
        db.execute("UPDATE budgets SET current_usage = ? WHERE id = ?", (usage, budget_id))


async def test_update_budgets_matched_by_id_then_duration(v2: httpx.AsyncClient, app: BifrostApp) -> None:
    key = await _create(
        v2,
        {"name": "k", "budgets": [{"max_limit": 1, "reset_duration": "1d"}, {"max_limit": 5, "reset_duration": "1w"}]},
    )
    day, week = key["budgets"]
    _spend(app, day["id"], 0.5)
    # By id: the daily budget becomes an hourly one and keeps its usage; the weekly one is matched by duration.
    wanted = [{"id": day["id"], "max_limit": 2, "reset_duration": "1h"}, {"max_limit": 6, "reset_duration": "1w"}]
    updated = await _update(v2, key["id"], {"budgets": wanted})
    by_id = {b["id"]: b for b in updated["budgets"]}
    assert set(by_id) == {day["id"], week["id"]}
    assert (by_id[day["id"]]["reset_duration"], by_id[day["id"]]["max_limit"]) == ("1h", 2)
    assert by_id[day["id"]]["current_usage"] == 0.5 and by_id[week["id"]]["max_limit"] == 6


async def test_update_budget_claimed_by_id_is_not_matched_again_by_duration(v2: httpx.AsyncClient) -> None:
    key = await _create(v2, {"name": "k", "budgets": [{"max_limit": 1, "reset_duration": "1d"}]})
    day = key["budgets"][0]
    wanted = [{"max_limit": 3, "reset_duration": "1d"}, {"id": day["id"], "max_limit": 2, "reset_duration": "1w"}]
    updated = await _update(v2, key["id"], {"budgets": wanted})
    by_duration = {b["reset_duration"]: b for b in updated["budgets"]}
    assert by_duration["1w"]["id"] == day["id"] and by_duration["1d"]["id"] != day["id"]


async def test_new_budget_inherits_usage_from_the_closest_shorter_one(v2: httpx.AsyncClient, app: BifrostApp) -> None:
    budgets = [{"max_limit": 1, "reset_duration": "1h"}, {"max_limit": 10, "reset_duration": "1d"}]
    key = await _create(v2, {"name": "k", "budgets": budgets})
    hour, day = key["budgets"]
    _spend(app, hour["id"], 0.25)
    _spend(app, day["id"], 4.0)
    wanted = [*budgets, {"max_limit": 100, "reset_duration": "1M"}, {"max_limit": 1, "reset_duration": "30m"}]
    updated = await _update(v2, key["id"], {"budgets": wanted})
    usage = {b["reset_duration"]: b["current_usage"] for b in updated["budgets"]}
    assert usage == {"1h": 0.25, "1d": 4.0, "1M": 4.0, "30m": 0.0}


async def test_update_budgets_empty_deletes_all_and_omitted_keeps(v2: httpx.AsyncClient) -> None:
    key = await _create(v2, {"name": "k", "budgets": [{"max_limit": 1, "reset_duration": "1d"}]})
    assert (await _update(v2, key["id"], {"budgets": None}))["budgets"] == key["budgets"]
    assert "budgets" not in await _update(v2, key["id"], {"budgets": []})
    assert (await v2.get(BUDGETS)).json()["count"] == 0


async def test_reset_budget_usage(v2: httpx.AsyncClient, app: BifrostApp) -> None:
    budgets = [{"max_limit": 1, "reset_duration": "1h"}, {"max_limit": 10, "reset_duration": "1d"}]
    key = await _create(v2, {"name": "k", "budgets": budgets})
    for budget in key["budgets"]:
        _spend(app, budget["id"], 0.5)
    updated = await _update(v2, key["id"], {"reset_budget_usage": True})
    assert [b["current_usage"] for b in updated["budgets"]] == [0.0, 0.0]
    for budget in updated["budgets"]:
        _spend(app, budget["id"], 0.5)
    wanted = [*budgets, {"max_limit": 99, "reset_duration": "1w"}]
    updated = await _update(v2, key["id"], {"budgets": wanted, "reset_budget_usage": True})
    assert {b["reset_duration"]: b["current_usage"] for b in updated["budgets"]} == {"1h": 0.0, "1d": 0.0, "1w": 0.0}
    assert (await _update(v2, key["id"], {"reset_budget_usage": False}))["budgets"] == updated["budgets"]


async def test_update_rate_limit_replaced_and_removed(v2: httpx.AsyncClient) -> None:
    key = await _create(v2, {"name": "k", "rate_limit": {"token_max_limit": 5, "token_reset_duration": "1h"}})
    replaced = await _update(v2, key["id"], {"rate_limit": {"request_max_limit": 3, "request_reset_duration": "1m"}})
    assert replaced["rate_limit_id"] == key["rate_limit_id"]
    assert "token_max_limit" not in replaced["rate_limit"] and replaced["rate_limit"]["request_max_limit"] == 3
    removed = await _update(v2, key["id"], {"rate_limit": {"token_reset_duration": "1h"}})
    assert "rate_limit" not in removed and "rate_limit_id" not in removed
    assert (await v2.get("/api/governance/rate-limits")).json()["count"] == 0


async def test_update_provider_configs_full_set(v2: httpx.AsyncClient) -> None:
    key = await _create(
        v2,
        {"name": "k", "provider_configs": [
            {"provider": "openai", "weight": 0.5, "allowed_models": ["gpt-4o"], "key_ids": [OPENAI_KEY],
             "budgets": [{"max_limit": 2, "reset_duration": "1d"}],
             "rate_limit": {"token_max_limit": 9, "token_reset_duration": "1h"}},
            {"provider": "anthropic", "budgets": [{"max_limit": 1, "reset_duration": "1d"}]},
        ]},
    )  # fmt: skip
    openai, anthropic = key["provider_configs"]
    wanted = [
        {"id": openai["id"], "provider": "openai", "allowed_models": ["*"], "blacklisted_models": ["gpt-3.5"],
         "key_ids": ["*"]},
        {"provider": "mistral", "weight": 1, "budgets": [{"max_limit": 3, "reset_duration": "1w"}]},
    ]  # fmt: skip
    updated = await _update(v2, key["id"], {"provider_configs": wanted})
    kept, created = updated["provider_configs"]
    assert kept["id"] == openai["id"] and created["provider"] == "mistral" and created["weight"] == 1
    # Every field comes from the request except budgets and the rate limit, which stay when left out.
    assert kept["weight"] is None and kept["allow_all_keys"] is True and kept["keys"] == []
    assert (kept["allowed_models"], kept["blacklisted_models"]) == (["*"], ["gpt-3.5"])
    assert kept["budgets"] == openai["budgets"] and kept["rate_limit"] == openai["rate_limit"]
    assert created["budgets"][0]["provider_config_id"] == created["id"]
    budgets = (await v2.get(BUDGETS)).json()["budgets"]
    assert anthropic["budgets"][0]["id"] not in [b["id"] for b in budgets]  # went with its config
    cleared = await _update(v2, key["id"], {"provider_configs": [{"id": openai["id"], "provider": "openai",
                                                                    "budgets": [], "rate_limit": {}}]})  # fmt: skip
    assert list(cleared["provider_configs"][0]) == ["id", "virtual_key_id", "provider", "weight", "allow_all_keys",
                                                    "keys", "allowed_models", "blacklisted_models"]  # fmt: skip
    assert (await _update(v2, key["id"], {"provider_configs": []}))["provider_configs"] == []
    assert (await v2.get(BUDGETS)).json()["count"] == 0


async def test_provider_config_of_another_key_is_refused(v2: httpx.AsyncClient) -> None:
    mine = await _create(v2, {"name": "mine"})
    theirs = await _create(v2, {"name": "theirs", "provider_configs": [{"provider": "openai"}]})
    foreign = theirs["provider_configs"][0]["id"]
    response = await v2.put(f"{VKS}/{mine['id']}", json={"provider_configs": [{"id": foreign, "provider": "groq"}]})
    assert response.status_code == 500
    assert message_of(response) == f"{FAILED}provider config {foreign} does not belong to this virtual key"
    assert (await v2.get(f"{VKS}/{theirs['id']}")).json()["virtual_key"] == theirs


async def test_delete_removes_everything(v2: httpx.AsyncClient) -> None:
    key = await _create(
        v2,
        {"name": "k", "budgets": [{"max_limit": 1, "reset_duration": "1d"}],
         "provider_configs": [{"provider": "openai", "budgets": [{"max_limit": 1, "reset_duration": "1d"}],
                               "rate_limit": {"token_max_limit": 1, "token_reset_duration": "1h"}}]},
    )  # fmt: skip
    response = await v2.delete(f"{VKS}/{key['id']}")
    assert response.json() == {"message": "Virtual key deleted successfully"}
    assert (await v2.get(BUDGETS)).json()["count"] == 0
    assert (await v2.get("/api/governance/rate-limits")).json()["count"] == 0


# Per-model governance: the key's model configs naming a model


async def test_key_model_configs_answer_as_model_budgets_and_in_the_quota(v2: httpx.AsyncClient) -> None:
    key = await _create(v2, {"name": "k", "provider_configs": [{"provider": "openai"}, {"provider": "anthropic"}]})
    configs = "/api/governance/model-configs"
    budgets = [{"max_limit": 3, "reset_duration": "1d"}]
    scoped = {"scope": "virtual_key", "scope_id": key["id"]}
    for body in (
        {"model_name": "gpt-4o", "provider": "openai", "budgets": budgets, **scoped},
        {"model_name": "o3", "budgets": budgets, **scoped},  # no provider: every provider's o3
        {"model_name": "*", "provider": "anthropic", "budgets": budgets, **scoped},  # the provider's own budgets
        {"model_name": "gpt-4o", "provider": "openai", "budgets": budgets},  # global: not the key's
    ):
        assert (await v2.post(configs, json=body)).status_code == 200
    answer = (await v2.get(f"{VKS}/{key['id']}")).json()["virtual_key"]
    openai, anthropic = answer["provider_configs"]
    assert list(openai) == ["id", "virtual_key_id", "provider", "weight", "allow_all_keys", "keys", "model_budgets",
                            "allowed_models", "blacklisted_models"]  # fmt: skip
    (entry,) = openai["model_budgets"]
    assert list(entry) == ["model_name", "budgets"] and entry["model_name"] == "gpt-4o"
    assert [b["max_limit"] for b in entry["budgets"]] == [3]
    assert "model_budgets" not in anthropic
    quota = (await v2.get(f"{VKS}/quota", headers={"x-bf-vk": key["value"]})).json()
    assert [(m["model_name"], m.get("provider")) for m in quota["model_configs"]] == [
        ("gpt-4o", "openai"),
        ("o3", None),
    ]
    assert quota["model_configs"][0]["budgets"] == entry["budgets"]


async def test_deleting_a_key_deletes_its_model_configs(v2: httpx.AsyncClient) -> None:
    key = await _create(v2, {"name": "k"})
    body = {"model_name": "gpt-4o", "scope": "virtual_key", "scope_id": key["id"],
            "budgets": [{"max_limit": 3, "reset_duration": "1d"}]}  # fmt: skip
    assert (await v2.post("/api/governance/model-configs", json=body)).status_code == 200
    await v2.delete(f"{VKS}/{key['id']}")
    assert (await v2.get("/api/governance/model-configs")).json()["model_configs"] == []
    assert (await v2.get(BUDGETS)).json()["count"] == 0
