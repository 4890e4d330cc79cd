"""``GET/PUT /api/config``, reduced to the one setting governance needs: ``client_config.vk_rotation_cooldown``.

The cooldown is a Go duration: a string (``"5m"``, ``"1m30s"``; ``""`` or blanks mean 0), an integer number
of nanoseconds, or ``null`` (0). It must lie within 0 and 30 days. It changes only when the request names it,
and saving 0 revokes every running grace window. Every other field of Bifrost's configuration is ignored.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..context import Context, Request
from ..durations import format_go_duration, parse_go_duration_ns
from ..errors import ApiError
from ..rotation import MAX_COOLDOWN_NS, rotation_cooldown, set_rotation_cooldown

__all__ = ["get_config", "update_config"]

_INVALID = "Invalid request payload"
_INT64 = (-(2**63), 2**63 - 1)


def get_config(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/config: the cooldown as Go writes a duration (``"5m0s"``, ``"0s"``)."""
    cooldown = rotation_cooldown(ctx.store.db)
    return {"client_config": {"vk_rotation_cooldown": format_go_duration(cooldown)}, "is_db_connected": True}


def update_config(ctx: Context, request: Request) -> dict[str, Any]:
    """PUT /api/config: store ``client_config.vk_rotation_cooldown`` when the body names it."""
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        raise ApiError(400, _INVALID) from None
    if body is not None and not isinstance(body, dict):
        raise ApiError(400, _INVALID)
    client_config = _field(body or {}, "client_config")
    if client_config is not None and not isinstance(client_config, dict):
        raise ApiError(400, _INVALID)
    fields = client_config or {}
    if _has_field(fields, "vk_rotation_cooldown"):
        cooldown = _cooldown_ns(_field(fields, "vk_rotation_cooldown"))
        if cooldown < 0:
            raise ApiError(400, "vk_rotation_cooldown must not be negative")
        if cooldown > MAX_COOLDOWN_NS:
            raise ApiError(400, "vk_rotation_cooldown must not exceed 30 days")
        with ctx.store.transaction() as db:
            set_rotation_cooldown(db, cooldown)
    return {"status": "success", "message": "configuration updated successfully"}


def _has_field(fields: dict[str, Any], name: str) -> bool:
    # Go matches JSON keys to struct fields without regard to case.
    return any(key.lower() == name for key in fields)


def _field(fields: dict[str, Any], name: str) -> Any:
    if name in fields:
        return fields[name]
    for key, value in fields.items():
        if key.lower() == name:
            return value
    return None


def _cooldown_ns(value: Any) -> int:
    """A cooldown in nanoseconds, read as Bifrost's flexible duration; 400 when it is not one."""
    if value is None:
        return 0
    if isinstance(value, str):
        if not value.strip():
            return 0
        parsed = parse_go_duration_ns(value)
        if parsed is None:
            raise ApiError(400, _INVALID)
        return parsed
    if isinstance(value, int) and not isinstance(value, bool) and _INT64[0] <= value <= _INT64[1]:
        return value
    raise ApiError(400, _INVALID)
