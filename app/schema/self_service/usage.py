"""``VirtualKey.usage``: a key's usage per model per budget, read from the quota route with the key's value.

Bifrost's quota route takes the key's value as its only credential, so reading a key's usage *sends its value*
to Bifrost. The gateway does that only for a caller who may see the value anyway: the same rule as
``value(reveal: true)`` (own Bifrost credentials, a gateway key allowed to reveal, or the key this request
created); anybody else gets the same ``FORBIDDEN`` field error and nothing is sent. The value goes in
``x-bf-vk`` alone, without the caller's dashboard credentials (``app.bifrost.quota``).

There is no batch form of the route: a page of keys costs one call per key, sent concurrently up to
``DATALOADER_CONCURRENCY`` at a time, one per distinct key in a request however often it appears, priced as a
read per key in the cost model, and bounded at run time by the request's ceiling on upstream calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from app.bifrost import BifrostError, BifrostSession, BifrostUnauthorized, models
from app.bifrost.quota import KeyQuota, is_key_value, key_quota
from app.generations import Feature
from app.schema.call_limit import CallLimit
from app.schema.capabilities import lacks
from app.schema.context import Info
from app.schema.errors import GatewayError, GatewayErrorCode

__all__ = ["REVEAL_FORBIDDEN", "key_usage", "load_key_quotas", "may_use_value"]

REVEAL_FORBIDDEN = "revealing a key's value needs your own Bifrost credentials or a gateway key allowed to reveal"
"""The field error of ``value(reveal: true)`` and of ``usage`` for a caller who may not use a key's value."""


def may_use_value(info: Info, key_id: str) -> bool:
    """Whether this request's caller may see (or have the gateway send) the value of the key ``key_id``."""
    context = info.context
    return context.caller.can_reveal or key_id in context.created_keys


async def key_usage(root: models.VirtualKey, info: Info) -> KeyQuota | None:
    """The quota answer for ``root`` (None before Bifrost v2, or when Bifrost did not send the key's value).

    Raises:
        GatewayError: ``FORBIDDEN`` for a caller who may not use the key's value.
    """
    if not may_use_value(info, root.id):
        raise GatewayError(REVEAL_FORBIDDEN, GatewayErrorCode.FORBIDDEN)
    if not is_key_value(root.value) or await lacks(info.context.bifrost, Feature.KEY_QUOTA):
        return None
    try:
        return await info.context.loaders.key_quota.load(root.value)
    except BifrostUnauthorized:
        # Rotated (or deleted) between reading the key and asking for its usage: there is no usage to show.
        return None


async def load_key_quotas(
    bifrost: BifrostSession, limit: CallLimit, values: Sequence[str]
) -> list[KeyQuota | BaseException]:
    """One quota call per key value, at most ``limit`` at a time; each failure is that key's own."""

    async def one(value: str) -> KeyQuota | BaseException:
        async with limit:
            try:
                return await key_quota(bifrost, value)
            except BifrostError as error:
                return error

    return list(await asyncio.gather(*(one(value) for value in values)))
