"""Byte-for-byte pins of the GET answers on a fixed data set, in every generation.

The data set touches every embedded relation (customers, teams, budgets, rate limits, provider configs with
their keys, MCP configs, customer-scoped and unowned keys). Generated ids and timestamps are replaced by
``<id N>`` and ``<time N>`` in order of first appearance, which keeps which values are equal to which.
Regenerate the pinned files (after a deliberate change of shape) with ``BIFROST_GOLDEN_WRITE=1``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from bifrost_helpers import client_for, normalise_answers

from app.embedded_bifrost import create_app
from app.embedded_bifrost.catalog import SEEDED_KEYS
from app.generations import GENERATIONS, Feature, Generation

GOVERNANCE = "/api/governance"
DATA = Path(__file__).parent / "data"


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"{GOVERNANCE}/{path}", json=body)
    assert response.status_code == 200, response.text
    entity: dict[str, Any] = response.json()
    return entity


async def _seed(client: httpx.AsyncClient, generation: Generation) -> dict[str, list[str]]:
    def budgets(*specs: tuple[float, str]) -> dict[str, Any]:
        items = [{"max_limit": limit, "reset_duration": duration} for limit, duration in specs]
        return {"budgets": items} if generation.owner_budgets == "array" else {"budget": items[0]}

    def having(feature: Feature, fields: dict[str, Any]) -> dict[str, Any]:
        return fields if generation.has(feature) else {}

    rate_limit = {"rate_limit": {"request_max_limit": 10, "request_reset_duration": "1m"}}
    ids: dict[str, list[str]] = {"customers": [], "teams": [], "virtual-keys": []}
    acme_budget = {"max_limit": 50, "reset_duration": "1M"}
    customer = {"name": "acme"} | (
        {"budgets": [acme_budget]} if generation.customer_budgets == "array" else {"budget": acme_budget}
    )
    ids["customers"].append((await _post(client, "customers", customer))["customer"]["id"])
    ids["customers"].append((await _post(client, "customers", {"name": "bare"}))["customer"]["id"])
    teams = [
        {"name": "alpha", "customer_id": ids["customers"][0], **budgets((5, "1d"), (20, "1w"))},
        {"name": "beta", "customer_id": ids["customers"][1], **having(Feature.OWNER_RATE_LIMITS, rate_limit)},
        {"name": "gamma", **budgets((1, "1h")), **having(Feature.CALENDAR_ALIGNED, {"calendar_aligned": True})},
    ]
    for team in teams:
        ids["teams"].append((await _post(client, "teams", team))["team"]["id"])
    azure_key = SEEDED_KEYS[4][2]
    blacklist = having(Feature.BLACKLISTED_MODELS, {"blacklisted_models": ["gpt-4o-mini"]})
    configs = [
        {"provider": "openai", "key_ids": ["*"], "weight": 0.5, "allowed_models": ["gpt-4o"], **rate_limit,
         **budgets((1, "1h"), (3, "1d")), **blacklist},
        {"provider": "azure", "key_ids": [azure_key, SEEDED_KEYS[5][2]]},
        {"provider": "anthropic"},
    ]  # fmt: skip
    mcp = [{"mcp_client_name": "github", "tools_to_execute": ["create_issue"]}, {"mcp_client_name": "filesystem"}]
    expiry = having(Feature.KEY_EXPIRY, {"expires_at": "2099-01-01T00:00:00Z"})
    keys = [
        {"name": "k-team", "team_id": ids["teams"][0], "provider_configs": configs, **budgets((2, "1d"))},
        {"name": "k-team-2", "team_id": ids["teams"][0], "description": "second", "is_active": False,
         "mcp_configs": mcp, **rate_limit, **expiry},
        {"name": "k-customer", "customer_id": ids["customers"][0], "provider_configs": configs[1:2]},
        {"name": "k-beta", "team_id": ids["teams"][1], "provider_configs": configs[:1], "mcp_configs": mcp[1:]},
        {"name": "k-none", **budgets((9, "1w"))},
    ]  # fmt: skip
    for key in keys:
        ids["virtual-keys"].append((await _post(client, "virtual-keys", key))["virtual_key"]["id"])
    await _seed_v2_domains(client, generation, ids)
    return ids


async def _seed_v2_domains(client: httpx.AsyncClient, generation: Generation, ids: dict[str, list[str]]) -> None:
    """Model configs, provider governance and a budget override, where the generation has them."""
    if generation.has(Feature.MODEL_CONFIGS):
        ids["model-configs"] = []
        bodies = [
            {"model_name": "gpt-4o", "provider": "openai", "budgets": [{"max_limit": 100, "reset_duration": "1M"}]},
            {"model_name": "claude-sonnet-4-5", "scope": "virtual_key", "scope_id": ids["virtual-keys"][0],
             "rate_limits": [{"metric": "tokens", "max_limit": 1000, "reset_duration": "1h"},
                             {"metric": "requests", "max_limit": 10, "reset_duration": "1m"}]},
        ]  # fmt: skip
        for body in bodies:
            ids["model-configs"].append((await _post(client, "model-configs", body))["model_config"]["id"])
    if generation.has(Feature.PROVIDER_GOVERNANCE):
        body = {"budgets": [{"max_limit": 500, "reset_duration": "1M"}], "rate_limit": {"request_max_limit": 60,
                "request_reset_duration": "1m"}}  # fmt: skip
        response = await client.put(f"{GOVERNANCE}/providers/openai", json=body)
        assert response.status_code == 200, response.text
    if generation.has(Feature.BUDGET_OVERRIDES):
        key = (await client.get(f"{GOVERNANCE}/virtual-keys/{ids['virtual-keys'][0]}")).json()["virtual_key"]
        override = f"{GOVERNANCE}/virtual-keys/{key['id']}/budgets/{key['budgets'][0]['id']}/override"
        response = await client.put(override, json={"amount": 4, "mode": "cycles", "cycles": 2})
        assert response.status_code == 200, response.text


def _urls(ids: dict[str, list[str]], generation: Generation) -> list[str]:
    lists = [
        "teams",
        "teams?limit=2&offset=1",
        f"teams?customer_id={ids['customers'][0]}",
        "customers",
        "customers?limit=1&offset=0",
        "virtual-keys",
        "virtual-keys?limit=3&offset=1",
        "virtual-keys?sort_by=name&order=desc",
        f"virtual-keys?team_id={ids['teams'][0]}",
        "budgets",
        "rate-limits",
        *(["model-configs", "model-configs?scope=virtual_key"] if generation.has(Feature.MODEL_CONFIGS) else []),
        *(["providers"] if generation.has(Feature.PROVIDER_GOVERNANCE) else []),
    ]
    singles = [f"{kind}/{entity_id}" for kind, entity_ids in ids.items() for entity_id in entity_ids]
    return [f"{GOVERNANCE}/{url}" for url in lists + singles]


@pytest.mark.parametrize("generation", GENERATIONS, ids=str)
async def test_get_answers_match_pinned_bytes(generation: Generation) -> None:
    async with client_for(create_app(generation=generation.name)) as client:
        ids = await _seed(client, generation)
        bodies = []
        for url in _urls(ids, generation):
            response = await client.get(url)
            assert response.status_code == 200, (url, response.text)
            bodies.append(url.encode() + b" " + response.content)
    answers = normalise_answers(bodies)
    pinned = DATA / f"golden-views-{generation.name}.txt"
    if os.environ.get("BIFROST_GOLDEN_WRITE"):
        pinned.write_bytes(answers)
    assert answers == pinned.read_bytes()
