"""Sign in and out of Bifrost through the gateway; the session cookie goes back to the browser.

Both only ever send the caller's own cookie or token upstream, never a service credential. A password
check is counted per client address and per username first (``LoginLimiter``), and a document may hold
one ``login`` at most (``app.schema.limits``), so guesses cannot be multiplied inside one request.
"""

from __future__ import annotations

import strawberry

from app.bifrost import BifrostBadRequest, BifrostUnauthorized
from app.schema.context import Info
from app.schema.errors import GatewayError, GatewayErrorCode, UserError, UserErrorCode

__all__ = ["SessionMutations"]

_CLEARED_COOKIE = "token=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"


@strawberry.type(description="Outcome of login or logout. On success the response carries Bifrost's cookie.")
class SessionPayload:
    success: bool
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SessionMutations:
    @strawberry.mutation(
        description="Sign in to Bifrost; its HttpOnly `token` cookie is set on the response. Attempts are "
        "limited per client address and per username (a RATE_LIMITED error with `retryAfter` seconds)."
    )
    @staticmethod
    async def login(info: Info, username: str, password: str) -> SessionPayload:
        if not username or not password:
            field = "username" if not username else "password"
            return SessionPayload(
                success=False,
                user_errors=[
                    UserError(field=[field], message=f"{field} is required", code=UserErrorCode.INVALID_INPUT)
                ],
            )
        context = info.context
        if context.login_limiter is not None:
            wait = await context.login_limiter.attempt(context.client_address, username)
            if wait:
                raise GatewayError(
                    "too many login attempts; try again later", GatewayErrorCode.RATE_LIMITED, retryAfter=wait
                )
        try:
            response = await context.bifrost.login(username, password)
        except (BifrostUnauthorized, BifrostBadRequest):
            return SessionPayload(
                success=False,
                user_errors=[
                    UserError(
                        field=None, message="invalid username or password", code=UserErrorCode.INVALID_CREDENTIALS
                    )
                ],
            )
        context.response_cookies.extend(response.set_cookies)
        return SessionPayload(success=True)

    @strawberry.mutation(
        description="End the Bifrost session; its cookie is cleared on the response. Without a session of "
        "the caller's own there is nothing to end upstream."
    )
    @staticmethod
    async def logout(info: Info) -> SessionPayload:
        context = info.context
        if not context.caller.has_own_credentials:
            context.response_cookies.append(_CLEARED_COOKIE)
            return SessionPayload(success=True)
        try:
            response = await context.bifrost.logout()
        except BifrostUnauthorized:
            # The session had already ended (expired or revoked): what the caller wanted is true.
            context.response_cookies.append(_CLEARED_COOKIE)
            return SessionPayload(success=True)
        context.response_cookies.extend(response.set_cookies or [_CLEARED_COOKIE])
        return SessionPayload(success=True)
