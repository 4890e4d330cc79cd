"""Key rotation (Bifrost v2): a virtual key gets a new value; the old one dies at once or after a grace period.

``POST /api/governance/virtual-keys/{id}/rotate`` rotates one key; ``POST /api/governance/virtual-keys/rotate``
rotates several and names each id it could not rotate in ``errors``. When none could be rotated, Bifrost answers
500 with the same body, so the ``errors`` of that answer are read as well.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from app.bifrost.client import BifrostSession, parse
from app.bifrost.errors import error_from_response
from app.bifrost.models import BifrostModel, VirtualKey, VirtualKeyEnvelope
from app.bifrost.paths import governance_path

__all__ = ["NOT_FOUND_TEXT", "RotatedKeys", "rotate_virtual_key", "rotate_virtual_keys"]

NOT_FOUND_TEXT = "virtual key not found"
"""Bifrost's text in a bulk answer's ``errors`` for an id it does not know."""


class RotatedKeys(BifrostModel):
    """The answer of a bulk rotation: the keys rotated, and the reason for each id that was not."""

    message: str = ""
    virtual_keys: list[VirtualKey] = Field(default_factory=list)
    errors: dict[str, str] = Field(default_factory=dict)


async def rotate_virtual_key(session: BifrostSession, key_id: str) -> VirtualKey:
    """``POST /api/governance/virtual-keys/{id}/rotate``: the key with its new value.

    Raises:
        BifrostNotFound: no such key.
    """
    path = governance_path("virtual-keys", "{}", "rotate", ids=(key_id,))
    return (await session.fetch(VirtualKeyEnvelope, "POST", path)).virtual_key


async def rotate_virtual_keys(session: BifrostSession, ids: Sequence[str]) -> RotatedKeys:
    """``POST /api/governance/virtual-keys/rotate``: the keys rotated and the failures, even when all failed.

    Raises:
        BifrostServerError: a 500 that names no failed id (a failure of Bifrost, not of the ids).
    """
    response = await session.call(
        "POST", governance_path("virtual-keys", "rotate"), body={"ids": list(ids)}, answers=frozenset({200, 500})
    )
    if response.status == 200:
        return parse(RotatedKeys, response.content)
    try:
        answer = RotatedKeys.model_validate_json(response.content)
    except ValueError:
        answer = None
    if answer is None or not answer.errors:
        raise error_from_response(response.status, response.content)
    return answer
