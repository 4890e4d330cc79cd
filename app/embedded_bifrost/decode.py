"""Decoding request bodies the way Go's ``encoding/json`` decodes them into Bifrost's request structs.

The rules that matter to clients:

* an empty body, malformed JSON, a non-object body, or a value of the wrong JSON type for a known field
  (``"name": 1``, ``"budgets": "x"``, ``"max_limit": "5"``, ``"token_max_limit": 1.5``) is ``Invalid JSON``;
* unknown fields are ignored, and field names match case-insensitively when there is no exact match;
* ``null`` is the same as an absent field (every optional field is a Go pointer, slice or map), and a body of
  ``null`` decodes to an empty request.

A spec is a nested description: a ``dict`` maps field names to specs, a one-element ``list`` is an array of
that element spec, and the leaf markers are :data:`STR`, :data:`NUM`, :data:`INT` and :data:`BOOL`.
"""

from __future__ import annotations

from typing import Any

import orjson

from .errors import ApiError

__all__ = ["BOOL", "INT", "NUM", "STR", "Spec", "decode_body"]

STR = "str"
NUM = "num"
INT = "int"
BOOL = "bool"

Spec = Any
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


class _TypeMismatch(Exception):
    """A value does not fit the Go type of its field."""


def decode_body(body: bytes, spec: dict[str, Spec]) -> dict[str, Any]:
    """Decode a JSON request body against a request spec.

    Args:
        body: The raw request body.
        spec: The request struct's fields.

    Returns:
        The decoded fields, with absent and ``null`` fields left out.

    Raises:
        ApiError: 400 ``Invalid JSON`` for anything Go's decoder would reject.
    """
    try:
        value = orjson.loads(body)
        if value is None:
            return {}
        return _object(value, spec)
    except (orjson.JSONDecodeError, _TypeMismatch):
        raise ApiError(400, "Invalid JSON") from None


def _object(value: Any, spec: dict[str, Spec]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _TypeMismatch
    folded = _folded_names(spec)
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = key if key in spec else folded.get(key.lower())
        if name is None:
            continue
        if item is None:
            out.pop(name, None)
            continue
        out[name] = _value(item, spec[name])
    return out


def _value(value: Any, spec: Spec) -> Any:
    if isinstance(spec, dict):
        return _object(value, spec)
    if isinstance(spec, list):
        if not isinstance(value, list):
            raise _TypeMismatch
        element = spec[0]
        # Go decodes a null array element to the element's zero value.
        return [_zero(element) if item is None else _value(item, element) for item in value]
    if spec == STR:
        if isinstance(value, str):
            return value
    elif spec == NUM:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif spec == INT:
        if isinstance(value, int) and not isinstance(value, bool) and _INT64_MIN <= value <= _INT64_MAX:
            return value
    elif spec == BOOL:
        if isinstance(value, bool):
            return value
    raise _TypeMismatch


def _zero(spec: Spec) -> Any:
    if isinstance(spec, dict):
        return {}
    if isinstance(spec, list):
        return []
    return {STR: "", NUM: 0.0, INT: 0, BOOL: False}[spec]


_FOLDED_CACHE: dict[int, dict[str, str]] = {}


def _folded_names(spec: dict[str, Spec]) -> dict[str, str]:
    # Specs are module-level constants, so caching by identity is safe and keeps decoding cheap.
    folded = _FOLDED_CACHE.get(id(spec))
    if folded is None:
        folded = {name.lower(): name for name in spec}
        _FOLDED_CACHE[id(spec)] = folded
    return folded
