"""W3C trace context (``traceparent``, ``tracestate``): which caller values are well-formed enough to use.

A caller's trace context is forwarded to Bifrost and, with tracing on, becomes the parent of the
operation span. Anything malformed or oversized is dropped (the trace then starts here), never refused:
a bad trace header must not fail a request, and must not carry megabytes upstream.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["MAX_TRACESTATE_CHARS", "MAX_TRACESTATE_MEMBERS", "trace_context", "valid_traceparent"]

MAX_TRACESTATE_CHARS = 512
MAX_TRACESTATE_MEMBERS = 32

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")
# key = simple-key / tenant@system; value = printable ASCII except "," and "=", not ending in a space.
_TRACESTATE_MEMBER = re.compile(
    r"(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})"
    r"=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"
)


def valid_traceparent(value: str) -> bool:
    """True when ``value`` is a version-00-shaped ``traceparent`` with a usable version and ids.

    Example:
        >>> valid_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        True
        >>> valid_traceparent("00-00000000000000000000000000000000-b7ad6b7169203331-01")
        False
    """
    match = _TRACEPARENT.fullmatch(value)
    if match is None:
        return False
    version, trace_id, parent_id = match.groups()
    return version != "ff" and trace_id != "0" * 32 and parent_id != "0" * 16


def _valid_tracestate(value: str) -> bool:
    if len(value) > MAX_TRACESTATE_CHARS:
        return False
    members = [member.strip(" \t") for member in value.split(",")]
    members = [member for member in members if member]
    return len(members) <= MAX_TRACESTATE_MEMBERS and all(_TRACESTATE_MEMBER.fullmatch(m) for m in members)


def trace_context(headers: Mapping[str, str]) -> dict[str, str]:
    """The caller's ``traceparent`` when valid, with its ``tracestate`` when that is valid too; else nothing.

    Example:
        >>> parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        >>> trace_context({"traceparent": parent, "tracestate": "vendor=1"}) == {
        ...     "traceparent": parent,
        ...     "tracestate": "vendor=1",
        ... }
        True
        >>> trace_context({"traceparent": "junk", "tracestate": "a=1"})
        {}
    """
    traceparent = headers.get("traceparent")
    if traceparent is None or not valid_traceparent(traceparent):
        return {}
    context = {"traceparent": traceparent}
    tracestate = headers.get("tracestate")
    if tracestate is not None and _valid_tracestate(tracestate):
        context["tracestate"] = tracestate
    return context
