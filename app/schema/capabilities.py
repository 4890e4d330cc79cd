"""What the upstream's generation can do, as the schema asks it: one question, one place.

A mutation that needs a capability the upstream lacks answers ``UNSUPPORTED_BY_UPSTREAM`` with nothing sent;
a query field answers null or an empty list. While the generation cannot be told (detection found neither a
version, nor a v2-only route, nor a team to look at), the same holds, with a message saying so: a v2-only
mutation sent to an older Bifrost would meet a bare 404 that reads as "not found", and a v2-only *input* of a
shared mutation (``requires``) would be ignored without a word (a key meant to expire would never expire).
Detection is tried again on the next request.
"""

from __future__ import annotations

from typing import Any, TypeVar

from strawberry import Maybe, Some

from app.bifrost import BifrostSession
from app.generations import Feature, Generation
from app.schema.checks import unsupported
from app.schema.errors import UserError, UserErrorCode

__all__ = [
    "calendar_aligned",
    "feature_field",
    "lacks",
    "missing_feature",
    "requires",
    "some",
    "unsupported_feature",
    "upstream_generation",
]

T = TypeVar("T")

_MESSAGES = {
    Feature.KEY_ROTATION: "this Bifrost version cannot rotate virtual keys (Bifrost v2+)",
    Feature.BUDGET_OVERRIDES: "this Bifrost version has no budget overrides (Bifrost v2+)",
    Feature.MODEL_CONFIGS: "this Bifrost version has no model configs (Bifrost v2+)",
    Feature.PROVIDER_GOVERNANCE: "this Bifrost version has no provider governance (Bifrost v2+)",
}
_NAMES = {
    Feature.KEY_ROTATION: "key rotation",
    Feature.BUDGET_OVERRIDES: "budget overrides",
    Feature.MODEL_CONFIGS: "model configs",
    Feature.PROVIDER_GOVERNANCE: "provider governance",
}


async def upstream_generation(bifrost: BifrostSession) -> Generation | None:
    """The upstream's generation object, or None while it cannot be told."""
    return await bifrost.api_generation()


async def lacks(bifrost: BifrostSession, feature: Feature) -> bool:
    """True unless the upstream is known to have ``feature`` (a query then answers empty, asking nothing)."""
    generation = await upstream_generation(bifrost)
    return generation is None or not generation.has(feature)


async def missing_feature(bifrost: BifrostSession, feature: Feature, path: list[str] | None = None) -> UserError | None:
    """The ``UNSUPPORTED_BY_UPSTREAM`` userError of a mutation that needs ``feature``, None when it may go out."""
    generation = await upstream_generation(bifrost)
    if generation is None:
        what = _NAMES.get(feature, feature.value)
        message = f"{what} needs Bifrost v2+, and the upstream's version is not known yet"
        return UserError(field=path, message=message, code=UserErrorCode.UNSUPPORTED_BY_UPSTREAM)
    if not generation.has(feature):
        return unsupported_feature(feature, path)
    return None


def unsupported_feature(feature: Feature, path: list[str] | None = None) -> UserError:
    """The ``UNSUPPORTED_BY_UPSTREAM`` userError of a mutation that needs ``feature``.

    Example:
        >>> unsupported_feature(Feature.KEY_ROTATION, ["id"]).code.value
        'UNSUPPORTED_BY_UPSTREAM'
    """
    message = _MESSAGES.get(feature, f"this Bifrost version lacks {feature.value}")
    return UserError(field=path, message=message, code=UserErrorCode.UNSUPPORTED_BY_UPSTREAM)


def requires(generation: Generation | None, feature: Feature, path: list[str], what: str) -> list[UserError]:
    """UNSUPPORTED_BY_UPSTREAM for an input only a generation with ``feature`` takes.

    Example:
        >>> from app.generations import V1_5
        >>> [e.message for e in requires(V1_5, Feature.KEY_EXPIRY, ["input", "expiresAt"], "key expiry")]
        ['this Bifrost version has no key expiry (Bifrost v2+)']
    """
    if generation is None:
        return [unsupported(path, f"{what} needs Bifrost v2+, and the upstream's version is not known yet")]
    if not generation.has(feature):
        return [unsupported(path, f"this Bifrost version has no {what} (Bifrost v2+)")]
    return []


def some(value: T | None) -> Maybe[T | None]:
    """A create input's optional value as a change: absent when not given."""
    return Some(value) if value is not None else None


def feature_field(
    change: Maybe[Any],
    generation: Generation | None,
    feature: Feature,
    *,
    field: str,
    path: list[str],
    what: str,
    body: dict[str, Any],
) -> list[UserError]:
    """Put ``field`` in ``body`` when the input gives it and the generation has ``feature``, else the userError.

    Example:
        >>> from app.generations import V2
        >>> body = {}
        >>> feature_field(Some(True), V2, Feature.CALENDAR_ALIGNED, field="calendar_aligned",
        ...               path=["input", "calendarAligned"], what="calendar alignment", body=body), body
        ([], {'calendar_aligned': True})
    """
    if change is None:
        return []
    errors = requires(generation, feature, path, what)
    if not errors:
        body[field] = change.value
    return errors


def calendar_aligned(
    change: Maybe[bool | None], generation: Generation | None, body: dict[str, Any]
) -> list[UserError]:
    """An owner's ``calendarAligned`` (teams, customers, keys: Bifrost v2) into ``body``, or its userError."""
    if change is not None and change.value is None:
        return []  # null is refused by the input's own check
    return feature_field(
        change,
        generation,
        Feature.CALENDAR_ALIGNED,
        field="calendar_aligned",
        path=["input", "calendarAligned"],
        what="calendar-aligned owners",
        body=body,
    )
