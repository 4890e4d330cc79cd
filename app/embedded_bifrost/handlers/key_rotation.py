"""``POST /api/governance/virtual-keys/{vk_id}/rotate`` and the bulk ``POST .../virtual-keys/rotate``.

Each key is rotated in its own transaction, as Bifrost rotates them one by one: a bulk request whose ids are
partly unknown rotates the others and answers 200 with ``errors`` naming the failures; when every id fails it
answers 500 with the same body shape.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..context import Context, Request, Response
from ..decode import STR, decode_body
from ..errors import ApiError
from ..rotation import rotate

__all__ = ["rotate_virtual_key", "rotate_virtual_keys"]

BULK = {"ids": [STR]}
_NOT_FOUND = "virtual key not found"


def rotate_virtual_key(ctx: Context, request: Request) -> dict[str, Any]:
    """POST /api/governance/virtual-keys/{vk_id}/rotate: a new value; the old one lives out the grace period."""
    key = _rotate(ctx, request.param)
    if key is None:
        raise ApiError(404, "Virtual key not found")
    return {"message": "Virtual key rotated successfully", "virtual_key": key}


def rotate_virtual_keys(ctx: Context, request: Request) -> Response:
    """POST /api/governance/virtual-keys/rotate ``{ids}``: ids trimmed and de-duplicated, in the order given."""
    body = decode_body(request.body, BULK)
    raw_ids: list[str] = body.get("ids", [])
    if not raw_ids:
        raise ApiError(400, "At least one virtual key ID is required")
    ids: dict[str, None] = {}
    for raw in raw_ids:
        vk_id = raw.strip()
        if not vk_id:
            raise ApiError(400, "Virtual key ID cannot be empty")
        ids.setdefault(vk_id)
    rotated: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for vk_id in ids:
        key = _rotate(ctx, vk_id)
        if key is None:
            errors[vk_id] = _NOT_FOUND
        else:
            rotated.append(key)
    answer: dict[str, Any] = {"message": "Virtual keys rotated successfully", "virtual_keys": rotated}
    if errors:
        answer["errors"] = errors
    if not rotated:
        answer["message"] = "Failed to rotate virtual keys"
        return Response(500, orjson.dumps(answer))
    return Response(200, orjson.dumps(answer))


def _rotate(ctx: Context, vk_id: str) -> dict[str, Any] | None:
    """Rotate one key and read it back, or None when there is no such key."""
    with ctx.store.transaction() as db:
        if not rotate(db, vk_id, ctx.clock()):
            return None
        row = db.execute("SELECT * FROM virtual_keys WHERE id = ?", (vk_id,)).fetchone()
        key: dict[str, Any] = ctx.views.virtual_key(row)
    return key
