"""The small demo data set: three customers, five teams, six virtual keys.

It goes through the same HTTP handlers as clients do, so the demo data always has the shapes and invariants
of the API generation being served. Where a generation denies by default (v2: a provider config without
``allowed_models`` allows no model, a key without provider configs reaches no provider), the demo's keys say
``["*"]`` and get a provider, so every active key can be used as it could on older generations. Seeding is
skipped when the database already has customers.
"""

from __future__ import annotations

from typing import Any

import orjson

from .catalog import SEEDED_KEYS
from .context import Context, Request
from .db import Store
from .handlers import customers, teams, virtual_keys
from .views import Views

__all__ = ["seed_demo"]

_OPENAI_KEY = SEEDED_KEYS[0][2]
_AZURE_KEY = SEEDED_KEYS[4][2]


def seed_demo(store: Store) -> None:
    """Insert the demo data set unless the database already has data."""
    if store.db.execute("SELECT 1 FROM customers LIMIT 1").fetchone() is not None:
        return
    generation = store.generation
    ctx = Context(store=store, views=Views(store.db, generation), generation=generation, auth=None, version="")
    arrays = generation.owner_budgets == "array"
    all_models = {"allowed_models": ["*"]} if generation.empty_allowed_models == "none" else {}

    def budget(max_limit: float, duration: str) -> dict[str, Any]:
        entry = {"max_limit": max_limit, "reset_duration": duration}
        return {"budgets": [entry]} if arrays else {"budget": entry}

    acme_budgets: dict[str, Any] = {"budget": {"max_limit": 5000.0, "reset_duration": "1M"}}
    if generation.customer_budgets == "array":
        acme_budgets = {"budgets": [{"max_limit": 1000.0, "reset_duration": "1w"}, acme_budgets["budget"]]}
    acme = _post(ctx, customers.create_customer, {
        "name": "Acme Corp", **acme_budgets,
        "rate_limit": {"request_max_limit": 10000, "request_reset_duration": "1h"},
    })["customer"]["id"]  # fmt: skip
    globex = _post(ctx, customers.create_customer, {"name": "Globex"})["customer"]["id"]
    _post(ctx, customers.create_customer, {"name": "Initech"})

    platform = _post(ctx, teams.create_team, {
        "name": "Platform", "customer_id": acme, **budget(1000.0, "1M"),
        "rate_limit": {"token_max_limit": 1_000_000, "token_reset_duration": "1d"},
    })["team"]["id"]  # fmt: skip
    research = _post(ctx, teams.create_team, {"name": "Research", "customer_id": acme, **budget(250.0, "1w")})
    _post(ctx, teams.create_team, {"name": "Support", "customer_id": globex})
    _post(ctx, teams.create_team, {"name": "Growth", "calendar_aligned": True, **budget(100.0, "1d")})
    _post(ctx, teams.create_team, {"name": "Data Science"})

    _post(ctx, virtual_keys.create_virtual_key, {
        "name": "platform-prod", "description": "Production traffic of the platform team", "team_id": platform,
        **budget(500.0, "1M"),
        "rate_limit": {"request_max_limit": 600, "request_reset_duration": "1m"},
        "provider_configs": [
            {"provider": "openai", "weight": 0.7, "allowed_models": ["gpt-4o", "gpt-4o-mini"],
             "key_ids": [_OPENAI_KEY], **budget(300.0, "1M")},
            {"provider": "anthropic", "weight": 0.3, "allowed_models": ["*"], "key_ids": ["*"]},
        ],
        "mcp_configs": [{"mcp_client_name": "filesystem", "tools_to_execute": ["read_file", "list_directory"]}],
    })  # fmt: skip
    _post(ctx, virtual_keys.create_virtual_key, {
        "name": "research-sandbox", "team_id": research["team"]["id"],
        "provider_configs": [{"provider": "azure", "weight": 1.0, "key_ids": [_AZURE_KEY], **all_models}],
    })  # fmt: skip
    _post(ctx, virtual_keys.create_virtual_key, {
        "name": "acme-shared", "customer_id": acme,
        "provider_configs": [{"provider": "openai", "allowed_models": ["gpt-4o-mini"], "key_ids": ["*"]}],
        "mcp_configs": [{"mcp_client_name": "web-search", "tools_to_execute": ["*"]}],
    })  # fmt: skip
    reach: dict[str, Any] = {}
    if generation.no_provider_configs == "none":
        reach = {"provider_configs": [{"provider": "openai", "key_ids": ["*"], **all_models}]}
    _post(ctx, virtual_keys.create_virtual_key, {
        "name": "globex-batch", "customer_id": globex, **budget(50.0, "1d"), **reach,
    })  # fmt: skip
    _post(ctx, virtual_keys.create_virtual_key, {"name": "ci-smoke-tests", "is_active": False})
    _post(ctx, virtual_keys.create_virtual_key, {
        "name": "local-dev", "description": "Unattached key for local development",
        "provider_configs": [
            {"provider": "openai", "key_ids": ["*"], **all_models},
            {"provider": "anthropic", "key_ids": ["*"], **all_models},
        ],
    })  # fmt: skip


def _post(ctx: Context, handler: Any, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = handler(ctx, Request("POST", "", b"", orjson.dumps(body), {}))
    return result
