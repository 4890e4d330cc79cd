"""Turning Bifrost's answers to a write into userErrors where the caller can fix the problem."""

from __future__ import annotations

from app.bifrost import BifrostBadRequest, BifrostConflict, BifrostHTTPError, BifrostNotFound
from app.schema.errors import UserError, UserErrorCode

__all__ = ["user_error_from_upstream"]

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
