"""Model configs (v2): governance per model, per provider or for all models, globally or for one virtual key.

A model config owns budgets (``budgets.model_config_id``), single-metric rate-limit rules
(``rate_limits.model_config_id``, ``metric`` ``tokens`` or ``requests`` with only that metric's pair of
fields) and, from older clients, one paired ``rate_limit``. Provider governance is a model config too: scope
``global``, ``model_name`` ``"*"`` and a provider (see :mod:`.handlers.provider_governance`).

This module holds what the model-config and provider-governance handlers share: the checks of budget items
(those of :mod:`.limits`, with the texts Bifrost uses here), the rules and their reconciliation on update (by
``id``, else by metric and window), and the JSON. Budgets are written with :mod:`.limits` like any owner's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import orjson

from ..generations import Generation
from .db import new_id, now
from .decode import INT, NUM, STR
from .durations import parse_duration
from .errors import ApiError
from .limits import check_budgets
from .relations import grouped
from .serialize import budget_json, rate_limit_json

__all__ = [
    "ALL_MODELS",
    "BUDGET_ITEM",
    "RULE",
    "SCOPES",
    "StoreFailure",
    "check_budget_items",
    "delete_model_config",
    "find_model_config",
    "go_quote",
    "insert_rule",
    "model_configs_json",
    "provider_governance_json",
    "reconcile_rules",
    "rule_problem",
    "zero_limit_failure",
]

JSON = dict[str, Any]
Row = sqlite3.Row

ALL_MODELS = "*"  # the model name of a config governing every model of its provider (or of all providers)
SCOPES = ("global", "virtual_key", "user")
BUDGET_ITEM = {"id": STR, "max_limit": NUM, "reset_duration": STR}
RULE = {"id": STR, "metric": STR, "max_limit": INT, "reset_duration": STR}
_KIND = {"tokens": "token", "requests": "request"}  # metric -> the rate_limits column prefix it fills
_IN = "IN (SELECT value FROM json_each(?))"


class StoreFailure(Exception):
    """A failure Bifrost's store reports inside the transaction: the handler answers 500 with its prefix.

    Example:
        >>> str(StoreFailure("budget max limit cannot be negative or zero: 0.00"))
        'budget max limit cannot be negative or zero: 0.00'
    """


def go_quote(text: str) -> str:
    """``text`` as Go's ``%q`` prints it, for printable text.

    Example:
        >>> go_quote('team "a"')
        '"team \\\\"a\\\\""'
    """
    return orjson.dumps(text).decode()


def find_model_config(
    db: sqlite3.Connection, scope: str, scope_id: str | None, model_name: str, provider: str | None
) -> Row | None:
    """The config with this identity (scope, scope id, model name, provider), or None."""
    row: Row | None = db.execute(
        "SELECT * FROM model_configs WHERE scope = ? AND scope_id IS ? AND model_name = ? AND provider IS ?",
        (scope, scope_id, model_name, provider),
    ).fetchone()
    return row


# Budgets


def check_budget_items(items: list[JSON], *, capitalised: bool) -> None:
    """Validate a ``budgets`` array: a negative limit, a bad duration or a duration given twice is a 400.

    Creation answers Bifrost's capitalised texts, updates the lower-case ones.
    """
    try:
        check_budgets(items, wording="(must be a positive duration)")
    except ApiError as error:
        if not capitalised:
            raise
        raise ApiError(400, error.message[0].upper() + error.message[1:]) from None


def zero_limit_failure(items: list[JSON]) -> StoreFailure:
    """What Bifrost's store says of a budget limit of 0, which passes the request checks but not the row's."""
    max_limit = next((item.get("max_limit", 0.0) for item in items if item.get("max_limit", 0.0) <= 0), 0.0)
    return StoreFailure(f"budget max limit cannot be negative or zero: {max_limit:.2f}")


# Rate-limit rules


def _rule_key(metric: str, duration: str) -> tuple[str, float | str]:
    # Durations compare parsed: "60s" and "1m" are the same window.
    seconds = parse_duration(duration)
    return (metric, seconds if seconds is not None else duration)


def rule_problem(rules: list[JSON], *, allow_ids: bool) -> str | None:
    """The first problem of a ``rate_limits`` array, in Bifrost's words, or None."""
    seen: set[tuple[str, float | str]] = set()
    for rule in rules:
        metric = rule.get("metric", "")
        duration = rule.get("reset_duration", "")
        if metric not in _KIND:
            return f"invalid model rate limit metric {go_quote(metric)}"
        if rule.get("max_limit", 0) <= 0:
            return "model rate limit max_limit must be greater than zero"
        if parse_duration(duration) is None:
            return f"invalid model rate limit reset_duration (must be a positive duration): {duration}"
        if not allow_ids and rule.get("id"):
            return "rate limit id cannot be supplied when creating a model config"
        key = _rule_key(metric, duration)
        if key in seen:
            return f"duplicate model rate limit rule: {metric} with reset_duration {duration}"
        seen.add(key)
    return None


