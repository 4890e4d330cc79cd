"""Row-to-JSON shapes of single entities, per API generation.

Field names and order follow Bifrost's Go table structs. Fields the Go code tags ``omitempty`` vanish when
empty; the others are always present (``null`` when unset). What differs between generations is asked of
the :class:`~app.generations.Generation` served (owner ids on budgets, MCP client ids).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

import orjson

from ..generations import Feature, Generation
from .catalog import SECRET_KEY_FIELDS

__all__ = [
    "budget_json",
    "customer_base",
    "key_json",
    "mcp_config_json",
    "rate_limit_json",
    "team_base",
    "virtual_key_base",
]

Row = sqlite3.Row
JSON = dict[str, Any]


_BUDGET_OWNERS = ("team_id", "virtual_key_id", "provider_config_id", "model_config_id", "customer_id")
# The override fields are ``omitempty`` values in Bifrost's budget struct: absent while zero or empty.
_OVERRIDE_FIELDS = (
    "override_amount",
    "override_mode",
    "override_cycles_remaining",
    "override_cycles_total",
    "override_anchor_reset",
)


def budget_json(row: Row, generation: Generation) -> JSON:
    """A Budget: ``calendar_aligned`` until v2 moved it to the owners; ``override_*`` from v2 on, when set."""
    out: JSON = {
        "id": row["id"],
        "max_limit": row["max_limit"],
        "reset_duration": row["reset_duration"],
        "last_reset": row["last_reset"],
        "current_usage": row["current_usage"],
    }
    if generation.has(Feature.BUDGET_OVERRIDES):
        for field in _OVERRIDE_FIELDS:
            if row[field]:
                out[field] = row[field]
    if not generation.has(Feature.CALENDAR_ALIGNED):  # since v2 the owner holds it, and budgets omit it
        out["calendar_aligned"] = bool(row["calendar_aligned"])
    if generation.has(Feature.BUDGET_OWNER_IDS):
        for owner in _BUDGET_OWNERS:
            if row[owner] is not None:
                out[owner] = row[owner]
    out["config_hash"] = row["config_hash"]
    out["created_at"] = row["created_at"]
    out["updated_at"] = row["updated_at"]
    return out


def rate_limit_json(row: Row) -> JSON:
    """A RateLimit, with the ``metric`` of a model-config rule (only those have one, from v2 on)."""
    out: JSON = {"id": row["id"]}
    if row["metric"]:
        out["metric"] = row["metric"]
    if row["token_max_limit"] is not None:
        out["token_max_limit"] = row["token_max_limit"]
    if row["token_reset_duration"] is not None:
        out["token_reset_duration"] = row["token_reset_duration"]
    out["token_current_usage"] = row["token_current_usage"]
    out["token_last_reset"] = row["token_last_reset"]
    if row["request_max_limit"] is not None:
        out["request_max_limit"] = row["request_max_limit"]
    if row["request_reset_duration"] is not None:
        out["request_reset_duration"] = row["request_reset_duration"]
    out["request_current_usage"] = row["request_current_usage"]
    out["request_last_reset"] = row["request_last_reset"]
    out["config_hash"] = row["config_hash"]
    out["created_at"] = row["created_at"]
    out["updated_at"] = row["updated_at"]
    return out


def customer_base(row: Row) -> JSON:
    """A Customer's own columns; relations are added by the caller."""
    out: JSON = {"id": row["id"], "name": row["name"]}
    if row["budget_id"] is not None:
        out["budget_id"] = row["budget_id"]
    if row["rate_limit_id"] is not None:
        out["rate_limit_id"] = row["rate_limit_id"]
    return out


def team_base(row: Row | Mapping[str, Any]) -> JSON:
    """A Team's own columns; relations are added by the caller."""
    out: JSON = {"id": row["id"], "name": row["name"]}
    if row["customer_id"] is not None:
        out["customer_id"] = row["customer_id"]
    return out


def virtual_key_base(row: Row) -> JSON:
    """A VirtualKey's own columns; relations are added by the caller."""
    out: JSON = {"id": row["id"], "name": row["name"]}
    if row["description"]:
        out["description"] = row["description"]
    out["value"] = row["value"]
    out["is_active"] = bool(row["is_active"])
    return out


def key_json(row: Row) -> JSON:
    """A provider key as embedded in a virtual key: secret values blanked unless read from the environment."""
    out: JSON = {
        "id": row["id"],
        "name": row["name"],
        "provider_id": row["provider_id"],
        "provider": row["provider"],
        "key_id": row["key_id"],
        "value": _blank(orjson.loads(row["value"])),
        "models": orjson.loads(row["models"]),
        "weight": row["weight"],
        "enabled": bool(row["enabled"]),
        "use_for_batch_api": bool(row["use_for_batch_api"]),
    }
    credentials = orjson.loads(row["credentials"])
    for field, env in credentials.items():
        out[field] = _blank(env) if field in SECRET_KEY_FIELDS else env
    out["config_hash"] = row["config_hash"]
    out["created_at"] = row["created_at"]
    out["updated_at"] = row["updated_at"]
    return out


def mcp_config_json(row: Row, generation: Generation) -> JSON:
    """A VirtualKeyMCPConfig: ``mcp_client_name`` before v2 (input-only there), ``mcp_client_id`` and ``mcp_client``
    where they exist."""
    out: JSON = {"id": row["id"], "virtual_key_id": row["virtual_key_id"]}
    if generation.has(Feature.MCP_CLIENT_IDS):
        out["mcp_client_id"] = row["mcp_client_id"]
        out["mcp_client"] = {"id": row["mcp_client_id"], "name": row["client_name"]}
    if not generation.has(Feature.MCP_CLIENT_NAME_INPUT_ONLY):
        out["mcp_client_name"] = row["client_name"]
    out["tools_to_execute"] = orjson.loads(row["tools_to_execute"])
    return out


def _blank(env: dict[str, Any]) -> dict[str, Any]:
    if env.get("from_env"):
        return env
    return {**env, "value": ""}
