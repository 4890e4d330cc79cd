"""``/api/governance/budgets`` and ``/api/governance/rate-limits``: read-only lists, no pagination."""

from __future__ import annotations

from typing import Any

from ..context import Context, Request
from ..serialize import budget_json, rate_limit_json

__all__ = ["list_budgets", "list_rate_limits"]


def list_budgets(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/governance/budgets."""
    rows = ctx.store.db.execute("SELECT * FROM budgets ORDER BY created_at, id").fetchall()
    return {"budgets": [budget_json(row, ctx.generation) for row in rows], "count": len(rows)}


def list_rate_limits(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/governance/rate-limits."""
    rows = ctx.store.db.execute("SELECT * FROM rate_limits ORDER BY created_at, id").fetchall()
    return {"rate_limits": [rate_limit_json(row) for row in rows], "count": len(rows)}
