"""Turning Bifrost's answers to a write into userErrors where the caller can fix the problem.

Bifrost answers some caller mistakes with a 500 whose text is a database or lookup error. Those texts
are recognised here, before the error is masked for the client (``app.schema.errors``):

* a taken virtual-key name: ``UNIQUE constraint failed: governance_virtual_keys.name`` (SQLite) or
  PostgreSQL's ``duplicate key value violates unique constraint`` on the name index;
* an unknown MCP client in ``mcp_configs``: ``failed to get MCP client: record not found`` (on update
  behind ``Failed to update virtual key: ``).
"""

from __future__ import annotations

from app.bifrost import BifrostBadRequest, BifrostConflict, BifrostHTTPError, BifrostNotFound, BifrostServerError
from app.schema.errors import UserError, UserErrorCode

__all__ = ["is_taken_key_name", "is_unknown_mcp_client", "user_error_from_upstream"]

_TAKEN_KEY_NAME = ("unique constraint failed: governance_virtual_keys.name",)
_UNIQUE_VIOLATION = "duplicate key value violates unique constraint"
_UNKNOWN_MCP_CLIENT = "failed to get mcp client"


def is_taken_key_name(error: BifrostServerError) -> bool:
    """True when Bifrost's 500 says a virtual key with the name exists.

    Example:
        >>> is_taken_key_name(BifrostServerError(500, "UNIQUE constraint failed: governance_virtual_keys.name"))
        True
    """
    lowered = error.message.lower()
    if any(text in lowered for text in _TAKEN_KEY_NAME):
        return True
    return _UNIQUE_VIOLATION in lowered and "virtual_key" in lowered and "name" in lowered


def is_unknown_mcp_client(error: BifrostServerError) -> bool:
    """True when Bifrost's 500 says an MCP client named in ``mcp_configs`` does not exist.

    Example:
        >>> is_unknown_mcp_client(BifrostServerError(500, "failed to get MCP client: record not found"))
        True
    """
    return _UNKNOWN_MCP_CLIENT in error.message.lower()


# Bifrost has no machine-readable error codes: the field is inferred from its message text.
_FIELD_HINTS = (
    ("name", "name"),
    ("customer", "customerId"),
    ("team", "teamId"),
    ("rate limit", "rateLimit"),
    ("reset_duration", "budgets"),
    ("reset duration", "budgets"),
    ("budget", "budgets"),
    ("provider", "providerConfigs"),
)


def user_error_from_upstream(error: BifrostHTTPError) -> UserError | None:
    """The userError for an upstream 400/404/409, or None when it is a system failure."""
    if isinstance(error, BifrostConflict):
        return UserError(field=["input", "name"], message=error.message, code=UserErrorCode.NAME_TAKEN)
    if isinstance(error, BifrostNotFound):
        return UserError(field=["input", "id"], message=error.message, code=UserErrorCode.NOT_FOUND)
    if isinstance(error, BifrostBadRequest):
        lowered = error.message.lower()
        field = next((["input", f] for hint, f in _FIELD_HINTS if hint in lowered), None)
        return UserError(field=field, message=error.message, code=UserErrorCode.INVALID_INPUT)
    return None
