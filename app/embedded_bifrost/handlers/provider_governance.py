"""``/api/governance/providers`` (v2): governance of every model of one provider.

Stored as Bifrost stores it: a global model config with ``model_name`` ``"*"`` and the provider, so it also
appears in the model-config list. A PUT that leaves no budget and no rate limit deletes that config.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from ..context import Context, Request
from ..db import new_id, now
from ..decode import BOOL, NUM, STR, decode_body
from ..errors import ApiError
from ..limits import RATE_LIMIT, rate_limit_problem, reconcile_budgets_by_id, replace_rate_limit, snap_to_calendar
from ..model_configs import (
    ALL_MODELS,
    BUDGET_ITEM,
    StoreFailure,
    check_budget_items,
    delete_model_config,
    find_model_config,
    provider_governance_json,
    zero_limit_failure,
)

__all__ = ["delete_provider_governance", "list_provider_governance", "update_provider_governance"]

UPDATE = {
    "budget": {"max_limit": NUM, "reset_duration": STR},  # deprecated: one budget
    "budgets": [BUDGET_ITEM],
    "rate_limit": RATE_LIMIT,
    "calendar_aligned": BOOL,
}
# A percent sign that Go's url.PathUnescape would refuse (not followed by two hex digits).
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def list_provider_governance(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/governance/providers: ``providers`` is ``null`` when no provider has governance."""
    rows = ctx.store.db.execute(
        "SELECT * FROM model_configs WHERE scope = 'global' AND model_name = ? AND provider IS NOT NULL"
        " ORDER BY created_at, id",
        (ALL_MODELS,),
    ).fetchall()
    providers = provider_governance_json(ctx.store.db, ctx.generation, rows)
    return {"providers": providers or None, "count": len(providers)}


def update_provider_governance(ctx: Context, request: Request) -> dict[str, Any]:
    """PUT /api/governance/providers/{provider_name}: ``{budget? | budgets?, rate_limit?, calendar_aligned?}``.

    ``budgets`` is the full set (``[]`` removes all); the deprecated ``budget`` edits the single budget
    (``{}`` removes it); a ``rate_limit`` with no field set removes it.
    """
    provider = _provider_name(request)
    body = decode_body(request.body, UPDATE)
    if "budget" in body and "budgets" in body:
        raise ApiError(400, "only one of 'budget' or 'budgets' may be set")
    db = ctx.store.db
    if db.execute("SELECT 1 FROM providers WHERE name = ?", (provider,)).fetchone() is None:
        raise ApiError(404, "Provider not found")
    try:
        with ctx.store.transaction() as db:
            config_id = _apply(db, provider, body)
            rows = db.execute("SELECT * FROM model_configs WHERE id = ?", (config_id,)).fetchall()
            entries = provider_governance_json(db, ctx.generation, rows)
    except sqlite3.IntegrityError:  # the budgets' CHECK (max_limit > 0)
        failure = zero_limit_failure(body.get("budgets") or [body.get("budget", {})])
        raise ApiError(500, f"Failed to update provider governance: {failure}") from None
    except StoreFailure as failure:
        raise ApiError(500, f"Failed to update provider governance: {failure}") from None
    entry = entries[0] if entries else {"provider": provider, "calendar_aligned": False}
    return {"message": "Provider governance updated successfully", "provider": entry}


