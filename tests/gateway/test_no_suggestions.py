"""Production answers a wrong document without mapping the schema: no suggestion, no name the client did not send.

Each document is a typo of the kind an attacker sends with introspection off, inline and through variables,
run over the gateway (compiled execution) and over graphql-core's execution; development keeps suggestions.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType

from app.schema.executor import Executor
from app.schema.limits import Limits
from app.schema.schema import build_schema
from tests.gateway.conftest import Gateway, make_gateway

SCHEMA = build_schema()
NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")

TYPOS = [
    pytest.param('{ team(idd: "x") { name } }', None, id="unknown-argument"),
    pytest.param("{ virtualKeys(sortBy: NAMEE) { totalCount } }", None, id="enum-value"),
    pytest.param('{ team(id: "x") { ... on Teem { name } } }', None, id="type-condition"),
    pytest.param("query($x: Strin) { team(id: $x) { name } }", {"x": "a"}, id="variable-type"),
    pytest.param('mutation { createTeam(input: {nmae: "a"}) { userErrors { code } } }', None, id="input-field"),
    pytest.param(
        "mutation($i: CreateTeamInput!) { createTeam(input: $i) { userErrors { code } } }",
        {"i": {"nmae": "a"}},
        id="input-field-variable",
    ),
    pytest.param(
        "query($s: VirtualKeySort) { virtualKeys(sortBy: $s) { totalCount } }",
        {"s": "NAMEE"},
        id="enum-value-variable",
    ),
    pytest.param(
        'mutation($b: [BudgetInput!]) { createTeam(input: {name: "a", budgets: $b}) { userErrors { code } } }',
        {"b": [{"maxLimt": 1, "resetDuration": "1d"}]},
        id="nested-input-field-variable",
    ),
    pytest.param('{ team(id: "x") { nmae } }', None, id="field"),
    pytest.param('{ team(id: "x") }', None, id="missing-selection"),
    pytest.param('{ team(id: "x") { name(x: 1) } }', None, id="argument-on-leaf"),
]


def schema_names() -> frozenset[str]:
    """Every type, field, argument, input field and enum value name of the gateway's schema."""
    names: set[str] = set()
    for type_ in SCHEMA._schema.type_map.values():
        if type_.name.startswith("__"):
            continue
        names.add(type_.name)
        if isinstance(type_, GraphQLObjectType):
            for field_name, field in type_.fields.items():
                names.add(field_name)
                names.update(field.args)
        elif isinstance(type_, GraphQLInputObjectType):
            names.update(type_.fields)
        elif isinstance(type_, GraphQLEnumType):
            names.update(type_.values)
    return frozenset(names)


SCHEMA_NAMES = schema_names()
# Words of graphql-core's own message templates that happen to be names in this schema too (``to`` and ``from``
# are the arguments of ``spend``).
TEMPLATE_WORDS = frozenset({"type", "value", "field", "name", "to", "from"}) & SCHEMA_NAMES


def assert_reveals_nothing(errors: list[Any], query: str, variables: dict[str, Any] | None) -> None:
    sent = set(NAME.findall(query)) | set(NAME.findall(repr(variables)))
    builtin = {"String", "Int", "Float", "Boolean", "ID", "Query", "Mutation"}
    assert errors, "the document must be refused for the check to mean anything"
    for error in errors:
        message = error["message"] if isinstance(error, dict) else error.message
        assert "Did you mean" not in message
        quoted = " ".join(re.findall(r"'([^'\s]*)'", message))
        revealed = (set(NAME.findall(quoted)) & SCHEMA_NAMES) - sent - builtin
        assert not revealed, message
        unquoted = re.sub(r"'[^'\s]*'", "", message)
        assert not (set(NAME.findall(unquoted)) & SCHEMA_NAMES) - sent - builtin - TEMPLATE_WORDS, message


@pytest.fixture
async def production() -> Any:
    gw = await make_gateway("current", gateway_env="production")
    yield gw
    await gw.http.aclose()


@pytest.mark.parametrize(("query", "variables"), TYPOS)
async def test_production_reveals_no_schema_name(
    production: Gateway, query: str, variables: dict[str, Any] | None
) -> None:
    body = await production.graphql(query, variables)
    assert body.get("data") is None
    assert_reveals_nothing(body["errors"], query, variables)
    assert production.upstream_calls(prefix="/api/governance") == []


@pytest.mark.parametrize(("query", "variables"), TYPOS)
async def test_production_reveals_no_schema_name_on_graphql_core_execution(
    query: str, variables: dict[str, Any] | None
) -> None:
    executor = Executor(SCHEMA, Limits(introspection=False), hide_suggestions=True, compiled=False)
    prepared = executor.prepare(query, None)
    if prepared.errors:
        errors = list(prepared.errors)
    else:
        result = await executor.execute(prepared, variables=variables, context=None, operation_name=None)
        errors = list(result.errors or ())
    assert_reveals_nothing(errors, query, variables)


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        pytest.param('{ team(idd: "x") { name } }', None, id="unknown-argument"),
        pytest.param(
            "mutation($i: CreateTeamInput!) { createTeam(input: $i) { userErrors { code } } }",
            {"i": {"nmae": "a"}},
            id="input-field-variable",
        ),
    ],
)
async def test_development_keeps_suggestions(
    current_gateway: Gateway, query: str, variables: dict[str, Any] | None
) -> None:
    body = await current_gateway.graphql(query, variables)
    assert any("Did you mean" in error["message"] for error in body["errors"])


async def test_production_keeps_what_the_client_sent_and_where(production: Gateway) -> None:
    body = await production.graphql('{\n  team(idd: "x") { name }\n}')
    messages = [error["message"] for error in body["errors"]]
    assert "Unknown argument 'idd' on field 'Query.team'." in messages
    assert body["errors"][0]["locations"] == [{"line": 2, "column": 8}]
    assert all(error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED" for error in body["errors"])


async def test_production_limit_errors_keep_their_codes(production: Gateway) -> None:
    body = await production.graphql("{ __schema { queryType { name } } }")
    assert body["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
