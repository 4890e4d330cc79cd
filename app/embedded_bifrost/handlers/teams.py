"""``/api/governance/teams``: list, create, get, update, delete.

From v2 on a team is ``calendar_aligned`` or not: its new budgets then start at the calendar period, and
turning it on starts every window afresh there (usage zeroed). Team budgets are matched by ``reset_duration``
only, in every generation.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ...generations import Feature, Generation
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
    is_unique_violation,
    patch_budget,
    rate_limit_problem,
    reconcile_budgets,
    replace_rate_limit,
    snap_to_calendar,
)
from .pagination import list_page, page_of

__all__ = ["create_team", "delete_team", "get_team", "list_teams", "update_team"]

CREATE_SEED = {"name": STR, "customer_id": STR, "budget": BUDGET}
CREATE_CURRENT = {
    "name": STR,
    "customer_id": STR,
    "budgets": [BUDGET],
    "rate_limit": RATE_LIMIT,
    "calendar_aligned": BOOL,
}
UPDATE_SEED = {"name": STR, "customer_id": STR, "budget": BUDGET}
UPDATE_CURRENT = {"name": STR, "customer_id": STR, "budgets": [BUDGET], "rate_limit": RATE_LIMIT}
UPDATE_CALENDAR = {**UPDATE_CURRENT, "calendar_aligned": BOOL}

_INSERT = (
    "INSERT INTO teams (id, name, customer_id, rate_limit_id, calendar_aligned, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def list_teams(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/governance/teams: filter ``customer_id``, pagination ``limit``/``offset``/``search``."""
    query = request.query
    page = page_of(query)
    where: list[str] = []
    args: list[Any] = []
    if query.get("customer_id"):
        where.append("customer_id = ?")
        args.append(query["customer_id"])
    if page is not None and page.search:
        where.append("instr(lower(name), lower(?)) > 0")
        args.append(page.search)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return list_page(
        ctx.store.db,
        table="teams",
        key="teams",
        clause=clause,
        args=args,
        order="created_at, id",
        page=page,
        render=ctx.views.teams,
        unpaged_totals=ctx.generation.has(Feature.UNPAGED_LIST_TOTALS),
    )


