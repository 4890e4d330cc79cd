"""Checks on the caller's credential header before anything else happens to the request.

``Authorization`` is sent to Bifrost as the caller's identity, so a bad one is refused with an error
naming it, never dropped (dropping it would silently turn the caller into someone else). The HTTP server
bounds the whole header block (``MAX_HEADER_BYTES``); this bounds what one credential may carry upstream.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["MAX_AUTHORIZATION_BYTES", "RefusedHeader", "check_caller_headers"]

MAX_AUTHORIZATION_BYTES = 8 * 1024
"""Longer ``Authorization`` values are refused with 431 (a JWT with many claims stays well under this)."""


class RefusedHeader(Exception):
    """A caller header the request cannot go on with: HTTP status, message naming the header, and code."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def check_caller_headers(headers: Mapping[str, str]) -> None:
    """Refuse an ``Authorization`` header that is too long or not printable ASCII.

    Raises:
        RefusedHeader: 431 ``HEADER_TOO_LARGE`` or 400 ``INVALID_HEADER``.

    Example:
        >>> check_caller_headers({"authorization": "Bearer t"})
        >>> check_caller_headers({"authorization": "Bearer \\x01"})
        Traceback (most recent call last):
        ...
        app.web.header_checks.RefusedHeader: the Authorization header must be printable ASCII
    """
    authorization = headers.get("authorization")
    if authorization is None:
        return
    if len(authorization) > MAX_AUTHORIZATION_BYTES:
        raise RefusedHeader(
            431, f"the Authorization header is longer than {MAX_AUTHORIZATION_BYTES} bytes", "HEADER_TOO_LARGE"
        )
    # Header values arrive as latin-1 text; anything outside printable ASCII cannot be a valid credential
    # and cannot be sent on as one.
    if not (authorization.isascii() and authorization.isprintable()):
        raise RefusedHeader(400, "the Authorization header must be printable ASCII", "INVALID_HEADER")
