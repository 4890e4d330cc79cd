"""A virtual key's provider configs and MCP configs: validation and full-set writes.

``provider_configs`` and ``mcp_configs`` in a request are always the full desired set: entries with an ``id``
are updated, entries without one are created, and existing entries that are missing are deleted.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from ..catalog import PROVIDERS
from ..context import Context
from ..decode import INT, NUM, STR
from ..errors import ApiError
from ..limits import (
    BUDGET,
    RATE_LIMIT,
    budget_problem,
    delete_budgets_of,
    delete_rate_limit,
    insert_budget,
    insert_rate_limit,
    patch_budget,
    patch_rate_limit,
    rate_limit_problem,
    reconcile_budgets,
    replace_rate_limit,
)

__all__ = [
    "MCP_CONFIG",
    "PROVIDER_CONFIG_CURRENT",
    "PROVIDER_CONFIG_SEED",
    "check_configs",
    "delete_provider_configs",
    "reject",
    "write_mcp_configs",
    "write_provider_configs",
]

_COMMON = {"id": INT, "provider": STR, "weight": NUM, "allowed_models": [STR], "rate_limit": RATE_LIMIT}
PROVIDER_CONFIG_SEED = {**_COMMON, "budget": BUDGET, "key_ids": [STR]}
PROVIDER_CONFIG_CURRENT = {**_COMMON, "budgets": [BUDGET], "key_ids": [STR]}
MCP_CONFIG = {"id": INT, "mcp_client_name": STR, "tools_to_execute": [STR]}

_PC_BUDGET = "provider config "


def reject(ctx: Context, message: str) -> ApiError:
    """A validation failure that v1.5 checks up front (400) and the seed generation inside its transaction (500)."""
    return ApiError(ctx.generation.key_checks_status, message)


def check_configs(ctx: Context, body: dict[str, Any]) -> None:
    """Validate provider configs and MCP configs before any write.

    Raises:
        ApiError: 400 ``invalid provider name: X``, ``duplicate mcp_client_name: X``; budget and rate limit
            problems as :func:`reject` says.
    """
    for config in body.get("provider_configs", ()):
        provider = config.get("provider", "")
        if provider not in PROVIDERS:
            raise ApiError(400, f"invalid provider name: {provider}")
    for config in body.get("provider_configs", ()):
        arrays = ctx.generation.owner_budgets == "array"
        seen: set[str] = set()
        for budget in _budgets_of(ctx, config):
            if "id" not in config or arrays:
                if problem := budget_problem(budget, _PC_BUDGET):
                    raise reject(ctx, problem)
            duration = budget.get("reset_duration", "")
            if arrays and duration in seen:
                raise ApiError(400, f"duplicate reset_duration in budgets: {duration}")
            seen.add(duration)
        if "rate_limit" in config and (problem := rate_limit_problem(config["rate_limit"])):
            raise reject(ctx, ctx.generation.rate_limit_problem_prefix + problem)
    names: set[str] = set()
    for config in body.get("mcp_configs", ()):
        name = config.get("mcp_client_name", "")
        if name in names:
            raise ApiError(400, f"duplicate mcp_client_name: {name}")
        names.add(name)


def write_provider_configs(ctx: Context, db: sqlite3.Connection, vk_id: str, configs: list[dict[str, Any]]) -> None:
    """Make a virtual key's provider configs match the desired set."""
    existing = {
        row["id"]: row for row in db.execute("SELECT * FROM provider_configs WHERE virtual_key_id = ?", (vk_id,))
    }
    kept: set[int] = set()
    for config in configs:
        key_rows = _key_rows(db, config)
        weight = config.get("weight", ctx.generation.provider_weight_default)
        models = orjson.dumps(config.get("allowed_models", []))
        if "id" not in config:
            rate_limit_id = insert_rate_limit(db, config["rate_limit"]) if "rate_limit" in config else None
            cursor = db.execute(
                "INSERT INTO provider_configs (virtual_key_id, provider, weight, allowed_models, rate_limit_id)"
                " VALUES (?, ?, ?, ?, ?)",
                (vk_id, config.get("provider", ""), weight, models, rate_limit_id),
            )
            config_id = cursor.lastrowid
            for budget in _budgets_of(ctx, config):
                insert_budget(db, budget, "provider_config_id", config_id)
        else:
            config_id = config["id"]
            row = existing.get(config_id)
            if row is None:
                raise ApiError(500, f"provider config {config_id} does not belong to this virtual key")
            kept.add(config_id)
            rate_limit_id = row["rate_limit_id"]
            if "rate_limit" in config:
                update = replace_rate_limit if ctx.generation.rate_limit_update == "replace" else patch_rate_limit
                rate_limit_id = update(db, rate_limit_id, config["rate_limit"])
            db.execute(
                "UPDATE provider_configs SET provider = ?, weight = ?, allowed_models = ?, rate_limit_id = ?"
                " WHERE id = ?",
                (config.get("provider", ""), weight, models, rate_limit_id, config_id),
            )
            _update_config_budgets(ctx, db, config_id, config)
            db.execute("DELETE FROM provider_config_keys WHERE provider_config_id = ?", (config_id,))
        db.executemany(
            "INSERT OR IGNORE INTO provider_config_keys (provider_config_id, key_row_id) VALUES (?, ?)",
            [(config_id, key_row) for key_row in key_rows],
        )
    delete_provider_configs(db, [row for config_id, row in existing.items() if config_id not in kept])


