"""``myVirtualKey``: the caller's own virtual key, for a caller who presents nothing but the key."""

from __future__ import annotations

import strawberry

from app.bifrost import BifrostNotFound, BifrostUnauthorized
from app.bifrost.quota import key_quota
from app.generations import Feature
from app.schema.capabilities import upstream_generation
from app.schema.context import Info
from app.schema.errors import GatewayError, GatewayErrorCode
from app.schema.self_service.types import MyVirtualKey

__all__ = ["NOT_A_KEY_HOLDER", "UNKNOWN_KEY", "SelfServiceQueries"]

NOT_A_KEY_HOLDER = (
    "myVirtualKey answers the holder of a virtual key: send the key alone, as x-bf-vk or Authorization: Bearer"
)
UNKNOWN_KEY = "Bifrost knows no virtual key with this value (never issued, deleted, or rotated out)"


@strawberry.type
class SelfServiceQueries:
    @strawberry.field(
        description="The virtual key the caller presents (`x-bf-vk: sk-bf-…` or `Authorization: Bearer sk-bf-…`, "
        "and no other credential): its name, state, budgets with their usage per model, rate limit, provider "
        "and model configs, from Bifrost's quota route, the only place the key is sent. A key holder may query "
        "this field and nothing else. Other callers get UNAUTHENTICATED; null before Bifrost v2, which has no "
        "quota route."
    )
    @staticmethod
    async def my_virtual_key(info: Info) -> MyVirtualKey | None:
        caller = info.context.caller
        if not caller.is_key_holder or caller.virtual_key is None:
            raise GatewayError(NOT_A_KEY_HOLDER, GatewayErrorCode.UNAUTHENTICATED)
        bifrost = info.context.bifrost
        generation = await upstream_generation(bifrost)
        if generation is not None and not generation.has(Feature.KEY_QUOTA):
            return None
        try:
            return await key_quota(bifrost, caller.virtual_key)  # type: ignore[return-value]
        except BifrostUnauthorized:
            raise GatewayError(UNKNOWN_KEY, GatewayErrorCode.UNAUTHENTICATED) from None
        except BifrostNotFound:
            # Reached only while the generation is unknown (a key holder's probes may not tell it, with Bifrost's
            # auth on): the quota route is then its own probe, and an upstream without it has nothing to show.
            return None
