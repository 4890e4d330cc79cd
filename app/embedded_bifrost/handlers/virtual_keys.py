"""``/api/governance/virtual-keys``: list, create, get, update, delete.

The PUT trap, as in Bifrost v1.5: when a request sends neither ``team_id`` nor ``customer_id``, the key is
detached from both. Sending both is rejected.

Generations that match budgets by id (v2) list, create and update keys as :mod:`.key_list` and
:mod:`.key_writes` describe; reading and deleting are the same for all.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from ...generations import Feature
from ..context import Context, Request
from ..db import new_id, now
from ..decode import BOOL, STR, decode_body
from ..errors import ApiError
from ..limits import (
    BUDGET,
    RATE_LIMIT,
    budget_problem,
    check_budgets,
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
from ..model_configs import delete_model_config
from .key_list import list_keys
from .key_writes import create_key, update_key
from .pagination import list_page, page_of
from .vk_configs import (
    MCP_CONFIG,
    PROVIDER_CONFIG_CURRENT,
    PROVIDER_CONFIG_SEED,
    check_configs,
    delete_provider_configs,
    reject,
    write_mcp_configs,
    write_provider_configs,
)

__all__ = ["create_virtual_key", "delete_virtual_key", "get_virtual_key", "list_virtual_keys", "update_virtual_key"]

_COMMON = {
    "name": STR,
    "description": STR,
    "mcp_configs": [MCP_CONFIG],
    "team_id": STR,
    "customer_id": STR,
    "rate_limit": RATE_LIMIT,
    "is_active": BOOL,
}
BODY_SEED = {**_COMMON, "provider_configs": [PROVIDER_CONFIG_SEED], "budget": BUDGET}
BODY_CURRENT = {**_COMMON, "provider_configs": [PROVIDER_CONFIG_CURRENT], "budgets": [BUDGET]}

_SORT_COLUMNS = {
    "name": "name",
    "created_at": "created_at",
    "status": "is_active",
    "budget_spent": "(SELECT coalesce(sum(current_usage), 0) FROM budgets b WHERE b.virtual_key_id = virtual_keys.id)",
}
_DUPLICATE_NAME = "UNIQUE constraint failed: governance_virtual_keys.name"


def list_virtual_keys(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/governance/virtual-keys: filters, sorting and pagination."""
    if ctx.generation.has(Feature.KEY_LIST_PAGING):
        return list_keys(ctx, request)
    query = request.query
    page = page_of(query, strict=True)
    where: list[str] = []
    args: list[Any] = []
    for column in ("customer_id", "team_id"):
        if query.get(column):
            where.append(f"{column} = ?")
            args.append(query[column])
    if page is not None and page.search:
        where.append("instr(lower(name), lower(?)) > 0")
        args.append(page.search)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    direction = "DESC" if query.get("order", "").lower() == "desc" else "ASC"
    column = _SORT_COLUMNS.get(query.get("sort_by", ""), "created_at")
    return list_page(
        ctx.store.db,
        table="virtual_keys",
        key="virtual_keys",
        clause=clause,
        args=args,
        order=f"{column} {direction}, created_at {direction}, id {direction}",
        page=page,
        render=ctx.views.virtual_keys,
        unpaged_totals=ctx.generation.has(Feature.UNPAGED_LIST_TOTALS),
    )


