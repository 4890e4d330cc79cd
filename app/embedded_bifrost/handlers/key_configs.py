"""A key's provider configs and MCP configs as Bifrost v2 writes them, inside the key's transaction.

``provider_configs`` is the full set: an entry with an ``id`` updates that config (an id of another key's
config is refused), one without is created, configs left out are deleted with their budgets and rate limit.
Lists follow deny-by-default: ``allowed_models: ["*"]`` allows every model and ``[]`` none,
``blacklisted_models: ["*"]`` blocks every model and ``[]`` none, and ``key_ids: ["*"]`` sets
``allow_all_keys`` rather than naming keys. An updated config takes every field from the request (a
``weight`` left out becomes null) except ``budgets`` and ``rate_limit``, which stay when left out.

Every failure raises :class:`~app.embedded_bifrost.errors.ApiError` in Bifrost's words, without the
``Failed to update virtual key: `` prefix an update adds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from ..catalog import PROVIDERS
from ..decode import INT, NUM, STR
from ..errors import ApiError
from ..limits import (
    RATE_LIMIT,
    check_budgets,
    insert_rate_limit,
    rate_limit_problem,
    reconcile_budgets_by_id,
    replace_rate_limit,
)
from .vk_configs import delete_provider_configs

__all__ = [
    "BUDGET_ITEM",
    "MCP_CONFIG",
    "PROVIDER_CONFIG",
    "check_rate_limit",
    "reconcile_key_budgets",
    "write_mcp_configs",
    "write_provider_configs",
]

BUDGET_ITEM = {"id": STR, "max_limit": NUM, "reset_duration": STR}
PROVIDER_CONFIG = {
    "id": INT,
    "provider": STR,
    "weight": NUM,
    "allowed_models": [STR],
    "blacklisted_models": [STR],
    "budgets": [BUDGET_ITEM],
    "rate_limit": RATE_LIMIT,
    "key_ids": [STR],
}
MCP_CONFIG = {"id": INT, "mcp_client_name": STR, "tools_to_execute": [STR]}


def reconcile_key_budgets(
    db: sqlite3.Connection,
    owner: str,
    owner_id: Any,
    wanted: Sequence[dict[str, Any]],
    *,
    calendar_aligned: bool = False,
    reset_usage: bool = False,
) -> None:
    """A key's (or its provider config's) budgets made the wanted set, checked already by ``check_budgets``.

    Raises:
        ApiError: 400 for an id the owner lacks; 500 ``budget max limit cannot be negative or zero: N`` for a
            zero limit, which Bifrost finds only when it saves the row.
    """
    try:
        reconcile_budgets_by_id(
            db, owner, owner_id, list(wanted), calendar_aligned=calendar_aligned, reset_usage=reset_usage
        )
    except sqlite3.IntegrityError:
        zero = next(budget.get("max_limit", 0.0) for budget in wanted if budget.get("max_limit", 0.0) <= 0)
        raise ApiError(500, f"budget max limit cannot be negative or zero: {zero:.2f}") from None


def check_rate_limit(rate_limit: dict[str, Any]) -> None:
    """Refuse a rate limit as Bifrost does when it saves one: 500 with the bare problem."""
    if problem := rate_limit_problem(rate_limit):
        raise ApiError(500, problem)


def _list_problem(values: Sequence[str], kind: str) -> str | None:
    """Bifrost's ``WhiteList``/``BlackList`` check: ``*`` stands alone, no value twice (case-insensitively)."""
    if "*" in values and len(values) > 1:
        return f"wildcard '*' cannot be used with other values in the {kind}"
    seen: set[str] = set()
    for value in values:
        if value.lower() in seen:
            return f"duplicate value '{value}' in {kind}"
        seen.add(value.lower())
    return None


def _checked_provider(config: dict[str, Any]) -> str:
    """The config's provider after Bifrost's checks of its name and lists (400 when one fails)."""
    raw = config.get("provider", "")
    provider = raw.strip()
    if not provider:
        raise ApiError(400, "provider name is required")
    if provider not in PROVIDERS:
        raise ApiError(400, f"invalid provider name: {raw}")
    for field, kind in (("allowed_models", "whitelist"), ("blacklisted_models", "blacklist"), ("key_ids", "whitelist")):
        if problem := _list_problem(config.get(field, []), kind):
            raise ApiError(400, f"invalid {field} for provider {raw}: {problem}")
    return provider


def _keys(db: sqlite3.Connection, config: dict[str, Any]) -> tuple[bool, list[int]]:
    """``(allow_all_keys, key rows)`` of a config: ``["*"]`` allows all, other ids must all exist (else 500)."""
    key_ids: list[str] = config.get("key_ids", [])
    if key_ids == ["*"]:
        return True, []
    if not key_ids:
        return False, []
    marks = ", ".join("?" * len(key_ids))
    rows = [row[0] for row in db.execute(f"SELECT id FROM keys WHERE key_id IN ({marks})", key_ids)]
    if len(rows) != len(key_ids):
        provider = config.get("provider", "")
        raise ApiError(500, f"some keys not found for provider {provider}: expected {len(key_ids)}, found {len(rows)}")
    return False, rows


