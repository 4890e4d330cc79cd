"""updateVirtualKey with a partial providerConfigs entry: fields left out are unchanged upstream.

Bifrost's PUT overwrites a config's weight, allowed models and keys with what the entry carries; the gateway
reads the key once, fills in what the entry leaves out from the matching config, and writes once.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.bifrost import models
from app.embedded_bifrost.catalog import SEEDED_KEYS
from app.generations import SEED
from app.schema.virtual_keys.inputs import ProviderConfigInput
from app.schema.virtual_keys.merge import kept_fields
from tests.gateway.arrange import codes, result_of, upstream_get, upstream_post
from tests.gateway.conftest import Gateway

UPDATE_KEY = """
mutation UpdateVirtualKey($input: UpdateVirtualKeyInput!) {
  updateVirtualKey(input: $input) {
    virtualKey { id providerConfigs { id provider weight allowedModels } }
    userErrors { field message code }
  }
}
"""
OPENAI_KEYS = [key_id for _, provider, key_id, *_ in SEEDED_KEYS if provider == "openai"]
ANTHROPIC_KEYS = [key_id for _, provider, key_id, *_ in SEEDED_KEYS if provider == "anthropic"]


async def make_key(gw: Gateway, *, second: bool = False) -> tuple[dict[str, Any], int]:
    budget = {"max_limit": 5, "reset_duration": "1d"}
    config: dict[str, Any] = {
        "provider": "openai",
        "weight": 0.7,
        "allowed_models": ["gpt-4o"],
        "key_ids": OPENAI_KEYS[:1],
        "rate_limit": {"request_max_limit": 10, "request_reset_duration": "1m"},
        **({"budgets": [budget]} if gw.generation.owner_budgets == "array" else {"budget": budget}),
    }
    configs = [config] + ([{"provider": "anthropic", "allowed_models": ["*"]}] if second else [])
    key = await upstream_post(gw, "virtual-keys", {"name": "k", "provider_configs": configs})
    openai = next(c for c in key["provider_configs"] if c["provider"] == "openai")
    return key, openai["id"]


def snapshot(config: dict[str, Any]) -> dict[str, Any]:
    """What a stored config holds, in one shape for both generations."""
    budgets = config.get("budgets") or ([config["budget"]] if config.get("budget") else [])
    rate_limit = config.get("rate_limit") or {}
    return {
        "weight": config.get("weight"),
        "allowedModels": config.get("allowed_models") or [],
        "keyIds": sorted(key["key_id"] for key in config.get("keys") or []),
        "budgets": [(budget["max_limit"], budget["reset_duration"]) for budget in budgets],
        "rateLimit": (rate_limit.get("request_max_limit"), rate_limit.get("request_reset_duration")),
    }


async def stored_configs(gw: Gateway, key_id: str) -> dict[str, dict[str, Any]]:
    stored = await upstream_get(gw, "virtual-keys", key_id)
    assert stored is not None
    return {config["provider"]: {"id": config["id"], **snapshot(config)} for config in stored["provider_configs"]}


BEFORE = {
    "weight": 0.7,
    "allowedModels": ["gpt-4o"],
    "keyIds": OPENAI_KEYS[:1],
    "budgets": [(5, "1d")],
    "rateLimit": (10, "1m"),
}

CHANGES = {
    "weight": ({"weight": 0.2}, {"weight": 0.2}),
    "allowedModels": ({"allowedModels": ["gpt-4o-mini"]}, {"allowedModels": ["gpt-4o-mini"]}),
    "keyIds": ({"keyIds": OPENAI_KEYS}, {"keyIds": sorted(OPENAI_KEYS)}),
    "budgets": ({"budgets": [{"maxLimit": 9, "resetDuration": "1d"}]}, {"budgets": [(9, "1d")]}),
    "rateLimit": (
        {"rateLimit": {"requestMaxLimit": 20, "requestResetDuration": "1m"}},
        {"rateLimit": (20, "1m")},
    ),
    "nothing": ({}, {}),
}


@pytest.mark.parametrize("by", ["id", "provider"])
@pytest.mark.parametrize("changed", CHANGES)
async def test_a_partial_entry_changes_only_what_it_names(gateway: Gateway, changed: str, by: str) -> None:
    key, config_id = await make_key(gateway)
    given, expected = CHANGES[changed]
    entry = {"provider": "openai", **given, **({"id": config_id} if by == "id" else {})}
    result = result_of(
        await gateway.graphql(UPDATE_KEY, {"input": {"id": key["id"], "providerConfigs": [entry]}}),
        "updateVirtualKey",
    )
    assert result["userErrors"] == []
    stored = await stored_configs(gateway, key["id"])
    assert stored == {"openai": {"id": config_id, **BEFORE, **expected}}, "the same config, only the field changed"
    key_path = f"/api/governance/virtual-keys/{key['id']}"
    assert [(r.method, r.path) for r in gateway.upstream_calls() if r.path == key_path] == [
        ("GET", key_path),
        ("PUT", key_path),
    ], "one read, one write"


async def test_weight_null_takes_the_config_out_of_weighted_routing(gateway: Gateway) -> None:
    key, config_id = await make_key(gateway)
    entry = {"id": config_id, "provider": "openai", "weight": None}
    result = result_of(
        await gateway.graphql(UPDATE_KEY, {"input": {"id": key["id"], "providerConfigs": [entry]}}),
        "updateVirtualKey",
    )
    assert result["userErrors"] == []
    stored = await stored_configs(gateway, key["id"])
    expected_weight = 0.0 if gateway.generation is SEED else None  # the seed generation stores 0
    assert stored["openai"] == {"id": config_id, **BEFORE, "weight": expected_weight}


async def test_configs_left_out_of_the_set_are_deleted_and_named_ones_keep_their_fields(gateway: Gateway) -> None:
    key, config_id = await make_key(gateway, second=True)
    entry = {"provider": "openai", "weight": 1.0}
    result = result_of(
        await gateway.graphql(UPDATE_KEY, {"input": {"id": key["id"], "providerConfigs": [entry]}}),
        "updateVirtualKey",
    )
    assert result["userErrors"] == []
    assert await stored_configs(gateway, key["id"]) == {"openai": {"id": config_id, **BEFORE, "weight": 1.0}}


async def test_a_new_provider_is_created_beside_a_kept_one(gateway: Gateway) -> None:
    key, config_id = await make_key(gateway)
    entries = [{"provider": "openai"}, {"provider": "anthropic", "allowedModels": ["*"], "keyIds": ANTHROPIC_KEYS}]
    result = result_of(
        await gateway.graphql(UPDATE_KEY, {"input": {"id": key["id"], "providerConfigs": entries}}),
        "updateVirtualKey",
    )
    assert result["userErrors"] == []
    stored = await stored_configs(gateway, key["id"])
    assert stored["openai"] == {"id": config_id, **BEFORE}
    assert stored["anthropic"]["allowedModels"] == ["*"] and stored["anthropic"]["keyIds"] == sorted(ANTHROPIC_KEYS)


async def test_an_id_of_another_key_is_refused_before_the_write(gateway: Gateway) -> None:
    key, _ = await make_key(gateway)
    other = await upstream_post(
        gateway, "virtual-keys", {"name": "other", "provider_configs": [{"provider": "openai"}]}
    )
    foreign = other["provider_configs"][0]["id"]
    result = result_of(
        await gateway.graphql(
            UPDATE_KEY, {"input": {"id": key["id"], "providerConfigs": [{"id": foreign, "provider": "openai"}]}}
        ),
        "updateVirtualKey",
    )
    assert codes(result) == [(["input", "providerConfigs", "0", "id"], "INVALID_INPUT")]
    assert [r for r in gateway.upstream_calls() if r.method == "PUT"] == []


def test_a_config_that_allows_every_key_keeps_allowing_every_key() -> None:
    """v2 marks a config made with ``key_ids: ["*"]``; re-sending its current keys would freeze that list."""
    config = models.ProviderConfig.model_validate(
        {"id": 3, "provider": "openai", "allow_all_keys": True, "keys": [], "allowed_models": ["*"]}
    )
    assert kept_fields(ProviderConfigInput(provider="openai"), config) == {
        "id": 3,
        "allowed_models": ["*"],
        "key_ids": ["*"],
    }
