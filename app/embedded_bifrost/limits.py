"""Budgets and rate limits: request specs, validation, and writes on behalf of their owners.

Budgets and rate limits have no write endpoints of their own: teams, customers, virtual keys and provider
configs create and change them. A budget's ``max_limit`` must be positive, which the database enforces (a
CHECK constraint) because Bifrost validates it inside the transaction: a zero limit is a 500, not a 400.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .db import new_id, now
from .decode import BOOL, INT, NUM, STR
from .durations import calendar_period_start, parse_duration
from .errors import ApiError

__all__ = [
    "BUDGET",
    "RATE_LIMIT",
    "budget_problem",
    "check_budgets",
    "delete_budgets_of",
    "delete_rate_limit",
    "insert_budget",
    "insert_rate_limit",
    "is_unique_violation",
    "patch_budget",
    "patch_rate_limit",
    "rate_limit_problem",
    "reconcile_budgets",
    "reconcile_budgets_by_id",
    "replace_rate_limit",
    "reset_budget_usage",
    "snap_to_calendar",
]

BUDGET = {"max_limit": NUM, "reset_duration": STR, "calendar_aligned": BOOL}
RATE_LIMIT = {
    "token_max_limit": INT,
    "token_reset_duration": STR,
    "request_max_limit": INT,
    "request_reset_duration": STR,
    "calendar_aligned": BOOL,
}
_RATE_LIMIT_FIELDS = ("token_max_limit", "token_reset_duration", "request_max_limit", "request_reset_duration")

_OWNERS = ("team_id", "virtual_key_id", "provider_config_id", "customer_id", "model_config_id")
_INSERT_BUDGET = (
    "INSERT INTO budgets (id, max_limit, reset_duration, last_reset, current_usage, calendar_aligned,"
    f" {', '.join(_OWNERS)}, created_at, updated_at) VALUES ({', '.join('?' * (8 + len(_OWNERS)))})"
)
_INSERT_RATE_LIMIT = (
    "INSERT INTO rate_limits (id, token_max_limit, token_reset_duration, token_last_reset, request_max_limit,"
    " request_reset_duration, request_last_reset, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def is_unique_violation(error: sqlite3.IntegrityError) -> bool:
    """Whether an integrity error is a UNIQUE constraint (rather than a CHECK)."""
    return str(error).startswith("UNIQUE")


def budget_problem(budget: dict[str, Any], prefix: str = "", wording: str = "format") -> str | None:
    """The first validation problem of one budget request, in Bifrost's words, or None.

    ``wording`` is the generation's ``bad_duration_wording``: ``invalid reset duration format: 2x`` until v2,
    ``invalid reset duration (must be a positive duration): 2x`` from v2 on.
    """
    max_limit = budget.get("max_limit", 0.0)
    if max_limit < 0:
        return f"{prefix}budget max_limit cannot be negative: {max_limit:.2f}"
    duration = budget.get("reset_duration", "")
    if parse_duration(duration) is None:
        return f"invalid {prefix}{'budget ' if prefix else ''}reset duration {wording}: {duration}"
    return None


def check_budgets(budgets: list[dict[str, Any]], wording: str = "format") -> None:
    """Validate a ``budgets`` array (``wording`` as :func:`budget_problem` takes it).

    Raises:
        ApiError: 400 for a negative limit, an unparsable duration, or a duration given twice.
    """
    seen: set[str] = set()
    for budget in budgets:
        problem = budget_problem(budget, wording=wording)
        if problem:
            raise ApiError(400, problem)
        duration = budget.get("reset_duration", "")
        if duration in seen:
            raise ApiError(400, f"duplicate reset_duration in budgets: {duration}")
        seen.add(duration)


def rate_limit_problem(rate_limit: dict[str, Any], wording: str = "format") -> str | None:
    """The first validation problem of a rate limit request (without the ``Invalid rate limit: `` prefix).

    ``wording`` is the generation's ``bad_duration_wording``, as :func:`budget_problem` takes it.
    """
    for kind in ("token", "request"):
        max_limit = rate_limit.get(f"{kind}_max_limit")
        if max_limit is None:
            continue
        if max_limit <= 0:
            return f"rate limit {kind} max limit cannot be negative or zero: {max_limit}"
        duration = rate_limit.get(f"{kind}_reset_duration")
        if duration is None:
            return f"rate limit {kind} reset duration is required"
        if parse_duration(duration) is None:
            return f"invalid rate limit {kind} reset duration {wording}: {duration}"
    return None


def insert_budget(
    db: sqlite3.Connection,
    budget: dict[str, Any],
    owner: str = "",
    owner_id: Any = None,
    *,
    calendar_aligned: bool = False,
    current_usage: float = 0.0,
) -> str:
    """Insert a budget, optionally owned (``team_id``, ``virtual_key_id``, ``provider_config_id``, ``customer_id``
    or ``model_config_id``).

    A budget of a calendar-aligned owner starts its window at the start of the current calendar period (the
    day, the Monday, the 1st of the month, January 1st), as Bifrost v2 does; otherwise now.
    """
    budget_id = new_id()
    stamp = now()
    duration = budget.get("reset_duration", "")
    last_reset = (calendar_period_start(duration) if calendar_aligned else None) or stamp
    owners = dict.fromkeys(_OWNERS)
    if owner:
        owners[owner] = owner_id
    db.execute(
        _INSERT_BUDGET,
        (
            budget_id,
            budget.get("max_limit", 0.0),
            duration,
            last_reset,
            current_usage,
            int(budget.get("calendar_aligned", False)),
            *owners.values(),
            stamp,
            stamp,
        ),
    )
    return budget_id


def patch_budget(db: sqlite3.Connection, budget_id: str, budget: dict[str, Any]) -> None:
    """Overwrite the given fields of an existing budget, keeping its usage."""
    sets = [f"{field} = ?" for field in ("max_limit", "reset_duration", "calendar_aligned") if field in budget]
    if not sets:
        return
    args = [budget[field] for field in ("max_limit", "reset_duration", "calendar_aligned") if field in budget]
    db.execute(f"UPDATE budgets SET {', '.join(sets)}, updated_at = ? WHERE id = ?", (*args, now(), budget_id))


def reconcile_budgets(
    db: sqlite3.Connection, owner: str, owner_id: Any, wanted: list[dict[str, Any]], *, calendar_aligned: bool = False
) -> None:
    """Make an owner's budgets match the desired set, matching by ``reset_duration``.

    Same duration: update ``max_limit`` (usage is kept); new duration: create (``calendar_aligned`` as
    :func:`insert_budget` takes it); missing: delete.
    """
    existing = {
        row["reset_duration"]: row["id"]
        for row in db.execute(f"SELECT id, reset_duration FROM budgets WHERE {owner} = ?", (owner_id,))
    }
    for budget in wanted:
        budget_id = existing.pop(budget.get("reset_duration", ""), None)
        if budget_id is None:
            insert_budget(db, budget, owner, owner_id, calendar_aligned=calendar_aligned)
        else:
            patch_budget(db, budget_id, {k: v for k, v in budget.items() if k != "reset_duration"})
    for budget_id in existing.values():
        db.execute("DELETE FROM budgets WHERE id = ?", (budget_id,))


def reconcile_budgets_by_id(
    db: sqlite3.Connection,
    owner: str,
    owner_id: Any,
    wanted: list[dict[str, Any]],
    *,
    calendar_aligned: bool = False,
    reset_usage: bool = False,
) -> None:
    """Make an owner's budgets match the desired set as Bifrost v2 does for customers (and keys, model configs).

    An entry with an ``id`` updates that budget (its ``max_limit`` and ``reset_duration``; usage is kept); one
    without updates the budget of the same ``reset_duration`` not claimed by an ``id``; any other creates a
    budget, which inherits the ``current_usage`` of the owner's closest shorter budget (so adding a monthly
    budget beside a weekly one does not forget the week's spend). Budgets left unmatched are deleted. The
    entries must have passed :func:`check_budgets`. ``reset_usage`` (a key update's ``reset_budget_usage``)
    zeroes the matched budgets' usage and lets new ones start from zero.

    Raises:
        ApiError: 400 ``budget X does not belong to this entity`` for an ``id`` the owner does not have.
        sqlite3.IntegrityError: A ``max_limit`` of 0 (the CHECK constraint): Bifrost answers it with a 500.
    """
    rows = db.execute(f"SELECT * FROM budgets WHERE {owner} = ? ORDER BY created_at, id", (owner_id,)).fetchall()
    by_id = {row["id"]: row for row in rows}
    claimed = {budget["id"] for budget in wanted if budget.get("id")}
    by_duration = {row["reset_duration"]: row for row in rows if row["id"] not in claimed}
    kept: set[str] = set()
    for budget in wanted:
        budget_id = budget.get("id", "")
        if budget_id:
            row = by_id.pop(budget_id, None)
            if row is None:
                raise ApiError(400, f"budget {budget_id} does not belong to this entity")
        else:
            row = by_duration.get(budget.get("reset_duration", ""))
            if row is not None:
                by_id.pop(row["id"], None)
        if row is not None:
            by_duration.pop(row["reset_duration"], None)
            kept.add(row["id"])
            db.execute(
                "UPDATE budgets SET max_limit = ?, reset_duration = ?, updated_at = ? WHERE id = ?",
                (budget.get("max_limit", 0.0), budget.get("reset_duration", ""), now(), row["id"]),
            )
            if reset_usage:
                reset_budget_usage(db, [row["id"]])
            continue
        usage = 0.0 if reset_usage else _closest_shorter_usage(rows, budget.get("reset_duration", ""))
        kept.add(insert_budget(db, budget, owner, owner_id, calendar_aligned=calendar_aligned, current_usage=usage))
    for row in rows:
        if row["id"] not in kept:
            db.execute("DELETE FROM budgets WHERE id = ?", (row["id"],))


def reset_budget_usage(db: sqlite3.Connection, budget_ids: list[str]) -> None:
    """Zero the usage of budgets and open their window now."""
    stamp = now()
    db.executemany(
        "UPDATE budgets SET current_usage = 0, last_reset = ?, updated_at = ? WHERE id = ?",
        [(stamp, stamp, budget_id) for budget_id in budget_ids],
    )


def _closest_shorter_usage(rows: list[sqlite3.Row], duration: str) -> float:
    """The ``current_usage`` of the budget whose window is the longest one shorter than ``duration`` (else 0)."""
    length = parse_duration(duration)
    best: tuple[float, float] | None = None
    for row in rows:
        other = parse_duration(row["reset_duration"])
        if length is None or other is None or other >= length:
            continue
        if best is None or other > best[0]:
            best = (other, row["current_usage"])
    return best[1] if best is not None else 0.0


def snap_to_calendar(db: sqlite3.Connection, owner: str, owner_id: Any, rate_limit_id: str | None) -> None:
    """Start an owner's windows afresh at the current calendar period, as when ``calendar_aligned`` turns on.

    Budgets and rate-limit counters whose duration has a calendar boundary (days, weeks, months, years) get
    that boundary as their last reset and zero usage; shorter windows are left alone.
    """
    stamp = now()
    for row in db.execute(f"SELECT id, reset_duration FROM budgets WHERE {owner} = ?", (owner_id,)).fetchall():
        start = calendar_period_start(row["reset_duration"])
        if start is not None:
            db.execute(
                "UPDATE budgets SET last_reset = ?, current_usage = 0, updated_at = ? WHERE id = ?",
                (start, stamp, row["id"]),
            )
    if rate_limit_id is None:
        return
    row = db.execute("SELECT * FROM rate_limits WHERE id = ?", (rate_limit_id,)).fetchone()
    for kind in ("token", "request"):
        duration = row[f"{kind}_reset_duration"]
        start = calendar_period_start(duration) if duration is not None else None
        if start is not None:
            db.execute(
                f"UPDATE rate_limits SET {kind}_last_reset = ?, {kind}_current_usage = 0, updated_at = ? WHERE id = ?",
                (start, stamp, rate_limit_id),
            )


def delete_budgets_of(db: sqlite3.Connection, owner: str, owner_id: Any) -> None:
    """Delete every budget of an owner."""
    db.execute(f"DELETE FROM budgets WHERE {owner} = ?", (owner_id,))


def insert_rate_limit(db: sqlite3.Connection, rate_limit: dict[str, Any]) -> str:
    """Insert a rate limit and return its id."""
    rate_limit_id = new_id()
    stamp = now()
    db.execute(
        _INSERT_RATE_LIMIT,
        (
            rate_limit_id,
            rate_limit.get("token_max_limit"),
            rate_limit.get("token_reset_duration"),
            stamp,
            rate_limit.get("request_max_limit"),
            rate_limit.get("request_reset_duration"),
            stamp,
            stamp,
            stamp,
        ),
    )
    return rate_limit_id


def replace_rate_limit(db: sqlite3.Connection, current_id: str | None, rate_limit: dict[str, Any]) -> str | None:
    """Current-generation update: both max limits null deletes it, otherwise all four fields are overwritten.

    Returns:
        The owner's new ``rate_limit_id`` (``None`` when deleted).
    """
    if rate_limit.get("token_max_limit") is None and rate_limit.get("request_max_limit") is None:
        delete_rate_limit(db, current_id)
        return None
    if current_id is None:
        return insert_rate_limit(db, rate_limit)
    values = [rate_limit.get(field) for field in _RATE_LIMIT_FIELDS]
    db.execute(
        "UPDATE rate_limits SET token_max_limit = ?, token_reset_duration = ?, request_max_limit = ?,"
        " request_reset_duration = ?, updated_at = ? WHERE id = ?",
        (*values, now(), current_id),
    )
    return current_id


def patch_rate_limit(db: sqlite3.Connection, current_id: str | None, rate_limit: dict[str, Any]) -> str:
    """Seed-generation update: only the fields sent are overwritten; a missing rate limit is created."""
    if current_id is None:
        return insert_rate_limit(db, rate_limit)
    fields = [field for field in _RATE_LIMIT_FIELDS if field in rate_limit]
    if fields:
        sets = ", ".join(f"{field} = ?" for field in fields)
        args = [rate_limit[field] for field in fields]
        db.execute(f"UPDATE rate_limits SET {sets}, updated_at = ? WHERE id = ?", (*args, now(), current_id))
    return current_id


def delete_rate_limit(db: sqlite3.Connection, rate_limit_id: str | None) -> None:
    """Delete a rate limit if there is one."""
    if rate_limit_id is not None:
        db.execute("DELETE FROM rate_limits WHERE id = ?", (rate_limit_id,))
