"""The filters of Bifrost's ``/api/logs/*`` reads, parsed from the query string as its handler parses them.

Every list filter is a comma list (``team_ids=a,b``): items are trimmed and empty ones dropped, and a list left
empty filters nothing. Values that do not parse are ignored, never refused: a ``start_time`` that is not RFC 3339
means "from the beginning", a ``min_cost`` that is not a number means no minimum. ``start_time`` and ``end_time``
both include their instant.

Filters on columns the embedded server's rows never fill (aliases, routing rules and engines, stop reasons,
content, ``metadata_*``) match no row, which is what Bifrost answers for rows without those values.
``period`` is not read (Bifrost's accepted values are not known).

Example:
    >>> logs = parse_log_filters({"team_ids": " t1, ,t2", "start_time": "yesterday"})
    >>> logs.start is None, logs.where()
    (True, ('team_id IN (SELECT value FROM json_each(?))', ['["t1","t2"]']))
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from .timestamps import NANOS_PER_SECOND, parse_rfc3339

__all__ = ["TERMINAL_STATUSES", "LogFilter", "bucket_size_seconds", "bucket_starts", "parse_log_filters"]

# Requests that have finished; ``processing`` rows count only towards ``total_requests`` of the stats.
TERMINAL_STATUSES = "('success', 'error', 'cancelled')"

# Query parameter -> column; one parameter list, bound as a JSON array so that a long list is one variable.
_LISTS = {
    "providers": "provider",
    "models": "model",
    "status": "status",
    "objects": "object_type",
    "selected_key_ids": "selected_key_id",
    "virtual_key_ids": "virtual_key_id",
    "team_ids": "team_id",
    "customer_ids": "customer_id",
    "user_ids": "user_id",
    "business_unit_ids": "business_unit_id",
}
# Filters on values the embedded server never records: any value given leaves no row.
_NEVER_RECORDED = ("aliases", "routing_rule_ids", "routing_engine_used", "stop_reasons")
_RANGES = (
    ("min_latency", "latency >=", False),
    ("max_latency", "latency <=", False),
    ("min_tokens", "total_tokens >=", True),
    ("max_tokens", "total_tokens <=", True),
    ("min_cost", "cost >=", False),
    ("max_cost", "cost <=", False),
)
_GO_INT = re.compile(r"[+-]?\d+", re.ASCII)
_GO_FLOAT = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])"
)
_GO_BOOLS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True}
_GO_BOOLS |= {"0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
_INT64 = (-(2**63), 2**63 - 1)

_DAY = 86_400
# (minimum range in seconds, whether the bound is inclusive, bucket size): Bifrost's calculateBucketSize.
_BUCKETS = (
    (365 * _DAY, True, 30 * _DAY),
    (90 * _DAY, True, 7 * _DAY),
    (31 * _DAY, False, 3 * _DAY),
    (7 * _DAY, True, _DAY),
    (3 * _DAY, True, 8 * 3600),
    (_DAY, True, 3600),
    (2 * 3600, True, 600),
)


@dataclass(frozen=True, slots=True)
class LogFilter:
    """The parsed filters of one request.

    Attributes:
        clauses: SQL conditions on the ``logs`` table other than time, each with its parameters.
        start: ``start_time`` in nanoseconds since the epoch, None when absent or unparsable.
        end: ``end_time`` likewise.
        parent_request_id: The ``parent_request_id`` (or ``session_id``) filter, "" when absent.
    """

    clauses: tuple[tuple[str, tuple[object, ...]], ...] = ()
    start: int | None = None
    end: int | None = None
    parent_request_id: str = ""

    def where(
        self, start: int | None = None, end: int | None = None, *, ranged: bool = True
    ) -> tuple[str, list[object]]:
        """The WHERE condition (without the keyword) and its parameters.

        Args:
            start: A start other than the request's (the previous period of a ranking).
            end: An end other than the request's.
            ranged: False leaves the time bounds out.
        """
        if ranged:
            start = self.start if start is None else start
            end = self.end if end is None else end
        else:
            start = end = None
        parts: list[str] = []
        params: list[object] = []
        for clause, values in self.clauses:
            parts.append(clause)
            params.extend(values)
        if start is not None:
            parts.append("timestamp >= ?")
            params.append(_clamp(start))
        if end is not None:
            parts.append("timestamp <= ?")
            params.append(_clamp(end))
        return (" AND ".join(parts) or "1"), params


def parse_log_filters(query: Mapping[str, str]) -> LogFilter:
    """Read the filters of a ``/api/logs/*`` request (the first value of each parameter).

    Args:
        query: The query parameters.

    Returns:
        The filters; nothing is ever refused.
    """
    clauses: list[tuple[str, tuple[object, ...]]] = []
    for name, column in _LISTS.items():
        items = _comma_list(query.get(name, ""))
        if items:
            clauses.append((f"{column} IN (SELECT value FROM json_each(?))", (orjson.dumps(items).decode(),)))
    if any(_comma_list(query.get(name, "")) for name in _NEVER_RECORDED):
        clauses.append(("0", ()))
    if query.get("content_search", "") or any(name.startswith("metadata_") and value for name, value in query.items()):
        clauses.append(("0", ()))
    parent = query.get("parent_request_id", "")
    if not parent.strip():
        parent = query.get("session_id", "")
    parent = parent if parent.strip() else ""
    if parent:
        clauses.append(("parent_request_id = ?", (parent,)))
    for name, condition, integral in _RANGES:
        value = _go_number(query.get(name, ""), integral)
        if value is not None:
            clauses.append((f"{condition} ?", (value,)))
    if _GO_BOOLS.get(query.get("missing_cost_only", "")):
        clauses.append(("(cost IS NULL OR cost <= 0) AND status NOT IN ('error')", ()))
    return LogFilter(
        clauses=tuple(clauses),
        start=_time(query.get("start_time", "")),
        end=_time(query.get("end_time", "")),
        parent_request_id=parent,
    )


def bucket_size_seconds(start: int | None, end: int | None) -> int:
    """The bucket size Bifrost picks for a range (nanoseconds): one hour without a complete range.

    Example:
        >>> bucket_size_seconds(0, 90 * 60 * NANOS_PER_SECOND), bucket_size_seconds(None, 0)
        (60, 3600)
    """
    if start is None or end is None:
        return 3600
    span = end - start
    for bound, inclusive, size in _BUCKETS:
        limit = bound * NANOS_PER_SECOND
        if span > limit or (inclusive and span == limit):
            return size
    return 60


def bucket_starts(start: int | None, end: int | None, size: int) -> list[int]:
    """Every bucket of a complete range, in seconds: from the start's bucket up to the end's second.

    A bucket starts at a multiple of ``size`` seconds since the epoch (UTC); without a complete range there is
    no list (the answer then holds only the buckets that have rows).

    Example:
        >>> bucket_starts(90 * NANOS_PER_SECOND, 200 * NANOS_PER_SECOND, 60)
        [60, 120, 180]
    """
    if start is None or end is None:
        return []
    first = start // NANOS_PER_SECOND // size * size
    return list(range(first, end // NANOS_PER_SECOND + 1, size))


def _comma_list(text: str) -> list[str]:
    return [item for item in (part.strip() for part in text.split(",")) if item]


def _time(text: str) -> int | None:
    return parse_rfc3339(text) if text else None


def _go_number(text: str, integral: bool) -> int | float | None:
    # Go's strconv.Atoi / ParseFloat grammar: Python's int() and float() also take spaces and underscores.
    if integral:
        if _GO_INT.fullmatch(text) is None:
            return None
        whole = int(text)
        return whole if _INT64[0] <= whole <= _INT64[1] else None
    if _GO_FLOAT.fullmatch(text) is None:
        return None
    real = float(text)
    # Out of float64's range is an error in Go (the filter is ignored), not an infinity.
    return None if math.isinf(real) and "n" not in text.lower() else real


def _clamp(nanos: int) -> int:
    # RFC 3339 reaches years 0000-9999; SQLite integers do not, and no row lies beyond them.
    return min(max(nanos, _INT64[0]), _INT64[1])
