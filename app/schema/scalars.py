"""Custom scalars, registered on the schema through ``StrawberryConfig.scalar_map``.

``Int64`` travels as a decimal string (``"9007199254740993"``): token and request counts can pass 2^53, where
JavaScript's ``JSON.parse`` would silently round a JSON number. On input both forms are accepted, a JSON
integer or a decimal string, so clients written for numbers keep working for what they send.
"""

from __future__ import annotations

import re
from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

__all__ = ["INT64_DESCRIPTION", "SCALAR_MAP", "Int64", "parse_int64", "serialize_int64"]

Int64 = NewType("Int64", int)

INT64_DESCRIPTION = (
    'A 64-bit integer (-2^63 .. 2^63-1). Sent as a decimal string, e.g. "9007199254740993", so that JavaScript '
    "clients keep every digit above 2^53; accepted as a decimal string or as an integer number."
)
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]{0,18})")  # no sign +, spaces, underscores, leading zeros or exponent
_ERROR = 'Int64 must be an integer between -2^63 and 2^63-1, as a number or a decimal string such as "42"'


def parse_int64(value: object) -> int:
    """An input value (JSON integer or decimal string) as an int, or ValueError.

    Example:
        >>> parse_int64("9007199254740993"), parse_int64(-5)
        (9007199254740993, -5)
    """
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise ValueError(_ERROR)
    return value


def serialize_int64(value: object) -> str:
    """An Int64 result as the decimal string the wire carries.

    Example:
        >>> serialize_int64(2**53 + 1)
        '9007199254740993'
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Int64 cannot represent a {type(value).__name__}")
    return str(value)


SCALAR_MAP: dict[object, ScalarDefinition] = {
    Int64: strawberry.scalar(
        name="Int64",
        description=INT64_DESCRIPTION,
        serialize=serialize_int64,
        parse_value=parse_int64,
    )
}