def get_team(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/governance/teams/{team_id}."""
    return {"team": ctx.views.team(_find(ctx, request.param))}


def create_team(ctx: Context, request: Request) -> dict[str, Any]:
    """POST /api/governance/teams."""
    arrays = ctx.generation.owner_budgets == "array"
    body = decode_body(request.body, CREATE_CURRENT if arrays else CREATE_SEED)
    if not body.get("name"):
        raise ApiError(400, "Team name is required")
    if arrays:
        budgets = body.get("budgets", [])
        wording = ctx.generation.bad_duration_wording
        check_budgets(budgets, wording)
        rate_limit = body.get("rate_limit")
        if rate_limit is not None and (problem := rate_limit_problem(rate_limit, wording)):
            raise ApiError(400, f"Invalid rate limit: {problem}")
    else:
        budgets = [body["budget"]] if "budget" in body else []
        for budget in budgets:
            if problem := budget_problem(budget):
                raise ApiError(400, problem)
        rate_limit = None
    team_id = new_id()
    # Only a generation with team-wide calendar alignment stores it (v1.5 reads the field and drops it).
    aligned = ctx.generation.has(Feature.CALENDAR_ALIGNED) and body.get("calendar_aligned", False)
    if not budgets and rate_limit is None and "customer_id" not in body and not aligned:
        return _create_lone_team(ctx, team_id, body["name"])
    try:
        with ctx.store.transaction() as db:
            stamp = now()
            rate_limit_id = insert_rate_limit(db, rate_limit) if rate_limit is not None else None
            db.execute(
                _INSERT, (team_id, body["name"], body.get("customer_id"), rate_limit_id, int(aligned), stamp, stamp)
            )
            for budget in budgets:
                insert_budget(db, budget, "team_id", team_id, calendar_aligned=aligned)
            team = ctx.views.team(_find(ctx, team_id))
    except sqlite3.IntegrityError as error:
        raise _create_failure(ctx.generation, error) from None
    return {"message": "Team created successfully", "team": team}


def _create_failure(generation: Generation, error: sqlite3.IntegrityError) -> ApiError:
    """A failed team insert: a taken name is a 409 where the generation says so, anything else a 500."""
    if generation.duplicate_names.team_create == 409 and is_unique_violation(error):
        return ApiError(409, "A team with this name already exists")
    return ApiError(500, "failed to create team")


def _create_lone_team(ctx: Context, team_id: str, name: str) -> dict[str, Any]:
    """A team with no customer, budget or rate limit: the most common create, and the benchmarks' write.

    One INSERT is its own transaction, and the team's JSON is built from the row as written: a new team
    has no virtual keys and nothing else to read back.
    """
    stamp = now()
    try:
        ctx.store.db.execute(_INSERT, (team_id, name, None, None, 0, stamp, stamp))
    except sqlite3.IntegrityError as error:
        raise _create_failure(ctx.generation, error) from None
    team = ctx.views.new_team(
        {
            "id": team_id,
            "name": name,
            "customer_id": None,
            "rate_limit_id": None,
            "profile": None,
            "config": None,
            "claims": None,
            "calendar_aligned": 0,
            "config_hash": "",
            "created_at": stamp,
            "updated_at": stamp,
        }
    )
    return {"message": "Team created successfully", "team": team}


def update_team(ctx: Context, request: Request) -> dict[str, Any]:
    """PUT /api/governance/teams/{team_id}: partial update; ``budgets`` is the full desired set."""
    generation = ctx.generation
    arrays = generation.owner_budgets == "array"
    spec = UPDATE_CALENDAR if generation.has(Feature.CALENDAR_ALIGNED) else UPDATE_CURRENT if arrays else UPDATE_SEED
    body = decode_body(request.body, spec)
    row = _find(ctx, request.param)
    if arrays:
        wording = generation.bad_duration_wording
        if "budgets" in body:
            check_budgets(body["budgets"], wording)
        if "rate_limit" in body and (problem := rate_limit_problem(body["rate_limit"], wording)):
            # v2 finds it inside its transaction, where any failure is the update's generic 500
            if generation.owner_rate_limit_update_status != 400:
                raise ApiError(generation.owner_rate_limit_update_status, "Failed to update team")
            raise ApiError(400, f"Invalid rate limit: {problem}")
    try:
        with ctx.store.transaction() as db:
            _apply_update(ctx, db, row, body)
            team = ctx.views.team(_find(ctx, row["id"]))
    except sqlite3.IntegrityError:
        raise ApiError(500, "Failed to update team") from None
    return {"message": "Team updated successfully", "team": team}


def _apply_update(ctx: Context, db: sqlite3.Connection, row: sqlite3.Row, body: dict[str, Any]) -> None:
    team_id = row["id"]
    name = body.get("name", row["name"])
    customer_id = row["customer_id"]
    if "customer_id" in body:
        customer_id = body["customer_id"] or None  # "" detaches the team from its customer
    rate_limit_id = row["rate_limit_id"]
    was_aligned = bool(row["calendar_aligned"])
    aligned = body.get("calendar_aligned", was_aligned)
    if ctx.generation.owner_budgets == "array":
        if "budgets" in body:
            reconcile_budgets(db, "team_id", team_id, body["budgets"], calendar_aligned=aligned)
        if "rate_limit" in body:
            rate_limit_id = replace_rate_limit(db, rate_limit_id, body["rate_limit"])
    elif "budget" in body:
        _update_seed_budget(db, team_id, body["budget"])
    if aligned and not was_aligned:  # after the budgets and rate limit, so the ones just written snap too
        snap_to_calendar(db, "team_id", team_id, rate_limit_id)
    db.execute(
        "UPDATE teams SET name = ?, customer_id = ?, rate_limit_id = ?, calendar_aligned = ?, updated_at = ?"
        " WHERE id = ?",
        (name, customer_id, rate_limit_id, int(aligned), now(), team_id),
    )


def _update_seed_budget(db: sqlite3.Connection, team_id: str, budget: dict[str, Any]) -> None:
    existing = db.execute("SELECT * FROM budgets WHERE team_id = ?", (team_id,)).fetchone()
    if existing is None:
        if "max_limit" not in budget or "reset_duration" not in budget:
            raise ApiError(400, "both max_limit and reset_duration are required when creating a new budget")
        if problem := budget_problem(budget):
            raise ApiError(400, problem)
        insert_budget(db, budget, "team_id", team_id)
        return
    merged = {"max_limit": existing["max_limit"], "reset_duration": existing["reset_duration"], **budget}
    if problem := budget_problem(merged):
        raise ApiError(400, problem)
    patch_budget(db, existing["id"], budget)


def delete_team(ctx: Context, request: Request) -> dict[str, Any]:
    """DELETE /api/governance/teams/{team_id}: detaches its virtual keys, deletes its budgets and rate limit."""
    row = _find(ctx, request.param)
    with ctx.store.transaction() as db:
        db.execute("UPDATE virtual_keys SET team_id = NULL, updated_at = ? WHERE team_id = ?", (now(), row["id"]))
        delete_budgets_of(db, "team_id", row["id"])
        delete_rate_limit(db, row["rate_limit_id"])
        db.execute("DELETE FROM teams WHERE id = ?", (row["id"],))
    return {"message": "Team deleted successfully"}


def _find(ctx: Context, team_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = ctx.store.db.execute("SELECT * FROM teams WHERE id = ?", (team_id,)).fetchone()
    if row is None:
        raise ApiError(404, "Team not found")
    return row
