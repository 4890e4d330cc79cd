"""Bifrost's log analytics over the ``logs`` table: the stats and the cost histograms.

The same reads as Bifrost's log store (``GetStats``, ``GetCostHistogram``, ``GetDimensionCostHistogram``):

- stats count every matching row in ``total_requests``, and compute the rest over finished rows (``success``,
  ``error``, ``cancelled``); ``user_facing_*`` count fallback chains once (a root row, ``fallback_index`` 0, that
  succeeded or has a successful fallback).
- the cost histograms sum ``cost`` over finished rows with a cost above zero, per bucket. A bucket starts at a
  multiple of its size in seconds since the epoch (UTC), the size following the range
  (:func:`~.log_filters.bucket_size_seconds`). With both ``start_time`` and ``end_time`` every bucket of the
  range is answered, empty ones with a zero cost and an empty map, as Bifrost fills them; without them, only
  the buckets that have rows.
- ``by_dimension`` keys a row without the dimension's value (a key without a team) as ``""``, as Go reads a
  NULL into a string.

Maps come out with their keys sorted and ``models``/``dimension_values`` sorted, as Go writes a map (its own
lists come from map iteration, in no order).

Example:
    >>> from app.generations import V2
    >>> from app.embedded_bifrost.db import Store
    >>> from app.embedded_bifrost.log_filters import parse_log_filters
    >>> from app.embedded_bifrost.request_logs import LogRow, record
    >>> store = Store(":memory:", V2)
    >>> record(store.db, LogRow(id="r1", timestamp=90 * 10**9, provider="openai", model="gpt-4o-mini",
    ...                         status="success", cost=0.5))
    >>> cost_histogram(store.db, parse_log_filters({}))["buckets"]
    [{'timestamp': '1970-01-01T00:00:00Z', 'total_cost': 0.5, 'by_model': {'gpt-4o-mini': 0.5}}]
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .log_filters import TERMINAL_STATUSES, LogFilter, bucket_size_seconds, bucket_starts
from .timestamps import NANOS_PER_SECOND, format_rfc3339

__all__ = ["HISTOGRAM_DIMENSIONS", "cost_by_dimension", "cost_histogram", "log_stats"]

# The ``dimension`` values of ``/histogram/cost/by-dimension``, each naming its column.
HISTOGRAM_DIMENSIONS = {
    "provider": "provider",
    "team_id": "team_id",
    "customer_id": "customer_id",
    "user_id": "user_id",
    "business_unit_id": "business_unit_id",
}


def log_stats(db: sqlite3.Connection, logs: LogFilter) -> dict[str, Any]:
    """``GET /api/logs/stats``: totals over the matching rows."""
    where, params = logs.where()
    total = db.execute(f"SELECT count(*) FROM logs WHERE {where}", params).fetchone()[0]
    stats: dict[str, Any] = {
        "total_requests": total,
        "success_rate": 0,
        "user_facing_success_rate": 0,
        "user_facing_total_requests": 0,
        "average_latency": 0,
        "total_tokens": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_cost": 0,
    }
    if total == 0:
        return stats
    completed, succeeded, latency, tokens, prompt, completion, cost = db.execute(
        "SELECT count(*), sum(status = 'success'), avg(latency), sum(total_tokens), sum(prompt_tokens),"
        f" sum(completion_tokens), sum(cost) FROM logs WHERE {where} AND status IN {TERMINAL_STATUSES}",
        params,
    ).fetchone()
    if completed:
        stats["success_rate"] = succeeded / completed * 100
        for name, value in (
            ("average_latency", latency),
            ("total_tokens", tokens),
            ("prompt_tokens", prompt),
            ("completion_tokens", completion),
            ("total_cost", cost),
        ):
            if value is not None:
                stats[name] = value
    if logs.parent_request_id:
        # Scoped to one chain, there is no root row to count: the per-attempt rate stands in.
        stats["user_facing_success_rate"] = stats["success_rate"]
    else:
        roots, rescued = _user_facing(db, logs)
        stats["user_facing_total_requests"] = roots
        if roots:
            stats["user_facing_success_rate"] = rescued / roots * 100
    stats["cache_hit_rate_total_requests"] = completed
    return stats


def _user_facing(db: sqlite3.Connection, logs: LogFilter) -> tuple[int, int]:
    where, params = logs.where()
    # Fallbacks are looked for within the same time bounds only (Bifrost's inner query), not the other filters;
    # inside the subquery the bare ``timestamp`` is the fallback's own.
    within, bounds = LogFilter(start=logs.start, end=logs.end).where()
    roots, rescued = db.execute(
        "SELECT count(DISTINCT logs.id), count(DISTINCT CASE WHEN logs.status = 'success' OR EXISTS"
        " (SELECT 1 FROM logs AS f WHERE f.parent_request_id = logs.id AND f.status = 'success'"
        f" AND {within}) THEN logs.id END)"
        f" FROM logs WHERE {where} AND fallback_index = 0 AND status IN {TERMINAL_STATUSES}",
        [*bounds, *params],
    ).fetchone()
    return roots, rescued


def cost_histogram(db: sqlite3.Connection, logs: LogFilter) -> dict[str, Any]:
    """``GET /api/logs/histogram/cost``: cost per bucket, split by model."""
    size, buckets = _cost_buckets(db, logs, "model")
    return {
        "buckets": [{"timestamp": at, "total_cost": total, "by_model": split} for at, total, split in buckets],
        "bucket_size_seconds": size,
        "models": sorted({model for _, _, split in buckets for model in split}),
    }


def cost_by_dimension(db: sqlite3.Connection, logs: LogFilter, dimension: str) -> dict[str, Any]:
    """``GET /api/logs/histogram/cost/by-dimension``: cost per bucket, split by a dimension's values.

    Args:
        db: The database.
        logs: The request's filters.
        dimension: A key of :data:`HISTOGRAM_DIMENSIONS` (the handler has checked it).
    """
    size, buckets = _cost_buckets(db, logs, f"coalesce({HISTOGRAM_DIMENSIONS[dimension]}, '')")
    return {
        "buckets": [{"timestamp": at, "total_cost": total, "by_dimension": split} for at, total, split in buckets],
        "bucket_size_seconds": size,
        "dimension": dimension,
        "dimension_values": sorted({value for _, _, split in buckets for value in split}),
    }


def _cost_buckets(
    db: sqlite3.Connection, logs: LogFilter, group: str
) -> tuple[int, list[tuple[str, float, dict[str, float]]]]:
    """The bucket size and each bucket as (timestamp, total cost, cost per value of ``group``)."""
    size = bucket_size_seconds(logs.start, logs.end)
    width = size * NANOS_PER_SECOND
    # Floor division (SQLite's ``/`` truncates towards zero, which would put instants before 1970 one bucket late).
    bucket = f"((timestamp / {width}) - (timestamp % {width} < 0)) * {size}"
    where, params = logs.where()
    rows = db.execute(
        f"SELECT {bucket} AS bucket, {group} AS grouped, sum(cost) FROM logs"
        f" WHERE {where} AND status IN {TERMINAL_STATUSES} AND cost IS NOT NULL AND cost > 0"
        " GROUP BY bucket, grouped ORDER BY bucket, grouped",
        params,
    ).fetchall()
    found: dict[int, tuple[list[float], dict[str, float]]] = {}
    for start, value, cost in rows:
        total, split = found.setdefault(start, ([0.0], {}))
        total[0] += cost
        split[value] = cost
    starts = bucket_starts(logs.start, logs.end, size) or sorted(found)
    answered = []
    for start in starts:
        total, split = found.get(start, ([0.0], {}))
        answered.append((format_rfc3339(start * NANOS_PER_SECOND), total[0], split))
    return size, answered
