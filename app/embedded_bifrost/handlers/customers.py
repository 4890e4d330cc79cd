"""``/api/governance/customers``: list, create, get, update, delete.

Until v2 a customer has one ``budget``, and budget problems on create are 500s (Bifrost validates them inside
the transaction); names need not be unique. From v2 on (``customer_budgets == "array"``) it has ``budgets``,
matched by ``id`` and then by ``reset_duration`` (the deprecated ``budget`` still works while there is at
most one), a ``calendar_aligned`` flag, and a unique name: 409 on create, 500 on rename.
"""

from __future__ import annotations

import sqlite3
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
    rate_limit_problem,
    reconcile_budgets_by_id,
    replace_rate_limit,
    snap_to_calendar,
)
from .pagination import page_of

__all__ = ["create_customer", "delete_customer", "get_customer", "list_customers", "update_customer"]

CREATE_SEED = {"name": STR, "budget": BUDGET}
CREATE_CURRENT = {"name": STR, "budget": BUDGET, "rate_limit": RATE_LIMIT}
UPDATE_SEED = CREATE_SEED
UPDATE_CURRENT = CREATE_CURRENT
BODY_BUDGETS = {
    **CREATE_CURRENT,
    "budgets": [{**BUDGET, "id": STR}],
    "calendar_aligned": BOOL,
}
_BOTH = "only one of 'budget' or 'budgets' may be set"


def _body_spec(ctx: Context) -> dict[str, Any]:
    """The customer body of the generation served (create and update read the same fields)."""
    if ctx.generation.customer_budgets == "array":
        return BODY_BUDGETS
    return CREATE_CURRENT if ctx.generation.has(Feature.OWNER_RATE_LIMITS) else CREATE_SEED


class _BudgetFailure(Exception):
    """A customer budget that Bifrost rejects inside its transaction (answered as a 500)."""


