"""Which caller headers reach Bifrost besides credentials: trace context and the request id, nothing else.

Credentials (``Authorization``, the ``token`` cookie, or the service credential) are decided by
``app.web.callers``; this module only passes on well-formed trace context and the request id.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.trace_context import trace_context

__all__ = ["forwarded_headers"]


def forwarded_headers(headers: Mapping[str, str], request_id: str) -> dict[str, str]:
    """The non-credential headers to send upstream for this caller: trace context and the request id.

    Example:
        >>> forwarded_headers({"cookie": "token=t", "authorization": "Bearer t", "x-api": "no"}, "r1")
        {'x-request-id': 'r1'}
    """
    if "traceparent" not in headers:  # the usual case: no trace context to check
        return {"x-request-id": request_id}
    out = trace_context(headers)
    out["x-request-id"] = request_id
    return out
