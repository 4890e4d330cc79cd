"""The ``rate_limit`` field of an upstream body, in the shape the upstream's generation understands.

What one generation cannot do is refused with ``UNSUPPORTED_BY_UPSTREAM`` rather than silently dropped.
"""

from __future__ import annotations

from typing import Any

from strawberry import Maybe, Some

from app.generations import Feature, Generation
from app.schema.checks import unsupported
from app.schema.errors import UserError
from app.schema.rate_limits.inputs import RateLimitInput

__all__ = ["given", "rate_limit_body"]


def given(rate_limit: RateLimitInput | None) -> Maybe[RateLimitInput | None]:
    """A create input's optional rate limit as a change: absent when not given, never "remove"."""
    return Some(rate_limit) if rate_limit is not None else None


def rate_limit_body(
    change: Maybe[RateLimitInput | None],
    generation: Generation | None,
    *,
    owner: str,
    path: list[str],
    on_seed: bool = False,
) -> tuple[dict[str, Any], list[UserError]]:
    """The ``rate_limit`` field for a change (None: absent, ``Some(None)``: remove, ``Some(limit)``: set).

    ``on_seed`` says whether the seed generation has rate limits for this owner at all (keys and provider
    configs do; teams and customers only with ``Feature.OWNER_RATE_LIMITS``). A ``patch`` generation
    changes them field by field and cannot remove one; a ``replace`` generation removes a rate limit sent
    with both max limits null, and otherwise overwrites all four fields.
    """
    if change is None:
        return {}, []
    if generation is not None and not on_seed and not generation.has(Feature.OWNER_RATE_LIMITS):
        return {}, [unsupported(path, f"this Bifrost version has no {owner} rate limits")]
    if change.value is None:
        if generation is not None and generation.rate_limit_update == "patch":
            return {}, [unsupported(path, f"this Bifrost version cannot remove a {owner}'s rate limit")]
        return {"rate_limit": {}}, []
    return {"rate_limit": change.value.to_bifrost()}, []
