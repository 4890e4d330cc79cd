"""Virtual key create and update as Bifrost v2 writes them (generations with ``Feature.BUDGET_IDS``).

What differs from v1.5 (:mod:`.virtual_keys`):

* most checks run inside the transaction, so an update's failures read ``Failed to update virtual key: ...``
  (400 for a refused value, 500 otherwise), and a name already taken is 409 at create and update;
* ``team_id``/``customer_id`` on update are presence-aware: neither key keeps both owners, a non-empty one
  sets it and clears the other, ``null`` or ``""`` on either clears both;
* ``expires_at`` (RFC 3339, in the future; ``""`` clears it on update), ``calendar_aligned``,
  ``allow_all_providers`` and, on update, ``reset_budget_usage``;
* budgets are matched by id, then by duration (``limits.reconcile_budgets_by_id``); provider configs as in
  :mod:`.key_configs`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from ..context import Context, Request
from ..db import new_id, now
from ..decode import BOOL, STR, decode_body
from ..errors import ApiError
from ..limits import (
    RATE_LIMIT,
    check_budgets,
    insert_rate_limit,
    is_unique_violation,
    replace_rate_limit,
    reset_budget_usage,
)
from ..rotation import new_value
from ..timestamps import parse_rfc3339, stored
from .key_configs import BUDGET_ITEM, MCP_CONFIG, PROVIDER_CONFIG, check_rate_limit, reconcile_key_budgets
from .key_configs import write_mcp_configs as write_mcp
from .key_configs import write_provider_configs as write_providers

__all__ = ["CREATE", "UPDATE", "create_key", "update_key"]

_FIELDS = {
    "name": STR,
    "description": STR,
    "team_id": STR,
    "customer_id": STR,
    "budgets": [BUDGET_ITEM],
    "rate_limit": RATE_LIMIT,
    "is_active": BOOL,
    "calendar_aligned": BOOL,
    "allow_all_providers": BOOL,
    "expires_at": STR,
    "provider_configs": [{name: spec for name, spec in PROVIDER_CONFIG.items() if name != "id"}],
    "mcp_configs": [{name: spec for name, spec in MCP_CONFIG.items() if name != "id"}],
}
CREATE = _FIELDS
UPDATE = {
    **_FIELDS,
    "provider_configs": [PROVIDER_CONFIG],
    "mcp_configs": [MCP_CONFIG],
    "reset_budget_usage": BOOL,
}
_BOTH_OWNERS = "VirtualKey cannot be attached to both Team and Customer"
_FUTURE = "expires_at must be a future timestamp"
_TAKEN = "A virtual key with this name already exists"
_UPDATE_FAILED = "Failed to update virtual key: "


def create_key(ctx: Context, request: Request) -> dict[str, Any]:
    """POST /api/governance/virtual-keys."""
    body = decode_body(request.body, CREATE)
    expires_at = None
    if "expires_at" in body:
        # Bifrost decodes expires_at as a time.Time: text that is not RFC 3339 fails the whole body.
        expires_at = parse_rfc3339(body["expires_at"])
        if expires_at is None:
            raise ApiError(400, "Invalid JSON")
    if not body.get("name"):
        raise ApiError(400, "Virtual key name is required")
    if "team_id" in body and "customer_id" in body:
        raise ApiError(400, _BOTH_OWNERS)
    wording = ctx.generation.bad_duration_wording
    try:
        check_budgets(body.get("budgets", []), wording)
    except ApiError as refused:  # the create handler checks the key's own budgets up front, capitalised
        raise ApiError(400, refused.message[:1].upper() + refused.message[1:]) from None
    if expires_at is not None and expires_at <= ctx.clock():
        raise ApiError(400, _FUTURE)
    vk_id = new_id()
    with _name_guard():
        with ctx.store.transaction() as db:
            stamp = now()
            db.execute(
                "INSERT INTO virtual_keys (id, name, description, value, is_active, team_id, customer_id,"
                " expires_at, calendar_aligned, allow_all_providers, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    vk_id,
                    body["name"],
                    body.get("description", ""),
                    new_value(),
                    int(body.get("is_active", True)),
                    body.get("team_id"),
                    body.get("customer_id"),
                    stored(expires_at),
                    int(body.get("calendar_aligned", False)),
                    int(body.get("allow_all_providers", False)),
                    stamp,
                    stamp,
                ),
            )
            aligned = body.get("calendar_aligned", False)
            write_providers(db, vk_id, body.get("provider_configs", []), wording=wording, calendar_aligned=aligned)
            reconcile_key_budgets(db, "virtual_key_id", vk_id, body.get("budgets", []), calendar_aligned=aligned)
            if "rate_limit" in body:
                check_rate_limit(body["rate_limit"])
                rate_limit_id = insert_rate_limit(db, body["rate_limit"])
                db.execute("UPDATE virtual_keys SET rate_limit_id = ? WHERE id = ?", (rate_limit_id, vk_id))
            write_mcp(db, vk_id, body.get("mcp_configs", []))
            key = ctx.views.virtual_key(_row(db, vk_id))
    return {"message": "Virtual key created successfully", "virtual_key": key}


def update_key(ctx: Context, request: Request) -> dict[str, Any]:
    """PUT /api/governance/virtual-keys/{vk_id}."""
    body = decode_body(request.body, UPDATE)
    sent = _sent_owners(request.body)
    if sent.get("team_id") and sent.get("customer_id"):
        raise ApiError(400, _BOTH_OWNERS)
    expires_at = _expiry_update(ctx, body)
    row = ctx.store.db.execute("SELECT * FROM virtual_keys WHERE id = ?", (request.param,)).fetchone()
    if row is None:
        raise ApiError(404, "Virtual key not found")
    vk_id = row["id"]
    team_id, customer_id = row["team_id"], row["customer_id"]
    if sent.get("team_id"):
        team_id, customer_id = sent["team_id"], None
    elif sent.get("customer_id"):
        team_id, customer_id = None, sent["customer_id"]
    elif sent:
        team_id = customer_id = None
    with _name_guard(prefix=_UPDATE_FAILED), _prefixed(_UPDATE_FAILED), ctx.store.transaction() as db:
        db.execute(
            "UPDATE virtual_keys SET name = ?, description = ?, is_active = ?, team_id = ?, customer_id = ?,"
            " expires_at = ?, calendar_aligned = ?, allow_all_providers = ?, updated_at = ? WHERE id = ?",
            (
                body.get("name", row["name"]),
                body.get("description", row["description"]),
                int(body.get("is_active", bool(row["is_active"]))),
                team_id,
                customer_id,
                stored(expires_at) if "expires_at" in body else row["expires_at"],
                int(body.get("calendar_aligned", bool(row["calendar_aligned"]))),
                int(body.get("allow_all_providers", bool(row["allow_all_providers"]))),
                now(),
                vk_id,
            ),
        )
        wording = ctx.generation.bad_duration_wording
        aligned = body.get("calendar_aligned", bool(row["calendar_aligned"]))
        if "provider_configs" in body:
            write_providers(db, vk_id, body["provider_configs"], wording=wording, calendar_aligned=aligned)
        reset = body.get("reset_budget_usage", False)
        if "budgets" in body:
            check_budgets(body["budgets"], wording)
            reconcile_key_budgets(
                db, "virtual_key_id", vk_id, body["budgets"], calendar_aligned=aligned, reset_usage=reset
            )
        elif reset:
            ids = [budget[0] for budget in db.execute("SELECT id FROM budgets WHERE virtual_key_id = ?", (vk_id,))]
            reset_budget_usage(db, ids)
        if "rate_limit" in body:
            rate_limit = body["rate_limit"]
            if rate_limit.get("token_max_limit") is not None or rate_limit.get("request_max_limit") is not None:
                check_rate_limit(rate_limit)
            rate_limit_id = replace_rate_limit(db, row["rate_limit_id"], rate_limit)
            db.execute("UPDATE virtual_keys SET rate_limit_id = ? WHERE id = ?", (rate_limit_id, vk_id))
        if "mcp_configs" in body:
            write_mcp(db, vk_id, body["mcp_configs"])
        key = ctx.views.virtual_key(_row(db, vk_id))
    return {"message": "Virtual key updated successfully", "virtual_key": key}


def _expiry_update(ctx: Context, body: dict[str, Any]) -> int | None:
    """The new ``expires_at`` of an update: ``""`` clears it, anything else must be a future RFC 3339 time."""
    text = body.get("expires_at", "")
    if not text:
        return None
    expires_at = parse_rfc3339(text)
    if expires_at is None:
        raise ApiError(400, "expires_at must be an RFC3339 timestamp")
    if expires_at <= ctx.clock():
        raise ApiError(400, _FUTURE)
    return expires_at


def _sent_owners(raw: bytes) -> dict[str, str]:
    """``team_id``/``customer_id`` as sent, ``null`` read as ``""``: present keys only (types already checked)."""
    body = orjson.loads(raw)
    if not isinstance(body, dict):
        return {}
    sent: dict[str, str] = {}
    for owner in ("team_id", "customer_id"):
        # Go matches a key to a field exactly first, then without regard to case.
        key = owner if owner in body else next((k for k in body if k.lower() == owner), None)
        if key is not None:
            sent[owner] = body[key] or ""
    return sent


def _row(db: sqlite3.Connection, vk_id: str) -> sqlite3.Row:
    row: sqlite3.Row = db.execute("SELECT * FROM virtual_keys WHERE id = ?", (vk_id,)).fetchone()
    return row


@contextmanager
def _name_guard(prefix: str = "") -> Iterator[None]:
    """Turn a database error into Bifrost's answer: a taken name is 409, anything else a 500."""
    try:
        yield
    except sqlite3.IntegrityError as error:
        if is_unique_violation(error) and "virtual_keys.name" in str(error):
            raise ApiError(409, _TAKEN) from None
        raise ApiError(500, prefix + str(error)) from None


@contextmanager
def _prefixed(prefix: str) -> Iterator[None]:
    """Give every refusal raised inside an update the prefix Bifrost's update handler adds."""
    try:
        yield
    except ApiError as error:
        raise ApiError(error.status, prefix + error.message) from None