def get_virtual_key(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/governance/virtual-keys/{vk_id}."""
    return {"virtual_key": ctx.views.virtual_key(_find(ctx, request.param))}


def create_virtual_key(ctx: Context, request: Request) -> dict[str, Any]:
    """POST /api/governance/virtual-keys: the value ``sk-bf-<uuid>`` is generated here."""
    if ctx.generation.has(Feature.BUDGET_IDS):
        return create_key(ctx, request)
    body = decode_body(request.body, _body_spec(ctx))
    if not body.get("name"):
        raise ApiError(400, "Virtual key name is required")
    _check(ctx, body, creating=True)
    vk_id = new_id()
    try:
        with ctx.store.transaction() as db:
            rate_limit = body.get("rate_limit")
            rate_limit_id = insert_rate_limit(db, rate_limit) if rate_limit is not None else None
            stamp = now()
            db.execute(
                "INSERT INTO virtual_keys (id, name, description, value, is_active, team_id, customer_id,"
                " rate_limit_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    vk_id,
                    body["name"],
                    body.get("description", ""),
                    f"sk-bf-{uuid.uuid4()}",
                    int(body.get("is_active", True)),
                    body.get("team_id"),
                    body.get("customer_id"),
                    rate_limit_id,
                    stamp,
                    stamp,
                ),
            )
            arrays = ctx.generation.owner_budgets == "array"
            budgets = body.get("budgets", []) if arrays else [body["budget"]] if "budget" in body else []
            for budget in budgets:
                insert_budget(db, budget, "virtual_key_id", vk_id)
            write_provider_configs(ctx, db, vk_id, body.get("provider_configs", []))
            write_mcp_configs(db, vk_id, body.get("mcp_configs", []))
            key = ctx.views.virtual_key(_find(ctx, vk_id))
    except sqlite3.IntegrityError as error:
        raise ApiError(500, _DUPLICATE_NAME if "name" in str(error) else str(error)) from None
    return {"message": "Virtual key created successfully", "virtual_key": key}


def update_virtual_key(ctx: Context, request: Request) -> dict[str, Any]:
    """PUT /api/governance/virtual-keys/{vk_id}: partial update with Bifrost's team/customer trap."""
    if ctx.generation.has(Feature.BUDGET_IDS):
        return update_key(ctx, request)
    body = decode_body(request.body, _body_spec(ctx))
    if "team_id" in body and "customer_id" in body:
        raise ApiError(400, "VirtualKey cannot be attached to both Team and Customer")
    row = _find(ctx, request.param)
    _check(ctx, body, creating=False)
    try:
        with ctx.store.transaction() as db:
            vk_id = row["id"]
            # The trap: Bifrost v1.5 clears both owners when neither is sent.
            team_id = body.get("team_id")
            customer_id = body.get("customer_id")
            rate_limit_id = row["rate_limit_id"]
            if ctx.generation.owner_budgets == "array":
                if "budgets" in body:
                    reconcile_budgets(db, "virtual_key_id", vk_id, body["budgets"])
            elif "budget" in body:
                _update_seed_budget(db, vk_id, body["budget"])
            if "rate_limit" in body:
                update = replace_rate_limit if ctx.generation.rate_limit_update == "replace" else patch_rate_limit
                rate_limit_id = update(db, rate_limit_id, body["rate_limit"])
            db.execute(
                "UPDATE virtual_keys SET name = ?, description = ?, is_active = ?, team_id = ?, customer_id = ?,"
                " rate_limit_id = ?, updated_at = ? WHERE id = ?",
                (
                    body.get("name", row["name"]),
                    body.get("description", row["description"]),
                    int(body.get("is_active", bool(row["is_active"]))),
                    team_id,
                    customer_id,
                    rate_limit_id,
                    now(),
                    vk_id,
                ),
            )
            if "provider_configs" in body:
                write_provider_configs(ctx, db, vk_id, body["provider_configs"])
            if "mcp_configs" in body:
                write_mcp_configs(db, vk_id, body["mcp_configs"])
            key = ctx.views.virtual_key(_find(ctx, vk_id))
    except sqlite3.IntegrityError as error:
        raise ApiError(500, _DUPLICATE_NAME if "name" in str(error) else str(error)) from None
    return {"message": "Virtual key updated successfully", "virtual_key": key}


def delete_virtual_key(ctx: Context, request: Request) -> dict[str, Any]:
    """DELETE /api/governance/virtual-keys/{vk_id}: with its configs, budgets and rate limit."""
    row = _find(ctx, request.param)
    with ctx.store.transaction() as db:
        configs = db.execute("SELECT * FROM provider_configs WHERE virtual_key_id = ?", (row["id"],)).fetchall()
        delete_provider_configs(db, configs)
        db.execute("DELETE FROM mcp_configs WHERE virtual_key_id = ?", (row["id"],))
        delete_budgets_of(db, "virtual_key_id", row["id"])
        delete_rate_limit(db, row["rate_limit_id"])
        # The key's model configs go with it (v2 keeps per-model limits there; older stores have none).
        scoped = "SELECT * FROM model_configs WHERE scope = 'virtual_key' AND scope_id = ?"
        for config in db.execute(scoped, (row["id"],)).fetchall():
            delete_model_config(db, config)
        db.execute("DELETE FROM virtual_keys WHERE id = ?", (row["id"],))
    return {"message": "Virtual key deleted successfully"}


def _check(ctx: Context, body: dict[str, Any], *, creating: bool) -> None:
    if "team_id" in body and "customer_id" in body:
        raise ApiError(400, "VirtualKey cannot be attached to both Team and Customer")
    check_configs(ctx, body)
    if ctx.generation.owner_budgets == "array":
        check_budgets(body.get("budgets", []))
    elif "budget" in body and (creating or body["budget"].keys() >= {"max_limit", "reset_duration"}):
        if problem := budget_problem(body["budget"]):
            raise ApiError(400, problem)
    if "rate_limit" in body and (problem := rate_limit_problem(body["rate_limit"])):
        raise reject(ctx, ctx.generation.rate_limit_problem_prefix + problem)


def _body_spec(ctx: Context) -> dict[str, Any]:
    """The key body of the generation served: ``budgets`` arrays or a single ``budget``."""
    return BODY_CURRENT if ctx.generation.owner_budgets == "array" else BODY_SEED


def _update_seed_budget(db: sqlite3.Connection, vk_id: str, budget: dict[str, Any]) -> None:
    existing = db.execute("SELECT * FROM budgets WHERE virtual_key_id = ?", (vk_id,)).fetchone()
    if existing is None:
        if "max_limit" not in budget or "reset_duration" not in budget:
            raise ApiError(500, "both max_limit and reset_duration are required when creating a new budget")
        insert_budget(db, budget, "virtual_key_id", vk_id)
        return
    merged = {"max_limit": existing["max_limit"], "reset_duration": existing["reset_duration"], **budget}
    if problem := budget_problem(merged):
        raise ApiError(500, problem)
    patch_budget(db, existing["id"], budget)


def _find(ctx: Context, vk_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = ctx.store.db.execute("SELECT * FROM virtual_keys WHERE id = ?", (vk_id,)).fetchone()
    if row is None:
        raise ApiError(404, "Virtual key not found")
    return row
