"""What the upstream's generation can do, as the schema asks it: one question, one place.

A mutation that needs a capability the upstream lacks answers ``UNSUPPORTED_BY_UPSTREAM`` with nothing sent;
a query field answers null or an empty list. While the generation cannot be told (detection found neither a
version nor a team to look at), the call goes out and Bifrost answers for itself.
"""

from __future__ import annotations

from app.bifrost import BifrostSession
from app.generations import Feature, Generation
from app.schema.errors import UserError, UserErrorCode

__all__ = ["lacks", "unsupported_feature", "upstream_generation"]

_MESSAGES = {
    Feature.KEY_ROTATION: "this Bifrost version cannot rotate virtual keys (Bifrost v2+)",
    Feature.BUDGET_OVERRIDES: "this Bifrost version has no budget overrides (Bifrost v2+)",
    Feature.MODEL_CONFIGS: "this Bifrost version has no model configs (Bifrost v2+)",
    Feature.PROVIDER_GOVERNANCE: "this Bifrost version has no provider governance (Bifrost v2+)",
}


async def upstream_generation(bifrost: BifrostSession) -> Generation | None:
    """The upstream's generation object, or None while it cannot be told."""
    return await bifrost.api_generation()


async def lacks(bifrost: BifrostSession, feature: Feature) -> bool:
    """True when the upstream is known to lack ``feature`` (an unknown generation is given the benefit)."""
    generation = await upstream_generation(bifrost)
    return generation is not None and not generation.has(feature)


def unsupported_feature(feature: Feature, path: list[str] | None = None) -> UserError:
    """The ``UNSUPPORTED_BY_UPSTREAM`` userError of a mutation that needs ``feature``.

    Example:
        >>> unsupported_feature(Feature.KEY_ROTATION, ["id"]).code.value
        'UNSUPPORTED_BY_UPSTREAM'
    """
    message = _MESSAGES.get(feature, f"this Bifrost version lacks {feature.value}")
    return UserError(field=path, message=message, code=UserErrorCode.UNSUPPORTED_BY_UPSTREAM)
