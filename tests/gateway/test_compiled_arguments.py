"""Resolvers with arguments called directly by the compiled executor answer exactly what graphql-core answers.

A field whose Strawberry resolver has no extensions, permissions or exception handlers is *converted*: the
compiled executor converts its arguments as Strawberry does and calls the resolver function itself. These
tests run a toy schema through both executors (compiled, and graphql-core's ``execute`` as the reference)
and compare ``data`` and errors: arguments as literals and as variables, defaults, enums, input objects
(nested, with lists and optional fields), lists, errors raised while converting an argument (sync and async
resolvers, nullable and non-null fields), and fields with a permission or an extension, which keep to
Strawberry's own wrapper. Each test also checks which way the plan reads the field.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import pytest
import strawberry
from graphql import ExecutionResult, GraphQLSchema, get_variable_values
from graphql.execution.values import VariableValues
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission

from app.schema import compiled
from app.schema.executor import Executor, PreparedDocument
from app.schema.input_builders import install_input_builders
from app.schema.limits import Limits
from app.schema.schema import GatewaySchema, build_schema
from tests.gateway.test_compiled_execution import Engines, demo_upstream, make_engines, used_compiled_plan


@strawberry.enum
class Shade(enum.Enum):
    LIGHT = "light"
    DARK = "dark"


@strawberry.input
class Range:
    low: int
    high: int = 10

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")


@strawberry.input
class Filter:
    name: str
    ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    shade: Shade | None = None
    range: Range | None = None
    tags: list[str] | None = None


class Closed(BasePermission):
    message = "closed"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return bool(kwargs.get("open"))


class Upper(FieldExtension):
    def resolve(self, next_: Any, source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        return str(next_(source, info, **kwargs)).upper()


@dataclass
class Seen:
    """What each resolver was called with (the Python values, after conversion), in call order."""

    calls: list[tuple[str, Any]] = field(default_factory=list)


def described(value: Any) -> Any:
    if isinstance(value, (Range, Filter)):
        return (type(value).__name__, {k: described(v) for k, v in vars(value).items()})
    if isinstance(value, list):
        return [described(item) for item in value]
    if isinstance(value, enum.Enum):
        return ("enum", value.value)
    return value


@strawberry.type
class Query:
    @strawberry.field
    def echo(self, info: strawberry.Info, id: strawberry.ID, count: int = 3, note: str | None = None) -> str:
        info.context.calls.append(("echo", (id, count, note)))
        return f"{id}:{count}:{note}"

    @strawberry.field
    async def later(self, info: strawberry.Info, id: strawberry.ID, shade: Shade = Shade.LIGHT) -> str:
        info.context.calls.append(("later", (id, described(shade))))
        return f"{id}:{shade.value}"

    @strawberry.field
    def shades(self, info: strawberry.Info, shades: list[Shade], pick: Shade | None = None) -> list[str]:
        info.context.calls.append(("shades", (described(shades), described(pick))))
        return [shade.value for shade in shades]

    @strawberry.field
    def search(self, info: strawberry.Info, filter: Filter, numbers: list[int] | None = None) -> str:
        info.context.calls.append(("search", (described(filter), numbers)))
        return f"{filter.name}:{len(filter.ids)}"

    @strawberry.field
    async def search_later(self, info: strawberry.Info, filter: Filter) -> str:
        info.context.calls.append(("search_later", described(filter)))
        return filter.name

    @strawberry.field
    def nullable_range(self, range: Range) -> int | None:
        return range.high - range.low

    @strawberry.field
    async def async_nullable_range(self, range: Range) -> int | None:
        return range.high - range.low

    @strawberry.field
    async def async_range(self, range: Range) -> int:
        return range.high - range.low

    @strawberry.field
    def sibling(self) -> str:
        return "sibling"

    @strawberry.field(permission_classes=[Closed])
    def guarded(self, open: bool = False) -> str | None:
        return "opened"

    @strawberry.field(extensions=[Upper()])
    def shouted(self, word: str) -> str:
        return word

    @strawberry.field
    @staticmethod
    async def static_later(info: strawberry.Info, word: str) -> str:
        info.context.calls.append(("static_later", word))
        return word * 2


SCHEMA = GatewaySchema(query=Query)


async def on_both(document: str, variables: dict[str, Any] | None = None) -> tuple[Any, ExecutionResult]:
    """The compiled answer (asserted equal to graphql-core's, calls included), its prepared document."""
    answers = []
    for use_compiled in (True, False):
        executor = Executor(SCHEMA, Limits(10, 15, 2000), hide_suggestions=False, compiled=use_compiled)
        prepared = executor.prepare(document, None)
        assert not prepared.errors, prepared.errors
        seen = Seen()
        result = await executor.execute(prepared, variables=variables, context=seen, operation_name=None)
        answers.append((prepared, result, seen.calls))
    (prepared, result, calls), (_, reference, reference_calls) = answers
    assert result.data == reference.data
    assert sorted(str(e.formatted) for e in result.errors or []) == sorted(
        str(e.formatted) for e in reference.errors or []
    )
    assert calls == reference_calls
    assert used_compiled_plan(prepared)
    return prepared, result


def kinds(prepared: PreparedDocument) -> dict[str, int]:
    """Response key -> how the plan reads the root field (``compiled._CONVERTED`` ...)."""
    assert prepared.compiled is not None
    plans = [plan for plan in prepared.compiled.plans.values() if plan is not None]
    return {field_plan.key: field_plan.kind for field_plan in plans[0].root.fields}


CONVERTED = compiled._CONVERTED


async def test_scalar_arguments_as_literals_variables_and_defaults() -> None:
    document = """query Q($id: ID!, $count: Int, $note: String) {
      a: echo(id: "x")
      b: echo(id: 7, count: 5, note: "n")
      c: echo(id: $id, count: $count, note: $note)
      d: later(id: $id)
      e: staticLater(word: "ab")
    }"""
    for variables in ({"id": "v"}, {"id": 12, "count": 0, "note": None}, {"id": "w", "count": -2, "note": "é"}):
        prepared, result = await on_both(document, variables)
        assert result.errors is None
        assert set(kinds(prepared).values()) == {CONVERTED}
    assert result.data == {"a": "x:3:None", "b": "7:5:n", "c": "w:-2:é", "d": "w:light", "e": "abab"}


async def test_enum_arguments_convert_to_the_enum() -> None:
    document = """query Q($shade: Shade!, $shades: [Shade!]!) {
      a: later(id: "1", shade: DARK)
      b: later(id: "2", shade: $shade)
      c: shades(shades: [LIGHT, DARK], pick: DARK)
      d: shades(shades: $shades)
      e: shades(shades: LIGHT)
    }"""
    prepared, result = await on_both(document, {"shade": "DARK", "shades": ["DARK", "LIGHT", "DARK"]})
    assert set(kinds(prepared).values()) == {CONVERTED}
    assert result.data == {
        "a": "1:dark",
        "b": "2:dark",
        "c": ["light", "dark"],
        "d": ["dark", "light", "dark"],
        "e": ["light"],
    }


async def test_input_objects_convert_nested_as_strawberry_does() -> None:
    document = """query Q($filter: Filter!, $numbers: [Int!]) {
      a: search(filter: {name: "lit", ids: ["1", 2], shade: DARK, range: {low: 1}, tags: null})
      b: search(filter: $filter, numbers: $numbers)
      c: searchLater(filter: $filter)
      d: search(filter: {name: "partial", range: {low: 2, high: $numbers}})
    }""".replace("high: $numbers", "high: 3")
    variables = {"filter": {"name": "var", "ids": ["a", "b"], "range": {"low": 0, "high": 1}}, "numbers": [1, 2]}
    prepared, result = await on_both(document, variables)
    assert result.errors is None
    assert set(kinds(prepared).values()) == {CONVERTED}
    assert result.data == {"a": "lit:2", "b": "var:2", "c": "var", "d": "partial:0"}


async def test_a_literal_input_object_is_a_fresh_value_for_each_request() -> None:
    """Converted values are not shared between requests: a resolver that changes its input changes only its own."""
    document = '{ search(filter: {name: "x", ids: ["1"], tags: ["t"]}) }'
    executor = Executor(SCHEMA, Limits(10, 15, 2000), hide_suggestions=False, compiled=True)
    prepared = executor.prepare(document, None)
    received = []
    for _ in range(2):
        seen = Seen()
        await executor.execute(prepared, variables=None, context=seen, operation_name=None)
        received.append(seen.calls[0][1])
    assert received[0] == received[1]
    assert kinds(prepared) == {"search": CONVERTED}


async def test_conversion_errors_are_located_at_the_field_as_on_graphql_core() -> None:
    # Range.__post_init__ refuses low > high while Strawberry builds the input: sync and async, nullable and not.
    document = """query Q($range: Range!) {
      first: sibling
      a: nullableRange(range: {low: 5, high: 1})
      b: asyncNullableRange(range: $range)
      c: nullableRange(range: $range)
      last: sibling
    }"""
    prepared, result = await on_both(document, {"range": {"low": 9, "high": 2}})
    assert result.data == {"first": "sibling", "a": None, "b": None, "c": None, "last": "sibling"}
    # Masked for clients (an unexpected error), each at its field.
    assert sorted(error.path for error in result.errors or []) == [["a"], ["b"], ["c"]]  # type: ignore[type-var]
    assert kinds(prepared)["b"] == CONVERTED


async def test_a_conversion_error_on_a_non_null_async_field_nulls_the_data() -> None:
    document = "{ first: sibling x: asyncRange(range: {low: 3, high: 1}) y: asyncRange(range: {low: 1}) }"
    prepared, result = await on_both(document)
    assert result.data is None
    assert [error.path for error in result.errors or []] == [["x"]]
    assert kinds(prepared)["x"] == CONVERTED


async def test_variable_errors_stop_before_any_resolver_runs() -> None:
    document = "query Q($id: ID!, $count: Int) { echo(id: $id, count: $count) }"
    for variables in ({"count": 1}, {"id": "x", "count": "many"}, {"id": {"no": 1}}):
        executor = Executor(SCHEMA, Limits(10, 15, 2000), hide_suggestions=False, compiled=True)
        reference = Executor(SCHEMA, Limits(10, 15, 2000), hide_suggestions=False, compiled=False)
        results = []
        for engine in (executor, reference):
            seen = Seen()
            prepared = engine.prepare(document, None)
            results.append(await engine.execute(prepared, variables=variables, context=seen, operation_name=None))
            assert seen.calls == []
        assert results[0].data is None and results[1].data is None
        assert [e.formatted for e in results[0].errors or []] == [e.formatted for e in results[1].errors or []]


async def test_permissions_and_extensions_keep_strawberrys_wrapper() -> None:
    document = '{ shut: guarded open: guarded(open: true) loud: shouted(word: "hey") echo(id: "1") }'
    prepared, result = await on_both(document)
    assert result.data == {"shut": None, "open": "opened", "loud": "HEY", "echo": "1:3:None"}
    assert [error.message for error in result.errors or []] == ["closed"]
    assert kinds(prepared) == {
        "shut": compiled._GENERIC,
        "open": compiled._GENERIC,
        "loud": compiled._GENERIC,
        "echo": CONVERTED,
    }


# The gateway's own schema: the hot root fields are converted, and answer as on graphql-core ------------


@pytest.fixture
async def engines() -> Any:
    engines = make_engines(demo_upstream("v2"))
    yield engines
    await engines.client.aclose()


async def test_gateway_root_fields_with_arguments_are_converted(engines: Engines) -> None:
    team_id = next(iter(engines.ids("teams").values()))
    document = """query Q($id: ID!, $first: Int) {
      team(id: $id) { id name customer { name } budgets { maxLimit } }
      missing: team(id: "../x") { id }
      teams(first: $first) { totalCount nodes { name } }
      literal: teams(first: 2, search: "a") { totalCount }
    }"""
    prepared, compiled_answer, _ = await engines.both(document, {"id": team_id, "first": 3})
    assert compiled_answer.errors is None
    assert compiled_answer.data["team"]["id"] == team_id and compiled_answer.data["missing"] is None
    assert set(kinds(prepared).values()) == {CONVERTED}


async def test_create_team_input_is_converted_with_the_same_writes(engines: Engines) -> None:
    document = (
        "mutation M($input: CreateTeamInput!) { createTeam(input: $input) { team { name } userErrors { field code } } }"
    )
    for name in ("", "x" * 300):
        prepared, compiled_answer, _ = await engines.both(document, {"input": {"name": name}})
        assert compiled_answer.data["createTeam"]["userErrors"]
        assert kinds(prepared) == {"createTeam": CONVERTED}


def test_the_gateway_schema_has_a_converter_and_a_plain_graphql_schema_none() -> None:
    assert compiled.ArgumentConverter.of(build_schema()._schema) is not None
    assert compiled.ArgumentConverter.of(GraphQLSchema()) is None


# Variables: coerced over signatures worked out once per document, graphql-core's function for the rest ----


@pytest.mark.parametrize(
    ("variables", "remembered"),
    [
        pytest.param(
            {"id": "a", "count": 2, "note": "n", "filter": {"name": "f", "ids": [1]}, "shade": "LIGHT"},
            True,
            id="all-given",
        ),
        pytest.param({"id": 5, "filter": {"name": "f"}, "shade": "DARK"}, True, id="nullable-left-out"),
        pytest.param(
            {"id": "a", "count": None, "note": None, "filter": {"name": "f"}, "shade": "LIGHT"},
            True,
            id="explicit-nulls",
        ),
        pytest.param({"id": "a", "filter": {"name": "f"}}, False, id="default-applied"),
        pytest.param({"filter": {"name": "f"}, "shade": "DARK"}, False, id="required-missing"),
        pytest.param({"id": "a", "count": "2", "filter": {"name": "f"}, "shade": "DARK"}, False, id="wrong-type"),
        pytest.param({"id": "a", "count": 2**31, "filter": {"name": "f"}, "shade": "DARK"}, False, id="int-too-big"),
        pytest.param({"id": "a", "filter": {"name": "f", "x": 1}, "shade": "DARK"}, False, id="unknown-input-field"),
        pytest.param({"id": "a", "filter": {"ids": ["1"]}, "shade": "DARK"}, False, id="input-field-missing"),
        pytest.param({"id": "a", "filter": None, "shade": "DARK"}, False, id="null-for-required"),
        pytest.param({"id": ["a"], "filter": {"name": "f"}, "shade": "DARK"}, False, id="list-for-scalar"),
        pytest.param({"id": "a", "filter": {"name": "f"}, "shade": "GREY"}, False, id="unknown-enum-value"),
    ],
)
async def test_variables_coerce_as_graphql_core_coerces_them(variables: dict[str, Any], remembered: bool) -> None:
    document = """query Q($id: ID!, $count: Int, $note: String, $filter: Filter!, $shade: Shade = DARK) {
      echo(id: $id, count: $count, note: $note)
      search(filter: $filter)
      later(id: "x", shade: $shade)
    }"""
    if remembered:
        prepared, _ = await on_both(document, variables)
    else:
        results = []
        for use_compiled in (True, False):
            executor = Executor(SCHEMA, Limits(10, 15, 2000), hide_suggestions=False, compiled=use_compiled)
            prepared = executor.prepare(document, None)
            results.append(await executor.execute(prepared, variables=variables, context=Seen(), operation_name=None))
        assert results[0].data == results[1].data
        assert [e.formatted for e in results[0].errors or []] == [e.formatted for e in results[1].errors or []]
        prepared = Executor(SCHEMA, Limits(10, 15, 2000), hide_suggestions=False).prepare(document, None)
    assert prepared.compiled is not None
    coerced = compiled._coerced_variables(prepared.compiled, variables)
    assert (coerced is not None) == remembered
    if coerced is not None:
        operation = prepared.compiled.operation
        reference = get_variable_values(SCHEMA._schema, operation.variable_definitions or (), variables)
        assert not isinstance(reference, list)
        assert coerced.coerced == reference.coerced
        assert described_sources(coerced) == described_sources(reference)


def described_sources(values: VariableValues) -> dict[str, tuple[str, str, Any, Any]]:
    """Each source's signature (name, printed type, default) and value: type objects are built per call."""
    return {
        name: (source.signature.name, str(source.signature.type), source.signature.default, source.value)
        for name, source in values.sources.items()
    }


async def test_variables_nested_too_deeply_give_graphql_cores_error() -> None:
    deep: Any = 1
    for _ in range(3000):
        deep = [deep]
    document = 'query Q($numbers: [Int!]) { search(filter: {name: "x"}, numbers: $numbers) }'
    results = []
    for use_compiled in (True, False):
        executor = Executor(SCHEMA, Limits(10, 15, 2000), hide_suggestions=False, compiled=use_compiled)
        prepared = executor.prepare(document, None)
        results.append(
            await executor.execute(prepared, variables={"numbers": deep}, context=Seen(), operation_name=None)
        )
    assert results[0].data is None and results[1].data is None
    assert [e.formatted for e in results[0].errors or []] == [e.formatted for e in results[1].errors or []]


# Input types with a ``from_input`` hook (the gateway's input builders) are built by it directly -------------


@strawberry.input
class Span:
    start: int
    end: int = 10
    label: str | None = None

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")


@strawberry.input
class Plan:
    name: str
    spans: list[Span] = strawberry.field(default_factory=list)
    shade: Shade | None = None
    main: Span | None = None


@strawberry.type
class PlanQuery:
    @strawberry.field
    def plan(self, info: strawberry.Info, plan: Plan, extra: Span | None = None) -> str:
        info.context.calls.append(("plan", described_plan(plan), described_plan(extra)))
        return plan.name

    @strawberry.field
    async def plan_later(self, plan: Plan) -> int | None:
        return len(plan.spans)

    @strawberry.field
    def sibling(self) -> str:
        return "sibling"


def described_plan(value: Any) -> Any:
    if isinstance(value, (Plan, Span)):
        return (type(value).__name__, {k: described_plan(v) for k, v in vars(value).items()})
    if isinstance(value, list):
        return [described_plan(item) for item in value]
    return value.value if isinstance(value, enum.Enum) else value


PLAN_SCHEMA = GatewaySchema(query=PlanQuery)
install_input_builders(PLAN_SCHEMA)


async def test_inputs_with_a_builder_are_built_by_it_as_strawberry_would() -> None:
    assert Plan.__strawberry_definition__.from_input is not None  # the gateway's builders are installed
    document = """query Q($plan: Plan!, $extra: Span) {
      a: plan(plan: {name: "lit", spans: [{start: 1}, {start: 2, end: 3, label: "x"}], shade: DARK})
      b: plan(plan: $plan, extra: $extra)
      c: plan(plan: {name: "null extra"}, extra: null)
      bad: planLater(plan: {name: "bad", main: {start: 9, end: 1}})
      badVariable: planLater(plan: $plan)
      last: sibling
    }"""
    for variables in (
        {"plan": {"name": "v", "spans": [{"start": 0}], "main": {"start": 1}}, "extra": {"start": 2, "end": 2}},
        {"plan": {"name": "w", "spans": [{"start": 5, "end": 4}]}},
    ):
        answers = []
        for use_compiled in (True, False):
            executor = Executor(PLAN_SCHEMA, Limits(10, 15, 2000), hide_suggestions=False, compiled=use_compiled)
            prepared = executor.prepare(document, None)
            seen = Seen()
            result = await executor.execute(prepared, variables=variables, context=seen, operation_name=None)
            answers.append((result, seen.calls, prepared))
        (result, calls, prepared), (reference, reference_calls, _) = answers
        assert result.data == reference.data
        assert sorted(str(e.formatted) for e in result.errors or []) == sorted(
            str(e.formatted) for e in reference.errors or []
        )
        assert calls == reference_calls
        assert set(kinds(prepared).values()) == {CONVERTED, compiled._DIRECT}
    assert result.data is None or result.data["last"] == "sibling"
    assert prepared.compiled is not None
    plan_field = next(f for p in prepared.compiled.plans.values() if p for f in p.root.fields if f.key == "a")
    assert isinstance(plan_field.arguments[0][2], compiled._BuiltInput)
