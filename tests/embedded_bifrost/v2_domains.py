"""The v2 contract scenario, the domains v2 adds: rotation, overrides, model configs, provider governance, quota.

It runs after :mod:`v2_owners` (it reads the customer, team and key ids left in ``Session.ids``) and ends by
deleting what the scenario made.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from v2_session import (
    CONFIG,
    CUSTOMERS,
    FOREIGN_ID,
    GOV,
    KEYS,
    MISSING_VK,
    MODEL_CONFIGS,
    PROVIDERS,
    REQUESTS_PER_MINUTE,
    TEAMS,
    TOKENS_PER_HOUR,
    Session,
    budget,
    rule,
)

__all__ = ["lists_and_deletes", "model_configs", "overrides", "provider_governance", "quota", "rotation"]


async def rotation(s: Session) -> None:
    """Single and bulk rotation: a new value each time, per-id errors, the 400s and the all-failed 500."""
    svc, old = s.ids["svc"], s.ids["svc_value"]
    rotated = (await s.call("POST", f"{KEYS}/{svc}/rotate"))["virtual_key"]
    s.check(rotated["id"] == svc and rotated["value"] != old, "rotation gives the key a new value")
    s.ids["svc_old_value"], s.ids["svc_value"] = old, rotated["value"]
    await s.call("POST", f"{KEYS}/{FOREIGN_ID}/rotate", status=404, message="Virtual key not found")
    bulk = await s.call("POST", f"{KEYS}/rotate", {"ids": [svc, f" {s.ids['cust_key']} ", svc, FOREIGN_ID]})
    s.check(
        sorted(k["id"] for k in bulk["virtual_keys"]) == sorted([svc, s.ids["cust_key"]]),
        "bulk ids are trimmed and de-duplicated",
    )
    s.check(bulk.get("errors") == {FOREIGN_ID: "virtual key not found"}, f"bulk errors {bulk.get('errors')}")
    fresh = {k["id"]: k["value"] for k in bulk["virtual_keys"]}
    s.check(fresh.get(svc) not in (None, s.ids["svc_value"]), "bulk rotation gives a new value")
    s.ids["svc_value"] = fresh.get(svc, s.ids["svc_value"])
    bulk_path = f"{KEYS}/rotate"
    await s.call("POST", bulk_path, {"ids": []}, status=400, message="At least one virtual key ID is required")
    await s.call("POST", bulk_path, {}, status=400, message="At least one virtual key ID is required")
    await s.call("POST", bulk_path, {"ids": [svc, ""]}, status=400, message="Virtual key ID cannot be empty")
    await s.call("POST", bulk_path, content=b"[", status=400, message="Invalid JSON")
    await s.call("POST", bulk_path, {"ids": [FOREIGN_ID]}, status=500, message="Failed to rotate virtual keys")
    await grace_period(s)


async def grace_period(s: Session) -> None:
    """``client_config.vk_rotation_cooldown``: its bounds, the old value living on, and a zero revoking it."""
    svc = s.ids["svc"]

    async def cooldown(value: str, **expected: Any) -> None:
        await s.call("PUT", CONFIG, {"client_config": {"vk_rotation_cooldown": value}}, **expected)

    await cooldown("-1s", status=400, message="vk_rotation_cooldown must not be negative")
    await cooldown("721h", status=400, message="vk_rotation_cooldown must not exceed 30 days")
    await cooldown("5m")
    await s.call("GET", CONFIG)
    before = datetime.now(UTC)
    graced = (await s.call("POST", f"{KEYS}/{svc}/rotate"))["virtual_key"]
    previous, s.ids["svc_value"] = s.ids["svc_value"], graced["value"]
    expires = graced.get("previous_value_expires_at")
    s.check(graced.get("rotated_at") is not None, "a rotation sets rotated_at")
    s.check(
        expires is not None and timedelta(minutes=4) < _instant(expires) - before <= timedelta(minutes=6),
        f"previous_value_expires_at is now + the cooldown: {expires}",
    )
    quota = f"{KEYS}/quota"
    await s.call("GET", quota, headers={"x-bf-vk": previous})
    await s.call("GET", quota, headers={"x-bf-vk": graced["value"]})
    await cooldown("0s")
    await s.call("GET", quota, headers={"x-bf-vk": previous}, status=401, message="Virtual key not found")
    s.ids["svc_old_value"] = previous


def _instant(text: str) -> datetime:
    # RFC 3339 with up to nine fractional digits; datetime reads at most six, and whole seconds suffice here.
    return datetime.fromisoformat(re.sub(r"\.[0-9]+", "", text))


async def overrides(s: Session) -> None:
    """Budget overrides: cycles and forever, the effective limit, each 400, the 404s, DELETE."""
    svc = s.ids["svc"]
    path = f"{KEYS}/{svc}/budgets/{s.ids['svc_budget']}/override"
    cycles = await s.call("PUT", path, {"amount": 5, "mode": "cycles", "cycles": 2})
    held = cycles["budget"]
    s.check(cycles["effective_max_limit"] == held["max_limit"] + 5 == 10, f"effective limit {cycles}")
    s.check(
        (held.get("override_amount"), held.get("override_mode"), held.get("override_cycles_remaining"))
        == (5, "cycles", 2)
        and held.get("override_cycles_total") == 2
        and held.get("override_anchor_reset") is not None,
        f"the override fields of a budget: {held}",
    )
    forever = await s.call("PUT", path, {"amount": 2.5, "mode": "forever"})
    s.check(forever["effective_max_limit"] == 7.5, "PUT replaces the override")
    s.check(forever["budget"].get("override_mode") == "forever", "the override mode is answered")
    failures = [
        ({"amount": 5}, "budget override fields require override_mode"),
        ({"amount": 5, "mode": "sometimes"}, "invalid budget override_mode: sometimes"),
        ({"amount": 0, "mode": "cycles", "cycles": 1}, "budget override_amount must be > 0 for cycles mode"),
        ({"amount": -1, "mode": "forever"}, "budget override_amount must be > 0 for forever mode"),
        ({"amount": 5, "mode": "cycles", "cycles": 0}, "budget override_cycles_remaining must be > 0 for cycles mode"),
        ({"amount": 5, "mode": "forever", "cycles": 3}, "budget override_cycles_remaining must be 0 for forever mode"),
    ]
    for body, message in failures:
        await s.call("PUT", path, body, status=400, message=message)
    await s.call("PUT", path, content=b"{", status=400, message="invalid request body")
    not_found = "virtual key or budget not found"
    team_budget = f"{KEYS}/{svc}/budgets/{s.ids['platform_budget']}/override"
    await s.call("PUT", team_budget, {"amount": 1, "mode": "forever"}, status=404, message=not_found)
    stranger = f"{KEYS}/{FOREIGN_ID}/budgets/{s.ids['svc_budget']}/override"
    await s.call("PUT", stranger, {"amount": 1, "mode": "forever"}, status=404, message=not_found)
    provider_budget = f"{KEYS}/{svc}/budgets/{s.ids['svc_openai_budget']}/override"
    per_provider = await s.call("PUT", provider_budget, {"amount": 1, "mode": "forever"})
    s.check(per_provider["effective_max_limit"] == 3, "a provider config's budget takes an override")
    cleared = await s.call("DELETE", path)
    s.check(
        cleared["budget"].get("override_mode") is None
        and cleared["effective_max_limit"] == cleared["budget"]["max_limit"],
        f"DELETE clears the override: {cleared}",
    )
    await s.call("DELETE", team_budget, status=404, message=not_found)


async def model_configs(s: Session) -> None:
    """Model configs: global and key-scoped, rules with a metric, each 400 and 409, paging, update, delete."""
    svc = s.ids["svc"]
    gpt = (
        await s.call(
            "POST",
            MODEL_CONFIGS,
            {
                "model_name": "gpt-4o",
                "provider": "openai",
                "budgets": [budget(100, "1M")],
                "rate_limit": TOKENS_PER_HOUR,
            },
        )
    )["model_config"]
    s.check(gpt["scope"] == "global" and gpt.get("provider") == "openai", f"a global model config {gpt}")
    await s.call(
        "POST",
        MODEL_CONFIGS,
        {"model_name": "gpt-4o", "provider": "openai"},
        status=409,
        message="Model config for model 'gpt-4o' with provider 'openai' (global) already exists",
    )
    mini = (await s.call("POST", MODEL_CONFIGS, {"model_name": "gpt-4o-mini"}))["model_config"]
    await s.call(
        "POST",
        MODEL_CONFIGS,
        {"model_name": "gpt-4o-mini"},
        status=409,
        message="Model config for model 'gpt-4o-mini' (global) already exists",
    )
    tokens = rule("tokens", 1000, "1h")
    failures = [
        ({"model_name": ""}, "Model name is required"),
        ({"model_name": "m", "scope": "team"}, 'Invalid scope "team"'),
        ({"model_name": "m", "scope": "virtual_key"}, "scope_id is required when scope is not global"),
        ({"model_name": "m", "scope": "virtual_key", "scope_id": FOREIGN_ID}, f"Virtual key '{FOREIGN_ID}' not found"),
        (
            {"model_name": "m", "rate_limit": TOKENS_PER_HOUR, "rate_limits": [tokens]},
            "rate_limit and rate_limits cannot be used together",
        ),
        ({"model_name": "m", "rate_limits": [rule("bytes", 1, "1m")]}, 'invalid model rate limit metric "bytes"'),
        (
            {"model_name": "m", "rate_limits": [rule("tokens", 0, "1m")]},
            "model rate limit max_limit must be greater than zero",
        ),
        (
            {"model_name": "m", "rate_limits": [rule("tokens", 1, "soon")]},
            "invalid model rate limit reset_duration (must be a positive duration): soon",
        ),
        (
            {"model_name": "m", "rate_limits": [rule("tokens", 1, "1m", id=FOREIGN_ID)]},
            "rate limit id cannot be supplied when creating a model config",
        ),
        (
            {"model_name": "m", "rate_limits": [tokens, tokens]},
            "duplicate model rate limit rule: tokens with reset_duration 1h",
        ),
    ]
    for body, message in failures:
        await s.call("POST", MODEL_CONFIGS, body, status=400, message=message)
    scoped = (
        await s.call(
            "POST",
            MODEL_CONFIGS,
            {
                "model_name": "claude-sonnet-4-5",
                "provider": "anthropic",
                "scope": "virtual_key",
                "scope_id": svc,
                "rate_limits": [tokens, rule("requests", 10, "1m")],
            },
        )
    )["model_config"]
    rules = {r.get("metric"): r for r in scoped.get("rate_limits") or []}
    s.check(sorted(rules) == ["requests", "tokens"], f"rules answer their metric: {scoped.get('rate_limits')}")
    s.check(
        rules.get("tokens", {}).get("token_max_limit") == 1000 and "request_max_limit" not in rules.get("tokens", {}),
        "a tokens rule keeps only its token pair",
    )
    s.check((scoped["scope"], scoped.get("scope_id")) == ("virtual_key", svc), "a key-scoped model config")
    await s.call(
        "POST",
        MODEL_CONFIGS,
        {"model_name": "claude-sonnet-4-5", "provider": "anthropic", "scope": "virtual_key", "scope_id": svc},
        status=409,
        message=(
            f"Model config for model 'claude-sonnet-4-5' with provider 'anthropic' (virtual_key '{svc}') already exists"
        ),
    )
    listed = await s.call("GET", f"{MODEL_CONFIGS}?scope=virtual_key&scope_id={svc}")
    names = [m["model_name"] for m in listed["model_configs"]]
    s.check("claude-sonnet-4-5" in names and "gpt-4o" not in names, f"scope filters model configs: {names}")
    by_provider = await s.call("GET", f"{MODEL_CONFIGS}?provider=openai&scope=global")
    s.check([m["model_name"] for m in by_provider["model_configs"]] == ["gpt-4o"], "provider filters model configs")
    page = await s.call("GET", f"{MODEL_CONFIGS}?limit=1&search=gpt")
    s.check((page["count"], page["limit"], page["total_count"]) == (1, 1, 2), f"model config page {page}")
    await s.call("GET", f"{MODEL_CONFIGS}?limit=x", status=400, message="Invalid limit parameter: must be a number")
    await s.call(
        "GET", f"{MODEL_CONFIGS}?offset=-2", status=400, message="Invalid offset parameter: must be non-negative"
    )
    await s.call("GET", f"{MODEL_CONFIGS}/{gpt['id']}")
    await s.call("GET", f"{MODEL_CONFIGS}/{FOREIGN_ID}", status=404, message="Model config not found")
    one = f"{MODEL_CONFIGS}/{scoped['id']}"
    changed = (await s.call("PUT", one, {"rate_limits": [rule("tokens", 2000, "60m", id=rules["tokens"]["id"])]}))[
        "model_config"
    ]
    s.check(
        [(r.get("metric"), r.get("token_max_limit")) for r in changed.get("rate_limits") or []] == [("tokens", 2000)],
        f"rate_limits on update is the full set: {changed.get('rate_limits')}",
    )
    await s.call(
        "PUT",
        one,
        {"rate_limits": [rule("tokens", 1, "1h", id=FOREIGN_ID)]},
        status=400,
        message=f"rate limit {FOREIGN_ID} does not belong to this model config",
    )
    await s.call(
        "PUT", f"{MODEL_CONFIGS}/{FOREIGN_ID}", {"model_name": "x"}, status=404, message="Model config not found"
    )
    limits = await s.call("GET", f"{GOV}/rate-limits")
    s.check(
        {r.get("metric") for r in limits["rate_limits"]} >= {"tokens"},
        "the rate-limit list answers the metric of model-config rules",
    )
    await s.call("DELETE", f"{MODEL_CONFIGS}/{mini['id']}")
    await s.call("DELETE", f"{MODEL_CONFIGS}/{mini['id']}", status=404, message="Model config not found")
    s.ids["gpt_config"] = gpt["id"]


async def provider_governance(s: Session) -> None:
    """Provider governance: set with budgets or the deprecated budget, list, idempotent delete."""
    openai = (
        await s.call(
            "PUT",
            f"{PROVIDERS}/openai",
            {"budgets": [budget(100, "1M")], "rate_limit": REQUESTS_PER_MINUTE, "calendar_aligned": False},
        )
    )["provider"]
    s.check(openai["provider"] == "openai" and len(openai.get("budgets") or []) == 1, f"provider governance {openai}")
    await s.call(
        "PUT",
        f"{PROVIDERS}/openai",
        {"budget": budget(1, "1d"), "budgets": [budget(1, "1d")]},
        status=400,
        message="only one of 'budget' or 'budgets' may be set",
    )
    await s.call("PUT", f"{PROVIDERS}/nope", {"budgets": [budget(1, "1d")]}, status=404, message="Provider not found")
    anthropic = (await s.call("PUT", f"{PROVIDERS}/anthropic", {"budget": budget(10, "1d")}))["provider"]
    first = (anthropic.get("budgets") or [None])[0]
    s.check(
        first is not None and anthropic.get("budget") in (None, first),
        f"the deprecated budget is budgets[0]: {anthropic}",
    )
    listed = await s.call("GET", PROVIDERS)
    s.check(
        sorted(p["provider"] for p in listed["providers"] or []) == ["anthropic", "openai"] and listed["count"] == 2,
        f"provider governance list {listed}",
    )
    await s.call("DELETE", f"{PROVIDERS}/anthropic")
    await s.call("DELETE", f"{PROVIDERS}/anthropic")
    listed = await s.call("GET", PROVIDERS)
    s.check(listed["count"] == 1, f"provider governance after delete {listed}")


async def quota(s: Session) -> None:
    """The key quota: the key alone is the credential, in each header the contract names."""
    path = f"{KEYS}/quota"
    value = s.ids["svc_value"]
    answer = await s.call("GET", path, headers={"x-bf-vk": value})
    s.check(answer["virtual_key_name"] == "svc" and answer["is_active"] is True, f"quota {answer}")
    s.check(all(b["per_model_usage"] == [] for b in answer["budgets"] or []), "no logging: per_model_usage is []")
    for header in ("x-api-key", "x-goog-api-key", "api-key"):
        await s.call("GET", path, headers={header: value})
    await s.call("GET", path, headers={"authorization": f"Bearer {value}"})
    await s.call("GET", path, status=401, message=MISSING_VK)
    await s.call("GET", path, headers={"x-api-key": "not-a-virtual-key"}, status=401, message=MISSING_VK)
    await s.call("GET", path, headers={"x-bf-vk": f"sk-bf-{FOREIGN_ID}"}, status=401, message="Virtual key not found")
    await s.call("GET", path, headers={"x-bf-vk": s.ids["svc_old_value"]}, status=401, message="Virtual key not found")


async def lists_and_deletes(s: Session) -> None:
    """The budget and rate-limit lists, then deleting keys, teams and customers, and their 404s."""
    budgets = await s.call("GET", f"{GOV}/budgets")
    s.check(budgets["count"] == len(budgets["budgets"]) > 0, "the budget list counts its rows")
    limits = await s.call("GET", f"{GOV}/rate-limits")
    s.check(limits["count"] == len(limits["rate_limits"]) > 0, "the rate-limit list counts its rows")
    for key in ("svc", "cust_key", "plain"):
        await s.call("DELETE", f"{KEYS}/{s.ids[key]}")
    await s.call("DELETE", f"{KEYS}/{s.ids['svc']}", status=404, message="Virtual key not found")
    for team in ("platform", "research"):
        await s.call("DELETE", f"{TEAMS}/{s.ids[team]}")
    await s.call("DELETE", f"{TEAMS}/{s.ids['platform']}", status=404, message="Team not found")
    for customer in ("acme", "legacy"):
        await s.call("DELETE", f"{CUSTOMERS}/{s.ids[customer]}")
    await s.call("DELETE", f"{CUSTOMERS}/{s.ids['acme']}", status=404, message="Customer not found")
    left = await s.call("GET", KEYS)
    s.check(left["count"] == 0, "every key is gone")
