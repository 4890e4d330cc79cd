"""Upstream paths of the governance API with ids in them, each id checked before it is placed.

Callers validate ids first and answer the caller with a userError; this is the last line of defence against
an id that would change the route (``../budgets``, ``a/b``).
"""

from __future__ import annotations

from app.bifrost.ids import is_valid_id

__all__ = ["GOVERNANCE", "governance_path"]

GOVERNANCE = "/api/governance"


def governance_path(collection: str, *segments: str, ids: tuple[str, ...] = ()) -> str:
    """``/api/governance/{collection}/...`` where ``segments`` are the route's words and ``ids`` fill ``{}``.

    Raises:
        ValueError: an id that is not safe in a path segment.

    Example:
        >>> governance_path("virtual-keys", "{}", "budgets", "{}", "override", ids=("k1", "b1"))
        '/api/governance/virtual-keys/k1/budgets/b1/override'
    """
    if not all(is_valid_id(value) for value in ids):
        raise ValueError("invalid id")
    filled = iter(ids)
    parts = [next(filled) if segment == "{}" else segment for segment in segments]
    return "/".join([GOVERNANCE, collection, *parts])
