"""Bifrost's optional dashboard auth: sessions and credential checks.

When auth is on, every ``/api/*`` call needs ``Authorization: Bearer <session token>``,
``Authorization: Basic base64(user:pass)`` or the cookie ``token=<session token>``. Sessions live in the
database (as in Bifrost's config store), so they survive a restart with a file database.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from http.cookies import CookieError, SimpleCookie

from .context import Context, Request
from .db import new_id

__all__ = [
    "KEY_CREDENTIAL_PATHS",
    "OPEN_PATHS",
    "SESSION_SECONDS",
    "end_session",
    "is_authorised",
    "presented_token",
    "start_session",
]

SESSION_SECONDS = 30 * 24 * 3600
OPEN_PATHS = frozenset({"/api/version", "/api/session/login", "/api/session/is-auth-enabled"})
# Paths whose credential is a virtual key (checked by the handler), open where the generation serves them.
KEY_CREDENTIAL_PATHS = frozenset({"/api/governance/virtual-keys/quota"})


def presented_token(request: Request) -> str | None:
    """The session token a request carries (Bearer header first, then the ``token`` cookie)."""
    authorization = request.headers.get(b"authorization", b"")
    if authorization[:7].lower() == b"bearer ":
        return authorization[7:].strip().decode("latin-1")
    cookie = request.headers.get(b"cookie")
    if cookie:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie.decode("latin-1"))
        except CookieError:
            return None
        if "token" in jar:
            return jar["token"].value
    return None


def session_is_valid(ctx: Context, token: str | None) -> bool:
    """Whether a token names a live session."""
    if not token:
        return False
    row = ctx.store.db.execute("SELECT expires_at FROM sessions WHERE token = ?", (token,)).fetchone()
    return row is not None and row[0] > time.time()


def is_authorised(ctx: Context, request: Request) -> bool:
    """Whether a request may call a protected ``/api/*`` route."""
    assert ctx.auth is not None
    authorization = request.headers.get(b"authorization", b"")
    if authorization[:6].lower() == b"basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, _, password = decoded.partition(":")
        return _same(username, ctx.auth[0]) & _same(password, ctx.auth[1])
    return session_is_valid(ctx, presented_token(request))


def start_session(ctx: Context) -> str:
    """Create a session and return its token."""
    token = new_id()
    with ctx.store.transaction() as db:
        db.execute("INSERT INTO sessions (token, expires_at) VALUES (?, ?)", (token, time.time() + SESSION_SECONDS))
    return token


def end_session(ctx: Context, token: str | None) -> None:
    """Delete a session (if the token names one)."""
    if token:
        with ctx.store.transaction() as db:
            db.execute("DELETE FROM sessions WHERE token = ?", (token,))


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
