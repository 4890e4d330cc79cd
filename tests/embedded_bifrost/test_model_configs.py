"""Model configs (v2): every answer's shape, Bifrost's messages word for word, and older generations without them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from bifrost_helpers import client_for, message_of

from app.embedded_bifrost import BifrostApp, create_app

MODEL_CONFIGS = "/api/governance/model-configs"
KEYS = "/api/governance/virtual-keys"


class _Stamp:
    """Equal to any timestamp as Bifrost writes it (RFC 3339, nine fractional digits, UTC)."""

    _FORMAT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and self._FORMAT.fullmatch(other) is not None

    def __repr__(self) -> str:
        return "<timestamp>"


STAMP: Any = _Stamp()


@pytest.fixture
def app() -> BifrostApp:
    return create_app(generation="v2")


@pytest.fixture
async def v2(app: BifrostApp) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


async def _create(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(MODEL_CONFIGS, json=body)
    assert response.status_code == 200, response.text
    config: dict[str, Any] = response.json()["model_config"]
    return config


async def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, message_of(response)


def _set_usage(app: BifrostApp, table: str, row_id: str, column: str, value: float) -> None:
    """Usage only grows with traffic, which this server does not carry: write it as the tracker would."""
    with app.state.store.transaction() as db:
        db.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (value, row_id))


# Create


async def test_create_minimal_answers_the_config(v2: httpx.AsyncClient) -> None:
    response = await v2.post(MODEL_CONFIGS, json={"model_name": "gpt-4o"})
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "message": "Model config created successfully",
        "model_config": {
            "id": body["model_config"]["id"],
            "model_name": "gpt-4o",
            "scope": "global",
            "calendar_aligned": False,
            "config_hash": "",
            "created_at": STAMP,
            "updated_at": STAMP,
        },
    }
    assert list(body["model_config"]) == [
        "id", "model_name", "scope", "calendar_aligned", "config_hash", "created_at", "updated_at"
    ]  # fmt: skip


async def test_create_with_provider_budgets_and_rules(v2: httpx.AsyncClient) -> None:
    config = await _create(
        v2,
        {
            "model_name": "gpt-4o",
            "provider": "openai",
            "budgets": [{"max_limit": 10, "reset_duration": "1d"}, {"max_limit": 50, "reset_duration": "1w"}],
            "rate_limits": [
                {"metric": "tokens", "max_limit": 1000, "reset_duration": "1m"},
                {"metric": "requests", "max_limit": 5, "reset_duration": "1h"},
            ],
        },
    )
    assert list(config) == [
        "id", "model_name", "provider", "scope", "calendar_aligned", "budgets", "rate_limits",
        "config_hash", "created_at", "updated_at",
    ]  # fmt: skip
    assert config["provider"] == "openai"
    assert [(b["max_limit"], b["reset_duration"], b["current_usage"]) for b in config["budgets"]] == [
        (10.0, "1d", 0.0),
        (50.0, "1w", 0.0),
    ]
    tokens, requests = config["rate_limits"]
    assert tokens == {
        "id": tokens["id"],
        "metric": "tokens",
        "token_max_limit": 1000,
        "token_reset_duration": "1m",
        "token_current_usage": 0,
        "token_last_reset": STAMP,
        "request_current_usage": 0,
        "request_last_reset": STAMP,
        "config_hash": "",
        "created_at": STAMP,
        "updated_at": STAMP,
    }
    assert (requests["metric"], requests["request_max_limit"], requests["request_reset_duration"]) == (
        "requests",
        5,
        "1h",
    )
    assert "token_max_limit" not in requests
    # The budgets and rules are ordinary budgets and rate limits too.
    budgets = (await v2.get("/api/governance/budgets")).json()["budgets"]
    assert {budget["id"] for budget in budgets} == {budget["id"] for budget in config["budgets"]}
    rate_limits = (await v2.get("/api/governance/rate-limits")).json()["rate_limits"]
    assert {rule["id"] for rule in rate_limits} == {tokens["id"], requests["id"]}


async def test_create_with_a_legacy_paired_rate_limit(v2: httpx.AsyncClient) -> None:
    config = await _create(
        v2,
        {"model_name": "claude", "rate_limit": {"token_max_limit": 10, "token_reset_duration": "1h"}},
    )
    assert config["rate_limit_id"] == config["rate_limit"]["id"]
    assert list(config).index("rate_limit_id") < list(config).index("rate_limit")
    assert config["rate_limit"]["token_max_limit"] == 10
    assert "metric" not in config["rate_limit"]


async def test_key_scope_needs_an_existing_key_and_answers_its_name(v2: httpx.AsyncClient) -> None:
    key = (await v2.post(KEYS, json={"name": "ci-key"})).json()["virtual_key"]
    config = await _create(v2, {"model_name": "*", "scope": "virtual_key", "scope_id": key["id"]})
    assert (config["scope"], config["scope_id"], config["scope_name"]) == ("virtual_key", key["id"], "ci-key")
    # A user scope names no key, so it has no scope_name.
    user = await _create(v2, {"model_name": "*", "scope": "user", "scope_id": "u-1"})
    assert (user["scope"], user["scope_id"]) == ("user", "u-1")
    assert "scope_name" not in user
    # A global config drops a scope_id sent with it.
    glob = await _create(v2, {"model_name": "m", "scope_id": key["id"]})
    assert "scope_id" not in glob


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Model name is required"),
        ({"model_name": ""}, "Model name is required"),
        ({"model_name": "m", "scope": "team"}, 'Invalid scope "team"'),
        ({"model_name": "m", "scope": 'a"b'}, 'Invalid scope "a\\"b"'),
        ({"model_name": "m", "scope": "virtual_key"}, "scope_id is required when scope is not global"),
        ({"model_name": "m", "scope": "user", "scope_id": ""}, "scope_id is required when scope is not global"),
        ({"model_name": "m", "scope": "virtual_key", "scope_id": "nope"}, "Virtual key 'nope' not found"),
        (
            {"model_name": "m", "rate_limit": {}, "rate_limits": []},
            "rate_limit and rate_limits cannot be used together",
        ),
        (
            {"model_name": "m", "rate_limits": [{"metric": "bytes", "max_limit": 1, "reset_duration": "1m"}]},
            'invalid model rate limit metric "bytes"',
        ),
        (
            {"model_name": "m", "rate_limits": [{"metric": "tokens", "max_limit": 0, "reset_duration": "1m"}]},
            "model rate limit max_limit must be greater than zero",
        ),
        (
            {"model_name": "m", "rate_limits": [{"metric": "tokens", "max_limit": 1, "reset_duration": "1x"}]},
            "invalid model rate limit reset_duration (must be a positive duration): 1x",
        ),
        (
            {"model_name": "m", "rate_limits": [{"metric": "tokens", "max_limit": 1, "reset_duration": "0s"}]},
            "invalid model rate limit reset_duration (must be a positive duration): 0s",
        ),
        (
            {
                "model_name": "m",
                "rate_limits": [{"id": "r", "metric": "tokens", "max_limit": 1, "reset_duration": "1m"}],
            },
            "rate limit id cannot be supplied when creating a model config",
        ),
        (
            {
                "model_name": "m",
                "rate_limits": [
                    {"metric": "tokens", "max_limit": 1, "reset_duration": "60s"},
                    {"metric": "tokens", "max_limit": 2, "reset_duration": "1m"},
                ],
            },
            "duplicate model rate limit rule: tokens with reset_duration 1m",
        ),
        (
            {"model_name": "m", "budgets": [{"max_limit": -1, "reset_duration": "1d"}]},
            "Budget max_limit cannot be negative: -1.00",
        ),
        (
            {"model_name": "m", "budgets": [{"max_limit": 1, "reset_duration": "daily"}]},
            "Invalid reset duration (must be a positive duration): daily",
        ),
        (
            {"model_name": "m", "budgets": [{"max_limit": 1, "reset_duration": "1d"}] * 2},
            "Duplicate reset_duration in budgets: 1d",
        ),
        ({"model_name": 5}, "Invalid JSON"),
        ({"model_name": "m", "budgets": {"max_limit": 1}}, "Invalid JSON"),
        ({"model_name": "m", "rate_limits": [{"metric": "tokens", "max_limit": 1.5}]}, "Invalid JSON"),
    ],
)
async def test_create_refusals_are_400_with_bifrosts_text(
    v2: httpx.AsyncClient, body: dict[str, Any], message: str
) -> None:
    assert await _error(await v2.post(MODEL_CONFIGS, json=body)) == (400, message)
    assert (await v2.get(MODEL_CONFIGS)).json()["count"] == 0


async def test_create_refuses_a_body_that_is_not_a_json_object(v2: httpx.AsyncClient) -> None:
    for raw in (b"", b"{", b"[]", b'"x"'):
        assert await _error(await v2.post(MODEL_CONFIGS, content=raw)) == (400, "Invalid JSON")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"model_name": "m", "budgets": [{"max_limit": 0, "reset_duration": "1d"}]},
            "Failed to create model config: budget max limit cannot be negative or zero: 0.00",
        ),
        ({"model_name": "   "}, "Failed to create model config: model_name cannot be empty"),
        ({"model_name": "m", "provider": ""}, "Failed to create model config: provider cannot be an empty string"),
    ],
)
async def test_create_failures_inside_the_store_are_500_and_leave_nothing(
    v2: httpx.AsyncClient, body: dict[str, Any], message: str
) -> None:
    assert await _error(await v2.post(MODEL_CONFIGS, json=body)) == (500, message)
    assert (await v2.get(MODEL_CONFIGS)).json()["count"] == 0
    assert (await v2.get("/api/governance/budgets")).json()["count"] == 0


async def test_duplicate_identity_is_409_with_bifrosts_text(v2: httpx.AsyncClient) -> None:
    key = (await v2.post(KEYS, json={"name": "k"})).json()["virtual_key"]
    await _create(v2, {"model_name": "gpt-4o"})
    await _create(v2, {"model_name": "gpt-4o", "provider": "openai"})
    await _create(v2, {"model_name": "gpt-4o", "scope": "virtual_key", "scope_id": key["id"]})
    assert await _error(await v2.post(MODEL_CONFIGS, json={"model_name": "gpt-4o"})) == (
        409,
        "Model config for model 'gpt-4o' (global) already exists",
    )
    assert await _error(await v2.post(MODEL_CONFIGS, json={"model_name": "gpt-4o", "provider": "openai"})) == (
        409,
        "Model config for model 'gpt-4o' with provider 'openai' (global) already exists",
    )
    again = {"model_name": "gpt-4o", "scope": "virtual_key", "scope_id": key["id"]}
    assert await _error(await v2.post(MODEL_CONFIGS, json=again)) == (
        409,
        f"Model config for model 'gpt-4o' (virtual_key '{key['id']}') already exists",
    )
    # Another provider or scope is another identity.
    await _create(v2, {"model_name": "gpt-4o", "provider": "azure"})
    assert (await v2.get(MODEL_CONFIGS)).json()["count"] == 4


# Read, update, delete


async def test_get_answers_the_config_and_404_for_an_unknown_id(v2: httpx.AsyncClient) -> None:
    config = await _create(v2, {"model_name": "gpt-4o", "budgets": [{"max_limit": 1, "reset_duration": "1h"}]})
    assert (await v2.get(f"{MODEL_CONFIGS}/{config['id']}")).json() == {"model_config": config}
    for method in ("GET", "PUT", "DELETE"):
        response = await v2.request(method, f"{MODEL_CONFIGS}/nope", json={})
        assert await _error(response) == (404, "Model config not found")


async def test_update_renames_and_keeps_the_scope(v2: httpx.AsyncClient) -> None:
    config = await _create(v2, {"model_name": "gpt-4o", "scope": "user", "scope_id": "u-1"})
    response = await v2.put(
        f"{MODEL_CONFIGS}/{config['id']}",
        json={"model_name": "gpt-4.1", "provider": "openai", "scope": "global", "scope_id": "u-2"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Model config updated successfully"
    updated = body["model_config"]
    assert (updated["model_name"], updated["provider"], updated["scope"], updated["scope_id"]) == (
        "gpt-4.1",
        "openai",
        "user",
        "u-1",
    )
    assert updated["created_at"] == config["created_at"]


async def test_update_budgets_match_by_id_then_duration_and_keep_usage(v2: httpx.AsyncClient, app: BifrostApp) -> None:
    config = await _create(
        v2,
        {
            "model_name": "m",
            "budgets": [{"max_limit": 1, "reset_duration": "1h"}, {"max_limit": 10, "reset_duration": "1d"}],
        },
    )
    hourly, daily = config["budgets"]
    _set_usage(app, "budgets", hourly["id"], "current_usage", 0.5)
    _set_usage(app, "budgets", daily["id"], "current_usage", 4.0)
    # By id: the hourly budget becomes weekly and keeps its id and usage; by duration: the daily one.
    response = await v2.put(
        f"{MODEL_CONFIGS}/{config['id']}",
        json={
            "budgets": [
                {"id": hourly["id"], "max_limit": 70, "reset_duration": "1w"},
                {"max_limit": 20, "reset_duration": "1d"},
                {"max_limit": 300, "reset_duration": "1M"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    budgets = {b["reset_duration"]: b for b in response.json()["model_config"]["budgets"]}
    assert (budgets["1w"]["id"], budgets["1w"]["max_limit"], budgets["1w"]["current_usage"]) == (
        hourly["id"],
        70.0,
        0.5,
    )
    assert (budgets["1d"]["id"], budgets["1d"]["current_usage"]) == (daily["id"], 4.0)
    # A new budget takes the usage of the closest shorter budget the config had (the daily one: 4.0).
    assert budgets["1M"]["current_usage"] == 4.0
    # Omitted: unchanged; empty: all removed.
    unchanged = await v2.put(f"{MODEL_CONFIGS}/{config['id']}", json={"model_name": "m"})
    assert len(unchanged.json()["model_config"]["budgets"]) == 3
    emptied = await v2.put(f"{MODEL_CONFIGS}/{config['id']}", json={"budgets": []})
    assert "budgets" not in emptied.json()["model_config"]
    assert (await v2.get("/api/governance/budgets")).json()["count"] == 0


@pytest.mark.parametrize(
    ("budgets", "status", "message"),
    [
        (
            [{"id": "foreign", "max_limit": 1, "reset_duration": "1d"}],
            400,
            "budget foreign does not belong to this entity",
        ),
        ([{"max_limit": -2, "reset_duration": "1d"}], 400, "budget max_limit cannot be negative: -2.00"),
        ([{"max_limit": 1, "reset_duration": "1q"}], 400, "invalid reset duration (must be a positive duration): 1q"),
        ([{"max_limit": 1, "reset_duration": "1d"}] * 2, 400, "duplicate reset_duration in budgets: 1d"),
        (
            [{"max_limit": 0, "reset_duration": "1d"}],
            500,
            "Failed to update model config: budget max limit cannot be negative or zero: 0.00",
        ),
    ],
)
async def test_update_budget_refusals_change_nothing(
    v2: httpx.AsyncClient, budgets: list[dict[str, Any]], status: int, message: str
) -> None:
    config = await _create(v2, {"model_name": "m", "budgets": [{"max_limit": 1, "reset_duration": "1h"}]})
    response = await v2.put(f"{MODEL_CONFIGS}/{config['id']}", json={"model_name": "renamed", "budgets": budgets})
    assert await _error(response) == (status, message)
    assert (await v2.get(f"{MODEL_CONFIGS}/{config['id']}")).json() == {"model_config": config}


async def test_update_rules_keep_usage_only_when_metric_and_window_stay(v2: httpx.AsyncClient, app: BifrostApp) -> None:
    config = await _create(
        v2,
        {
            "model_name": "m",
            "rate_limits": [
                {"metric": "tokens", "max_limit": 100, "reset_duration": "60s"},
                {"metric": "requests", "max_limit": 5, "reset_duration": "1h"},
            ],
        },
    )
    tokens, requests = config["rate_limits"]
    _set_usage(app, "rate_limits", tokens["id"], "token_current_usage", 42)
    _set_usage(app, "rate_limits", requests["id"], "request_current_usage", 3)
    response = await v2.put(
        f"{MODEL_CONFIGS}/{config['id']}",
        json={
            "rate_limits": [
                # Matched by metric and window ("60s" is "1m"): a new limit, the same usage.
                {"metric": "tokens", "max_limit": 200, "reset_duration": "1m"},
                # Matched by id, metric changed: a fresh window.
                {"id": requests["id"], "metric": "tokens", "max_limit": 9, "reset_duration": "1d"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    rules = {rule["id"]: rule for rule in response.json()["model_config"]["rate_limits"]}
    assert set(rules) == {tokens["id"], requests["id"]}
    kept = rules[tokens["id"]]
    assert (kept["token_max_limit"], kept["token_reset_duration"], kept["token_current_usage"]) == (200, "1m", 42)
    changed = rules[requests["id"]]
    assert (changed["metric"], changed["token_max_limit"], changed["token_current_usage"]) == ("tokens", 9, 0)
    assert "request_max_limit" not in changed and "request_reset_duration" not in changed
    foreign = {"rate_limits": [{"id": "zzz", "metric": "tokens", "max_limit": 1, "reset_duration": "1m"}]}
    assert await _error(await v2.put(f"{MODEL_CONFIGS}/{config['id']}", json=foreign)) == (
        400,
        "rate limit zzz does not belong to this model config",
    )
    emptied = await v2.put(f"{MODEL_CONFIGS}/{config['id']}", json={"rate_limits": []})
    assert "rate_limits" not in emptied.json()["model_config"]
    assert (await v2.get("/api/governance/rate-limits")).json()["count"] == 0


async def test_rules_replace_a_legacy_rate_limit_and_take_its_usage(v2: httpx.AsyncClient, app: BifrostApp) -> None:
    config = await _create(
        v2,
        {"model_name": "m", "rate_limit": {"request_max_limit": 10, "request_reset_duration": "1h"}},
    )
    _set_usage(app, "rate_limits", config["rate_limit_id"], "request_current_usage", 7)
    body = {"rate_limits": [{"metric": "requests", "max_limit": 20, "reset_duration": "60m"}]}
    updated = (await v2.put(f"{MODEL_CONFIGS}/{config['id']}", json=body)).json()["model_config"]
    assert "rate_limit_id" not in updated and "rate_limit" not in updated
    (rule,) = updated["rate_limits"]
    assert (rule["request_max_limit"], rule["request_current_usage"]) == (20, 7)
    ids = [row["id"] for row in (await v2.get("/api/governance/rate-limits")).json()["rate_limits"]]
    assert ids == [rule["id"]]


async def test_update_rule_refusals(v2: httpx.AsyncClient) -> None:
    config = await _create(v2, {"model_name": "m"})
    path = f"{MODEL_CONFIGS}/{config['id']}"
    both = {"rate_limit": {"token_max_limit": 1, "token_reset_duration": "1m"}, "rate_limits": []}
    assert await _error(await v2.put(path, json=both)) == (400, "rate_limit and rate_limits cannot be used together")
    bad = {"rate_limits": [{"metric": "Tokens", "max_limit": 1, "reset_duration": "1m"}]}
    assert await _error(await v2.put(path, json=bad)) == (400, 'invalid model rate limit metric "Tokens"')
    assert await _error(await v2.put(path, content=b"{")) == (400, "Invalid JSON")


async def test_update_legacy_rate_limit_all_null_removes_it(v2: httpx.AsyncClient) -> None:
    config = await _create(v2, {"model_name": "m", "rate_limit": {"token_max_limit": 5, "token_reset_duration": "1m"}})
    path = f"{MODEL_CONFIGS}/{config['id']}"
    changed = await v2.put(path, json={"rate_limit": {"request_max_limit": 3, "request_reset_duration": "1h"}})
    rate_limit = changed.json()["model_config"]["rate_limit"]
    assert (rate_limit["id"], rate_limit["request_max_limit"]) == (config["rate_limit_id"], 3)
    assert "token_max_limit" not in rate_limit
    removed = (await v2.put(path, json={"rate_limit": {}})).json()["model_config"]
    assert "rate_limit" not in removed and "rate_limit_id" not in removed
    assert (await v2.get("/api/governance/rate-limits")).json()["count"] == 0


async def test_update_into_another_configs_identity_fails(v2: httpx.AsyncClient) -> None:
    await _create(v2, {"model_name": "a"})
    other = await _create(v2, {"model_name": "b"})
    response = await v2.put(f"{MODEL_CONFIGS}/{other['id']}", json={"model_name": "a"})
    assert await _error(response) == (500, "Failed to update model config: already exists")


async def test_delete_removes_the_config_with_its_budgets_and_rules(v2: httpx.AsyncClient) -> None:
    config = await _create(
        v2,
        {
            "model_name": "m",
            "budgets": [{"max_limit": 1, "reset_duration": "1h"}],
            "rate_limits": [{"metric": "tokens", "max_limit": 1, "reset_duration": "1m"}],
        },
    )
    response = await v2.delete(f"{MODEL_CONFIGS}/{config['id']}")
    assert (response.status_code, response.json()) == (200, {"message": "Model config deleted successfully"})
    assert await _error(await v2.get(f"{MODEL_CONFIGS}/{config['id']}")) == (404, "Model config not found")
    assert (await v2.get("/api/governance/budgets")).json()["count"] == 0
    assert (await v2.get("/api/governance/rate-limits")).json()["count"] == 0


# List


async def _three(v2: httpx.AsyncClient) -> list[dict[str, Any]]:
    return [
        await _create(v2, {"model_name": "gpt-4o", "provider": "openai"}),
        await _create(v2, {"model_name": "GPT-4o-mini"}),
        await _create(v2, {"model_name": "claude", "scope": "user", "scope_id": "u-1"}),
    ]


async def test_list_without_paging_answers_everything(v2: httpx.AsyncClient) -> None:
    assert (await v2.get(MODEL_CONFIGS)).json() == {
        "model_configs": [], "count": 0, "total_count": 0, "limit": 0, "offset": 0
    }  # fmt: skip
    configs = await _three(v2)
    assert (await v2.get(MODEL_CONFIGS)).json() == {
        "model_configs": configs, "count": 3, "total_count": 3, "limit": 3, "offset": 0
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "names", "total", "limit", "offset"),
    [
        ("search=gpt", ["gpt-4o", "GPT-4o-mini"], 2, 25, 0),
        ("search=MINI", ["GPT-4o-mini"], 1, 25, 0),
        ("scope=user", ["claude"], 1, 25, 0),
        ("scope_id=u-1", ["claude"], 1, 25, 0),
        ("provider=openai", ["gpt-4o"], 1, 25, 0),
        ("limit=2", ["gpt-4o", "GPT-4o-mini"], 3, 2, 0),
        ("limit=2&offset=2", ["claude"], 3, 2, 2),
        ("limit=0", ["gpt-4o", "GPT-4o-mini", "claude"], 3, 25, 0),
        ("limit=1000", ["gpt-4o", "GPT-4o-mini", "claude"], 3, 100, 0),
        ("offset=9", [], 3, 25, 9),
        ("limit=%2B1", ["gpt-4o"], 3, 1, 0),
    ],
)
async def test_list_filters_and_pages(
    v2: httpx.AsyncClient, query: str, names: list[str], total: int, limit: int, offset: int
) -> None:
    await _three(v2)
    body = (await v2.get(f"{MODEL_CONFIGS}?{query}")).json()
    assert [config["model_name"] for config in body["model_configs"]] == names
    assert (body["count"], body["total_count"], body["limit"], body["offset"]) == (len(names), total, limit, offset)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=abc", "Invalid limit parameter: must be a number"),
        ("limit=1.5", "Invalid limit parameter: must be a number"),
        ("limit=%201", "Invalid limit parameter: must be a number"),
        ("limit=99999999999999999999999", "Invalid limit parameter: must be a number"),
        ("limit=-1", "Invalid limit parameter: must be non-negative"),
        ("offset=x", "Invalid offset parameter: must be a number"),
        ("offset=-5", "Invalid offset parameter: must be non-negative"),
    ],
)
async def test_list_bad_paging_is_400(v2: httpx.AsyncClient, query: str, message: str) -> None:
    assert await _error(await v2.get(f"{MODEL_CONFIGS}?{query}")) == (400, message)


async def test_list_from_memory_pages_leniently_without_clamping(v2: httpx.AsyncClient) -> None:
    await _three(v2)
    body = (await v2.get(f"{MODEL_CONFIGS}?from_memory=true&limit=-3&offset=zz")).json()
    assert (body["count"], body["total_count"], body["limit"], body["offset"]) == (3, 3, 3, 0)
    body = (await v2.get(f"{MODEL_CONFIGS}?from_memory=true&limit=1&offset=50&search=gpt")).json()
    assert (body["count"], body["total_count"], body["limit"], body["offset"]) == (0, 2, 1, 2)


async def test_list_reflects_writes_at_once(v2: httpx.AsyncClient) -> None:
    # GET answers are cached per database version: a write must show in the next read.
    assert (await v2.get(MODEL_CONFIGS)).json()["count"] == 0
    config = await _create(v2, {"model_name": "m"})
    assert (await v2.get(MODEL_CONFIGS)).json()["count"] == 1
    await v2.put(f"{MODEL_CONFIGS}/{config['id']}", json={"model_name": "n"})
    assert (await v2.get(MODEL_CONFIGS)).json()["model_configs"][0]["model_name"] == "n"


# Older generations


@pytest.mark.parametrize("generation", ["seed", "current"])
async def test_older_generations_have_no_model_configs(generation: str) -> None:
    async with client_for(create_app(generation=generation)) as client:
        for method, path in [
            ("GET", MODEL_CONFIGS),
            ("POST", MODEL_CONFIGS),
            ("GET", f"{MODEL_CONFIGS}/x"),
            ("PUT", f"{MODEL_CONFIGS}/x"),
            ("DELETE", f"{MODEL_CONFIGS}/x"),
        ]:
            response = await client.request(method, path, json={"model_name": "m"})
            assert await _error(response) == (404, "Not found")


async def test_a_key_scoped_config_resets_as_its_calendar_aligned_key_does(v2: httpx.AsyncClient) -> None:
    key = (await v2.post(KEYS, json={"name": "aligned", "calendar_aligned": True})).json()["virtual_key"]
    config = await _create(
        v2,
        {
            "model_name": "*",
            "scope": "virtual_key",
            "scope_id": key["id"],
            "budgets": [{"max_limit": 1, "reset_duration": "1M"}],
        },
    )
    assert config["calendar_aligned"] is True
    month_start = datetime.now(UTC).strftime("%Y-%m-01T00:00:00.000000000Z")
    assert config["budgets"][0]["last_reset"] == month_start
    # A global config does not inherit anything.
    assert (await _create(v2, {"model_name": "m"}))["calendar_aligned"] is False
