"""Input builders (``app/schema/input_builders.py``) build exactly what Strawberry's own conversion builds.

Values are generated from the schema for every input type that has a builder: every field given, only the
required ones, every nullable field null, and lists of zero, one and two items. Each value is coerced by
graphql-core (as a variable would be), then converted twice: through the builders and with every builder
switched off.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
    coerce_input_value,
)
from strawberry.types.arguments import convert_argument

from app.schema import build_schema
from app.schema.input_builders import InputBuilder, install_input_builders

SCHEMA = build_schema()
INSTALLED = install_input_builders(SCHEMA)
SCALARS = {"String": "text", "ID": "5f0c6a58-6a43-4c1e-9d5b-0b7e1e2f3a4b", "Int": 7, "Float": 2.5, "Boolean": True}
SCALARS["Int64"] = 2**40
SCALARS["DateTime"] = "2099-01-31T10:00:00+00:00"


def _sample(graphql_type: Any, variant: str, depth: int = 0) -> Any:
    """A JSON value of ``graphql_type`` for one variant: "all", "required" or "nulls"."""
    nullable = not isinstance(graphql_type, GraphQLNonNull)
    inner = graphql_type if nullable else graphql_type.of_type
    if nullable and variant == "nulls" and depth > 0:
        return None
    if isinstance(inner, GraphQLList):
        count = {"all": 2, "required": 1, "nulls": 0}[variant]
        return [_sample(inner.of_type, variant, depth + 1) for _ in range(count)]
    if isinstance(inner, GraphQLInputObjectType):
        value = {}
        for name, field in inner.fields.items():
            required = isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
            if variant == "required" and not required:
                continue
            value[name] = _sample(field.type, variant, depth + 1)
        return value
    if isinstance(inner, GraphQLEnumType):
        return next(iter(inner.values))
    assert isinstance(inner, GraphQLScalarType)
    return SCALARS[inner.name]


@contextlib.contextmanager
def _strawberry_conversion() -> Iterator[None]:
    """Every builder switched off: Strawberry's default conversion."""
    definitions = [cls.__strawberry_definition__ for cls in INSTALLED]  # type: ignore[attr-defined]
    builders = [definition.from_input for definition in definitions]
    for definition in definitions:
        definition.from_input = None
    try:
        yield
    finally:
        for definition, builder in zip(definitions, builders, strict=True):
            definition.from_input = builder


def _convert(cls: type, value: Any) -> Any:
    registry = SCHEMA.schema_converter.scalar_registry
    return convert_argument(value, cls, registry, SCHEMA.config, None, path=("input",))


def test_every_plain_input_type_has_a_builder_and_maybe_inputs_keep_strawberrys() -> None:
    names = {cls.__name__ for cls in INSTALLED}
    assert {"CreateTeamInput", "BudgetInput", "RateLimitInput", "CreateVirtualKeyInput"} <= names
    assert "UpdateTeamInput" not in names  # Maybe fields: Strawberry validates their nulls itself
    for cls in INSTALLED:
        assert isinstance(cls.__strawberry_definition__.from_input, InputBuilder)  # type: ignore[attr-defined]
    assert install_input_builders(build_schema()) == INSTALLED  # a second schema keeps the same builders


@pytest.mark.parametrize(
    ("cls", "variant"),
    list(itertools.product(INSTALLED, ["all", "required", "nulls"])),
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
def test_builder_matches_strawberrys_conversion(cls: type, variant: str) -> None:
    graphql_type = SCHEMA._schema.get_type(SCHEMA.config.name_converter.from_type(cls.__strawberry_definition__))  # type: ignore[attr-defined]
    assert isinstance(graphql_type, GraphQLInputObjectType)
    coerced = coerce_input_value(_sample(GraphQLNonNull(graphql_type), variant), GraphQLNonNull(graphql_type))
    built = _convert(cls, coerced)
    with _strawberry_conversion():
        expected = _convert(cls, coerced)
    assert type(built) is type(expected) is cls
    assert built == expected
    assert vars(built) == vars(expected)


def test_builder_does_not_share_lists_between_requests() -> None:
    # graphql-core hands the same default to every request that omits a value: a converted list is a copy
    graphql_type = SCHEMA._schema.get_type("CreateVirtualKeyInput")
    value = coerce_input_value(_sample(GraphQLNonNull(graphql_type), "all"), GraphQLNonNull(graphql_type))
    built = _convert(SCHEMA.get_type_by_name("CreateVirtualKeyInput").origin, value)  # type: ignore[union-attr]
    lists = [(name, item) for name, item in vars(built).items() if isinstance(item, list)]
    assert lists
    for name, item in lists:
        assert item is not value[SCHEMA.config.name_converter.apply_naming_config(name)]
