"""Plain variable values coerce exactly as graphql-core coerces them; anything else is left to graphql-core.

``plain_coercer`` is checked against ``coerce_input_value`` over every input type of the gateway's schema and
of a toy schema, with values made from each type (valid ones, and ones broken in the ways a buggy or
hostile client breaks them): it gives graphql-core's value or says it is not sure, never something else,
and it is sure of the values requests send most. Arguments that are all variables are taken from the
coerced variables; a null for a non-null argument or a variable left out still gets graphql-core's error.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
    coerce_input_value,
    is_input_type,
)
from graphql.type import GraphQLBoolean, GraphQLFloat, GraphQLInt, GraphQLString

from app.schema import compiled
from app.schema.executor import Executor
from app.schema.input_coercion import MAX_PLAIN_DEPTH, NOT_PLAIN, plain_coercer
from app.schema.limits import Limits
from app.schema.schema import build_schema
from tests.gateway.test_compiled_arguments import SCHEMA as TOY_SCHEMA
from tests.gateway.test_compiled_arguments import Seen

GATEWAY = build_schema()._schema
ODD_VALUES: list[Any] = [
    None,
    "",
    "x",
    "3f2b6c1e-0d4a-4c8e-9a57-2f1d1c0b9e11",
    0,
    -1,
    2**31,
    2**53 + 1,
    1.5,
    float("inf"),
    float("nan"),
    True,
    False,
    [],
    ["a"],
    [1, None],
    {},
    {"unknown": 1},
    "LIGHT",
    "DARK",
    "light",
]


def input_types(schema: Any) -> list[GraphQLInputType]:
    named = [type_ for type_ in schema.type_map.values() if is_input_type(type_) and not type_.name.startswith("__")]
    return named + [GraphQLNonNull(type_) for type_ in named] + [GraphQLList(GraphQLNonNull(t)) for t in named]


def sample(type_: GraphQLInputType, rng: random.Random, depth: int = 0, broken: bool = False) -> Any:
    """A value for ``type_``: well formed, or (``broken``) with odd values here and there."""
    if broken and rng.random() < 0.15:
        return rng.choice(ODD_VALUES)
    if isinstance(type_, GraphQLNonNull):
        return sample(type_.of_type, rng, depth, broken)
    if rng.random() < 0.1:
        return None
    if isinstance(type_, GraphQLList):
        if rng.random() < 0.2:
            return sample(type_.of_type, rng, depth + 1, broken)  # a lone value: a list of one
        return [sample(type_.of_type, rng, depth + 1, broken) for _ in range(rng.randrange(3))]
    if isinstance(type_, GraphQLInputObjectType):
        if depth > 4:
            return {}
        value = {}
        for name, field in type_.fields.items():
            if isinstance(field.type, GraphQLNonNull) or rng.random() < 0.5:
                value[name] = sample(field.type, rng, depth + 1, broken)
        if broken and rng.random() < 0.1:
            value["notAField"] = 1
        return value
    if isinstance(type_, GraphQLEnumType):
        return rng.choice(list(type_.values))
    return {
        GraphQLID: lambda: rng.choice(["a1", "3f2b-9c", 12]),
        GraphQLString: lambda: rng.choice(["", "name", "ünï"]),
        GraphQLInt: lambda: rng.choice([0, 7, -3, 2**31 - 1]),
        GraphQLFloat: lambda: rng.choice([0.0, 2.5, 10, -1e300]),
        GraphQLBoolean: lambda: rng.choice([True, False]),
    }.get(type_, lambda: rng.choice(ODD_VALUES))()


@pytest.mark.parametrize("schema", [GATEWAY, TOY_SCHEMA._schema], ids=["gateway", "toy"])
def test_plain_values_coerce_as_graphql_core_coerces_them(schema: Any) -> None:
    rng = random.Random(20261130)
    checked = plain = 0
    for type_ in input_types(schema):
        coerce = plain_coercer(type_)
        for broken in (False, True):
            for _ in range(40):
                value = sample(type_, rng, broken=broken)
                ours = coerce(value)
                reference = coerce_input_value(value, type_)
                checked += 1
                if ours is NOT_PLAIN:
                    continue
                plain += 1
                assert reference is not Undefined, (type_, value, ours)
                assert ours == reference or (ours != ours and reference != reference), (type_, value)
                assert type(ours) is type(reference), (type_, value)
    assert plain > checked // 4  # most well-formed values take the plain way


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        (GraphQLNonNull(GraphQLID), "3f2b6c1e-0d4a-4c8e-9a57-2f1d1c0b9e11"),
        (GraphQLNonNull(GraphQLID), 12),
        (GraphQLString, None),
        (GraphQLList(GraphQLNonNull(GraphQLString)), ["a", "b"]),
        (GraphQLList(GraphQLString), "a"),
        (GraphQLNonNull(GATEWAY.type_map["CreateTeamInput"]), {"name": "t-1"}),
    ],
)
def test_the_values_requests_send_most_are_plain(type_: GraphQLInputType, value: Any) -> None:
    assert plain_coercer(type_)(value) == coerce_input_value(value, type_)


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        (GraphQLNonNull(GraphQLID), None),
        (GraphQLNonNull(GraphQLID), 1.5),
        (GraphQLNonNull(GraphQLID), ["a"]),
        (GraphQLInt, 2**31),
        (GraphQLInt, True),
        (GraphQLFloat, float("nan")),
        (GraphQLString, {"a": 1}),
        (GraphQLNonNull(GATEWAY.type_map["CreateTeamInput"]), {"name": "t", "notAField": 1}),
        (GraphQLNonNull(GATEWAY.type_map["CreateTeamInput"]), {}),
        (GraphQLNonNull(GATEWAY.type_map["CreateTeamInput"]), "t-1"),
        (GraphQLNonNull(GATEWAY.type_map["CreateTeamInput"]), [{"name": "t"}]),
        (GraphQLList(GraphQLString), {"a": "b"}),
        (GraphQLList(GraphQLString), ("a",)),
    ],
)
def test_values_graphql_core_refuses_or_treats_its_own_way_are_not_plain(type_: GraphQLInputType, value: Any) -> None:
    assert plain_coercer(type_)(value) is NOT_PLAIN


def test_a_value_nested_deeper_than_the_plain_depth_is_left_to_graphql_core() -> None:
    type_: GraphQLInputType = GraphQLInt
    value: Any = 1
    for _ in range(MAX_PLAIN_DEPTH + 3):
        type_, value = GraphQLList(type_), [value]
    assert plain_coercer(type_)(value) is NOT_PLAIN
    assert coerce_input_value(value, type_) == value


def test_a_scalar_that_raises_or_answers_undefined_is_left_to_graphql_core() -> None:
    def parse(value: Any) -> Any:
        if value == "boom":
            raise RuntimeError("internal detail")
        return Undefined if value == "none" else f"<{value}>"

    scalar = GraphQLScalarType("Odd", parse_value=parse)
    coerce = plain_coercer(scalar)
    assert coerce("ok") == "<ok>"
    assert coerce("boom") is NOT_PLAIN
    assert coerce("none") is NOT_PLAIN


def test_a_one_of_input_is_left_to_graphql_core() -> None:
    one_of = GraphQLInputObjectType("Pick", {"a": GraphQLInt, "b": GraphQLInt}, is_one_of=True)  # type: ignore[dict-item]
    assert plain_coercer(one_of)({"a": 1}) is NOT_PLAIN


# Arguments that are each a variable ------------------------------------------------------------------------


async def both(document: str, variables: dict[str, Any]) -> list[tuple[Any, list[Any], list[Any]]]:
    answers = []
    for use_compiled in (True, False):
        executor = Executor(TOY_SCHEMA, Limits(10, 15, 2000), hide_suggestions=False, compiled=use_compiled)
        prepared = executor.prepare(document, None)
        assert not prepared.errors, prepared.errors
        seen = Seen()
        result = await executor.execute(prepared, variables=variables, context=seen, operation_name=None)
        answers.append((result.data, [error.formatted for error in result.errors or []], seen.calls))
    return answers


@pytest.mark.parametrize(
    "variables",
    [
        {"id": "a", "count": 2, "note": "n"},
        {"id": "a", "count": None, "note": None},
        {"id": "a"},  # nullable variables left out: the arguments' defaults
        {"id": None, "count": 1},  # null for a non-null argument (a variable with a default may be null)
        {"count": 1},  # the variable's default
    ],
)
async def test_arguments_given_variables_are_what_graphql_core_makes_of_them(variables: dict[str, Any]) -> None:
    document = 'query Q($id: ID = "d", $count: Int, $note: String) { echo(id: $id, count: $count, note: $note) }'
    ours, reference = await both(document, variables)
    assert ours == reference


def test_a_field_whose_arguments_are_all_variables_is_planned_so() -> None:
    executor = Executor(TOY_SCHEMA, Limits(10, 15, 2000), hide_suggestions=False, compiled=True)
    prepared = executor.prepare("query Q($id: ID!) { echo(id: $id) a: echo(id: $id, count: 2) }", None)
    assert prepared.compiled is not None
    variables = compiled._coerced_variables(prepared.compiled, {"id": "x"})
    assert variables is not None
    plan = compiled._plan_for(prepared.compiled, variables)
    assert plan is not None
    by_key = {field_plan.key: field_plan for field_plan in plan.root.fields}
    assert by_key["echo"].variable_args is None  # count and note are not given: their defaults apply
    assert by_key["a"].variable_args is None
    prepared = executor.prepare("query Q($id: ID!, $c: Int, $n: String) { echo(id: $id, count: $c, note: $n) }", None)
    assert prepared.compiled is not None
    variables = compiled._coerced_variables(prepared.compiled, {"id": "x"})
    assert variables is not None
    plan = compiled._plan_for(prepared.compiled, variables)
    assert plan is not None
    assert plan.root.fields[0].variable_args == (("id", "id", True), ("count", "c", True), ("note", "n", False))
