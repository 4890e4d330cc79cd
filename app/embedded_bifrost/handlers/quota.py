"""``GET /api/governance/virtual-keys/quota``: a key's own limits and usage, for the holder of the key.

The credential is the virtual key alone (admin auth does not apply): ``x-bf-vk`` with any value, else the first
of ``Authorization: Bearer``, ``x-api-key``, ``x-goog-api-key`` and ``api-key`` that carries the ``sk-bf-``
prefix (checked without regard to case). A value rotated out less than its grace period ago still works.

The answer is a Go map, so its keys come sorted. Each budget carries ``per_model_usage``, the spend per
model since the budget's window opened; the server keeps no request logs, so it is empty
(:func:`per_model_usage` is the one place that would read them).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..context import Context, Request
from ..errors import ApiError
from ..key_models import key_model_configs
from ..rotation import VALUE_PREFIX, key_by_value

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
    """Spend per model within a budget's current window: ``{model, provider?, total_requests, total_tokens,
    total_cost}`` since the later of ``last_reset`` and ``created_at``. Empty: there are no request logs."""
    return []


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
