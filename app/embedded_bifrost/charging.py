"""Charging a successful inference request, as Bifrost's usage tracker does, and logging it.

Every budget on the request's path gains the request's cost and every rate limit one request and its total
tokens (a model config's rule counts only its own metric); each budget or rate limit is charged once however
many ways the path reaches it. Then one row goes into the ``logs`` table, with the key's team and its
customer (the key's own, or its team's). The caller runs both in the request's transaction.

Example:
    >>> from app.embedded_bifrost.governed_scopes import Scope
    >>> charged_ids([Scope("key", "VK"), Scope("key", "Team")])
    (set(), set())
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from .db import new_id, now
from .governed_scopes import Scope, team_of
from .request_logs import LogRow, record

__all__ = ["charge", "charged_ids", "log_request"]


def charged_ids(scopes: Sequence[Scope]) -> tuple[set[str], set[str]]:
    """The ids of the budgets and of the rate limits on the path."""
    budgets = {row["id"] for scope in scopes for row in scope.budgets}
    rate_limits = {row["id"] for scope in scopes for row in scope.rate_limits}
    return budgets, rate_limits


def charge(db: sqlite3.Connection, scopes: Sequence[Scope], cost: float, tokens: int) -> None:
    """Add one request's cost to every budget and its tokens and one request to every rate limit."""
    stamp = now()
    budget_ids, rate_limit_ids = charged_ids(scopes)
    db.executemany(
        "UPDATE budgets SET current_usage = current_usage + ?, updated_at = ? WHERE id = ?",
        [(cost, stamp, budget_id) for budget_id in sorted(budget_ids)],
    )
    db.executemany(
        "UPDATE rate_limits SET"
        " token_current_usage = token_current_usage + CASE WHEN metric = 'requests' THEN 0 ELSE ? END,"
        " request_current_usage = request_current_usage + CASE WHEN metric = 'tokens' THEN 0 ELSE 1 END,"
        " updated_at = ? WHERE id = ?",
        [(tokens, stamp, rate_limit_id) for rate_limit_id in sorted(rate_limit_ids)],
    )


def log_request(db: sqlite3.Connection, key: sqlite3.Row, row: LogRow) -> LogRow:
    """Write the request's log row, completed with the key and its owners (names as they are now)."""
    row.virtual_key_id = key["id"]
    row.virtual_key_name = key["name"]
    customer_id = key["customer_id"]
    team = team_of(db, key)
    if team is not None:
        row.team_id = team["id"]
        row.team_name = team["name"]
        customer_id = customer_id or team["customer_id"]
    if customer_id is not None:
        customer = db.execute("SELECT id, name FROM customers WHERE id = ?", (customer_id,)).fetchone()
        if customer is not None:
            row.customer_id = customer["id"]
            row.customer_name = customer["name"]
    if not row.id:
        row.id = new_id()
    record(db, row)
    return row
