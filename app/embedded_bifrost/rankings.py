"""Bifrost's rankings over the ``logs`` table: models, and owners (teams, customers, keys...), with trends.

As Bifrost's log store (``GetModelRankings``, ``GetDimensionRankings``): finished rows (``success``, ``error``,
``cancelled``) grouped by (model, provider) or by the owner's id, most requests first, at most 100 groups. With
both ``start_time`` and ``end_time``, each group is compared with the previous period of equal length, ending
one nanosecond before the start: ``trend`` holds the percentage changes (``has_previous_period`` false, and
every change 0, when the group had no request then). A latency or throughput trend stays 0 when the previous
value was 0.

Owner rankings leave out rows without an owner (no "Unassigned" entry); ``name`` is the owner's name as the
rows recorded it, omitted when none did.

Example:
    >>> from app.generations import V2
    >>> from app.embedded_bifrost.db import Store
    >>> from app.embedded_bifrost.log_filters import parse_log_filters
    >>> from app.embedded_bifrost.request_logs import LogRow, record
    >>> store = Store(":memory:", V2)
    >>> record(store.db, LogRow(id="r1", timestamp=0, provider="openai", model="gpt-4o", status="success",
    ...                         team_id="t1", team_name="Core", cost=0.5, total_tokens=9))
    >>> dimension_rankings(store.db, parse_log_filters({}), "team")["rankings"][0]["name"]
    'Core'
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from .log_filters import TERMINAL_STATUSES, LogFilter

__all__ = ["RANKING_DIMENSIONS", "dimension_rankings", "model_rankings"]

# The ``dimension`` values of ``/rankings/by-dimension``: the owner's id column and name column (None where the
# table keeps no name). ``virtual_key`` is accepted though Bifrost's message does not list it.
RANKING_DIMENSIONS: dict[str, tuple[str, str | None]] = {
    "team": ("team_id", "team_name"),
    "customer": ("customer_id", "customer_name"),
    "business_unit": ("business_unit_id", None),
    "user": ("user_id", None),
    "virtual_key": ("virtual_key_id", "virtual_key_name"),
}
_LIMIT = 100
_MODEL_TOTALS = (
    "count(*), sum(status = 'success'), coalesce(sum(total_tokens), 0), coalesce(sum(cost), 0),"
    " coalesce(avg(latency), 0),"
    " coalesce(sum(CASE WHEN status = 'success' AND latency > 0 THEN completion_tokens ELSE 0 END), 0),"
    " coalesce(sum(CASE WHEN status = 'success' AND latency > 0 THEN latency ELSE 0 END), 0)"
)
_OWNER_TOTALS = "count(*), coalesce(sum(total_tokens), 0), coalesce(sum(cost), 0)"


def model_rankings(db: sqlite3.Connection, logs: LogFilter) -> dict[str, Any]:
    """``GET /api/logs/rankings``: (model, provider) pairs by requests, with their trend."""
    where, params = logs.where()
    current = db.execute(
        f"SELECT model, provider, {_MODEL_TOTALS} FROM logs"
        f" WHERE {where} AND status IN {TERMINAL_STATUSES} AND model IS NOT NULL AND model != ''"
        " GROUP BY model, provider ORDER BY count(*) DESC, model, provider LIMIT ?",
        [*params, _LIMIT],
    ).fetchall()
    previous = {
        (row[0], row[1]): row
        for row in _previous(db, logs, "model, provider", f"{_MODEL_TOTALS}", "model != ''")
        if (row[0], row[1]) in {(r[0], r[1]) for r in current}
    }
    rankings = []
    for model, provider, requests, succeeded, tokens, cost, latency, tp_tokens, tp_latency in current:
        throughput = _per_second(tp_tokens, tp_latency)
        trend: dict[str, Any] = {
            "has_previous_period": False,
            "requests_trend": 0,
            "tokens_trend": 0,
            "cost_trend": 0,
            "latency_trend": 0,
            "throughput_trend": 0,
        }
        before = previous.get((model, provider))
        if before is not None and before[2] > 0:
            _, _, b_requests, _, b_tokens, b_cost, b_latency, b_tp_tokens, b_tp_latency = before
            b_throughput = _per_second(b_tp_tokens, b_tp_latency)
            trend.update(
                has_previous_period=True,
                requests_trend=_change(b_requests, requests),
                tokens_trend=_change(b_tokens, tokens),
                cost_trend=_change(b_cost, cost),
                latency_trend=_change(b_latency, latency) if b_latency > 0 else 0,
                throughput_trend=_change(b_throughput, throughput) if b_throughput > 0 else 0,
            )
        rankings.append(
            {
                "model": model,
                "provider": provider,
                "total_requests": requests,
                "success_count": succeeded,
                "success_rate": succeeded / requests * 100 if requests else 0,
                "total_tokens": tokens,
                "total_cost": cost,
                "avg_latency": latency,
                "throughput": throughput,
                "trend": trend,
            }
        )
    return {"rankings": rankings}


def dimension_rankings(db: sqlite3.Connection, logs: LogFilter, dimension: str) -> dict[str, Any]:
    """``GET /api/logs/rankings/by-dimension``: owners by requests, with their trend.

    Args:
        db: The database.
        logs: The request's filters.
        dimension: A key of :data:`RANKING_DIMENSIONS` (the handler has checked it).
    """
    id_column, name_column = RANKING_DIMENSIONS[dimension]
    named = f"max({name_column})" if name_column else "''"
    owned = f"{id_column} IS NOT NULL AND {id_column} != ''"
    where, params = logs.where()
    current = db.execute(
        f"SELECT {id_column}, {named}, {_OWNER_TOTALS} FROM logs"
        f" WHERE {where} AND status IN {TERMINAL_STATUSES} AND {owned}"
        f" GROUP BY {id_column} ORDER BY count(*) DESC, {id_column} LIMIT ?",
        [*params, _LIMIT],
    ).fetchall()
    ids = {row[0] for row in current}
    previous = {row[0]: row for row in _previous(db, logs, id_column, _OWNER_TOTALS, owned) if row[0] in ids}
    rankings = []
    for owner, name, requests, tokens, cost in current:
        entry: dict[str, Any] = {"id": owner}
        if name:
            entry["name"] = name
        trend: dict[str, Any] = {"has_previous_period": False, "requests_trend": 0, "tokens_trend": 0, "cost_trend": 0}
        before = previous.get(owner)
        if before is not None and before[1] > 0:
            trend.update(
                has_previous_period=True,
                requests_trend=_change(before[1], requests),
                tokens_trend=_change(before[2], tokens),
                cost_trend=_change(before[3], cost),
            )
        rankings.append(
            {**entry, "total_requests": requests, "total_tokens": tokens, "total_cost": cost, "trend": trend}
        )
    return {"rankings": rankings, "dimension": dimension}


def _previous(
    db: sqlite3.Connection, logs: LogFilter, group: str, totals: str, condition: str
) -> Sequence[tuple[Any, ...]]:
    """The groups' totals over the previous period of equal length, or none without a complete range."""
    if logs.start is None or logs.end is None:
        return []
    where, params = logs.where(logs.start - (logs.end - logs.start), logs.start - 1)
    return db.execute(
        f"SELECT {group}, {totals} FROM logs"
        f" WHERE {where} AND status IN {TERMINAL_STATUSES} AND {condition} GROUP BY {group}",
        params,
    ).fetchall()


def _change(before: float, now: float) -> float:
    """Percentage change; 0 without a basis to compare with."""
    return 0 if before == 0 else (now - before) / before * 100


def _per_second(tokens: int, latency_ms: float) -> float:
    """Completion tokens per second of latency (0 without latency)."""
    return 0 if latency_ms <= 0 else tokens / (latency_ms / 1000)
