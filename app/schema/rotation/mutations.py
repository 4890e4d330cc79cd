"""rotateVirtualKey and rotateVirtualKeys: each sent once; the old value stops working (after Bifrost's grace
period, when one is configured).

The new value is read like any key's: ``value(reveal: true)`` needs the caller's own Bifrost credentials or a
gateway key allowed to reveal. Unlike a created key, a rotated key is not revealed to every caller that may
rotate it: it already carries other callers' budgets and providers, and a gateway key without reveal must not
turn "rotate" into "read a working secret".

An idempotent retry after a lost answer (``UPSTREAM_OUTCOME_UNKNOWN``) first reads the key: one rotated since the
first attempt (less ``CLOCK_ALLOWANCE`` for Bifrost's clock) is answered as it is, so a retry never rotates twice.
"""

from __future__ import annotations

import logging
from datetime import UTC

import strawberry

from app.bifrost import BifrostHTTPError, BifrostNotFound, BifrostSession, models
from app.bifrost.rotation import NOT_FOUND_TEXT, RotatedKeys, rotate_virtual_key, rotate_virtual_keys
from app.generations import Feature
from app.redaction import redacted
from app.schema.capabilities import missing_feature
from app.schema.checks import check_id, not_found, user_error_or_raise
from app.schema.context import Info
from app.schema.errors import UserError, UserErrorCode
from app.schema.read_back import CLOCK_ALLOWANCE
from app.schema.rotation.inputs import MAX_ROTATE_IDS, check_rotate_ids
from app.schema.stale import Stale, makes_stale
from app.schema.virtual_keys.types import VirtualKey

__all__ = ["RotateVirtualKeyPayload", "RotateVirtualKeysPayload", "RotationMutations"]

log = logging.getLogger("app.errors")


@strawberry.type(description="The rotated virtual key with its new value, or the reasons it was not rotated.")
class RotateVirtualKeyPayload:
    virtual_key: VirtualKey | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description='The keys rotated, and a userError for each id that was not (`field: ["ids", index]`).')
class RotateVirtualKeysPayload:
    virtual_keys: list[VirtualKey] = strawberry.field(default_factory=list)
    user_errors: list[UserError] = strawberry.field(default_factory=list)


# Customers and team key lists embed keys, values included: those copies are stale after a rotation.
_ROTATED = Stale.CUSTOMERS | Stale.TEAM_KEYS


def _failure(index: int, key_id: str, text: str, request_id: str | None) -> UserError:
    at = ["ids", str(index)]
    if text.strip().lower() == NOT_FOUND_TEXT:
        return not_found(at, "virtual key")
    # Bifrost's text for any other failure is its internals (a database error): logged, not shown.
    log.warning(
        "Bifrost could not rotate a virtual key",
        extra={"request_id": request_id, "virtual_key_id": key_id, "upstream_message": redacted(text[:500])},
    )
    return UserError(field=at, message="Bifrost could not rotate this key", code=UserErrorCode.UPSTREAM_FAILED)


async def _rotated_since(bifrost: BifrostSession, key_id: str, since: float) -> models.VirtualKey | None:
    """The key when it was rotated since ``since`` (epoch seconds, less the allowance): the earlier attempt's work."""
    key = await bifrost.get_virtual_key(key_id)
    rotated = key.rotated_at
    if rotated is None:
        return None
    moment = rotated if rotated.tzinfo is not None else rotated.replace(tzinfo=UTC)
    return key if moment.timestamp() >= since - CLOCK_ALLOWANCE else None


async def _rotated_already(
    bifrost: BifrostSession, ids: list[strawberry.ID], since: float
) -> dict[str, models.VirtualKey]:
    """The keys among ``ids`` rotated since the earlier attempt; an unknown id is left to the rotation to report."""
    done: dict[str, models.VirtualKey] = {}
    for key_id in ids:
        try:
            key = await _rotated_since(bifrost, key_id, since)
        except BifrostNotFound:
            continue
        if key is not None:
            done[key_id] = key
    return done


@strawberry.type
class RotationMutations:
    @strawberry.mutation(
        description="Give a virtual key a new value (`POST /api/governance/virtual-keys/{id}/rotate`, Bifrost v2), "
        "sent exactly once. The old value stops working at once, or after the grace period configured in Bifrost "
        "(`previousValueExpiresAt`). Older Bifrost versions: UNSUPPORTED_BY_UPSTREAM, nothing sent."
    )
    @staticmethod
    @makes_stale(_ROTATED, written="virtual_key")
    async def rotate_virtual_key(info: Info, id: strawberry.ID) -> RotateVirtualKeyPayload:
        errors = check_id(id, ["id"])
        if errors:
            return RotateVirtualKeyPayload(user_errors=errors)
        context = info.context
        if (refusal := await missing_feature(context.bifrost, Feature.KEY_ROTATION, ["id"])) is not None:
            return RotateVirtualKeyPayload(user_errors=[refusal])
        try:
            since = context.earlier_attempt_at
            key = await _rotated_since(context.bifrost, id, since) if since is not None else None
            key = key or await rotate_virtual_key(context.bifrost, id)
        except BifrostNotFound:
            return RotateVirtualKeyPayload(user_errors=[not_found(["id"], "virtual key")])
        except BifrostHTTPError as error:
            user_error = user_error_or_raise(error)
            user_error.field = ["id"] if user_error.field is not None else None
            return RotateVirtualKeyPayload(user_errors=[user_error])
        return RotateVirtualKeyPayload(virtual_key=key)  # type: ignore[arg-type]

    @strawberry.mutation(
        description="Give several virtual keys new values (`POST /api/governance/virtual-keys/rotate`, Bifrost v2), "
        f"sent exactly once. 1 to {MAX_ROTATE_IDS} distinct ids; each id that could not be rotated gets a userError "
        "at its index (NOT_FOUND, or UPSTREAM_FAILED), the others are rotated. Older Bifrost versions: "
        "UNSUPPORTED_BY_UPSTREAM, nothing sent."
    )
    @staticmethod
    @makes_stale(_ROTATED, written="virtual_key")
    async def rotate_virtual_keys(info: Info, ids: list[strawberry.ID]) -> RotateVirtualKeysPayload:
        errors = check_rotate_ids(ids)
        if errors:
            return RotateVirtualKeysPayload(user_errors=errors)
        context = info.context
        if (refusal := await missing_feature(context.bifrost, Feature.KEY_ROTATION, ["ids"])) is not None:
            return RotateVirtualKeysPayload(user_errors=[refusal])
        done: dict[str, models.VirtualKey] = {}
        try:
            if context.earlier_attempt_at is not None:
                done = await _rotated_already(context.bifrost, ids, context.earlier_attempt_at)
            rest = [key_id for key_id in ids if key_id not in done]
            answer = await rotate_virtual_keys(context.bifrost, rest) if rest else RotatedKeys()
        except BifrostHTTPError as error:
            return RotateVirtualKeysPayload(user_errors=[user_error_or_raise(error)])
        failures = [
            _failure(index, key_id, answer.errors[key_id], context.request_id)
            for index, key_id in enumerate(ids)
            if key_id in answer.errors
        ]
        rotated = {key.id: key for key in answer.virtual_keys} | done
        return RotateVirtualKeysPayload(
            virtual_keys=[rotated[key_id] for key_id in ids if key_id in rotated],  # type: ignore[misc]
            user_errors=failures,
        )
