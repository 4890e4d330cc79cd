"""Which caller headers reach Bifrost: an allow-list, nothing else."""

from __future__ import annotations

from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie

from app.trace_context import trace_context

__all__ = ["FORWARDED_HEADERS", "forwarded_headers"]

FORWARDED_HEADERS = ("authorization",)
"""Forwarded as sent; ``traceparent`` and ``tracestate`` are forwarded only when well-formed."""


def forwarded_headers(headers: Mapping[str, str], request_id: str) -> dict[str, str]:
    """The headers to send upstream for this caller: the allow-list, the ``token`` cookie only,
    and the request id.

    Example:
        >>> forwarded_headers({"cookie": "a=1; token=t", "x-api": "no"}, "r1")
        {'cookie': 'token=t', 'x-request-id': 'r1'}
    """
    out = {name: headers[name] for name in FORWARDED_HEADERS if name in headers}
    out.update(trace_context(headers))
    raw_cookie = headers.get("cookie")
    if raw_cookie:
        token = _token_cookie(raw_cookie)
        if token:
            out["cookie"] = f"token={token}"
    out["x-request-id"] = request_id
    return out


def _token_cookie(raw: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get("token")
    return morsel.value if morsel is not None and morsel.value else None
