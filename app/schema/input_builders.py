"""Input objects built from a plan made once per type, through Strawberry's ``from_input`` hook.

For every input object in every request, Strawberry's default conversion works out again what never changes:
each field's GraphQL name (through the name converter) and its resolved type (through the annotation and its
generic checks). For a createTeam that was ~15% of the gateway's CPU. :func:`install_input_builders` gives
each input type of a schema a ``from_input`` hook (a documented extension point of
``StrawberryObjectDefinition``) that does that work once per type and config, then per request only:

* starts from ``None`` for every field without a default, as Strawberry does for input types;
* passes plain ``String``/``ID``/``Int``/``Float``/``Boolean`` values (and nulls) through unchanged, as
  Strawberry's conversion does for them;
* converts everything else (lists, nested inputs, enums, custom scalars) with Strawberry's own
  ``convert_argument``, so nested inputs come back here through their own hook.

Types with a ``Maybe`` field keep Strawberry's conversion: Strawberry validates their nulls in the document
only when a type has no ``from_input`` of its own. ``tests/gateway/test_input_builders.py`` compares both
conversions on values generated from the schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING
from typing import Any

import strawberry
from strawberry.types.arguments import InputContext, convert_argument
from strawberry.types.base import (
    StrawberryContainer,
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
)

__all__ = ["InputBuilder", "install_input_builders"]

_PLAIN = (str, int, float, bool, strawberry.ID)


class _Field:
    __slots__ = ("graphql_name", "plain", "python_name", "type")

    def __init__(self, graphql_name: str, python_name: str, type_: Any) -> None:
        self.graphql_name = graphql_name
        self.python_name = python_name
        self.type = type_
        inner = type_.of_type if isinstance(type_, StrawberryOptional) else type_
        self.plain = inner in _PLAIN


class InputBuilder:
    """The ``from_input`` hook of one input type.

    Args:
        definition: The input type's Strawberry definition.
    """

    __slots__ = ("_plans", "definition")

    def __init__(self, definition: StrawberryObjectDefinition) -> None:
        self.definition = definition
        # per StrawberryConfig (the GraphQL names depend on its name converter): (fields, nulls to start from)
        self._plans: dict[int, tuple[tuple[_Field, ...], dict[str, None], Any]] = {}

    def __call__(self, cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        # the plan holds its config, so an id in this dict is never reused by another config
        plan = self._plans.get(id(context.config)) or self._plan(context)
        fields, nulls, _ = plan
        kwargs: dict[str, Any] = dict(nulls)
        for field in fields:
            name = field.graphql_name
            if name in value:
                item = value[name]
                if field.plain or item is None:
                    kwargs[field.python_name] = item
                else:
                    kwargs[field.python_name] = convert_argument(
                        item,
                        field.type,
                        context.scalar_registry,
                        context.config,
                        context.info,
                        path=(*context.path, name),
                    )
        return cls(**kwargs)

    def _plan(self, context: InputContext) -> tuple[tuple[_Field, ...], dict[str, None], Any]:
        definition = self.definition
        converter = context.config.name_converter
        fields = tuple(
            _Field(converter.from_field(field), field.python_name, field.resolve_type(type_definition=definition))
            for field in definition.fields
        )
        nulls: dict[str, None] = {
            field.python_name: None
            for field in definition.fields
            if field.default_value is MISSING and field.default_factory is MISSING
        }
        plan = (fields, nulls, context.config)
        self._plans[id(context.config)] = plan
        return plan


def _has_maybe(definition: StrawberryObjectDefinition) -> bool:
    for field in definition.fields:
        type_ = field.resolve_type(type_definition=definition)
        while True:
            if isinstance(type_, StrawberryMaybe):
                return True
            if not isinstance(type_, StrawberryContainer):
                break
            type_ = type_.of_type
    return False


def install_input_builders(schema: strawberry.Schema) -> list[type]:
    """Give each plain input type of ``schema`` an :class:`InputBuilder` as its ``from_input``.

    Input types that already have a ``from_input`` (pydantic inputs) or a ``Maybe`` field are left alone.
    Installing twice (a second schema over the same types) keeps the first builder.

    Returns:
        The input classes that convert through a builder.
    """
    installed = []
    for graphql_type in schema.schema_converter.type_map.values():
        definition = graphql_type.definition
        if not isinstance(definition, StrawberryObjectDefinition) or not definition.is_input:
            continue
        if isinstance(definition.from_input, InputBuilder):
            installed.append(definition.origin)
            continue
        if definition.from_input is not None or definition.is_graphql_generic or _has_maybe(definition):
            continue
        definition.from_input = InputBuilder(definition)
        installed.append(definition.origin)
    return installed
