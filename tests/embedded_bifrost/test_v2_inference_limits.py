"""v2 inference: every limit on a request's path is checked (Bifrost's words) and charged, and a log row written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bifrost_helpers import client_for
from test_v2_inference import (
    GOV,
    HELLO,
    HELLO_MINI_COST,
    LONG,
    LONG_4O_COST,
    OPENAI_ALL,
    VKS,
    chat,
    created,
    key,
    log_rows,
    refusal_of,
    reread,
)

from app.embedded_bifrost import BifrostApp, create_app
from app.embedded_bifrost.timestamps import NANOS_PER_SECOND, parse_rfc3339

HOUR = 3600 * NANOS_PER_SECOND


@pytest.fixture
def app() -> BifrostApp:
    return create_app(generation="v2")


@pytest.fixture
async def client(app: BifrostApp) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as http:
        yield http


def budget(max_limit: float, duration: str = "1d") -> dict[str, Any]:
    return {"max_limit": max_limit, "reset_duration": duration}


async def customer(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    return await created(client, f"{GOV}/customers", {"name": f"c-{len(fields)}-{id(fields)}", **fields}, "customer")


async def team(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    return await created(client, f"{GOV}/teams", {"name": f"t-{id(fields)}", **fields}, "team")


async def team_json(client: httpx.AsyncClient, team_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"{GOV}/teams/{team_id}")).json()["team"]
    return body


async def customer_json(client: httpx.AsyncClient, customer_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"{GOV}/customers/{customer_id}")).json()["customer"]
    return body


# Charging


async def test_success_charges_every_budget_and_rate_limit_on_the_path(
    app: BifrostApp, client: httpx.AsyncClient
) -> None:
    rate = {
        "token_max_limit": 1000,
        "token_reset_duration": "1h",
        "request_max_limit": 100,
        "request_reset_duration": "1h",
    }
    acme = await customer(client, budgets=[budget(50), budget(500, "1M")], rate_limit=rate)
    platform = await team(client, customer_id=acme["id"], budgets=[budget(40)], rate_limit=rate)
    config = {**OPENAI_ALL, "budgets": [budget(30)], "rate_limit": rate}
    vk = await key(client, team_id=platform["id"], budgets=[budget(20)], rate_limit=rate, provider_configs=[config])
    other = await key(client, team_id=platform["id"])

    for value in (vk["value"], vk["value"], other["value"]):
        assert (await chat(client, value)).status_code == 200

    got = await reread(client, vk["id"])
    pc = got["provider_configs"][0]
    assert got["budgets"][0]["current_usage"] == pytest.approx(2 * HELLO_MINI_COST)
    assert pc["budgets"][0]["current_usage"] == pytest.approx(2 * HELLO_MINI_COST)
    for limit in (got["rate_limit"], pc["rate_limit"]):
        assert (limit["token_current_usage"], limit["request_current_usage"]) == (22, 2)
    t = await team_json(client, platform["id"])
    assert t["budgets"][0]["current_usage"] == pytest.approx(3 * HELLO_MINI_COST)
    assert (t["rate_limit"]["token_current_usage"], t["rate_limit"]["request_current_usage"]) == (33, 3)
    # The customer, reached through the team, is charged once per request, every one of its budgets.
    c = await customer_json(client, acme["id"])
    assert [b["current_usage"] for b in c["budgets"]] == pytest.approx([3 * HELLO_MINI_COST] * 2)
    assert (c["rate_limit"]["token_current_usage"], c["rate_limit"]["request_current_usage"]) == (33, 3)


async def test_log_row_names_the_key_its_team_and_its_customer(app: BifrostApp, client: httpx.AsyncClient) -> None:
    acme = await customer(client)
    platform = await team(client, customer_id=acme["id"])
    via_team = await key(client, team_id=platform["id"])
    direct = await key(client, customer_id=acme["id"])
    alone = await key(client)
    app.context.clock = lambda: 1_800_000_000 * NANOS_PER_SECOND
    for vk in (via_team, direct, alone):
        assert (await chat(client, vk["value"], model="openai/gpt-4o", messages=LONG)).status_code == 200
    rows = {row["virtual_key_id"]: row for row in log_rows(app)}
    first = rows[via_team["id"]]
    assert (first["team_id"], first["team_name"]) == (platform["id"], platform["name"])
    assert (first["customer_id"], first["customer_name"]) == (acme["id"], acme["name"])
    assert first["virtual_key_name"] == via_team["name"]
    assert (first["provider"], first["model"], first["status"], first["object_type"]) == (
        "openai", "gpt-4o", "success", "chat.completion",
    )  # fmt: skip
    assert (first["prompt_tokens"], first["completion_tokens"], first["total_tokens"]) == (1000, 256, 1256)
    assert first["cost"] == pytest.approx(LONG_4O_COST, rel=1e-12)
    assert first["timestamp"] == 1_800_000_000 * NANOS_PER_SECOND
    assert (rows[direct["id"]]["team_id"], rows[direct["id"]]["customer_id"]) == (None, acme["id"])
    assert (rows[alone["id"]]["team_id"], rows[alone["id"]]["customer_id"]) == (None, None)


async def test_refused_request_charges_nothing_and_logs_nothing(app: BifrostApp, client: httpx.AsyncClient) -> None:
    vk = await key(client, budgets=[budget(10)], rate_limit={"request_max_limit": 1, "request_reset_duration": "1h"})
    assert (await chat(client, vk["value"])).status_code == 200
    before = await reread(client, vk["id"])
    for _ in range(3):
        assert (await chat(client, vk["value"])).status_code == 429
    after = await reread(client, vk["id"])
    assert after["budgets"] == before["budgets"] and after["rate_limit"] == before["rate_limit"]
    assert len(log_rows(app)) == 1


# Rate limits: the request that reaches the limit succeeds, the next is refused


async def test_key_request_limit(client: httpx.AsyncClient) -> None:
    vk = await key(client, rate_limit={"request_max_limit": 2, "request_reset_duration": "1m"})
    assert [(await chat(client, vk["value"])).status_code for _ in range(2)] == [200, 200]
    assert refusal_of(await chat(client, vk["value"])) == (
        429,
        "request_limited",
        "Rate limit check failed: rate limit violated for VK: [request limit exceeded (2/2, resets every 1m)]",
    )


async def test_team_token_limit(client: httpx.AsyncClient) -> None:
    platform = await team(client, rate_limit={"token_max_limit": 20, "token_reset_duration": "1h"})
    vk = await key(client, team_id=platform["id"])
    assert [(await chat(client, vk["value"])).status_code for _ in range(2)] == [200, 200]
    assert refusal_of(await chat(client, vk["value"])) == (
        429,
        "token_limited",
        "Rate limit check failed: rate limit violated for Team: [token limit exceeded (22/20, resets every 1h)]",
    )


async def test_both_counters_over_is_rate_limited(client: httpx.AsyncClient) -> None:
    rate = {"token_max_limit": 10, "token_reset_duration": "1h", "request_max_limit": 1, "request_reset_duration": "1h"}
    vk = await key(client, provider_configs=[{**OPENAI_ALL, "rate_limit": rate}])
    assert (await chat(client, vk["value"])).status_code == 200
    assert refusal_of(await chat(client, vk["value"])) == (
        429,
        "rate_limited",
        "Rate limit check failed: rate limit violated for openai: [token limit exceeded (11/10, resets every 1h)"
        " request limit exceeded (1/1, resets every 1h)]",
    )


async def test_rate_limits_are_checked_before_budgets(client: httpx.AsyncClient) -> None:
    vk = await key(client, budgets=[budget(0.001)], rate_limit={"request_max_limit": 1, "request_reset_duration": "1h"})
    assert (await chat(client, vk["value"], model="openai/gpt-4o", messages=LONG)).status_code == 200
    assert refusal_of(await chat(client, vk["value"]))[:2] == (429, "request_limited")


# Budgets


@pytest.mark.parametrize("owner", ["VK", "openai", "Team", "Customer"])
async def test_budget_exceeded(client: httpx.AsyncClient, owner: str) -> None:
    limited = [budget(0.01)]
    fields: dict[str, Any] = {}
    if owner == "VK":
        fields = {"budgets": limited}
    elif owner == "openai":
        fields = {"provider_configs": [{**OPENAI_ALL, "budgets": limited}]}
    elif owner == "Team":
        fields = {"team_id": (await team(client, budgets=limited))["id"]}
    else:
        fields = {"customer_id": (await customer(client, budgets=limited))["id"]}
    vk = await key(client, **fields)
    for _ in range(2):  # 0.00506 each: the second crosses 0.01 and still succeeds
        assert (await chat(client, vk["value"], model="openai/gpt-4o", messages=LONG)).status_code == 200
    assert refusal_of(await chat(client, vk["value"])) == (
        402,
        "budget_exceeded",
        f"Budget exceeded: {owner} budget exceeded: {2 * LONG_4O_COST:.4f} >= 0.0100 dollars",
    )


async def test_active_override_raises_the_effective_limit(client: httpx.AsyncClient) -> None:
    vk = await key(client, budgets=[budget(0.01)])
    budget_id = vk["budgets"][0]["id"]
    response = await client.put(
        f"{VKS}/{vk['id']}/budgets/{budget_id}/override", json={"amount": 0.01, "mode": "forever"}
    )
    assert response.status_code == 200, response.text
    for _ in range(4):  # 0.01518 after three: under max_limit + amount, so a fourth still goes
        assert (await chat(client, vk["value"], model="openai/gpt-4o", messages=LONG)).status_code == 200
    assert refusal_of(await chat(client, vk["value"]))[2].endswith(f"{4 * LONG_4O_COST:.4f} >= 0.0200 dollars")


# Provider governance and model configs


async def test_provider_governance_is_checked_before_the_keys_state(app: BifrostApp, client: httpx.AsyncClient) -> None:
    response = await client.put(f"{GOV}/providers/openai", json={"budgets": [budget(0.005)]})
    assert response.status_code == 200, response.text
    vk = await key(client)
    assert (await chat(client, vk["value"], model="openai/gpt-4o", messages=LONG)).status_code == 200
    inactive = await key(client, is_active=False)
    message = f"Provider-level budget exceeded: openai budget exceeded: {LONG_4O_COST:.4f} >= 0.0050 dollars"
    assert refusal_of(await chat(client, inactive["value"])) == (402, "budget_exceeded", message)
    assert refusal_of(await chat(client, vk["value"])) == (402, "budget_exceeded", message)
    governance = (await client.get(f"{GOV}/providers")).json()["providers"][0]
    assert governance["budgets"][0]["current_usage"] == pytest.approx(LONG_4O_COST)


async def test_global_model_config_rule_and_budget(client: httpx.AsyncClient) -> None:
    body = {
        "model_name": "gpt-4o-mini",
        "rate_limits": [{"metric": "requests", "max_limit": 1, "reset_duration": "1m"}],
    }
    config = await created(client, f"{GOV}/model-configs", body, "model_config")
    scoped = {"model_name": "gpt-4o", "provider": "openai", "budgets": [budget(0.005)]}
    await created(client, f"{GOV}/model-configs", scoped, "model_config")
    vk = await key(client)
    assert (await chat(client, vk["value"])).status_code == 200
    assert refusal_of(await chat(client, vk["value"])) == (
        429,
        "request_limited",
        "Model-level rate limit check failed: rate limit violated for Model:gpt-4o-mini:"
        " [request limit exceeded (1/1, resets every 1m)]",
    )
    rule = (await client.get(f"{GOV}/model-configs/{config['id']}")).json()["model_config"]["rate_limits"][0]
    assert (rule["request_current_usage"], rule["token_current_usage"]) == (1, 0)  # a rule counts its metric only
    assert (await chat(client, vk["value"], model="openai/gpt-4o", messages=LONG)).status_code == 200
    assert refusal_of(await chat(client, vk["value"], model="openai/gpt-4o"))[2] == (
        f"Model-level budget exceeded: Model:gpt-4o:Provider:openai budget exceeded: {LONG_4O_COST:.4f}"
        " >= 0.0050 dollars"
    )


async def test_key_scoped_model_config(client: httpx.AsyncClient) -> None:
    vk = await key(client)
    body = {"model_name": "*", "scope": "virtual_key", "scope_id": vk["id"], "budgets": [budget(0.005)]}
    await created(client, f"{GOV}/model-configs", body, "model_config")
    assert (await chat(client, vk["value"], model="openai/gpt-4o", messages=LONG)).status_code == 200
    assert refusal_of(await chat(client, vk["value"])) == (
        402,
        "budget_exceeded",
        f"Model-level budget exceeded (virtual key scope): Model:AllModels:virtual_key:{vk['id']} budget exceeded:"
        f" {LONG_4O_COST:.4f} >= 0.0050 dollars",
    )
    other = await key(client)  # another key's requests are not governed by it
    assert (await chat(client, other["value"])).status_code == 200


# Windows


async def test_expired_window_is_reset_on_the_lattice_from_created_at(
    app: BifrostApp, client: httpx.AsyncClient
) -> None:
    vk = await key(
        client, budgets=[budget(0.01, "1h")], rate_limit={"request_max_limit": 1, "request_reset_duration": "1m"}
    )
    for _ in range(2):
        await chat(client, vk["value"], model="openai/gpt-4o", messages=LONG)
    assert refusal_of(await chat(client, vk["value"]))[0] == 429
    created_at = parse_rfc3339(vk["budgets"][0]["created_at"])
    assert created_at is not None
    later = created_at + 2 * HOUR + 17 * NANOS_PER_SECOND
    app.context.clock = lambda: later
    assert (await chat(client, vk["value"])).status_code == 200
    got = await reread(client, vk["id"])
    assert parse_rfc3339(got["budgets"][0]["last_reset"]) == created_at + 2 * HOUR
    assert got["budgets"][0]["current_usage"] == pytest.approx(HELLO_MINI_COST)
    rate_created = parse_rfc3339(got["rate_limit"]["created_at"])
    assert rate_created is not None
    minutes = (later - rate_created) // (60 * NANOS_PER_SECOND)
    assert parse_rfc3339(got["rate_limit"]["request_last_reset"]) == rate_created + minutes * 60 * NANOS_PER_SECOND
    assert got["rate_limit"]["request_current_usage"] == 1


async def test_calendar_aligned_key_resets_at_the_calendar_period(app: BifrostApp, client: httpx.AsyncClient) -> None:
    vk = await key(client, calendar_aligned=True, budgets=[budget(0.01, "1d")])
    for _ in range(2):
        await chat(client, vk["value"], model="openai/gpt-4o", messages=LONG)
    midnight = parse_rfc3339("2099-03-04T00:00:00Z")
    assert midnight is not None
    app.context.clock = lambda: midnight + 5 * HOUR
    assert (await chat(client, vk["value"], messages=HELLO)).status_code == 200
    got = (await reread(client, vk["id"]))["budgets"][0]
    assert got["last_reset"].startswith("2099-03-04T00:00:00")
    assert got["current_usage"] == pytest.approx(HELLO_MINI_COST)


async def test_cycles_override_ends_with_its_windows(app: BifrostApp, client: httpx.AsyncClient) -> None:
    vk = await key(client, budgets=[budget(0.01, "1h")])
    budget_id = vk["budgets"][0]["id"]
    path = f"{VKS}/{vk['id']}/budgets/{budget_id}/override"
    assert (await client.put(path, json={"amount": 5, "mode": "cycles", "cycles": 1})).status_code == 200
    created_at = parse_rfc3339(vk["budgets"][0]["created_at"])
    assert created_at is not None
    app.context.clock = lambda: created_at + HOUR + 1
    assert (await chat(client, vk["value"])).status_code == 200
    got = (await reread(client, vk["id"]))["budgets"][0]
    assert "override_mode" not in got and "override_amount" not in got


async def test_provider_level_rate_limit(client: httpx.AsyncClient) -> None:
    rate = {"request_max_limit": 1, "request_reset_duration": "1h"}
    assert (await client.put(f"{GOV}/providers/openai", json={"rate_limit": rate})).status_code == 200
    vk = await key(client)
    assert (await chat(client, vk["value"])).status_code == 200
    assert refusal_of(await chat(client, vk["value"])) == (
        429,
        "request_limited",
        "Provider-level rate limit check failed: rate limit violated for openai:"
        " [request limit exceeded (1/1, resets every 1h)]",
    )
    anthropic = await key(
        client, provider_configs=[{"provider": "anthropic", "allowed_models": ["*"], "key_ids": ["*"]}]
    )
    assert (await chat(client, anthropic["value"], model="anthropic/claude-haiku-4-5")).status_code == 200


async def test_key_scoped_model_rule_counts_tokens(client: httpx.AsyncClient) -> None:
    vk = await key(client)
    rule = {"metric": "tokens", "max_limit": 15, "reset_duration": "1m"}
    body = {"model_name": "gpt-4o-mini", "scope": "virtual_key", "scope_id": vk["id"], "rate_limits": [rule]}
    await created(client, f"{GOV}/model-configs", body, "model_config")
    assert [(await chat(client, vk["value"])).status_code for _ in range(2)] == [200, 200]
    assert refusal_of(await chat(client, vk["value"])) == (
        429,
        "token_limited",
        f"Model-level rate limit check failed (virtual key scope): rate limit violated for"
        f" Model:gpt-4o-mini:virtual_key:{vk['id']}: [token limit exceeded (22/15, resets every 1m)]",
    )
    assert (await chat(client, vk["value"], model="openai/gpt-4o")).status_code == 200  # another model


async def test_concurrent_requests_at_a_limit_admit_exactly_the_limit(
    app: BifrostApp, client: httpx.AsyncClient
) -> None:
    vk = await key(client, rate_limit={"request_max_limit": 5, "request_reset_duration": "1h"})
    responses = await asyncio.gather(*(chat(client, vk["value"]) for _ in range(40)))
    assert sorted(response.status_code for response in responses) == [200] * 5 + [429] * 35
    assert len(log_rows(app)) == 5
    assert (await reread(client, vk["id"]))["rate_limit"]["request_current_usage"] == 5


async def test_a_window_long_past_resets_once_on_the_lattice(app: BifrostApp, client: httpx.AsyncClient) -> None:
    vk = await key(client, budgets=[budget(0.01, "1d")])
    created_at = parse_rfc3339(vk["budgets"][0]["created_at"])
    assert created_at is not None
    app.context.clock = lambda: created_at + 36_500 * 24 * HOUR + 5  # a century later
    assert (await chat(client, vk["value"])).status_code == 200
    got = (await reread(client, vk["id"]))["budgets"][0]
    assert parse_rfc3339(got["last_reset"]) == created_at + 36_500 * 24 * HOUR
    app.context.clock = lambda: created_at - HOUR  # a clock behind the window's start resets nothing
    assert (await chat(client, vk["value"])).status_code == 200
    again = (await reread(client, vk["id"]))["budgets"][0]
    assert again["last_reset"] == got["last_reset"] and again["current_usage"] == pytest.approx(2 * HELLO_MINI_COST)
