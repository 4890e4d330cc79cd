"""A ``budgets`` array made the whole set an owner keeps, as Bifrost v2 reconciles it.

Each wanted budget is matched to an existing one by ``id`` when it names one (an id the owner does not hold
is refused), otherwise by ``reset_duration`` among the budgets no id claimed. A match keeps its usage (unless
the caller resets it) and takes the new limit and duration; a new budget inherits ``current_usage`` from the
owner's closest shorter budget, so widening a window does not hand out fresh money; budgets left unmatched are
deleted. The messages are Bifrost's lower-case ones; the caller decides their status and prefix.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from .db import now
from .durations import parse_duration
from .errors import ApiError
from .limits import insert_budget

__all__ = ["budget_set_problem", "reconcile_budget_set", "reset_budget_usage"]


def budget_set_problem(budgets: Sequence[dict[str, Any]], *, capitalised: bool = False) -> str | None:
    """The first problem of a wanted set, in Bifrost's words (``capitalised``: the VK create texts), or None.

    Example:
        >>> budget_set_problem([{"max_limit": 1.0, "reset_duration": "1d"}, {"max_limit": 2.0, "reset_duration": "1d"}])
        'duplicate reset_duration in budgets: 1d'
    """
    seen: set[str] = set()
    for budget in budgets:
        max_limit = budget.get("max_limit", 0.0)
        duration = budget.get("reset_duration", "")
        if max_limit < 0:
            problem = f"budget max_limit cannot be negative: {max_limit:.2f}"
        elif parse_duration(duration) is None:
            problem = f"invalid reset duration (must be a positive duration): {duration}"
        elif duration in seen:
            problem = f"duplicate reset_duration in budgets: {duration}"
        else:
            seen.add(duration)
            continue
        return problem[0].upper() + problem[1:] if capitalised else problem
    return None


def reconcile_budget_set(
    db: sqlite3.Connection,
    owner: str,
    owner_id: Any,
    wanted: Sequence[dict[str, Any]],
    *,
    reset_usage: bool = False,
) -> None:
    """Make an owner's budgets the wanted set (validated already by :func:`budget_set_problem`).

    Args:
        db: The connection, inside the caller's transaction.
        owner: The owner column (``virtual_key_id``, ``provider_config_id``...).
        owner_id: The owner's id.
        wanted: The budgets as sent: ``{id?, max_limit, reset_duration}``.
        reset_usage: Zero the usage of matched budgets, and let new ones start from zero.

    Raises:
        ApiError: 400 ``budget X does not belong to this entity``; 500 ``budget max limit cannot be negative
            or zero: N`` for a zero limit (Bifrost checks it only when it saves the row).
    """
    existing = db.execute(f"SELECT * FROM budgets WHERE {owner} = ? ORDER BY created_at, id", (owner_id,)).fetchall()
    by_id = {row["id"]: row for row in existing}
    claimed = {budget["id"] for budget in wanted if budget.get("id")}
    by_duration = {row["reset_duration"]: row for row in existing if row["id"] not in claimed}
    kept: set[str] = set()
    stamp = now()
    for budget in wanted:
        max_limit = budget.get("max_limit", 0.0)
        duration = budget.get("reset_duration", "")
        if budget.get("id"):
            row = by_id.get(budget["id"])
            if row is None:
                raise ApiError(400, f"budget {budget['id']} does not belong to this entity")
        else:
            row = by_duration.get(duration)
        if max_limit <= 0:
            raise ApiError(500, f"budget max limit cannot be negative or zero: {max_limit:.2f}")
        if row is not None:
            kept.add(row["id"])
            db.execute(
                "UPDATE budgets SET max_limit = ?, reset_duration = ?, updated_at = ? WHERE id = ?",
                (max_limit, duration, stamp, row["id"]),
            )
            if reset_usage:
                reset_budget_usage(db, [row["id"]])
            continue
        budget_id = insert_budget(db, {"max_limit": max_limit, "reset_duration": duration}, owner, owner_id)
        kept.add(budget_id)
        if not reset_usage:
            inherited = _closest_shorter_usage(existing, duration)
            if inherited:
                db.execute("UPDATE budgets SET current_usage = ? WHERE id = ?", (inherited, budget_id))
    for row in existing:
        if row["id"] not in kept:
            db.execute("DELETE FROM budgets WHERE id = ?", (row["id"],))


def reset_budget_usage(db: sqlite3.Connection, budget_ids: Sequence[str]) -> None:
    """Zero the usage of budgets and open their window now."""
    stamp = now()
    db.executemany(
        "UPDATE budgets SET current_usage = 0, last_reset = ?, updated_at = ? WHERE id = ?",
        [(stamp, stamp, budget_id) for budget_id in budget_ids],
    )


def _closest_shorter_usage(existing: Sequence[sqlite3.Row], duration: str) -> float:
    """The usage of the existing budget whose window is the longest one shorter than ``duration`` (0 if none)."""
    target = parse_duration(duration)
    if target is None:
        return 0.0
    best: tuple[float, float] | None = None
    for row in existing:
        length = parse_duration(row["reset_duration"])
        if length is None or length >= target:
            continue
        if best is None or length > best[0]:
            best = (length, row["current_usage"])
    return best[1] if best is not None else 0.0
