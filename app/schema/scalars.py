"""Custom scalars, registered on the schema through ``StrawberryConfig.scalar_map``."""

from __future__ import annotations

from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

__all__ = ["SCALAR_MAP", "Int64"]

Int64 = NewType("Int64", int)


def _parse_int64(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise ValueError("Int64 must be an integer between -2^63 and 2^63-1")
    return value


SCALAR_MAP: dict[object, ScalarDefinition] = {
    Int64: strawberry.scalar(
        name="Int64",
        description="A 64-bit integer (token and request counts can exceed GraphQL's 32-bit Int).",
        serialize=int,
        parse_value=_parse_int64,
    )
}
