"""Variable values coerced by a function made once per input type, for the values that plainly coerce.

graphql-core's ``coerce_input_value`` dispatches on the type at every level of every value (is it non-null, a
list, an input object, a leaf?) and ``input_is_nested_too_deeply`` walks the value once more before it. For
the values requests send most (an ``ID!`` that is a string, a small input object of strings), the type's
shape is the same every time: :func:`plain_coercer` works it out once and gives a function that coerces a
value exactly as ``coerce_input_value`` does, or answers :data:`NOT_PLAIN` for anything it is not sure of (a
null for a non-null type, an unknown or missing field, a value a leaf refuses, a ``@oneOf`` input, a value
nested deeper than :data:`MAX_PLAIN_DEPTH`); graphql-core's functions then do all of it, errors included.

Example:
    >>> from graphql import GraphQLID, GraphQLNonNull
    >>> coerce = plain_coercer(GraphQLNonNull(GraphQLID))
    >>> coerce("3f2b"), coerce(None) is NOT_PLAIN
    ('3f2b', True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLString,
    Undefined,
    is_leaf_type,
    is_required_input_field,
)
from graphql.utilities.coerce_input_value import coerce_default_value

__all__ = ["MAX_PLAIN_DEPTH", "NOT_PLAIN", "Coercer", "plain_coercer"]

_UNSEEN: Any = object()
NOT_PLAIN: Any = object()
"""What a coercer answers for a value it leaves to graphql-core."""

MAX_PLAIN_DEPTH = 8
"""Lists and input objects nested deeper than this are left to graphql-core (far below its nesting limit)."""

Coercer = Callable[[Any], Any]

# Scalars whose coercion hands a ``str`` back unchanged.
_STRING_SCALARS = (GraphQLID, GraphQLString)


def plain_coercer(type_: GraphQLInputType) -> Coercer:
    """``coerce_input_value(value, type_)`` for plain values, :data:`NOT_PLAIN` for the others."""
    coerce = _coercer(type_, 0)
    return coerce


def _coercer(type_: GraphQLInputType, depth: int) -> Coercer:
    if isinstance(type_, GraphQLNonNull):
        inner = _nullable_coercer(type_.of_type, depth)  # never given a null: ``non_null`` answers for it
        if type_.of_type in _STRING_SCALARS:

            def non_null_string(value: Any) -> Any:
                if type(value) is str:
                    return value  # an ``ID!`` or ``String!`` given a string: the value itself, in one call
                return NOT_PLAIN if value is None else inner(value)

            return non_null_string

        def non_null(value: Any) -> Any:
            if value is None:
                return NOT_PLAIN  # graphql-core's error
            return inner(value)

        return non_null
    nullable = _nullable_coercer(type_, depth)

    def maybe_null(value: Any) -> Any:
        if value is None:
            return None
        return nullable(value)

    return maybe_null


def _nullable_coercer(type_: GraphQLInputType, depth: int) -> Coercer:
    if depth > MAX_PLAIN_DEPTH:
        return _not_plain
    if isinstance(type_, GraphQLList):
        return _list_coercer(type_, depth)
    if isinstance(type_, GraphQLInputObjectType):
        return _object_coercer(type_, depth)
    if is_leaf_type(type_):
        return _leaf_coercer(type_)
    return _not_plain  # pragma: no cover - no other input types exist


def _not_plain(_value: Any) -> Any:
    return NOT_PLAIN


def _leaf_coercer(type_: Any) -> Coercer:
    coerce_leaf = type_.coerce_input_value
    strings = type_ in _STRING_SCALARS

    def leaf(value: Any) -> Any:
        if strings and type(value) is str:
            return value  # what ID and String's coercion return for a string
        try:
            coerced = coerce_leaf(value)
        except Exception:  # graphql-core turns any error of the scalar into its own: leave it to it
            return NOT_PLAIN
        return NOT_PLAIN if coerced is Undefined else coerced

    return leaf


def _list_coercer(type_: GraphQLList[Any], depth: int) -> Coercer:
    item = _coercer(type_.of_type, depth + 1)

    def items(value: Any) -> Any:
        kind = type(value)
        if kind is list:
            coerced = []
            for one in value:
                coerced_item = item(one)
                if coerced_item is NOT_PLAIN:
                    return NOT_PLAIN
                coerced.append(coerced_item)
            return coerced
        if kind in (str, int, float, bool):  # a lone value is a list of one
            coerced_item = item(value)
            return NOT_PLAIN if coerced_item is NOT_PLAIN else [coerced_item]
        return NOT_PLAIN  # a dict, a tuple ...: graphql-core's rules for those

    return items


def _object_coercer(type_: GraphQLInputObjectType, depth: int) -> Coercer:
    if type_.is_one_of:
        return _not_plain
    # Made on first use: input types may refer to themselves.
    plan: list[tuple[str, str, bool, Any, Coercer]] = []

    def fields() -> list[tuple[str, str, bool, Any, Coercer]]:
        if not plan:
            for name, field in type_.fields.items():
                required = is_required_input_field(field)
                plan.append((name, field.out_name or name, required, field, _coercer(field.type, depth + 1)))
        return plan

    known = type_.fields
    out_type = type_.out_type
    defaults: dict[str, Any] = {}  # each absent field's coerced default, by field name

    def input_object(value: Any) -> Any:
        if type(value) is not dict:
            return NOT_PLAIN
        for name in value:
            if name not in known:
                return NOT_PLAIN  # graphql-core names the unknown field
        coerced: dict[str, Any] = {}
        for name, out_name, required, field, coerce in plan or fields():
            if name in value:
                coerced_field = coerce(value[name])
                if coerced_field is NOT_PLAIN:
                    return NOT_PLAIN
                coerced[out_name] = coerced_field
            elif required:
                return NOT_PLAIN
            else:
                default = defaults.get(name, _UNSEEN)
                if default is _UNSEEN:
                    # graphql-core keeps a field's coerced default on the field and hands out that very value.
                    default = defaults[name] = coerce_default_value(field)
                if default is not Undefined:
                    coerced[out_name] = default
        return out_type(coerced)

    return input_object
