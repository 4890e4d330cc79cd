"""Usage windows: a budget's or rate-limit counter's window that has run out is reset before it is used.

Bifrost keeps counters in memory and a worker resets expired windows every 10 s; the embedded server resets
a window when a request touches it, before the request is checked or charged, so an expired window never
blocks (and is never skipped for ever). The new window starts on the lattice of the counter's duration from
its ``created_at``: the last multiple of the duration that is not after now. A calendar-aligned owner's
windows start at the current calendar period instead (midnight UTC, Monday, the 1st, January 1st) when the
duration has a calendar unit.

A budget with a ``cycles`` override counts the windows that passed; the override clears once none are left.

Example:
    >>> window_start(created=0, duration=10, now=35)
    30
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from .db import now as now_text
from .durations import calendar_period_start, parse_duration
from .timestamps import NANOS_PER_SECOND, parse_rfc3339

__all__ = ["fresh_budget", "fresh_rate_limit", "stored_time", "window_start"]

Row = sqlite3.Row


def window_start(created: int, duration: int, now: int) -> int:
    """The start of the window containing ``now`` on the lattice ``created + k * duration`` (any unit)."""
    return created + (now - created) // duration * duration


def stored_time(nanos: int) -> str:
    """A time in the store's text form (RFC 3339 with nine fractional digits, as :func:`.db.now` writes)."""
    seconds, fraction = divmod(nanos, NANOS_PER_SECOND)
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:09d}Z"


def _new_start(duration_text: str, last_reset: str, created_at: str, now: int, calendar: bool) -> int | None:
    """The start of the current window if the one starting at ``last_reset`` has run out, else None."""
    seconds = parse_duration(duration_text)
    last = parse_rfc3339(last_reset)
    if seconds is None or last is None:
        return None
    duration = max(1, round(seconds * NANOS_PER_SECOND))
    if now - last < duration:
        return None
    if calendar:
        at = dt.datetime.fromtimestamp(now // NANOS_PER_SECOND, dt.UTC)
        start = calendar_period_start(duration_text, at)
        if start is not None:
            parsed = parse_rfc3339(start)
            if parsed is not None and parsed > last:
                return parsed
    created = parse_rfc3339(created_at)
    if created is None or created > now:
        return now
    return window_start(created, duration, now)


def fresh_budget(db: sqlite3.Connection, budget: Row, now: int, calendar: bool) -> Row:
    """The budget with its window reset if it had run out (written to the store), else as it was."""
    start = _new_start(budget["reset_duration"], budget["last_reset"], budget["created_at"], now, calendar)
    if start is None:
        return budget
    overrides = ""
    if budget["override_mode"] == "cycles":
        passed = _windows_passed(budget, start)
        left = (budget["override_cycles_remaining"] or 0) - passed
        if left > 0:
            overrides = f", override_cycles_remaining = {left}"
        else:
            overrides = (
                ", override_amount = NULL, override_mode = NULL, override_cycles_remaining = NULL,"
                " override_cycles_total = NULL, override_anchor_reset = NULL"
            )
    db.execute(
        f"UPDATE budgets SET current_usage = 0, last_reset = ?{overrides}, updated_at = ? WHERE id = ?",
        (stored_time(start), now_text(), budget["id"]),
    )
    row: Row = db.execute("SELECT * FROM budgets WHERE id = ?", (budget["id"],)).fetchone()
    return row


def _windows_passed(budget: Row, start: int) -> int:
    seconds = parse_duration(budget["reset_duration"]) or 1.0
    last = parse_rfc3339(budget["last_reset"]) or start
    return max(1, (start - last) // max(1, round(seconds * NANOS_PER_SECOND)))


def fresh_rate_limit(db: sqlite3.Connection, rate_limit: Row, now: int, calendar: bool) -> Row:
    """The rate limit with each of its two counters reset if its window had run out, else as it was."""
    changed = False
    for kind in ("token", "request"):
        duration = rate_limit[f"{kind}_reset_duration"]
        if duration is None:
            continue
        start = _new_start(duration, rate_limit[f"{kind}_last_reset"], rate_limit["created_at"], now, calendar)
        if start is None:
            continue
        db.execute(
            f"UPDATE rate_limits SET {kind}_current_usage = 0, {kind}_last_reset = ?, updated_at = ? WHERE id = ?",
            (stored_time(start), now_text(), rate_limit["id"]),
        )
        changed = True
    if not changed:
        return rate_limit
    row: Row = db.execute("SELECT * FROM rate_limits WHERE id = ?", (rate_limit["id"],)).fetchone()
    return row
