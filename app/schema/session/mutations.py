"""Sign in and out of Bifrost through the gateway; the session cookie goes back to the browser."""

from __future__ import annotations

import strawberry

from app.bifrost import BifrostBadRequest, BifrostUnauthorized
from app.schema.context import Info
from app.schema.errors import UserError, UserErrorCode

__all__ = ["SessionMutations"]


@strawberry.type(description="Outcome of login or logout. On success the response carries Bifrost's cookie.")
class SessionPayload:
    success: bool
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SessionMutations:
    @strawberry.mutation(description="Sign in to Bifrost; its HttpOnly `token` cookie is set on the response.")
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
        try:
            response = await info.context.bifrost.login(username, password)
        except (BifrostUnauthorized, BifrostBadRequest):
            return SessionPayload(
                success=False,
                user_errors=[
                    UserError(
                        field=None, message="invalid username or password", code=UserErrorCode.INVALID_CREDENTIALS
                    )
                ],
            )
        info.context.response_cookies.extend(response.set_cookies)
        return SessionPayload(success=True)

    @strawberry.mutation(description="End the Bifrost session; its cookie is cleared on the response.")
    @staticmethod
    async def logout(info: Info) -> SessionPayload:
        response = await info.context.bifrost.logout()
        cookies = response.set_cookies
        info.context.response_cookies.extend(cookies or ["token=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"])
        return SessionPayload(success=True)