def _budgets_of(ctx: Context, config: dict[str, Any]) -> list[dict[str, Any]]:
    if ctx.generation.owner_budgets == "array":
        budgets: list[dict[str, Any]] = config.get("budgets", [])
        return budgets
    return [config["budget"]] if "budget" in config else []


def _update_config_budgets(ctx: Context, db: sqlite3.Connection, config_id: int, config: dict[str, Any]) -> None:
    if ctx.generation.owner_budgets == "array":
        if "budgets" in config:
            reconcile_budgets(db, "provider_config_id", config_id, config["budgets"])
        return
    if "budget" not in config:
        return
    budget = config["budget"]
    existing = db.execute("SELECT * FROM budgets WHERE provider_config_id = ?", (config_id,)).fetchone()
    if existing is None:
        if "max_limit" not in budget or "reset_duration" not in budget:
            raise ApiError(500, "both max_limit and reset_duration are required when creating a new provider budget")
        if problem := budget_problem(budget, _PC_BUDGET):
            raise ApiError(500, problem)
        insert_budget(db, budget, "provider_config_id", config_id)
        return
    merged = {"max_limit": existing["max_limit"], "reset_duration": existing["reset_duration"], **budget}
    if problem := budget_problem(merged, _PC_BUDGET):
        raise ApiError(500, problem)
    patch_budget(db, existing["id"], budget)


def _key_rows(db: sqlite3.Connection, config: dict[str, Any]) -> list[int]:
    """The provider key rows a config references: ``key_ids`` by UUID, ``["*"]`` for all of the provider's."""
    key_ids: list[str] = config.get("key_ids", [])
    provider = config.get("provider", "")
    if not key_ids:
        return []
    if "*" in key_ids:
        return [row[0] for row in db.execute("SELECT id FROM keys WHERE provider = ? ORDER BY id", (provider,))]
    marks = ", ".join("?" * len(key_ids))
    rows = [row[0] for row in db.execute(f"SELECT id FROM keys WHERE key_id IN ({marks})", key_ids)]
    if len(rows) != len(key_ids):
        raise ApiError(500, f"some keys not found for provider {provider}: expected {len(key_ids)}, found {len(rows)}")
    return rows


def delete_provider_configs(db: sqlite3.Connection, rows: list[sqlite3.Row]) -> None:
    """Delete provider configs with their budgets, rate limits and key links."""
    for row in rows:
        delete_budgets_of(db, "provider_config_id", row["id"])
        delete_rate_limit(db, row["rate_limit_id"])
        db.execute("DELETE FROM provider_config_keys WHERE provider_config_id = ?", (row["id"],))
        db.execute("DELETE FROM provider_configs WHERE id = ?", (row["id"],))


def write_mcp_configs(db: sqlite3.Connection, vk_id: str, configs: list[dict[str, Any]]) -> None:
    """Make a virtual key's MCP configs match the desired set."""
    existing = {row[0] for row in db.execute("SELECT id FROM mcp_configs WHERE virtual_key_id = ?", (vk_id,))}
    kept: set[int] = set()
    for config in configs:
        name = config.get("mcp_client_name", "")
        client = db.execute("SELECT id FROM mcp_clients WHERE name = ?", (name,)).fetchone()
        if client is None:
            raise ApiError(500, "failed to get MCP client: record not found")
        tools = orjson.dumps(config.get("tools_to_execute", []))
        if "id" not in config:
            db.execute(
                "INSERT INTO mcp_configs (virtual_key_id, mcp_client_id, tools_to_execute) VALUES (?, ?, ?)",
                (vk_id, client[0], tools),
            )
            continue
        if config["id"] not in existing:
            raise ApiError(500, f"mcp config {config['id']} does not belong to this virtual key")
        kept.add(config["id"])
        db.execute(
            "UPDATE mcp_configs SET mcp_client_id = ?, tools_to_execute = ? WHERE id = ?",
            (client[0], tools, config["id"]),
        )
    for config_id in existing - kept:
        db.execute("DELETE FROM mcp_configs WHERE id = ?", (config_id,))
