"""The one family of upstream errors, and the GraphQL code each maps to.

    BifrostError                      any failure talking to Bifrost
    ├── UpstreamUnavailable           connection refused/reset, breaker open   -> UPSTREAM_UNAVAILABLE
    ├── UpstreamTimeout               connect/read/total timeout                -> UPSTREAM_TIMEOUT
    ├── UpstreamOutcomeUnknown        a write was sent, its answer was lost     -> UPSTREAM_OUTCOME_UNKNOWN
    ├── UpstreamProtocolError         body is not the JSON shape Bifrost sends  -> UPSTREAM_ERROR
    ├── RequestCeilingExceeded        a request's own ceiling, nothing sent      (see below)
    │   ├── TooManyUpstreamCalls      more calls than one request may make      -> TOO_MANY_UPSTREAM_CALLS
    │   └── UpstreamDataTooLarge      more upstream bytes than one request may read -> UPSTREAM_DATA_TOO_LARGE
    └── BifrostHTTPError              Bifrost answered with an error envelope
        ├── BifrostBadRequest         400                                       -> userErrors INVALID_INPUT
        ├── BifrostUnauthorized       401                                       -> UNAUTHENTICATED
        ├── BifrostForbidden          403                                       -> FORBIDDEN
        ├── BifrostNotFound           404                                       -> userErrors / null
        ├── BifrostConflict           409                                       -> userErrors NAME_TAKEN
        └── BifrostServerError        5xx (and any other status)                -> UPSTREAM_ERROR

The ceilings are the gateway's, not Bifrost's: they bound what one GraphQL request may cost however its
document was priced (``MAX_UPSTREAM_CALLS_PER_REQUEST``, ``MAX_UPSTREAM_BYTES_PER_REQUEST``); once one is
reached, nothing more of that request goes upstream.

Messages never carry the upstream URL or host: only the HTTP status and Bifrost's own
``error.message`` are kept. A 4xx message is Bifrost's validation text, safe to show a caller; a 5xx
message is Bifrost's internals (``UNIQUE constraint failed: ...``, a wrapped driver error that may quote
a DSN): it is read to recognise a caller's mistake, logged redacted, and never shown to a client.
"""

from __future__ import annotations

import orjson

__all__ = [
    "BifrostBadRequest",
    "BifrostConflict",
    "BifrostError",
    "BifrostForbidden",
    "BifrostHTTPError",
    "BifrostNotFound",
    "BifrostServerError",
    "BifrostUnauthorized",
    "RequestCeilingExceeded",
    "TooManyUpstreamCalls",
    "UpstreamDataTooLarge",
    "UpstreamOutcomeUnknown",
    "UpstreamProtocolError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "error_from_response",
]


class BifrostError(Exception):
    """Base of every upstream failure. ``code`` is the GraphQL ``extensions.code``."""

    code = "UPSTREAM_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UpstreamUnavailable(BifrostError):
    """Bifrost could not be reached (refused, reset, DNS, or the circuit breaker is open)."""

    code = "UPSTREAM_UNAVAILABLE"


class UpstreamTimeout(BifrostError):
    """Bifrost did not answer within the configured timeouts."""

    code = "UPSTREAM_TIMEOUT"


class UpstreamOutcomeUnknown(BifrostError):
    """A write reached Bifrost (or may have), but its answer was lost: a timeout or a reset after sending.

    The write may or may not have happened; only reading back tells. A connection refused before anything
    was sent stays ``UpstreamUnavailable``: nothing was written then.
    """

    code = "UPSTREAM_OUTCOME_UNKNOWN"


class UpstreamProtocolError(BifrostError):
    """Bifrost answered, but not with a body of the shape it documents."""

    code = "UPSTREAM_ERROR"


class RequestCeilingExceeded(BifrostError):
    """One request reached a ceiling of its own; ``limit`` is the ceiling (shown to the client)."""

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class TooManyUpstreamCalls(RequestCeilingExceeded):
    """The request would make more upstream calls than ``MAX_UPSTREAM_CALLS_PER_REQUEST``."""

    code = "TOO_MANY_UPSTREAM_CALLS"


class UpstreamDataTooLarge(RequestCeilingExceeded):
    """The request's upstream answers, together, exceed ``MAX_UPSTREAM_BYTES_PER_REQUEST``."""

    code = "UPSTREAM_DATA_TOO_LARGE"


class BifrostHTTPError(BifrostError):
    """Bifrost answered with an error status and its error envelope."""

    status = 500

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class BifrostBadRequest(BifrostHTTPError):
    """400: the request was invalid; ``message`` is Bifrost's validation text."""


class BifrostUnauthorized(BifrostHTTPError):
    """401: no or invalid credentials."""

    code = "UNAUTHENTICATED"


class BifrostForbidden(BifrostHTTPError):
    """403: the credentials may not do this."""

    code = "FORBIDDEN"


class BifrostNotFound(BifrostHTTPError):
    """404: the entity does not exist."""


class BifrostConflict(BifrostHTTPError):
    """409: a unique name is taken."""


class BifrostServerError(BifrostHTTPError):
    """5xx or any other unexpected status."""


_BY_STATUS: dict[int, type[BifrostHTTPError]] = {
    400: BifrostBadRequest,
    401: BifrostUnauthorized,
    403: BifrostForbidden,
    404: BifrostNotFound,
    409: BifrostConflict,
}


def error_from_response(status: int, body: bytes) -> BifrostHTTPError:
    """Build the typed error for a non-200 answer from Bifrost's error envelope.

    Bifrost has no machine-readable error code, so the class follows the HTTP status and the
    message is ``error.message`` when the envelope is readable.
    """
    message = ""
    try:
        envelope = orjson.loads(body) if body else None
        if isinstance(envelope, dict) and isinstance(envelope.get("error"), dict):
            raw = envelope["error"].get("message")
            message = raw[:500] if isinstance(raw, str) else ""
    except orjson.JSONDecodeError:
        message = ""
    return _BY_STATUS.get(status, BifrostServerError)(status, message or f"HTTP {status}")
