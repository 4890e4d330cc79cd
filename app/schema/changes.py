"""What a field of an update input says: left out (unchanged), ``null``, or a new value.

Every optional field of an update input is ``Maybe[T | None]``, so that an explicit ``null`` reaches the
mutation (inline or through variables) instead of failing the whole operation with a message about Python
types. There ``null`` means "clear" where Bifrost can clear (a list field: the same as ``[]``), and is a
userError naming the field where it cannot (a name, ``isActive``).
"""

from __future__ import annotations

from typing import TypeVar

from strawberry import Maybe

from app.schema.checks import invalid
from app.schema.errors import UserError

__all__ = ["check_not_null", "list_change"]

T = TypeVar("T")


def list_change(change: Maybe[list[T] | None]) -> list[T] | None:
    """The new full set of a list field: None when left out; ``null`` clears, as ``[]`` does.

    Example:
        >>> from strawberry import Some
        >>> list_change(None), list_change(Some(None)), list_change(Some([1]))
        (None, [], [1])
    """
    if change is None:
        return None
    return change.value if change.value is not None else []


def check_not_null(change: Maybe[T | None], path: list[str]) -> list[UserError]:
    """A userError when a field that cannot be cleared is given as ``null``.

    Example:
        >>> from strawberry import Some
        >>> [e.message for e in check_not_null(Some(None), ["input", "isActive"])]
        ['isActive cannot be null: leave it out to keep the current value']
    """
    if change is None or change.value is not None:
        return []
    return [invalid(path, f"{path[-1]} cannot be null: leave it out to keep the current value")]