def insert_rule(db: sqlite3.Connection, model_config_id: str, rule: JSON, usage: tuple[int, str] | None = None) -> None:
    """Insert one rule of a model config; ``usage`` (count, last reset) carries a legacy counter over."""
    kind = _KIND[rule["metric"]]
    stamp = now()
    count, last_reset = usage if usage is not None else (0, stamp)
    db.execute(
        f"INSERT INTO rate_limits (id, model_config_id, metric, {kind}_max_limit, {kind}_reset_duration,"
        f" {kind}_current_usage, token_last_reset, request_last_reset, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (new_id(), model_config_id, rule["metric"], rule["max_limit"], rule["reset_duration"], count,
         last_reset if kind == "token" else stamp, last_reset if kind == "request" else stamp, stamp, stamp),
    )  # fmt: skip


def _rule_duration(row: Row) -> str | None:
    kind = _KIND.get(row["metric"] or "")
    return None if kind is None else row[f"{kind}_reset_duration"]


def reconcile_rules(db: sqlite3.Connection, config: Row, rules: list[JSON]) -> None:
    """Make a model config's rules the given set (``rules`` already validated).

    An item with an ``id`` updates that rule (a foreign id is a 400); one without matches the rule of the same
    metric and window. A matched rule keeps its usage only when neither metric nor window changed. A new rule
    takes the usage of the config's legacy paired rate limit when that has the same metric and window.
    """
    existing = db.execute(
        "SELECT * FROM rate_limits WHERE model_config_id = ? ORDER BY created_at, id", (config["id"],)
    ).fetchall()
    claimed = {rule["id"] for rule in rules if rule.get("id")}
    by_id = {row["id"]: row for row in existing}
    by_key: dict[tuple[str, float | str], Row] = {}
    for row in existing:
        duration = _rule_duration(row)
        if row["id"] not in claimed and duration:
            by_key[_rule_key(row["metric"], duration)] = row
    legacy = None
    if config["rate_limit_id"] is not None:
        legacy = db.execute("SELECT * FROM rate_limits WHERE id = ?", (config["rate_limit_id"],)).fetchone()
    kept: set[str] = set()
    for rule in rules:
        key = _rule_key(rule["metric"], rule["reset_duration"])
        if rule.get("id"):
            row = by_id.pop(rule["id"], None)
            if row is None:
                raise ApiError(400, f"rate limit {rule['id']} does not belong to this model config")
            duration = _rule_duration(row)
            if duration:
                by_key.pop(_rule_key(row["metric"], duration), None)
        else:
            row = by_key.pop(key, None)
            if row is not None:
                by_id.pop(row["id"], None)
        if row is None:
            insert_rule(db, config["id"], rule, _legacy_usage(legacy, rule, key))
            continue
        _update_rule(db, row, rule, key)
        kept.add(row["id"])
    for row in existing:
        if row["id"] not in kept:
            db.execute("DELETE FROM rate_limits WHERE id = ?", (row["id"],))


def _update_rule(db: sqlite3.Connection, row: Row, rule: JSON, key: tuple[str, float | str]) -> None:
    kind = _KIND[rule["metric"]]
    other = "request" if kind == "token" else "token"
    duration = _rule_duration(row)
    unchanged = row["metric"] == rule["metric"] and duration is not None and _rule_key(row["metric"], duration) == key
    stamp = now()
    usage = "" if unchanged else f", {kind}_current_usage = 0, {kind}_last_reset = '{stamp}'"
    db.execute(
        f"UPDATE rate_limits SET metric = ?, {kind}_max_limit = ?, {kind}_reset_duration = ?,"
        f" {other}_max_limit = NULL, {other}_reset_duration = NULL{usage}, updated_at = ? WHERE id = ?",
        (rule["metric"], rule["max_limit"], rule["reset_duration"], stamp, row["id"]),
    )


def _legacy_usage(legacy: Row | None, rule: JSON, key: tuple[str, float | str]) -> tuple[int, str] | None:
    if legacy is None:
        return None
    kind = _KIND[rule["metric"]]
    duration = legacy[f"{kind}_reset_duration"]
    if legacy[f"{kind}_max_limit"] is None or duration is None or _rule_key(rule["metric"], duration) != key:
        return None
    return legacy[f"{kind}_current_usage"], legacy[f"{kind}_last_reset"]


