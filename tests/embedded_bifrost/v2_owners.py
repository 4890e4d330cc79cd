"""The v2 contract scenario, owners: the version, customers, teams and virtual keys.

Each section drives one domain of CONTRACT-v2.md through its successes and each error class the contract
names, with Bifrost's messages word for word, and leaves the ids later sections need in ``Session.ids``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from v2_session import (
    CUSTOMERS,
    FOREIGN_ID,
    KEYS,
    LEGACY_TEAMS,
    REQUESTS_PER_MINUTE,
    TEAMS,
    TOKENS_PER_HOUR,
    Session,
    budget,
    rfc3339,
)

from app.embedded_bifrost.catalog import SEEDED_KEYS

__all__ = ["customers", "legacy_team_paths", "teams", "version", "virtual_keys"]


async def version(s: Session) -> None:
    """GET /api/version answers a v2 string."""
    answer = await s.call("GET", "/api/version")
    s.check(isinstance(answer, str) and answer.lstrip("v").split(".")[0] == "2", f"version {answer!r} is not v2")


async def customers(s: Session) -> None:
    """Customers with several budgets, the deprecated ``budget``, duplicate names, paging."""
    acme = (
        await s.call(
            "POST",
            CUSTOMERS,
            {
                "name": "acme",
                "budgets": [budget(50, "1M"), budget(5, "1d")],
                "rate_limit": REQUESTS_PER_MINUTE,
                "calendar_aligned": True,
            },
        )
    )["customer"]
    s.ids["acme"] = acme["id"]
    s.check(
        sorted(b["reset_duration"] for b in acme.get("budgets") or []) == ["1M", "1d"],
        f"customer budgets {acme.get('budgets')}",
    )
    s.check(acme.get("virtual_key_count") == 0 and acme.get("calendar_aligned") is True, f"new customer {acme}")
    await s.call("POST", CUSTOMERS, {"name": "acme"}, status=409, message="A customer with this name already exists")
    await s.call(
        "POST",
        CUSTOMERS,
        {"name": "both", "budget": budget(1, "1d"), "budgets": [budget(1, "1d")]},
        status=400,
        message="only one of 'budget' or 'budgets' may be set",
    )
    await s.call("POST", CUSTOMERS, {"name": ""}, status=400, message="Customer name is required")
    await s.call("POST", CUSTOMERS, content=b'{"name": 1}', status=400, message="Invalid JSON")
    legacy = (await s.call("POST", CUSTOMERS, {"name": "legacy", "budget": budget(1, "1d")}))["customer"]
    s.ids["legacy"] = legacy["id"]
    s.check(
        [b["max_limit"] for b in legacy.get("budgets") or []] == [1],
        f"the deprecated budget is answered in budgets[]: {legacy.get('budgets')}",
    )
    await s.call(
        "PUT", f"{CUSTOMERS}/{legacy['id']}", {"name": "acme"}, status=500, message="Failed to update customer"
    )
    await s.call(
        "PUT",
        f"{CUSTOMERS}/{acme['id']}",
        {"budget": {"max_limit": 3}},
        status=400,
        message="deprecated 'budget' field cannot be used when multiple budgets already exist; use 'budgets'",
    )
    await s.call(
        "PUT",
        f"{CUSTOMERS}/{acme['id']}",
        {"budgets": [budget(1, "1d", id=FOREIGN_ID)]},
        status=400,
        message=f"budget {FOREIGN_ID} does not belong to this entity",
    )
    emptied = (await s.call("PUT", f"{CUSTOMERS}/{legacy['id']}", {"budgets": []}))["customer"]
    s.check(not emptied.get("budgets"), f"budgets: [] removes all: {emptied.get('budgets')}")
    await s.call(
        "PUT",
        f"{CUSTOMERS}/{legacy['id']}",
        {"budget": {"max_limit": 2}},
        status=400,
        message="both max_limit and reset_duration are required when creating a new budget",
    )
    daily = next(b for b in acme["budgets"] if b["reset_duration"] == "1d")
    updated = (
        await s.call(
            "PUT",
            f"{CUSTOMERS}/{acme['id']}",
            {"calendar_aligned": False, "budgets": [budget(6, "1d", id=daily["id"]), budget(50, "1M")]},
        )
    )["customer"]
    kept = {b["reset_duration"]: b for b in updated.get("budgets") or []}
    s.check(
        kept.get("1d", {}).get("id") == daily["id"] and kept["1d"]["max_limit"] == 6,
        f"a budget matched by id is updated in place: {updated.get('budgets')}",
    )
    s.check(updated["calendar_aligned"] is False, "calendar_aligned is updated")
    await s.call("PUT", f"{CUSTOMERS}/{FOREIGN_ID}", {"name": "x"}, status=404, message="Customer not found")
    await s.call("GET", f"{CUSTOMERS}/{acme['id']}")
    await s.call("GET", f"{CUSTOMERS}/{FOREIGN_ID}", status=404, message="Customer not found")
    everyone = await s.call("GET", CUSTOMERS)
    s.check(everyone["count"] == 2 == len(everyone["customers"]), f"customer list count {everyone['count']}")
    page = await s.call("GET", f"{CUSTOMERS}?limit=1&offset=1")
    s.check(
        (page["count"], page.get("total_count"), page.get("limit"), page.get("offset")) == (1, 2, 1, 1),
        f"customer page {page}",
    )
    # Teams and customers lists read a bad paging value as 0 (and a limit of 0 as 25).
    page = await s.call("GET", f"{CUSTOMERS}?limit=many&offset=-3")
    s.check((page.get("limit"), page.get("offset")) == (25, 0), f"bad paging values: {page}")
    found = await s.call("GET", f"{CUSTOMERS}?search=LEG")
    s.check([c["name"] for c in found["customers"]] == ["legacy"], "search is a case-insensitive substring")


async def teams(s: Session) -> None:
    """Teams with budgets, rate limits, calendar alignment, duplicate names, detaching, paging."""
    acme = s.ids["acme"]
    platform = (
        await s.call(
            "POST",
            TEAMS,
            {
                "name": "platform",
                "customer_id": acme,
                "budgets": [budget(10, "1w")],
                "rate_limit": TOKENS_PER_HOUR,
                "calendar_aligned": False,
            },
        )
    )["team"]
    s.ids["platform"] = platform["id"]
    s.ids["platform_budget"] = platform["budgets"][0]["id"]
    s.check((platform.get("customer") or {}).get("id") == acme, "a new team embeds its customer")
    s.check(platform["virtual_key_count"] == 0 and platform["calendar_aligned"] is False, f"new team {platform}")
    await s.call("POST", TEAMS, {"name": "platform"}, status=409, message="A team with this name already exists")
    await s.call("POST", TEAMS, {"name": ""}, status=400, message="Team name is required")
    await s.call("POST", TEAMS, content=b"{", status=400, message="Invalid JSON")
    await s.call(
        "POST",
        TEAMS,
        {"name": "bad-rate", "rate_limit": {"token_max_limit": 0, "token_reset_duration": "1h"}},
        status=400,
        message="Invalid rate limit: rate limit token max limit cannot be negative or zero: 0",
    )
    await s.call(
        "POST",
        TEAMS,
        {"name": "twice", "budgets": [budget(1, "1d"), budget(2, "1d")]},
        status=400,
        message="duplicate reset_duration in budgets: 1d",
    )
    research = (await s.call("POST", TEAMS, {"name": "research", "customer_id": acme}))["team"]
    s.ids["research"] = research["id"]
    await s.call("PUT", f"{TEAMS}/{research['id']}", {"name": "platform"}, status=500, message="Failed to update team")
    aligned = (
        await s.call(
            "PUT",
            f"{TEAMS}/{platform['id']}",
            {"calendar_aligned": True, "budgets": [budget(20, "1w"), budget(3, "1d")]},
        )
    )["team"]
    s.check(aligned["calendar_aligned"] is True, "calendar_aligned is updated")
    weekly = [b for b in aligned.get("budgets") or [] if b["reset_duration"] == "1w"]
    s.check(
        [b["id"] for b in weekly] == [s.ids["platform_budget"]] and weekly[0]["max_limit"] == 20,
        f"team budgets are matched by reset_duration: {aligned.get('budgets')}",
    )
    detached = (await s.call("PUT", f"{TEAMS}/{research['id']}", {"customer_id": ""}))["team"]
    s.check(not detached.get("customer_id") and not detached.get("customer"), 'customer_id "" detaches the team')
    await s.call("PUT", f"{TEAMS}/{FOREIGN_ID}", {"name": "x"}, status=404, message="Team not found")
    await s.call("GET", f"{TEAMS}/{platform['id']}")
    await s.call("GET", f"{TEAMS}/{FOREIGN_ID}", status=404, message="Team not found")
    everyone = await s.call("GET", TEAMS)
    s.check(everyone["count"] == 2 == len(everyone["teams"]), f"team list count {everyone['count']}")
    of_acme = await s.call("GET", f"{TEAMS}?customer_id={acme}")
    s.check([t["name"] for t in of_acme["teams"]] == ["platform"], "customer_id filters teams")
    page = await s.call("GET", f"{TEAMS}?limit=1&offset=1")
    s.check(
        (page["count"], page.get("total_count"), page.get("limit"), page.get("offset")) == (1, 2, 1, 1),
        f"team page {page}",
    )
    page = await s.call("GET", f"{TEAMS}?limit=x")
    s.check(page.get("limit") == 25, f"a bad limit on teams becomes 0, then 25: {page.get('limit')}")
    await legacy_team_paths(s, everyone["count"])


async def legacy_team_paths(s: Session, teams: int) -> None:
    """``/api/teams``: kept one more release as an alias, every answer carrying the deprecation headers."""
    listed = await s.call("GET", LEGACY_TEAMS)
    s.check(listed["count"] == teams, "the alias lists the same teams")
    await s.call("GET", f"{LEGACY_TEAMS}/{s.ids['platform']}")
    await s.call("GET", f"{LEGACY_TEAMS}/{FOREIGN_ID}", status=404, message="Team not found")
    team = (await s.call("POST", LEGACY_TEAMS, {"name": "via-alias"}))["team"]
    await s.call(
        "POST", LEGACY_TEAMS, {"name": "via-alias"}, status=409, message="A team with this name already exists"
    )
    await s.call("PUT", f"{LEGACY_TEAMS}/{team['id']}", {"name": "via-alias-2"})
    await s.call("DELETE", f"{LEGACY_TEAMS}/{team['id']}")


async def virtual_keys(s: Session) -> None:
    """Keys with expiry, provider configs (blacklists, all keys), MCP configs, presence-aware owners, paging."""
    platform, acme = s.ids["platform"], s.ids["acme"]
    future = rfc3339(datetime.now(UTC) + timedelta(days=30))
    past = rfc3339(datetime.now(UTC) - timedelta(days=1))
    anthropic_key = SEEDED_KEYS[2][2]
    svc = (
        await s.call(
            "POST",
            KEYS,
            {
                "name": "svc",
                "description": "the billing service",
                "team_id": platform,
                "budgets": [budget(5, "1d")],
                "rate_limit": REQUESTS_PER_MINUTE,
                "expires_at": future,
                "calendar_aligned": False,
                "provider_configs": [
                    {
                        "provider": "openai",
                        "weight": 1,
                        "allowed_models": ["*"],
                        "blacklisted_models": ["gpt-4"],
                        "key_ids": ["*"],
                        "budgets": [budget(2, "1d")],
                        "rate_limit": TOKENS_PER_HOUR,
                    },
                    {"provider": "anthropic", "allowed_models": ["claude-sonnet-4-5"], "key_ids": [anthropic_key]},
                ],
                "mcp_configs": [{"mcp_client_name": "github", "tools_to_execute": ["*"]}],
            },
        )
    )["virtual_key"]
    s.ids["svc"] = svc["id"]
    s.ids["svc_value"] = svc["value"]
    s.ids["svc_budget"] = svc["budgets"][0]["id"]
    configs = {c["provider"]: c for c in svc["provider_configs"] or []}
    s.check(svc.get("team_id") == platform and (svc.get("team") or {}).get("id") == platform, "the key's team")
    s.check(svc.get("expires_at") is not None, "expires_at is answered")
    s.check(
        configs["openai"]["allow_all_keys"] is True and configs["anthropic"]["allow_all_keys"] is False,
        'key_ids ["*"] answers allow_all_keys',
    )
    s.check(
        configs["openai"]["blacklisted_models"] == ["gpt-4"] and configs["anthropic"]["blacklisted_models"] == [],
        "blacklisted_models are answered, [] when none",
    )
    s.check([k["key_id"] for k in configs["anthropic"]["keys"] or []] == [anthropic_key], "key_ids pick keys")
    s.check([m["mcp_client"]["name"] for m in svc["mcp_configs"] or []] == ["github"], "mcp_client.name is answered")
    s.ids["svc_openai_config"] = configs["openai"]["id"]
    s.ids["svc_openai_budget"] = configs["openai"]["budgets"][0]["id"]
    await s.call("POST", KEYS, {"name": "svc"}, status=409, message="A virtual key with this name already exists")
    await s.call("POST", KEYS, {"name": ""}, status=400, message="Virtual key name is required")
    await s.call(
        "POST",
        KEYS,
        {"name": "both", "team_id": platform, "customer_id": ""},
        status=400,
        message="VirtualKey cannot be attached to both Team and Customer",
    )
    await s.call(
        "POST", KEYS, {"name": "late", "expires_at": past}, status=400, message="expires_at must be a future timestamp"
    )
    await s.call("POST", KEYS, {"name": "vague", "expires_at": "tomorrow"}, status=400, message="Invalid JSON")
    await s.call(
        "POST",
        KEYS,
        {"name": "nowhere", "provider_configs": [{"provider": "nope"}]},
        status=400,
        message="invalid provider name: nope",
    )
    await s.call(
        "POST",
        KEYS,
        {"name": "twice", "budgets": [budget(1, "1d"), budget(2, "1d")]},
        status=400,
        message="Duplicate reset_duration in budgets: 1d",
    )
    await s.call(
        "POST",
        KEYS,
        {"name": "negative", "budgets": [budget(-1, "1d")]},
        status=400,
        message="Budget max_limit cannot be negative: -1.00",
    )
    await s.call(
        "POST",
        KEYS,
        {"name": "mcp-twice", "mcp_configs": [{"mcp_client_name": "github"}, {"mcp_client_name": "github"}]},
        status=400,
        message="duplicate mcp_client_name: github",
    )
    await s.call(
        "POST",
        KEYS,
        {"name": "ghost-key", "provider_configs": [{"provider": "openai", "key_ids": [FOREIGN_ID]}]},
        status=500,
        message="some keys not found for provider openai: expected 1, found 0",
    )
    customer_key = (await s.call("POST", KEYS, {"name": "cust-key", "customer_id": acme}))["virtual_key"]
    s.ids["cust_key"] = customer_key["id"]
    s.check(not customer_key["provider_configs"], "no provider_configs answers none (deny-by-default)")
    s.check(customer_key.get("customer_id") == acme and not customer_key.get("team_id"), "a customer-scoped key")
    plain = (await s.call("POST", KEYS, {"name": "plain"}))["virtual_key"]
    s.ids["plain"] = plain["id"]
    # Any future instant is valid, however far (Go's time.Time reaches the year 9999).
    far = await s.call("POST", KEYS, {"name": "far", "expires_at": "2999-12-31T23:59:59Z"}, fatal=False)
    if "virtual_key" in far:
        expiry = far["virtual_key"].get("expires_at")
        s.check(expiry == "2999-12-31T23:59:59Z", f"a far expiry is kept: {expiry}")
        await s.call("DELETE", f"{KEYS}/{far['virtual_key']['id']}")

    one = f"{KEYS}/{svc['id']}"
    kept = (await s.call("PUT", one, {"description": "renamed service"}))["virtual_key"]
    s.check(kept.get("team_id") == platform, "an update naming neither owner keeps them")
    cleared = (await s.call("PUT", one, {"expires_at": ""}))["virtual_key"]
    s.check(cleared.get("expires_at") is None, 'expires_at "" clears it')
    await s.call("PUT", one, {"expires_at": "soon"}, status=400, message="expires_at must be an RFC3339 timestamp")
    await s.call("PUT", one, {"expires_at": past}, status=400, message="expires_at must be a future timestamp")
    await s.call("PUT", one, {"name": "cust-key"}, status=409, message="A virtual key with this name already exists")
    await s.call(
        "PUT",
        one,
        {"provider_configs": [{"id": 999_999, "provider": "openai"}]},
        status=500,
        message="Failed to update virtual key: provider config 999999 does not belong to this virtual key",
    )
    moved = (await s.call("PUT", one, {"customer_id": acme}))["virtual_key"]
    s.check(moved.get("customer_id") == acme and not moved.get("team_id"), "customer_id sets it, clears the team")
    loose = (await s.call("PUT", one, {"team_id": None}))["virtual_key"]
    s.check(not loose.get("team_id") and not loose.get("customer_id"), "team_id null detaches both")
    back = (
        await s.call(
            "PUT",
            one,
            {
                "team_id": platform,
                "reset_budget_usage": True,
                "provider_configs": [
                    {"id": s.ids["svc_openai_config"], "provider": "openai", "allowed_models": ["gpt-4o"]},
                    {"provider": "azure", "allowed_models": ["*"], "key_ids": ["*"]},
                ],
            },
        )
    )["virtual_key"]
    configs = {c["provider"]: c for c in back["provider_configs"] or []}
    s.check(back.get("team_id") == platform, "team_id sets the team")
    s.check(sorted(configs) == ["azure", "openai"], f"provider_configs is the full set: {sorted(configs)}")
    s.check(
        [b["id"] for b in configs.get("openai", {}).get("budgets") or []] == [s.ids["svc_openai_budget"]],
        "a provider config updated without budgets keeps them",
    )
    await s.call("PUT", f"{KEYS}/{FOREIGN_ID}", {"name": "x"}, status=404, message="Virtual key not found")
    await s.call("GET", one)
    await s.call("GET", f"{KEYS}/{FOREIGN_ID}", status=404, message="Virtual key not found")

    everyone = await s.call("GET", KEYS)
    s.check(
        (everyone["count"], everyone["total_count"], everyone["limit"], everyone["offset"]) == (3, 3, 3, 0),
        f"an unpaged key list: count, total_count, limit = rows, offset 0: {everyone}",
    )
    ordered = await s.call("GET", f"{KEYS}?order=desc")
    s.check(ordered["limit"] == 3, "order alone does not turn paging on")
    page = await s.call("GET", f"{KEYS}?limit=1&offset=1")
    s.check((page["count"], page["total_count"], page["limit"], page["offset"]) == (1, 3, 1, 1), f"key page {page}")
    of_team = await s.call("GET", f"{KEYS}?team_id={platform}")
    s.check([k["name"] for k in of_team["virtual_keys"]] == ["svc"], "team_id filters keys")
    of_customer = await s.call("GET", f"{KEYS}?customer_id={acme}")
    s.check([k["name"] for k in of_customer["virtual_keys"]] == ["cust-key"], "customer_id filters keys")
    found = await s.call("GET", f"{KEYS}?search=PLA")
    s.check([k["name"] for k in found["virtual_keys"]] == ["plain"], "search filters keys")
    await s.call("GET", f"{KEYS}?limit=abc", status=400, message="Invalid limit parameter: must be a number")
    await s.call("GET", f"{KEYS}?offset=-1", status=400, message="Invalid offset parameter: must be non-negative")
    customer = (await s.call("GET", f"{CUSTOMERS}/{acme}"))["customer"]
    s.check(
        [k["name"] for k in customer["virtual_keys"] or []] == ["cust-key"],
        "a customer embeds its customer-scoped keys",
    )
    team = (await s.call("GET", f"{TEAMS}/{platform}"))["team"]
    s.check(team["virtual_key_count"] == 1, f"team virtual_key_count {team['virtual_key_count']}")
