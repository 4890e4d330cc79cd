"""``/api/governance/virtual-keys/{vk_id}/budgets/{budget_id}/override`` (v2): PUT sets, DELETE clears.

An override adds ``amount`` to a budget's ``max_limit`` while it is active: for ever (``mode`` ``forever``) or
for ``cycles`` reset windows counted from the current one (``override_anchor_reset`` is the budget's
``last_reset``). The budget's limit and usage never change. Only a key's own budgets are eligible: the key's,
its provider configs', and those of model configs scoped to the key.
"""

from __future__ import annotations

import math
import sqlite3
from typing import Any

from ..context import Context, Request
from ..db import now
from ..decode import INT, NUM, STR, decode_body
from ..errors import ApiError
from ..serialize import budget_json

__all__ = ["clear_budget_override", "effective_max_limit", "override_problem", "set_budget_override"]

OVERRIDE = {"amount": NUM, "mode": STR, "cycles": INT}

_ELIGIBLE = """
SELECT * FROM budgets WHERE id = :budget AND (
    virtual_key_id = :key
    OR provider_config_id IN (SELECT id FROM provider_configs WHERE virtual_key_id = :key)
    OR model_config_id IN (SELECT id FROM model_configs WHERE scope = 'virtual_key' AND scope_id = :key)
)
"""


def set_budget_override(ctx: Context, request: Request) -> dict[str, Any]:
    """PUT: ``{amount, mode, cycles?}`` replaces any override; answers ``{budget, effective_max_limit}``."""
    budget = _eligible_budget(ctx, request)
    try:
        body = decode_body(request.body, OVERRIDE)
    except ApiError:
        raise ApiError(400, "invalid request body") from None
    amount = body.get("amount", 0.0)
    mode = body.get("mode", "")
    cycles = body.get("cycles", 0)
    problem = override_problem(amount, mode, cycles)
    if problem:
        raise ApiError(400, problem)
    if mode == "cycles":
        values = (amount, mode, cycles, cycles, budget["last_reset"])
    elif mode == "forever":
        values = (amount, mode, None, None, None)
    else:  # nothing asked for: the same as clearing
        values = (None, None, None, None, None)
    return _write(ctx, budget["id"], values)


def clear_budget_override(ctx: Context, request: Request) -> dict[str, Any]:
    """DELETE: the budget without its override, ``{budget, effective_max_limit}``."""
    budget = _eligible_budget(ctx, request)
    return _write(ctx, budget["id"], (None, None, None, None, None))


def override_problem(amount: float, mode: str, cycles: int) -> str | None:
    """The validation problem of an override, in Bifrost's words, or None.

    Example:
        >>> override_problem(5.0, "forever", 2)
        'budget override_cycles_remaining must be 0 for forever mode'
    """
    if math.isnan(amount) or math.isinf(amount):
        return "budget override_amount must be finite"
    if mode == "":
        if amount != 0 or cycles != 0:
            return "budget override fields require override_mode"
        return None
    if mode not in ("cycles", "forever"):
        return f"invalid budget override_mode: {mode}"
    if amount <= 0:
        return f"budget override_amount must be > 0 for {mode} mode"
    if mode == "cycles" and cycles <= 0:
        return "budget override_cycles_remaining must be > 0 for cycles mode"
    if mode == "forever" and cycles != 0:
        return "budget override_cycles_remaining must be 0 for forever mode"
    return None


def effective_max_limit(budget: sqlite3.Row) -> float:
    """``max_limit`` plus the override amount while the override is active (forever, or cycles left)."""
    max_limit: float = budget["max_limit"]
    amount = budget["override_amount"] or 0.0
    mode = budget["override_mode"]
    active = amount > 0 and (mode == "forever" or (mode == "cycles" and (budget["override_cycles_remaining"] or 0) > 0))
    return max_limit + amount if active else max_limit


def _eligible_budget(ctx: Context, request: Request) -> sqlite3.Row:
    vk_id, budget_id = request.params
    row: sqlite3.Row | None = ctx.store.db.execute(_ELIGIBLE, {"budget": budget_id, "key": vk_id}).fetchone()
    if row is None:
        raise ApiError(404, "virtual key or budget not found")
    return row


def _write(ctx: Context, budget_id: str, values: tuple[Any, ...]) -> dict[str, Any]:
    with ctx.store.transaction() as db:
        db.execute(
            "UPDATE budgets SET override_amount = ?, override_mode = ?, override_cycles_remaining = ?,"
            " override_cycles_total = ?, override_anchor_reset = ?, updated_at = ? WHERE id = ?",
            (*values, now(), budget_id),
        )
        budget = db.execute("SELECT * FROM budgets WHERE id = ?", (budget_id,)).fetchone()
    return {"budget": budget_json(budget, ctx.generation), "effective_max_limit": effective_max_limit(budget)}
