"""``/api/governance/model-configs`` (v2): list, create, get, update, delete."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from ..context import Context, Request
from ..db import new_id, now
from ..decode import STR, decode_body
from ..errors import ApiError
from ..limits import (
    RATE_LIMIT,
    insert_budget,
    insert_rate_limit,
    rate_limit_problem,
    reconcile_budgets_by_id,
    replace_rate_limit,
)
from ..model_configs import (
    BUDGET_ITEM,
    RULE,
    SCOPES,
    StoreFailure,
    check_budget_items,
    delete_model_config,
    find_model_config,
    go_quote,
    insert_rule,
    model_configs_json,
    reconcile_rules,
    rule_problem,
    zero_limit_failure,
)

__all__ = [
    "create_model_config",
    "delete_model_config_route",
    "get_model_config",
    "list_model_configs",
    "update_model_config",
]

CREATE = {
    "model_name": STR,
    "provider": STR,
    "scope": STR,
    "scope_id": STR,
    "budgets": [BUDGET_ITEM],
    "rate_limit": RATE_LIMIT,
    "rate_limits": [RULE],
}
# Scope and scope id are the config's identity: an update ignores them, as Bifrost's request struct has neither.
UPDATE = {"model_name": STR, "provider": STR, "budgets": [BUDGET_ITEM], "rate_limit": RATE_LIMIT, "rate_limits": [RULE]}

_WORDING = "(must be a positive duration)"  # v2's words for a bad duration: model configs are v2's only
_DEFAULT_LIMIT = 25
_MAX_LIMIT = 100
_INTEGER = re.compile(r"[+-]?[0-9]+")
_FILTERS = ("search", "scope", "scope_id", "provider")


def list_model_configs(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/governance/model-configs: filters ``search scope scope_id provider``, paging ``limit offset``.

    Any of the six turns paging on (a non-numeric or negative value is a 400; the limit is clamped to
    1..100, 0 meaning 25). Without them every config is listed. ``from_memory=true`` lists the same configs
    with a lenient, unclamped ``limit``/``offset``, as Bifrost's in-memory path does.
    """
    query = request.query
    where: list[str] = []
    args: list[Any] = []
    if query.get("search"):
        where.append("instr(lower(model_name), lower(?)) > 0")
        args.append(query["search"])
    for column in ("scope", "scope_id", "provider"):
        if query.get(column):
            where.append(f"{column} = ?")
            args.append(query[column])
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    db = ctx.store.db
    sql = f"SELECT * FROM model_configs{clause} ORDER BY created_at, id"
    if query.get("from_memory") == "true":
        rows = db.execute(sql, args).fetchall()
        offset = min(_lenient(query.get("offset", ""), 0, minimum=0), len(rows))
        limit = _lenient(query.get("limit", ""), len(rows), minimum=1)
        page = rows[offset : offset + limit]
        return _list_answer(ctx, page, len(rows), limit, offset)
    if not (query.get("limit") or query.get("offset") or any(query.get(name) for name in _FILTERS)):
        rows = db.execute(sql, args).fetchall()
        return _list_answer(ctx, rows, len(rows), len(rows), 0)
    limit = _strict(query.get("limit", ""), "limit")
    offset = _strict(query.get("offset", ""), "offset")
    limit = _DEFAULT_LIMIT if limit == 0 else min(limit, _MAX_LIMIT)
    rows = db.execute(f"{sql} LIMIT ? OFFSET ?", (*args, limit, offset)).fetchall()
    total = db.execute(f"SELECT count(*) FROM model_configs{clause}", args).fetchone()[0]
    return _list_answer(ctx, rows, total, limit, offset)


def _strict(raw: str, name: str) -> int:
    if not raw:
        return 0
    # Go's strconv.Atoi: a sign and ASCII digits only, within 64 bits.
    if not _INTEGER.fullmatch(raw) or not -(2**63) <= int(raw) < 2**63:
        raise ApiError(400, f"Invalid {name} parameter: must be a number")
    value = int(raw)
    if value < 0:
        raise ApiError(400, f"Invalid {name} parameter: must be non-negative")
    return value


