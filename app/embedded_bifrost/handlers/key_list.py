"""``GET /api/governance/virtual-keys`` as Bifrost v2 answers it (generations with ``Feature.KEY_LIST_PAGING``).

Paging turns on with any of ``limit offset search customer_id team_id user_id sort_by`` (non-empty) or
``export exclude_access_profile_managed_virtual exclude_assigned_virtual_keys for_user_assignment`` (``true``);
``order`` alone does not. ``limit``/``offset`` that are not integers, or negative, are refused with 400;
``limit`` 0 becomes 25 and more than 100 becomes 100, except for an export, which is not clamped (0: all rows).
Without paging every key is answered, and ``total_count``, ``limit`` (the row count) and ``offset`` (0) still.

There are no users here: a ``user_id`` filter matches no key (Bifrost fails closed on it), the user and
access-profile exclusions exclude nothing. ``from_memory=true`` answers every key and only refuses ``user_id``.
"""

from __future__ import annotations

import re
from typing import Any

from ..context import Context, Request
from ..errors import ApiError
from .pagination import DEFAULT_LIMIT, MAX_LIMIT

__all__ = ["list_keys"]

_TEXT_TRIGGERS = ("limit", "offset", "search", "customer_id", "team_id", "user_id", "sort_by")
_FLAG_TRIGGERS = (
    "export",
    "exclude_access_profile_managed_virtual",
    "exclude_assigned_virtual_keys",
    "for_user_assignment",
)
_USER_ID_FROM_MEMORY = (
    "user_id filter is not supported with from_memory=true; omit from_memory to filter virtual keys by user"
)
_INTEGER = re.compile(r"[+-]?[0-9]+")
_INT64_MAX = 2**63 - 1
_SORT_COLUMNS = {
    "name": "name",
    "created_at": "created_at",
    "status": "is_active",
    "budget_spent": "(SELECT coalesce(sum(current_usage), 0) FROM budgets b WHERE b.virtual_key_id = virtual_keys.id)",
}


def list_keys(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/governance/virtual-keys."""
    query = request.query
    db = ctx.store.db
    if query.get("from_memory") == "true":
        if query.get("user_id"):
            raise ApiError(400, _USER_ID_FROM_MEMORY)
        return _answer(ctx, db.execute("SELECT * FROM virtual_keys ORDER BY created_at, id").fetchall())
    paged = any(query.get(name) for name in _TEXT_TRIGGERS) or any(query.get(name) == "true" for name in _FLAG_TRIGGERS)
    if not paged:
        return _answer(ctx, db.execute("SELECT * FROM virtual_keys ORDER BY created_at, id").fetchall())
    limit = _number(query.get("limit", ""), "limit")
    offset = _number(query.get("offset", ""), "offset")
    if query.get("export") != "true":
        limit = DEFAULT_LIMIT if limit == 0 else min(limit, MAX_LIMIT)
    where: list[str] = []
    args: list[Any] = []
    for column in ("customer_id", "team_id"):
        if query.get(column):
            where.append(f"{column} = ?")
            args.append(query[column])
    if query.get("search"):
        where.append("instr(lower(name), lower(?)) > 0")
        args.append(query["search"])
    if query.get("user_id"):
        where.append("0")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    direction = "DESC" if query.get("order", "").lower() == "desc" else "ASC"
    column = _SORT_COLUMNS.get(query.get("sort_by", ""), "created_at")
    order = f"{column} {direction}, created_at {direction}, id {direction}"
    rows = db.execute(
        f"SELECT * FROM virtual_keys{clause} ORDER BY {order} LIMIT ? OFFSET ?", (*args, limit or -1, offset)
    ).fetchall()
    total = db.execute(f"SELECT count(*) FROM virtual_keys{clause}", args).fetchone()[0]
    keys = ctx.views.virtual_keys(rows)
    return {"virtual_keys": keys, "count": len(keys), "total_count": total, "limit": limit, "offset": offset}


def _answer(ctx: Context, rows: list[Any]) -> dict[str, Any]:
    keys = ctx.views.virtual_keys(rows)
    return {"virtual_keys": keys, "count": len(keys), "total_count": len(keys), "limit": len(keys), "offset": 0}


def _number(raw: str, name: str) -> int:
    """A paging parameter as Go's ``strconv.Atoi`` reads it, refused when it is not a non-negative integer."""
    if not raw:
        return 0
    # The length check first: Python refuses to read an integer of thousands of digits at all.
    if not _INTEGER.fullmatch(raw) or len(raw) > 20 or abs(int(raw)) > _INT64_MAX:
        raise ApiError(400, f"Invalid {name} parameter: must be a number")
    value = int(raw)
    if value < 0:
        raise ApiError(400, f"Invalid {name} parameter: must be non-negative")
    return value
