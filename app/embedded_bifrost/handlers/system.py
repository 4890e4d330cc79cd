"""``/health``, ``/api/version`` and ``/api/session/*``."""

from __future__ import annotations

from typing import Any

import orjson

from ..auth import SESSION_SECONDS, end_session, presented_token, session_is_valid, start_session
from ..context import Context, Request, Response
from ..decode import STR, decode_body
from ..errors import ApiError

__all__ = ["health", "is_auth_enabled", "login", "logout", "version"]

LOGIN = {"username": STR, "password": STR}


def health(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /health."""
    return {"status": "ok"}


def version(ctx: Context, request: Request) -> Response:
    """GET /api/version: the server version as a JSON string."""
    return Response(200, orjson.dumps(ctx.version))


def login(ctx: Context, request: Request) -> Response:
    """POST /api/session/login: the session token is set only as an HttpOnly cookie."""
    if ctx.auth is None:
        raise ApiError(403, "Authentication is not enabled")
    body = decode_body(request.body, LOGIN)
    if body.get("username") != ctx.auth[0] or body.get("password") != ctx.auth[1]:
        raise ApiError(401, "Invalid username or password")
    token = start_session(ctx)
    cookie = f"token={token}; Path=/; Max-Age={SESSION_SECONDS}; HttpOnly; SameSite=Lax"
    return Response(200, orjson.dumps({"message": "Login successful"}), [(b"set-cookie", cookie.encode())])


def logout(ctx: Context, request: Request) -> Response:
    """POST /api/session/logout: ends the session and clears the cookie."""
    if ctx.auth is None:
        raise ApiError(403, "Authentication is not enabled")
    end_session(ctx, presented_token(request))
    cookie = b"token=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
    return Response(200, orjson.dumps({"message": "Logout successful"}), [(b"set-cookie", cookie)])


def is_auth_enabled(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/session/is-auth-enabled."""
    enabled = ctx.auth is not None
    return {
        "is_auth_enabled": enabled,
        "has_valid_token": enabled and session_is_valid(ctx, presented_token(request)),
    }