def _lenient(raw: str, default: int, *, minimum: int) -> int:
    if _INTEGER.fullmatch(raw) and minimum <= int(raw) < 2**63:
        return int(raw)
    return default


def _list_answer(ctx: Context, rows: list[sqlite3.Row], total: int, limit: int, offset: int) -> dict[str, Any]:
    configs = model_configs_json(ctx.store.db, ctx.generation, rows)
    return {"model_configs": configs, "count": len(configs), "total_count": total, "limit": limit, "offset": offset}


def get_model_config(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/governance/model-configs/{mc_id}."""
    return {"model_config": _json(ctx, _find(ctx, request.param))}


def create_model_config(ctx: Context, request: Request) -> dict[str, Any]:
    """POST /api/governance/model-configs."""
    body = decode_body(request.body, CREATE)
    db = ctx.store.db
    model_name = body.get("model_name", "")
    if not model_name:
        raise ApiError(400, "Model name is required")
    scope = body.get("scope") or "global"
    if scope not in SCOPES:
        raise ApiError(400, f"Invalid scope {go_quote(scope)}")
    scope_id = None if scope == "global" else body.get("scope_id")
    calendar_aligned = False
    if scope != "global":
        if not scope_id:
            raise ApiError(400, "scope_id is required when scope is not global")
        if scope == "virtual_key":
            key = db.execute("SELECT * FROM virtual_keys WHERE id = ?", (scope_id,)).fetchone()
            if key is None:
                raise ApiError(400, f"Virtual key '{scope_id}' not found")
            # A key-scoped config resets its budgets as the key does.
            calendar_aligned = bool(key["calendar_aligned"])
    provider = body.get("provider")
    if find_model_config(db, scope, scope_id, model_name, provider) is not None:
        where = "global" if scope == "global" else f"{scope} '{scope_id}'"
        with_provider = f" with provider '{provider}'" if provider is not None else ""
        raise ApiError(409, f"Model config for model '{model_name}'{with_provider} ({where}) already exists")
    if "rate_limit" in body and "rate_limits" in body:
        raise ApiError(400, "rate_limit and rate_limits cannot be used together")
    problem = rule_problem(body.get("rate_limits", []), allow_ids=False)
    if problem:
        raise ApiError(400, problem)
    check_budget_items(body.get("budgets", []), capitalised=True)
    try:
        with ctx.store.transaction() as db:
            config_id = _insert(db, body, model_name, provider, scope, scope_id, calendar_aligned)
            config = _json(ctx, _find(ctx, config_id))
    except sqlite3.IntegrityError:  # the budgets' CHECK (max_limit > 0)
        raise ApiError(500, f"Failed to create model config: {zero_limit_failure(body.get('budgets', []))}") from None
    except StoreFailure as failure:
        raise ApiError(500, f"Failed to create model config: {failure}") from None
    return {"message": "Model config created successfully", "model_config": config}


def _insert(
    db: sqlite3.Connection,
    body: dict[str, Any],
    model_name: str,
    provider: str | None,
    scope: str,
    scope_id: str | None,
    calendar_aligned: bool,
) -> str:
    rate_limit_id = None
    if "rate_limit" in body:
        problem = rate_limit_problem(body["rate_limit"], _WORDING)
        if problem:
            raise StoreFailure(problem)
        rate_limit_id = insert_rate_limit(db, body["rate_limit"])
    # Bifrost's row hooks: a name of spaces only, or an empty provider, fail as the row is saved.
    if not model_name.strip():
        raise StoreFailure("model_name cannot be empty")
    if provider is not None and not provider.strip():
        raise StoreFailure("provider cannot be an empty string")
    config_id = new_id()
    stamp = now()
    db.execute(
        "INSERT INTO model_configs (id, model_name, provider, scope, scope_id, calendar_aligned, rate_limit_id,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (config_id, model_name, provider, scope, scope_id, int(calendar_aligned), rate_limit_id, stamp, stamp),
    )
    for item in body.get("budgets", []):
        insert_budget(db, item, "model_config_id", config_id, calendar_aligned=calendar_aligned)
    for rule in body.get("rate_limits", []):
        insert_rule(db, config_id, rule)
    return config_id


def update_model_config(ctx: Context, request: Request) -> dict[str, Any]:
    """PUT /api/governance/model-configs/{mc_id}: ``budgets`` and ``rate_limits`` are full sets ([] removes all)."""
    body = decode_body(request.body, UPDATE)
    config = _find(ctx, request.param)
    if "rate_limit" in body and "rate_limits" in body:
        raise ApiError(400, "rate_limit and rate_limits cannot be used together")
    if "rate_limits" in body:
        problem = rule_problem(body["rate_limits"], allow_ids=True)
        if problem:
            raise ApiError(400, problem)
    try:
        with ctx.store.transaction() as db:
            _update(db, config, body)
            answer = _json(ctx, _find(ctx, config["id"]))
    except sqlite3.IntegrityError:  # the budgets' CHECK (max_limit > 0)
        raise ApiError(500, f"Failed to update model config: {zero_limit_failure(body.get('budgets', []))}") from None
    except StoreFailure as failure:
        raise ApiError(500, f"Failed to update model config: {failure}") from None
    return {"message": "Model config updated successfully", "model_config": answer}


def _update(db: sqlite3.Connection, config: sqlite3.Row, body: dict[str, Any]) -> None:
    model_name = body.get("model_name", config["model_name"])
    provider = body.get("provider", config["provider"])
    if (model_name, provider) != (config["model_name"], config["provider"]):
        twin = find_model_config(db, config["scope"], config["scope_id"], model_name, provider)
        if twin is not None:
            raise StoreFailure("already exists")  # the store's unique index on the config's identity
    if "budgets" in body:
        check_budget_items(body["budgets"], capitalised=False)
        calendar_aligned = bool(config["calendar_aligned"])
        reconcile_budgets_by_id(db, "model_config_id", config["id"], body["budgets"], calendar_aligned=calendar_aligned)
    rate_limit_id = config["rate_limit_id"]
    if "rate_limits" in body:
        reconcile_rules(db, config, body["rate_limits"])
        if rate_limit_id is not None:  # the rules replace the legacy paired rate limit
            db.execute("DELETE FROM rate_limits WHERE id = ?", (rate_limit_id,))
            rate_limit_id = None
    elif "rate_limit" in body:
        rate_limit = body["rate_limit"]
        if rate_limit.get("token_max_limit") is not None or rate_limit.get("request_max_limit") is not None:
            problem = rate_limit_problem(rate_limit, _WORDING)
            if problem:
                raise StoreFailure(problem)
        rate_limit_id = replace_rate_limit(db, rate_limit_id, rate_limit)
    if not model_name.strip():
        raise StoreFailure("model_name cannot be empty")
    if provider is not None and not provider.strip():
        raise StoreFailure("provider cannot be an empty string")
    db.execute(
        "UPDATE model_configs SET model_name = ?, provider = ?, rate_limit_id = ?, updated_at = ? WHERE id = ?",
        (model_name, provider, rate_limit_id, now(), config["id"]),
    )


def delete_model_config_route(ctx: Context, request: Request) -> dict[str, Any]:
    """DELETE /api/governance/model-configs/{mc_id}: the config with its budgets and rate limits."""
    config = _find(ctx, request.param)
    with ctx.store.transaction() as db:
        delete_model_config(db, config)
    return {"message": "Model config deleted successfully"}


def _find(ctx: Context, config_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = ctx.store.db.execute("SELECT * FROM model_configs WHERE id = ?", (config_id,)).fetchone()
    if row is None:
        raise ApiError(404, "Model config not found")
    return row


def _json(ctx: Context, row: sqlite3.Row) -> dict[str, Any]:
    return model_configs_json(ctx.store.db, ctx.generation, [row])[0]