def _apply(db: sqlite3.Connection, provider: str, body: dict[str, Any]) -> str | None:
    """Write the provider's governance; the backing config's id, or None when none is left."""
    config = find_model_config(db, "global", None, ALL_MODELS, provider)
    budgets = (
        db.execute(
            "SELECT * FROM budgets WHERE model_config_id = ? ORDER BY created_at, id", (config["id"],)
        ).fetchall()
        if config is not None
        else []
    )
    calendar_aligned = bool(config["calendar_aligned"]) if config is not None else False
    calendar_aligned = body.get("calendar_aligned", calendar_aligned)
    rate_limit_id = config["rate_limit_id"] if config is not None else None
    if "rate_limit" in body:
        rate_limit = body["rate_limit"]
        if any(rate_limit.get(field) is not None for field in _RATE_LIMIT_FIELDS):
            problem = rate_limit_problem(rate_limit, "(must be a positive duration)")
            if problem:
                raise StoreFailure(problem)
            rate_limit_id = replace_rate_limit(db, rate_limit_id, rate_limit)
        elif rate_limit_id is not None:
            db.execute("DELETE FROM rate_limits WHERE id = ?", (rate_limit_id,))
            rate_limit_id = None
    wanted = _wanted_budgets(body, budgets)
    rules = (
        config is not None
        and db.execute("SELECT 1 FROM rate_limits WHERE model_config_id = ? LIMIT 1", (config["id"],)).fetchone()
        is not None
    )
    keeps_budgets = bool(budgets) if wanted is None else bool(wanted)
    if rate_limit_id is None and not rules and not keeps_budgets:
        if config is not None:
            delete_model_config(db, config)
        return None
    stamp = now()
    if config is None:
        config_id = new_id()
        db.execute(
            "INSERT INTO model_configs (id, model_name, provider, scope, calendar_aligned, rate_limit_id,"
            " created_at, updated_at) VALUES (?, ?, ?, 'global', ?, ?, ?, ?)",
            (config_id, ALL_MODELS, provider, int(calendar_aligned), rate_limit_id, stamp, stamp),
        )
    else:
        config_id = config["id"]
        db.execute(
            "UPDATE model_configs SET calendar_aligned = ?, rate_limit_id = ?, updated_at = ? WHERE id = ?",
            (int(calendar_aligned), rate_limit_id, stamp, config_id),
        )
    if wanted is not None:
        check_budget_items(wanted, capitalised=False)
        reconcile_budgets_by_id(db, "model_config_id", config_id, wanted, calendar_aligned=calendar_aligned)
    if calendar_aligned and not (config is not None and config["calendar_aligned"]):
        # Turning calendar alignment on starts the current windows afresh, rules' too.
        snap_to_calendar(db, "model_config_id", config_id, rate_limit_id)
        for (rule_id,) in db.execute("SELECT id FROM rate_limits WHERE model_config_id = ?", (config_id,)).fetchall():
            snap_to_calendar(db, "model_config_id", None, rule_id)
    return config_id


_RATE_LIMIT_FIELDS = ("token_max_limit", "token_reset_duration", "request_max_limit", "request_reset_duration")


def _wanted_budgets(body: dict[str, Any], existing: list[sqlite3.Row]) -> list[dict[str, Any]] | None:
    """The full budget set asked for, or None to leave the budgets as they are."""
    if "budgets" in body:
        wanted: list[dict[str, Any]] = body["budgets"]
        return wanted
    if "budget" not in body:
        return None
    budget = body["budget"]
    if len(existing) > 1:
        raise ApiError(
            400, "deprecated 'budget' field cannot be used when multiple budgets already exist; use 'budgets'"
        )
    if "max_limit" not in budget and "reset_duration" not in budget:
        return []
    item: dict[str, Any] = {}
    if existing:
        current = existing[0]
        item = {"id": current["id"], "max_limit": current["max_limit"], "reset_duration": current["reset_duration"]}
    item.update(budget)
    if not item.get("max_limit") or not item.get("reset_duration"):
        raise ApiError(400, "both max_limit and reset_duration are required when creating a new budget")
    return [item]


def delete_provider_governance(ctx: Context, request: Request) -> dict[str, Any]:
    """DELETE /api/governance/providers/{provider_name}: idempotent, whether or not the provider exists."""
    provider = _provider_name(request)
    with ctx.store.transaction() as db:
        config = find_model_config(db, "global", None, ALL_MODELS, provider)
        if config is not None:
            delete_model_config(db, config)
    return {"message": "Provider governance deleted successfully"}


def _provider_name(request: Request) -> str:
    # Bifrost unescapes the raw path segment itself; the path here is already decoded once, so only an escape
    # that unescaping would refuse remains to be answered.
    if _BAD_ESCAPE.search(request.param):
        raise ApiError(400, "Invalid provider name encoding")
    return request.param
