"""Checks of the ids a rotation names, made before anything goes upstream."""

from __future__ import annotations

from collections.abc import Sequence

from app.schema.checks import check_id, invalid
from app.schema.errors import UserError

__all__ = ["MAX_ROTATE_IDS", "check_rotate_ids"]

MAX_ROTATE_IDS = 100
"""The most keys one ``rotateVirtualKeys`` rotates (Bifrost rotates them one by one, in one request)."""


def check_rotate_ids(ids: Sequence[str]) -> list[UserError]:
    """Errors of a bulk rotation's ids: none given, too many, an unsafe id or one given twice.

    Example:
        >>> [e.field for e in check_rotate_ids(["a", "../b", "a"])]
        [['ids', '1'], ['ids', '2']]
    """
    if not ids:
        return [invalid(["ids"], "give at least one virtual key id")]
    if len(ids) > MAX_ROTATE_IDS:
        return [invalid(["ids"], f"at most {MAX_ROTATE_IDS} virtual keys can be rotated at once")]
    errors: list[UserError] = []
    seen: set[str] = set()
    for index, key_id in enumerate(ids):
        at = ["ids", str(index)]
        found = check_id(key_id, at)
        if found:
            errors.append(invalid(at, "not a valid virtual key id"))
        elif key_id in seen:
            errors.append(invalid(at, "this id is given twice"))
        seen.add(key_id)
    return errors
