"""What ``POST /v1/chat/completions`` charged is what the analytics and the quota read back from its log rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bifrost_helpers import client_for

from app.embedded_bifrost import create_app

VKS = "/api/governance/virtual-keys"
TEAMS = "/api/governance/teams"
CHAT = "/v1/chat/completions"
OPENAI_ALL = {"provider": "openai", "allowed_models": ["*"], "key_ids": ["*"]}
BUDGET = {"max_limit": 1000, "reset_duration": "1d"}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(generation="v2")) as http:
        yield http


async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any], kind: str) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 200, response.text
    entity: dict[str, Any] = response.json()[kind]
    return entity


async def chat(client: httpx.AsyncClient, value: str, model: str, text: str) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    response = await client.post(CHAT, json=body, headers={"x-bf-vk": value})
    assert response.status_code == 200, response.text


async def test_spend_read_back_equals_what_was_charged(client: httpx.AsyncClient) -> None:
    team = await created(client, TEAMS, {"name": "core", "budgets": [BUDGET]}, "team")
    keys = [
        await created(
            client,
            VKS,
            {"name": f"k{n}", "team_id": team["id"], "provider_configs": [OPENAI_ALL], "budgets": [BUDGET]},
            "virtual_key",
        )
        for n in range(2)
    ]
    loner = await created(
        client, VKS, {"name": "loner", "provider_configs": [OPENAI_ALL], "budgets": [BUDGET]}, "virtual_key"
    )
    for n, text in enumerate(["Hello there", "x" * 400, "A somewhat longer question, please", "?"]):
        await chat(client, keys[n % 2]["value"], "openai/gpt-4o-mini" if n % 3 else "openai/gpt-4o", text)
    await chat(client, loner["value"], "openai/gpt-4o-mini", "Hello")

    async def charged(path: str) -> float:
        response = await client.get(path)
        usage: float = response.json()["virtual_key" if "virtual-keys" in path else "team"]["budgets"][0][
            "current_usage"
        ]
        return usage

    key_charges = [await charged(f"{VKS}/{k['id']}") for k in keys]
    team_charge = await charged(f"{TEAMS}/{team['id']}")
    loner_charge = await charged(f"{VKS}/{loner['id']}")
    assert all(charge > 0 for charge in key_charges) and team_charge == pytest.approx(sum(key_charges))

    stats = (await client.get("/api/logs/stats")).json()
    assert stats["total_requests"] == 5 and stats["success_rate"] == 100.0
    assert stats["total_cost"] == pytest.approx(team_charge + loner_charge)

    by_team = (await client.get("/api/logs/histogram/cost/by-dimension", params={"dimension": "team_id"})).json()
    per_team: dict[str, float] = {}
    for bucket in by_team["buckets"]:
        for owner, cost in bucket["by_dimension"].items():
            per_team[owner] = per_team.get(owner, 0.0) + cost
    assert per_team == pytest.approx({team["id"]: team_charge, "": loner_charge})

    by_model = (await client.get("/api/logs/histogram/cost", params={"team_ids": team["id"]})).json()
    assert by_model["models"] == ["gpt-4o", "gpt-4o-mini"]
    assert sum(b["total_cost"] for b in by_model["buckets"]) == pytest.approx(team_charge)

    for k, charge in zip(keys, key_charges, strict=True):
        quota = (await client.get(f"{VKS}/quota", headers={"x-bf-vk": k["value"]})).json()
        usage = quota["budgets"][0]["per_model_usage"]
        assert sum(u["total_cost"] for u in usage) == pytest.approx(charge)
        assert sum(u["total_requests"] for u in usage) == 2

    ranked = (await client.get("/api/logs/rankings/by-dimension", params={"dimension": "virtual_key"})).json()
    assert {r["name"]: r["total_cost"] for r in ranked["rankings"]} == pytest.approx(
        {"k0": key_charges[0], "k1": key_charges[1], "loner": loner_charge}
    )