def write_provider_configs(
    db: sqlite3.Connection,
    vk_id: str,
    configs: Sequence[dict[str, Any]],
    *,
    wording: str,
    calendar_aligned: bool = False,
) -> None:
    """Make a key's provider configs the given set (a new key: every entry is created).

    ``wording`` is the generation's ``bad_duration_wording``; ``calendar_aligned`` the key's.
    """
    existing = {
        row["id"]: row for row in db.execute("SELECT * FROM provider_configs WHERE virtual_key_id = ?", (vk_id,))
    }
    kept: set[int] = set()
    for config in configs:
        provider = _checked_provider(config)
        config_id = config.get("id")
        if config_id is not None and config_id not in existing:
            raise ApiError(500, f"provider config {config_id} does not belong to this virtual key")
        allow_all_keys, key_rows = _keys(db, config)
        columns = (
            provider,
            config.get("weight"),
            orjson.dumps(config.get("allowed_models", [])).decode(),
            orjson.dumps(config.get("blacklisted_models", [])).decode(),
            int(allow_all_keys),
        )
        if config_id is None:
            cursor = db.execute(
                "INSERT INTO provider_configs (virtual_key_id, provider, weight, allowed_models, blacklisted_models,"
                " allow_all_keys) VALUES (?, ?, ?, ?, ?, ?)",
                (vk_id, *columns),
            )
            assert cursor.lastrowid is not None  # an INSERT into a rowid table always sets it
            config_id = cursor.lastrowid
            rate_limit_id = None
            if "rate_limit" in config:
                check_rate_limit(config["rate_limit"])
                rate_limit_id = insert_rate_limit(db, config["rate_limit"])
            budgets_sent = True
        else:
            rate_limit_id = existing[config_id]["rate_limit_id"]
            if "rate_limit" in config:
                rate_limit_id = _replaced_rate_limit(db, rate_limit_id, config["rate_limit"])
            budgets_sent = "budgets" in config
            db.execute("DELETE FROM provider_config_keys WHERE provider_config_id = ?", (config_id,))
        kept.add(config_id)
        db.execute(
            "UPDATE provider_configs SET provider = ?, weight = ?, allowed_models = ?, blacklisted_models = ?,"
            " allow_all_keys = ?, rate_limit_id = ? WHERE id = ?",
            (*columns, rate_limit_id, config_id),
        )
        db.executemany(
            "INSERT OR IGNORE INTO provider_config_keys (provider_config_id, key_row_id) VALUES (?, ?)",
            [(config_id, key_row) for key_row in key_rows],
        )
        if budgets_sent:
            budgets = config.get("budgets", [])
            check_budgets(budgets, wording)
            reconcile_key_budgets(db, "provider_config_id", config_id, budgets, calendar_aligned=calendar_aligned)
    delete_provider_configs(db, [row for config_id, row in existing.items() if config_id not in kept])


def _replaced_rate_limit(db: sqlite3.Connection, rate_limit_id: str | None, rate_limit: dict[str, Any]) -> str | None:
    """An owner's rate limit after an update: both max limits null removes it, else all four fields are set."""
    if rate_limit.get("token_max_limit") is not None or rate_limit.get("request_max_limit") is not None:
        check_rate_limit(rate_limit)
    return replace_rate_limit(db, rate_limit_id, rate_limit)


def write_mcp_configs(db: sqlite3.Connection, vk_id: str, configs: Sequence[dict[str, Any]]) -> None:
    """Make a key's MCP configs the given set."""
    names: set[str] = set()
    for config in configs:
        name = config.get("mcp_client_name", "")
        if name in names:
            raise ApiError(400, f"duplicate mcp_client_name: {name}")
        names.add(name)
    existing = {row[0] for row in db.execute("SELECT id FROM mcp_configs WHERE virtual_key_id = ?", (vk_id,))}
    kept: set[int] = set()
    for config in configs:
        name = config.get("mcp_client_name", "")
        tools = config.get("tools_to_execute", [])
        if problem := _list_problem(tools, "whitelist"):
            raise ApiError(400, f"invalid tools_to_execute for mcp client {name}: {problem}")
        tools_json = orjson.dumps(tools).decode()
        config_id = config.get("id")
        if config_id is None:
            client = db.execute("SELECT id FROM mcp_clients WHERE name = ?", (name,)).fetchone()
            if client is None:
                raise ApiError(500, "failed to get MCP client: record not found")
            db.execute(
                "INSERT INTO mcp_configs (virtual_key_id, mcp_client_id, tools_to_execute) VALUES (?, ?, ?)",
                (vk_id, client[0], tools_json),
            )
            continue
        if config_id not in existing:
            raise ApiError(500, f"MCP config {config_id} does not belong to this virtual key")
        kept.add(config_id)
        db.execute("UPDATE mcp_configs SET tools_to_execute = ? WHERE id = ?", (tools_json, config_id))
    for config_id in existing - kept:
        db.execute("DELETE FROM mcp_configs WHERE id = ?", (config_id,))
