"""List pagination, switched on by any of ``limit``, ``offset`` or ``search``.

``limit`` <= 0 becomes 25 and > 100 becomes 100; ``offset`` < 0 becomes 0. Without any of the three, lists
return every row and carry only ``count``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ApiError

__all__ = ["Page", "list_page", "page_of"]

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True, slots=True)
class Page:
    """A requested page: how many rows, from where, and the name filter."""

    limit: int
    offset: int
    search: str


def page_of(query: dict[str, str], *, strict: bool = False) -> Page | None:
    """Read the pagination parameters of a list request.

    Args:
        query: The query parameters.
        strict: Reject a non-numeric ``limit``/``offset`` with 400 (virtual keys) instead of using the default.

    Returns:
        The page, or None when the request asks for no pagination.

    Raises:
        ApiError: 400 ``Invalid limit parameter: must be a number`` (or ``offset``) when strict.
    """
    raw_limit = query.get("limit", "")
    raw_offset = query.get("offset", "")
    search = query.get("search", "")
    if not (raw_limit or raw_offset or search):
        return None
    limit = _number(raw_limit, "limit", strict)
    offset = _number(raw_offset, "offset", strict)
    if limit <= 0:
        limit = DEFAULT_LIMIT
    elif limit > MAX_LIMIT:
        limit = MAX_LIMIT
    return Page(limit=limit, offset=max(offset, 0), search=search)


def _number(raw: str, name: str, strict: bool) -> int:
    if not raw:
        return 0
    # Go's strconv.Atoi: an optional sign and ASCII digits, nothing else (no spaces, no underscores).
    # Beyond 20 characters it overflows Go's int anyway (and Python will not read thousands of digits).
    if _INTEGER.fullmatch(raw) and len(raw) <= 20:
        return int(raw)
    if strict:
        raise ApiError(400, f"Invalid {name} parameter: must be a number")
    return 0


def list_page(
    db: sqlite3.Connection,
    *,
    table: str,
    key: str,
    clause: str,
    args: Sequence[Any],
    order: str,
    page: Page | None,
    render: Callable[[list[sqlite3.Row]], list[dict[str, Any]]],
    unpaged_totals: bool = False,
) -> dict[str, Any]:
    """A list answer: the rows in ``order`` (one page, or all), rendered under ``key``, with the paging fields.

    ``clause`` is the ``WHERE`` part (or empty) with its ``args``; ``total_count``, ``limit`` and ``offset`` are
    only present when the request asked for paging, as in Bifrost before v2, unless ``unpaged_totals`` (v2:
    an unpaged list answers them too, ``limit`` being the number of rows and ``offset`` 0).
    """
    sql = f"SELECT * FROM {table}{clause} ORDER BY {order}"
    if page is not None:
        rows = db.execute(f"{sql} LIMIT ? OFFSET ?", (*args, page.limit, page.offset)).fetchall()
    else:
        rows = db.execute(sql, tuple(args)).fetchall()
    items = render(rows)
    out: dict[str, Any] = {key: items, "count": len(items)}
    if page is not None:
        out["total_count"] = db.execute(f"SELECT count(*) FROM {table}{clause}", tuple(args)).fetchone()[0]
        out["limit"] = page.limit
        out["offset"] = page.offset
    elif unpaged_totals:
        out.update(total_count=len(items), limit=len(items), offset=0)
    return out
