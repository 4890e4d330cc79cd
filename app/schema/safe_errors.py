"""Errors as clients see them: upstream failures typed, anything unexpected masked, codes on everything.

Parse, validation and variable errors (graphql-core's own, with no path) pass through with a code:
they name the field at fault and contain nothing internal (in production, no suggestion and no name the
client did not send: ``app.schema.concealment``, applied by the executor). A resolver error caused by the upstream
becomes the GatewayError of its class in the error family; any other exception is masked as
``INTERNAL_SERVER_ERROR`` and logged by type only (its text may hold URLs or secrets).

A failure of Bifrost itself (a 5xx, or a body not of the documented shape) is logged once per request at
WARNING with the request id, Bifrost's text redacted (``app.redaction``): the client sees only a generic
message and the status, and quotes the ``x-request-id`` it got back to find the line.
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

from app.bifrost import BifrostError, BifrostServerError, UpstreamProtocolError
from app.redaction import redacted
from app.schema.errors import GatewayError, GatewayErrorCode, gateway_error_from
from app.schema.limits import limit_code

__all__ = ["formatted_error", "safe_error", "safe_errors"]

log = logging.getLogger("app.errors")


def safe_errors(errors: list[GraphQLError], request_id: str | None = None) -> list[GraphQLError]:
    """The errors of one result as clients may see them; each failure of Bifrost logged once.

    One upstream failure can stand behind several errors (a failed batch nulls every field that waited for
    it): it is logged once, with the path of the first error that carried it.
    """
    logged: set[int] = set()
    for error in errors:
        original = error.original_error
        if isinstance(original, BifrostServerError | UpstreamProtocolError) and id(original) not in logged:
            logged.add(id(original))
            _log_upstream_failure(original, request_id, error.path)
    return [safe_error(error) for error in errors]


def _log_upstream_failure(error: BifrostError, request_id: str | None, path: list[str | int] | None) -> None:
    extra: dict[str, Any] = {"request_id": request_id, "error_type": type(error).__name__, "path": path}
    if isinstance(error, BifrostServerError):
        extra["upstream_status"] = error.status
    extra["upstream_message"] = redacted(error.message)
    log.warning("Bifrost failed to complete the request", extra=extra)


def safe_error(error: GraphQLError) -> GraphQLError:
    """The error to show a client in place of ``error``.

    Tracebacks are dropped on the way (nothing shows or logs them): an error's traceback holds the frames
    that raised it, whose locals hold the request's execution state, which holds the error; that cycle
    would keep everything the request touched alive until a full garbage collection.
    """
    _drop_tracebacks(error)
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error
    if error.path is None and not isinstance(original, BifrostError):
        return error  # variable coercion: the scalar's ValueError text, which is ours
    if isinstance(original, BifrostError):
        replacement: GraphQLError = gateway_error_from(original)
    else:
        log.error("unexpected error in resolver", extra={"error_type": type(original).__name__, "path": error.path})
        replacement = GatewayError("Unexpected error.", GatewayErrorCode.INTERNAL_SERVER_ERROR)
    return GraphQLError(
        replacement.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=replacement.extensions,
    )


def _drop_tracebacks(error: BaseException | None) -> None:
    seen = 0
    while error is not None and seen < 32:  # the error, what it wraps, and their causes and contexts
        error.__traceback__ = None
        for linked in (error.__cause__, error.__context__):
            if linked is not None:
                linked.__traceback__ = None
        error = error.original_error if isinstance(error, GraphQLError) else error.__cause__ or error.__context__
        seen += 1


def formatted_error(error: GraphQLError) -> dict[str, Any]:
    """The JSON of a safe error, with a code also on graphql-core's own request errors."""
    formatted: dict[str, Any] = dict(error.formatted)
    if error.path is None and not (error.extensions or {}).get("code"):
        code = limit_code(error) or (
            "GRAPHQL_PARSE_FAILED" if isinstance(error, GraphQLSyntaxError) else "GRAPHQL_VALIDATION_FAILED"
        )
        formatted["extensions"] = {**(error.extensions or {}), "code": code}
    return formatted