def list_customers(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/governance/customers: pagination ``limit``/``offset``/``search``."""
    page = page_of(request.query)
    db = ctx.store.db
    if page is None:
        rows = db.execute("SELECT * FROM customers ORDER BY created_at, id").fetchall()
        customers = ctx.views.customers(rows)
        if ctx.generation.has(Feature.UNPAGED_LIST_TOTALS):
            count = len(customers)
            return {"customers": customers, "count": count, "total_count": count, "limit": count, "offset": 0}
        return {"customers": customers, "count": len(customers)}
    clause, args = ("", ()) if not page.search else (" WHERE instr(lower(name), lower(?)) > 0", (page.search,))
    rows = db.execute(
        f"SELECT * FROM customers{clause} ORDER BY created_at, id LIMIT ? OFFSET ?", (*args, page.limit, page.offset)
    ).fetchall()
    customers = ctx.views.customers(rows)
    return {
        "customers": customers,
        "count": len(customers),
        "total_count": db.execute(f"SELECT count(*) FROM customers{clause}", args).fetchone()[0],
        "limit": page.limit,
        "offset": page.offset,
    }


def get_customer(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/governance/customers/{customer_id}."""
    return {"customer": ctx.views.customer(_find(ctx, request.param))}


def create_customer(ctx: Context, request: Request) -> dict[str, Any]:
    """POST /api/governance/customers."""
    body = decode_body(request.body, _body_spec(ctx))
    if ctx.generation.customer_budgets == "array":
        return _create_with_budgets(ctx, body)
    if not body.get("name"):
        raise ApiError(400, "Customer name is required")
    rate_limit = body.get("rate_limit")
    if rate_limit is not None and (problem := rate_limit_problem(rate_limit)):
        raise ApiError(400, f"Invalid rate limit: {problem}")
    customer_id = new_id()
    try:
        with ctx.store.transaction() as db:
            budget_id = None
            if "budget" in body:
                if budget_problem(body["budget"]):
                    raise _BudgetFailure
                budget_id = insert_budget(db, body["budget"])
            rate_limit_id = insert_rate_limit(db, rate_limit) if rate_limit is not None else None
            stamp = now()
            db.execute(
                "INSERT INTO customers (id, name, budget_id, rate_limit_id, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (customer_id, body["name"], budget_id, rate_limit_id, stamp, stamp),
            )
            customer = ctx.views.customer(_find(ctx, customer_id))
    except (sqlite3.IntegrityError, _BudgetFailure):
        raise ApiError(500, "failed to create customer") from None
    return {"message": "Customer created successfully", "customer": customer}


def update_customer(ctx: Context, request: Request) -> dict[str, Any]:
    """PUT /api/governance/customers/{customer_id}: ``budget: {}`` removes the budget."""
    body = decode_body(request.body, _body_spec(ctx))
    if ctx.generation.customer_budgets == "array":
        return _update_with_budgets(ctx, request.param, body)
    row = _find(ctx, request.param)
    if "rate_limit" in body and (problem := rate_limit_problem(body["rate_limit"])):
        raise ApiError(400, f"Invalid rate limit: {problem}")
    try:
        with ctx.store.transaction() as db:
            budget_id = row["budget_id"]
            if "budget" in body:
                budget_id = _update_budget(db, budget_id, body["budget"])
            rate_limit_id = row["rate_limit_id"]
            if "rate_limit" in body:
                rate_limit_id = replace_rate_limit(db, rate_limit_id, body["rate_limit"])
            db.execute(
                "UPDATE customers SET name = ?, budget_id = ?, rate_limit_id = ?, updated_at = ? WHERE id = ?",
                (body.get("name", row["name"]), budget_id, rate_limit_id, now(), row["id"]),
            )
            customer = ctx.views.customer(_find(ctx, row["id"]))
    except (sqlite3.IntegrityError, _BudgetFailure):
        raise ApiError(500, "Failed to update customer") from None
    return {"message": "Customer updated successfully", "customer": customer}


def _update_budget(db: sqlite3.Connection, budget_id: str | None, budget: dict[str, Any]) -> str | None:
    fields = {k: v for k, v in budget.items() if k in ("max_limit", "reset_duration")}
    if not fields:  # {} or all-null: remove the budget
        if budget_id is not None:
            db.execute("DELETE FROM budgets WHERE id = ?", (budget_id,))
        return None
    if budget_id is None:
        if len(fields) < 2 or budget_problem(budget):
            raise _BudgetFailure
        return insert_budget(db, budget)
    existing = db.execute("SELECT max_limit, reset_duration FROM budgets WHERE id = ?", (budget_id,)).fetchone()
    if budget_problem({"max_limit": existing[0], "reset_duration": existing[1], **budget}):
        raise _BudgetFailure
    patch_budget(db, budget_id, budget)
    return budget_id


def delete_customer(ctx: Context, request: Request) -> dict[str, Any]:
    """DELETE /api/governance/customers/{customer_id}: detaches its teams and virtual keys."""
    row = _find(ctx, request.param)
    with ctx.store.transaction() as db:
        stamp = now()
        db.execute("UPDATE teams SET customer_id = NULL, updated_at = ? WHERE customer_id = ?", (stamp, row["id"]))
        db.execute(
            "UPDATE virtual_keys SET customer_id = NULL, updated_at = ? WHERE customer_id = ?", (stamp, row["id"])
        )
        if row["budget_id"] is not None:
            db.execute("DELETE FROM budgets WHERE id = ?", (row["budget_id"],))
        delete_budgets_of(db, "customer_id", row["id"])
        delete_rate_limit(db, row["rate_limit_id"])
        db.execute("DELETE FROM customers WHERE id = ?", (row["id"],))
    return {"message": "Customer deleted successfully"}


def _create_with_budgets(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """POST with ``budgets`` (v2): the deprecated single ``budget`` becomes a one-entry ``budgets``."""
    if body.get("budgets") and "budget" in body:
        raise ApiError(400, _BOTH)
    if not body.get("name"):
        raise ApiError(400, "Customer name is required")
    wording = ctx.generation.bad_duration_wording
    rate_limit = body.get("rate_limit")
    if rate_limit is not None and (problem := rate_limit_problem(rate_limit, wording)):
        raise ApiError(400, f"Invalid rate limit: {problem}")
    budgets: list[dict[str, Any]] = body.get("budgets", [])
    if not budgets and "budget" in body:
        legacy = body["budget"]
        budgets = [{"max_limit": legacy.get("max_limit", 0.0), "reset_duration": legacy.get("reset_duration", "")}]
    aligned = body.get("calendar_aligned", False)
    customer_id = new_id()
    try:
        with ctx.store.transaction() as db:
            # Bifrost inserts the customer first: a taken name is refused before the budgets are looked at.
            if _name_taken(db, body["name"], customer_id):
                status = ctx.generation.duplicate_names.customer_create or 409
                raise ApiError(status, "A customer with this name already exists")
            stamp = now()
            db.execute(
                "INSERT INTO customers (id, name, calendar_aligned, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                (customer_id, body["name"], int(aligned), stamp, stamp),
            )
            check_budgets(budgets, wording)
            reconcile_budgets_by_id(db, "customer_id", customer_id, budgets, calendar_aligned=aligned)
            if rate_limit is not None:
                rate_limit_id = insert_rate_limit(db, rate_limit)
                db.execute("UPDATE customers SET rate_limit_id = ? WHERE id = ?", (rate_limit_id, customer_id))
            customer = ctx.views.customer(_find(ctx, customer_id))
    except sqlite3.IntegrityError:  # a zero max_limit
        raise ApiError(500, "failed to create customer") from None
    return {"message": "Customer created successfully", "customer": customer}


def _update_with_budgets(ctx: Context, customer_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """PUT with ``budgets`` (v2); ``budget`` still edits the only budget, ``budget: {}`` removes them all."""
    if "budgets" in body and "budget" in body:
        raise ApiError(400, _BOTH)
    row = _find(ctx, customer_id)
    generation = ctx.generation
    try:
        with ctx.store.transaction() as db:
            name = body.get("name", row["name"])
            was_aligned = bool(row["calendar_aligned"])
            aligned = body.get("calendar_aligned", was_aligned)
            budgets = body.get("budgets")
            if budgets is None and "budget" in body:
                budgets = _legacy_budgets(db, row["id"], body["budget"])
            if budgets is not None:
                check_budgets(budgets, generation.bad_duration_wording)
                reconcile_budgets_by_id(db, "customer_id", row["id"], budgets, calendar_aligned=aligned)
            rate_limit_id = row["rate_limit_id"]
            if "rate_limit" in body:
                if rate_limit_problem(body["rate_limit"], generation.bad_duration_wording):
                    raise _UpdateFailure  # v2 validates it inside the transaction: the generic 500
                rate_limit_id = replace_rate_limit(db, rate_limit_id, body["rate_limit"])
            if aligned and not was_aligned:
                snap_to_calendar(db, "customer_id", row["id"], rate_limit_id)
            if _name_taken(db, name, row["id"]):  # found by the final save, after the budgets' own checks
                raise _UpdateFailure
            db.execute(
                "UPDATE customers SET name = ?, rate_limit_id = ?, calendar_aligned = ?, updated_at = ? WHERE id = ?",
                (name, rate_limit_id, int(aligned), now(), row["id"]),
            )
            customer = ctx.views.customer(_find(ctx, row["id"]))
    except (sqlite3.IntegrityError, _UpdateFailure):
        raise ApiError(500, "Failed to update customer") from None
    return {"message": "Customer updated successfully", "customer": customer}


def _legacy_budgets(db: sqlite3.Connection, customer_id: str, budget: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``budgets`` a deprecated ``budget`` on update stands for: edit the only one, or create, or remove."""
    existing = db.execute(
        "SELECT id, max_limit, reset_duration FROM budgets WHERE customer_id = ?", (customer_id,)
    ).fetchall()
    if len(existing) > 1:
        raise ApiError(
            400, "deprecated 'budget' field cannot be used when multiple budgets already exist; use 'budgets'"
        )
    if "max_limit" not in budget and "reset_duration" not in budget:
        return []  # {} (or both null) removes the budget
    wanted = dict(existing[0]) if existing else {"max_limit": 0.0, "reset_duration": ""}
    wanted.update((field, budget[field]) for field in ("max_limit", "reset_duration") if field in budget)
    if wanted["max_limit"] == 0 or wanted["reset_duration"] == "":
        raise ApiError(400, "both max_limit and reset_duration are required when creating a new budget")
    return [wanted]


def _name_taken(db: sqlite3.Connection, name: str, customer_id: str) -> bool:
    """Whether another customer has this name (names are unique from v2 on)."""
    return db.execute("SELECT 1 FROM customers WHERE name = ? AND id != ?", (name, customer_id)).fetchone() is not None


class _UpdateFailure(Exception):
    """A v2 customer update that Bifrost rejects inside its transaction (answered as a 500)."""


def _find(ctx: Context, customer_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = ctx.store.db.execute("SELECT * FROM customers WHERE id = ?", (customer_id,)).fetchone()
    if row is None:
        raise ApiError(404, "Customer not found")
    return row
