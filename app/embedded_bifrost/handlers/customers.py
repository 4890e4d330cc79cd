"""``/api/governance/customers``: list, create, get, update, delete.

A customer has one ``budget`` in both generations. Budget problems on create are 500s (Bifrost validates them
inside the transaction).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ...generations import Feature
from ..context import Context, Request
from ..db import new_id, now
from ..decode import STR, decode_body
from ..errors import ApiError
from ..limits import (
    BUDGET,
    RATE_LIMIT,
    budget_problem,
    delete_rate_limit,
    insert_budget,
    insert_rate_limit,
    patch_budget,
    rate_limit_problem,
    replace_rate_limit,
)
from .pagination import page_of

__all__ = ["create_customer", "delete_customer", "get_customer", "list_customers", "update_customer"]

CREATE_SEED = {"name": STR, "budget": BUDGET}
CREATE_CURRENT = {"name": STR, "budget": BUDGET, "rate_limit": RATE_LIMIT}
UPDATE_SEED = CREATE_SEED
UPDATE_CURRENT = CREATE_CURRENT


def _body_spec(ctx: Context) -> dict[str, Any]:
    """The customer body of the generation served (create and update read the same fields)."""
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
        delete_rate_limit(db, row["rate_limit_id"])
        db.execute("DELETE FROM customers WHERE id = ?", (row["id"],))
    return {"message": "Customer deleted successfully"}


def _find(ctx: Context, customer_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = ctx.store.db.execute("SELECT * FROM customers WHERE id = ?", (customer_id,)).fetchone()
    if row is None:
        raise ApiError(404, "Customer not found")
    return row