def delete_model_config(db: sqlite3.Connection, config: Row) -> None:
    """Delete a model config with its budgets, rules and legacy rate limit."""
    db.execute("DELETE FROM budgets WHERE model_config_id = ?", (config["id"],))
    db.execute("DELETE FROM rate_limits WHERE model_config_id = ?", (config["id"],))
    if config["rate_limit_id"] is not None:
        db.execute("DELETE FROM rate_limits WHERE id = ?", (config["rate_limit_id"],))
    db.execute("DELETE FROM model_configs WHERE id = ?", (config["id"],))


# JSON


def _ids(ids: Iterable[Any]) -> str:
    return orjson.dumps(list(ids)).decode()


class _Relations:
    """The budgets, rules, legacy rate limits and scope names of a page of configs, one query each."""

    def __init__(self, db: sqlite3.Connection, rows: list[Row]) -> None:
        ids = _ids(row["id"] for row in rows)
        self.budgets = grouped(
            db.execute(f"SELECT * FROM budgets WHERE model_config_id {_IN} ORDER BY created_at, id", (ids,)),
            "model_config_id",
        )
        self.rules = grouped(
            db.execute(f"SELECT * FROM rate_limits WHERE model_config_id {_IN} ORDER BY created_at, id", (ids,)),
            "model_config_id",
        )
        legacy = [row["rate_limit_id"] for row in rows if row["rate_limit_id"] is not None]
        self.rate_limits = {
            row["id"]: row for row in db.execute(f"SELECT * FROM rate_limits WHERE id {_IN}", (_ids(legacy),))
        }
        keys = [row["scope_id"] for row in rows if row["scope"] == "virtual_key" and row["scope_id"] is not None]
        self.key_names = {
            row["id"]: row["name"]
            for row in db.execute(f"SELECT id, name FROM virtual_keys WHERE id {_IN}", (_ids(keys),))
        }


def model_configs_json(db: sqlite3.Connection, generation: Generation, rows: list[Row]) -> list[JSON]:
    """Model configs as Bifrost's ``TableModelConfig`` serialises them, relations preloaded.

    ``provider``, ``scope_id``, ``rate_limit_id``, ``scope_name`` (the virtual key's name for that scope),
    ``budgets``, ``rate_limit`` and ``rate_limits`` are left out when empty.
    """
    if not rows:
        return []
    relations = _Relations(db, rows)
    out = []
    for row in rows:
        config: JSON = {"id": row["id"], "model_name": row["model_name"]}
        if row["provider"] is not None:
            config["provider"] = row["provider"]
        config["scope"] = row["scope"]
        if row["scope_id"] is not None:
            config["scope_id"] = row["scope_id"]
        config["calendar_aligned"] = bool(row["calendar_aligned"])
        if row["rate_limit_id"] is not None:
            config["rate_limit_id"] = row["rate_limit_id"]
        name = relations.key_names.get(row["scope_id"]) if row["scope"] == "virtual_key" else None
        if name:
            config["scope_name"] = name
        budgets = relations.budgets.get(row["id"])
        if budgets:
            config["budgets"] = [budget_json(budget, generation) for budget in budgets]
        legacy = relations.rate_limits.get(row["rate_limit_id"])
        if legacy is not None:
            config["rate_limit"] = rate_limit_json(legacy)
        rules = relations.rules.get(row["id"])
        if rules:
            config["rate_limits"] = [rate_limit_json(rule) for rule in rules]
        config["config_hash"] = row["config_hash"]
        config["created_at"] = row["created_at"]
        config["updated_at"] = row["updated_at"]
        out.append(config)
    return out


def provider_governance_json(db: sqlite3.Connection, generation: Generation, rows: list[Row]) -> list[JSON]:
    """Provider governance entries (``{provider, budget?, budgets?, rate_limit?, calendar_aligned}``).

    ``budget`` is the first of ``budgets``, for clients of the deprecated single-budget field.
    """
    out = []
    for config in model_configs_json(db, generation, rows):
        entry: JSON = {"provider": config["provider"]}
        budgets = config.get("budgets")
        if budgets:
            entry["budget"] = budgets[0]
            entry["budgets"] = budgets
        if "rate_limit" in config:
            entry["rate_limit"] = config["rate_limit"]
        entry["calendar_aligned"] = config["calendar_aligned"]
        out.append(entry)
    return out
