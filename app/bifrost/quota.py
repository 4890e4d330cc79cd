"""A virtual key's own limits and usage (``GET /api/governance/virtual-keys/quota``, Bifrost v2).

The route's only credential is the key's value: Bifrost reads it from ``x-bf-vk`` and needs no dashboard
credentials. ``key_quota`` therefore sends the value as ``x-bf-vk`` and *drops* the session's
``Authorization`` and ``cookie``: an admin's credentials are never needed there, and the value never goes
anywhere else. The answer depends on the key, so it is neither shared with a concurrent read of another
caller (the read coalescer keys on the dashboard credentials, which this call does not carry) nor kept by
the parse memo: every call is sent and parsed on its own.

Example:
    >>> KeyQuota.model_validate_json(
    ...     b'{"virtual_key_name": "k", "is_active": true, "budgets": [{"id": "b", "max_limit": 10,'
    ...     b' "reset_duration": "1d", "current_usage": 1.5, "created_at": "2026-01-01T00:00:00Z",'
    ...     b' "updated_at": "2026-01-01T00:00:00Z", "per_model_usage": [{"model": "gpt-4o-mini",'
    ...     b' "provider": "openai", "total_requests": 3, "total_tokens": 90, "total_cost": 1.5}]}]}'
    ... ).budgets[0].per_model_usage[0].total_cost
    1.5
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from app.bifrost.client import BifrostSession, parse
from app.bifrost.models import BifrostModel, Budget, OrEmpty, ProviderConfig, RateLimit
from app.bifrost.paths import governance_path

__all__ = [
    "KEY_HEADER",
    "KeyQuota",
    "ModelUsage",
    "QuotaBudget",
    "QuotaModelConfig",
    "is_key_value",
    "key_quota",
]

KEY_HEADER = "x-bf-vk"
"""The header the key's value travels in, the one every Bifrost generation with the route reads first."""

MAX_KEY_VALUE_LENGTH = 256
"""Bifrost's values are ``sk-bf-<uuid>`` (42 characters); anything far longer is not one of them."""

_NOT_FORWARDED = frozenset({"authorization", "cookie"})


def is_key_value(value: str) -> bool:
    """Whether ``value`` may travel as a header value at all: visible ASCII, no spaces, not absurdly long.

    Example:
        >>> is_key_value("sk-bf-0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"), is_key_value("sk-bf-a b"), is_key_value("")
        (True, False, False)
    """
    return 0 < len(value) <= MAX_KEY_VALUE_LENGTH and value.isascii() and value.isprintable() and " " not in value


class ModelUsage(BifrostModel):
    """What one model cost a budget since its window opened: requests, tokens and USD."""

    model: str
    provider: str | None = None
    total_requests: int = 0
    total_tokens: int = 0
    total_cost: float = 0.0


class QuotaBudget(Budget):
    """A budget of the key as the quota route answers it: with its usage per model since the last reset."""

    per_model_usage: OrEmpty[ModelUsage] = Field(default_factory=list)


class QuotaModelConfig(BifrostModel):
    """One of the key's model configs, as much of it as the quota route shows."""

    model_config = ConfigDict(extra="ignore", frozen=True, protected_namespaces=())

    model_name: str
    provider: str | None = None
    budgets: OrEmpty[Budget] = Field(default_factory=list)
    rate_limit: RateLimit | None = None


class KeyQuota(BifrostModel):
    """The quota route's answer: the key's name and state, its budgets (with usage), rate limit and configs."""

    virtual_key_name: str
    is_active: bool = True
    budgets: OrEmpty[QuotaBudget] = Field(default_factory=list)
    rate_limit: RateLimit | None = None
    provider_configs: OrEmpty[ProviderConfig] = Field(default_factory=list)
    model_configs: OrEmpty[QuotaModelConfig] = Field(default_factory=list)


async def key_quota(session: BifrostSession, value: str) -> KeyQuota:
    """``GET /api/governance/virtual-keys/quota`` for the key whose value is ``value``.

    Counted against the session's ceilings like any call; sent with the session's trace headers and the key,
    never with its dashboard credentials.

    Raises:
        ValueError: ``value`` cannot be a key (checked before anything is sent).
        BifrostUnauthorized: Bifrost knows no key with that value (``Virtual key not found``).
    """
    if not is_key_value(value):
        raise ValueError("not a virtual key value")
    headers = {name: text for name, text in session.headers.items() if name not in _NOT_FORWARDED}
    headers[KEY_HEADER] = value
    response = await session.call("GET", governance_path("virtual-keys", "quota"), headers=headers)
    return parse(KeyQuota, response.content)
