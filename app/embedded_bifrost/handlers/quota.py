"""``GET /api/governance/virtual-keys/quota``: a key's own limits and usage, for the holder of the key.

The credential is the virtual key alone (admin auth does not apply): ``x-bf-vk`` with any value, else the first
of ``Authorization: Bearer``, ``x-api-key``, ``x-goog-api-key`` and ``api-key`` that carries the ``sk-bf-``
prefix (checked without regard to case). A value rotated out less than its grace period ago still works.

The answer is a Go map, so its keys come sorted. Each budget carries ``per_model_usage``, the key's spend per
(model, provider) since the budget's window opened, read from the request log (:func:`per_model_usage`).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..context import Context, Request
from ..errors import ApiError
from ..key_models import key_model_configs
from ..log_filters import TERMINAL_STATUSES
from ..rotation import VALUE_PREFIX, key_by_value
from ..timestamps import parse_rfc3339

__all__ = ["credential", "per_model_usage", "virtual_key_quota"]

MISSING = (
    "Missing virtual key. Provide it via x-bf-vk header, Authorization Bearer, x-api-key, x-goog-api-key,"
    " or api-key header."
)
_PREFIXED_HEADERS = (b"x-api-key", b"x-goog-api-key", b"api-key")


def credential(headers: dict[bytes, bytes]) -> str | None:
    """The virtual key a request presents, as Bifrost's quota handler reads it, or None."""
    direct = headers.get(b"x-bf-vk", b"")
    if direct:
        return direct.decode("latin-1")
    authorization = headers.get(b"authorization", b"")
    if authorization[:7].lower() == b"bearer ":
        token = authorization[7:].strip()
        if _prefixed(token):
            return token.decode("latin-1")
    for name in _PREFIXED_HEADERS:
        value = headers.get(name, b"")
        if _prefixed(value):
            return value.decode("latin-1")
    return None


def _prefixed(value: bytes) -> bool:
    return value[: len(VALUE_PREFIX)].lower() == VALUE_PREFIX.encode()


def per_model_usage(db: sqlite3.Connection, vk_id: str, budget: dict[str, Any]) -> list[dict[str, Any]]:
    """The key's spend per (model, provider) within a budget's current window.

    The window opens at the later of the budget's ``last_reset`` and ``created_at``. Usage counts as charging
    does: tokens and cost of every finished request, the request itself only when it succeeded (a failed call
    is charged for what the provider billed, without a request). Sorted by model, then provider.

    Returns:
        ``[{model, provider, total_requests, total_tokens, total_cost}]``, ``[]`` without requests.
    """
    opened = [parse_rfc3339(str(budget.get(name, ""))) for name in ("last_reset", "created_at")]
    since = max((moment for moment in opened if moment is not None), default=None)
    since_clause = "" if since is None else " AND timestamp >= ?"
    params: list[object] = [vk_id] if since is None else [vk_id, min(since, 2**63 - 1)]
    rows = db.execute(
        "SELECT model, provider, coalesce(sum(status = 'success'), 0), coalesce(sum(total_tokens), 0),"
        " coalesce(sum(cost), 0) FROM logs"
        f" WHERE virtual_key_id = ? AND status IN {TERMINAL_STATUSES}{since_clause}"
        " GROUP BY model, provider ORDER BY model, provider",
        params,
    ).fetchall()
    return [
        {"model": model, "provider": provider, "total_requests": requests, "total_tokens": tokens, "total_cost": cost}
        for model, provider, requests, tokens, cost in rows
    ]


def virtual_key_quota(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/governance/virtual-keys/quota."""
    value = credential(request.headers)
    if not value:
        raise ApiError(401, MISSING)
    db = ctx.store.db
    row = key_by_value(db, value, ctx.clock())
    if row is None:
        raise ApiError(401, "Virtual key not found")
    key = ctx.views.virtual_key(row)
    budgets = [
        {**budget, "per_model_usage": per_model_usage(db, row["id"], budget)} for budget in key.get("budgets", [])
    ]
    return {
        "budgets": budgets,
        "is_active": key["is_active"],
        "model_configs": key_model_configs(db, ctx.generation, [row["id"]]).get(row["id"], []),
        "provider_configs": key["provider_configs"],
        "rate_limit": key.get("rate_limit"),
        "virtual_key_name": row["name"],
    }
