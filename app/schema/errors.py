"""The two kinds of error a client sees, written down once.

* Problems the caller can fix come back as data: ``userErrors { field message code }`` on a mutation
  payload, with ``code`` from ``UserErrorCode``.
* Failures of the system are GraphQL errors with ``extensions.code`` (``GatewayErrorCode``) and, for
  upstream answers, ``extensions.upstream { status message }``. Nothing internal is ever included: the
  ``message`` is Bifrost's only for its 4xx answers (validation texts a caller can act on); a 5xx carries
  Bifrost's internals (SQL errors, wrapped causes that may quote a DSN), so only its status is shown and the
  text goes to the log, redacted (``app.schema.safe_errors``).
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import Any

import strawberry
from graphql import GraphQLError

from app.bifrost import BifrostError, BifrostHTTPError, BifrostServerError, RequestCeilingExceeded

__all__ = ["GatewayError", "GatewayErrorCode", "UserError", "UserErrorCode", "gateway_error_from"]


@strawberry.enum(description="Why a mutation's input was refused.")
class UserErrorCode(Enum):
    INVALID_INPUT = "INVALID_INPUT"
    NAME_TAKEN = "NAME_TAKEN"
    CUSTOMER_NOT_FOUND = "CUSTOMER_NOT_FOUND"
    TEAM_NOT_FOUND = "TEAM_NOT_FOUND"
    NOT_FOUND = "NOT_FOUND"
    UNSUPPORTED_BY_UPSTREAM = "UNSUPPORTED_BY_UPSTREAM"
    UPSTREAM_FAILED = "UPSTREAM_FAILED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"


@strawberry.type(description="A problem with the input that the caller can fix.")
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the input field, e.g. ["input", "budgets", "0", "maxLimit"]; null: whole input.'
    )
    message: str
    code: UserErrorCode


class GatewayErrorCode(StrEnum):
    """``extensions.code`` of GraphQL errors."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
    UPSTREAM_TIMEOUT = "UPSTREAM_TIMEOUT"
    UPSTREAM_OUTCOME_UNKNOWN = "UPSTREAM_OUTCOME_UNKNOWN"
    UPSTREAM_ERROR = "UPSTREAM_ERROR"
    TOO_MANY_UPSTREAM_CALLS = "TOO_MANY_UPSTREAM_CALLS"
    UPSTREAM_DATA_TOO_LARGE = "UPSTREAM_DATA_TOO_LARGE"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    SUBSCRIBER_TOO_SLOW = "SUBSCRIBER_TOO_SLOW"
    TOO_MANY_POLLED_IDS = "TOO_MANY_POLLED_IDS"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class GatewayError(GraphQLError):
    """A GraphQL error whose message and extensions are safe to show to any client."""

    def __init__(self, message: str, code: GatewayErrorCode, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": code.value, **extensions})


_MESSAGES = {
    "UNAUTHENTICATED": "Bifrost refused the credentials",
    "FORBIDDEN": "Bifrost forbids this operation",
    "UPSTREAM_UNAVAILABLE": "Bifrost is unavailable",
    "UPSTREAM_TIMEOUT": "Bifrost did not answer in time",
    "UPSTREAM_OUTCOME_UNKNOWN": "Bifrost's answer to the write was lost; it may have been applied",
    "UPSTREAM_ERROR": "Bifrost failed to handle the request",
}


def gateway_error_from(error: BifrostError) -> GatewayError:
    """The GraphQL error for an upstream failure (one code per class of the error family)."""
    code = GatewayErrorCode(error.code)
    if isinstance(error, RequestCeilingExceeded):
        return GatewayError(error.message, code, limit=error.limit)  # the gateway's own words and number
    extensions: dict[str, Any] = {}
    if isinstance(error, BifrostServerError):
        extensions["upstream"] = {"status": error.status}
    elif isinstance(error, BifrostHTTPError):
        extensions["upstream"] = {"status": error.status, "message": error.message}
    return GatewayError(_MESSAGES[code.value], code, **extensions)
