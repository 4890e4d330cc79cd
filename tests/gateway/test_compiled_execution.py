"""The compiled executor answers exactly what graphql-core answers on the same schema and the same data.

``Executor(compiled=False)`` runs graphql-core's own ``execute`` on the Strawberry schema: that is the
reference. Every test here runs one document through both executors, each with a fresh per-request context
over the same embedded upstream, and compares the results: ``data`` byte for byte (key order included) and
the errors as a multiset of (message, locations, path, extensions), since the order in which errors are
recorded is not part of the contract.

Covered: aliases, named and inline fragments, nested relations, connections with paging, search and
filters, ``__typename``, variables, ``@skip``/``@include`` with literals and with variables (one plan per
distinct value), missing and malformed ids, masked and revealed key values, introspection (which falls back
to graphql-core), upstream failures with null propagation through non-null positions, serial mutations
(same answers, same upstream write sequence) and a schema-driven differential over generated queries.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
import strawberry
from graphql import ExecutionResult
from hypothesis import HealthCheck, given, note, seed, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, nodes, queries

from app.bifrost import BifrostClient
from app.bifrost.breaker import CircuitBreaker
from app.bifrost.wire import HttpxWire
from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.schema.caller import ANONYMOUS, Caller, CallerKind
from app.schema.context import GatewayContext
from app.schema.cost import PRICELESS
from app.schema.executor import Executor, PreparedDocument
from app.schema.export import export_sdl
from app.schema.limits import Limits
from app.schema.loaders import Loaders
from app.schema.schema import GatewaySchema, build_schema
from tests.gateway import v2_payloads as v2
from tests.gateway.arrange import FailingTransport, Failure, upstream_error
from tests.gateway.document_variants import DIFFERENTIAL_SEED, variant
from tests.reliability.inprocess import demo_ids

SCHEMA = build_schema()
GENERATIONS = ("seed", "current", "v2")
MALFORMED_ID = "../teams?x=1"
MISSING_ID = "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"
OWN_CREDENTIALS = Caller(CallerKind.OWN_CREDENTIALS, can_reveal=True)


@dataclass
class Engines:
    """The compiled executor and the graphql-core reference over one upstream and one Bifrost client."""

    upstream: Any
    client: BifrostClient
    compiled: Executor
    reference: Executor
    # A caller with its own credentials may reveal key values; ANONYMOUS checks the refusal.
    caller: Caller = OWN_CREDENTIALS

    async def run(
        self, executor: Executor, query: str, variables: dict[str, Any] | None = None
    ) -> tuple[PreparedDocument, ExecutionResult | None]:
        """Prepare and execute with a fresh context; None when the document does not validate."""
        prepared = executor.prepare(query, None)
        if prepared.errors:
            return prepared, None
        session = self.client.session({})
        context = GatewayContext(bifrost=session, loaders=Loaders(session, 10), caller=self.caller)
        try:
            result = await executor.execute(prepared, variables=variables, context=context, operation_name=None)
        finally:
            context.loaders.close()
        return prepared, result

    async def both(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> tuple[PreparedDocument, ExecutionResult, ExecutionResult]:
        """The document through both executors (compiled first); asserts both results are the same."""
        prepared, compiled = await self.run(self.compiled, query, variables)
        reference_prepared, reference = await self.run(self.reference, query, variables)
        assert [e.message for e in prepared.errors] == [e.message for e in reference_prepared.errors]
        assert compiled is not None and reference is not None, prepared.errors
        assert_same(compiled, reference)
        return prepared, compiled, reference

    def ids(self, table: str) -> dict[str, str]:
        """Name -> id of the upstream's rows of ``table``."""
        return dict(self.upstream.state.store.db.execute(f"SELECT name, id FROM {table}").fetchall())


def make_engines(upstream: Any, fail: Failure | None = None, limits: Limits | None = None) -> Engines:
    # No read retries and a breaker that never opens: each failure is seen once, identically by both engines.
    client = BifrostClient(
        HttpxWire(httpx.AsyncClient(base_url="http://bifrost", transport=FailingTransport(upstream, fail))),
        read_retries=0,
        breaker=CircuitBreaker(failure_threshold=1_000_000),
    )
    limits = limits or Limits()
    return Engines(
        upstream,
        client,
        Executor(SCHEMA, limits, hide_suggestions=False, compiled=True),
        Executor(SCHEMA, limits, hide_suggestions=False, compiled=False),
    )


def demo_upstream(generation: str) -> Any:
    return create_embedded_bifrost(database=":memory:", generation=generation, demo=True)


def error_key(error: Any) -> bytes:
    formatted = error.formatted
    return orjson.dumps(
        {key: formatted.get(key) for key in ("message", "locations", "path", "extensions")}, option=orjson.OPT_SORT_KEYS
    )


def errors_of(result: ExecutionResult) -> list[bytes]:
    return sorted(error_key(error) for error in result.errors or ())


def assert_same(compiled: ExecutionResult, reference: ExecutionResult) -> None:
    """Same data (key order included) and the same errors (see ``assert_same_errors``)."""
    assert orjson.dumps(compiled.data) == orjson.dumps(reference.data)
    assert_same_errors(compiled, reference)


def assert_same_errors(compiled: ExecutionResult, reference: ExecutionResult) -> None:
    """Every error graphql-core reports, and nothing else except errors inside a subtree that became null.

    When a non-null field fails, its nearest nullable ancestor becomes null. graphql-core then drops the
    errors of that subtree that arrive after the null (``CollectedErrors``), so which ones it reports depends
    on the order in which the event loop settles independent loads. The compiled executor applies the null
    once everything has settled; where two non-null siblings fail with the same error (one failed load read by
    both), each executor names the field that settled first for it. So an error graphql-core reports inside a
    null may be named at a sibling by ours, and ours may report more there: inside a null, the errors must
    agree only in that each null has at least one error under it.
    """
    ours, theirs = errors_of(compiled), errors_of(reference)
    extra = list(ours)
    for error in theirs:
        if error in extra:
            extra.remove(error)
            continue
        path = orjson.loads(error)["path"]
        nulled = null_prefix(compiled.data, path) if path is not None else None
        assert nulled is not None, (error, ours)
        assert any(
            orjson.loads(other)["path"][: len(nulled)] == nulled for other in ours if orjson.loads(other)["path"]
        ), (error, ours)
    for error in extra:
        path = orjson.loads(error)["path"]
        assert path is not None and under_null(compiled.data, path), (error, compiled.data)


def null_prefix(data: Any, path: list[str | int]) -> list[str | int] | None:
    """The part of ``path`` that leads to a null in ``data`` (None when the path meets no null before its end)."""
    value = data
    for depth, step in enumerate(path):
        if value is None:
            return path[:depth]
        value = value[step]
    return None


def under_null(data: Any, path: list[str | int]) -> bool:
    """Whether ``path`` lies in a part of ``data`` that is null (the whole of it included)."""
    value = data
    for step in path:
        if value is None:
            return True
        value = value[step]
    return value is None


def used_compiled_plan(prepared: PreparedDocument) -> bool:
    """True when the compiled executor ran a plan of its own (not the graphql-core fallback)."""
    return prepared.compiled is not None and any(plan is not None for plan in prepared.compiled.plans.values())


@pytest.fixture(params=GENERATIONS)
async def engines(request: pytest.FixtureRequest) -> Any:
    engines = make_engines(demo_upstream(request.param))
    yield engines
    await engines.client.aclose()


_PLACEHOLDER = re.compile(r"<<(team|customer|key):([^>]+)>>")
_TABLES = {"team": "teams", "customer": "customers", "key": "virtual_keys"}


def resolve(engines: Engines, text: str) -> str:
    """Replace ``<<team:Platform>>`` style placeholders with the demo entity's id."""
    return _PLACEHOLDER.sub(lambda match: engines.ids(_TABLES[match[1]])[match[2]], text)


def resolve_variables(engines: Engines, variables: dict[str, Any] | None) -> dict[str, Any] | None:
    if variables is None:
        return None
    return {name: resolve(engines, value) if isinstance(value, str) else value for name, value in variables.items()}


# ---------------------------------------------------------------------------------------------
# Hand-written documents
# ---------------------------------------------------------------------------------------------

DOCUMENTS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "aliases-same-field-different-args": (
        """{
          first2: teams(first: 2) { totalCount edges { cursor node { id name } } pageInfo { hasNextPage endCursor } }
          rest: teams(first: 10, after: "b2Zmc2V0OjE=") { edges { cursor node { name } } pageInfo { hasPreviousPage } }
          masked: virtualKey(id: "<<key:platform-prod>>") { name v: value }
          shown: virtualKey(id: "<<key:platform-prod>>") { name v: value(reveal: true) }
        }""",
        None,
    ),
    "named-and-inline-fragments": (
        """
        query Fragments($id: ID!) {
          team(id: $id) { ...TeamParts ... on Team { customer { ...CustomerParts } } }
          teams(first: 5) { nodes { ... on Team { id ...TeamParts } } }
        }
        fragment TeamParts on Team { id name budgetId rateLimitId virtualKeyCount __typename }
        fragment CustomerParts on Customer { id name ... { budgetId } teams { ...TeamParts } }
        """,
        {"id": "<<team:Platform>>"},
    ),
    "nested-relations-team-customer-teams-keys": (
        """{
          teams(first: 25) { edges { node {
            id name customerId
            customer { id name budget { id maxLimit } rateLimit { id requestMaxLimit }
              calendarAligned virtualKeyCount budgetId budgets { id effectiveMaxLimit override { mode } }
              teams { id name virtualKeys { id name isActive team { id name } } } virtualKeys { id name } }
            calendarAligned
            budget { id maxLimit resetDuration currentUsage calendarAligned effectiveMaxLimit }
            budgets { id maxLimit resetDuration }
            rateLimit { id tokenMaxLimit tokenResetDuration requestMaxLimit tokenCurrentUsage }
            virtualKeys { id name value }
          } } }
        }""",
        None,
    ),
    "nested-relations-key-team-customer": (
        """{
          virtualKeys(first: 25) { totalCount nodes {
            id name description isActive teamId customerId
            expiresAt calendarAligned allowAllProviders rotatedAt previousValueExpiresAt
            team { id name calendarAligned customer { id name teams { name } } budgets { maxLimit } }
            customer { id name virtualKeys { name } virtualKeyCount budgets { id } }
            budget { id maxLimit } rateLimit { id requestMaxLimit requestResetDuration }
            budgets { id maxLimit effectiveMaxLimit override { amount mode cyclesRemaining cyclesTotal anchorReset } }
            providerConfigs { id provider weight allowedModels budget { id maxLimit } budgets { id } rateLimit { id }
              blacklistedModels allowAllKeys
              modelBudgets { modelName budgets { id effectiveMaxLimit override { mode } } rateLimit { id } }
              keys { id keyId name models value { envVar fromEnv isSet } } }
            mcpConfigs { id toolsToExecute mcpClientName }
          } }
        }""",
        None,
    ),
    "connections-search-filters-paging": (
        """query Lists($customer: ID, $team: ID) {
          bySearch: teams(search: "re") { totalCount nodes { name } pageInfo { hasNextPage hasPreviousPage } }
          byCustomer: teams(customerId: $customer, first: 1) {
            totalCount edges { cursor node { name } } pageInfo { hasNextPage startCursor endCursor }
          }
          customers(first: 2, after: "b2Zmc2V0OjA=") { totalCount nodes { name } pageInfo { hasPreviousPage } }
          teamKeys: virtualKeys(teamId: $team) { totalCount nodes { name } }
          sorted: virtualKeys(sortBy: NAME, order: DESC, first: 4) { nodes { name } pageInfo { hasNextPage } }
          customerKeys: virtualKeys(customerId: $customer, search: "shared") { nodes { name customer { name } } }
        }""",
        {"customer": "<<customer:Acme Corp>>", "team": "<<team:Platform>>"},
    ),
    "typename-root-and-nested": (
        """{
          __typename
          teams(first: 3) { __typename edges { __typename node { __typename name customer { __typename name } } }
            pageInfo { __typename } }
          k: virtualKey(id: "<<key:acme-shared>>") { __typename providerConfigs { __typename keys { __typename } } }
        }""",
        None,
    ),
    "variables-in-arguments": (
        """query Vars($first: Int!, $search: String, $reveal: Boolean!, $key: ID!) {
          teams(first: $first, search: $search) { totalCount nodes { name } }
          virtualKey(id: $key) { name value(reveal: $reveal) }
        }""",
        {"first": 3, "search": "a", "reveal": True, "key": "<<key:research-sandbox>>"},
    ),
    "variables-with-defaults-omitted": (
        """query Defaults($first: Int = 2, $reveal: Boolean! = false) {
          teams(first: $first) { nodes { name } }
          virtualKeys(first: $first) { nodes { value(reveal: $reveal) } }
        }""",
        {},
    ),
    "skip-include-literals": (
        """{
          teams(first: 5) { nodes {
            name @include(if: true)
            id @skip(if: true)
            customer @include(if: false) { name }
            budgets @skip(if: false) { maxLimit }
            ... on Team @include(if: false) { virtualKeys { name } }
            ... @skip(if: false) { customerId }
          } }
        }""",
        None,
    ),
    "missing-and-malformed-ids": (
        f"""{{
          missingTeam: team(id: "{MISSING_ID}") {{ id name }}
          malformedTeam: team(id: "{MALFORMED_ID}") {{ id }}
          missingCustomer: customer(id: "{MISSING_ID}") {{ id }}
          malformedCustomer: customer(id: "") {{ id }}
          missingKey: virtualKey(id: "{MISSING_ID}") {{ id }}
          malformedKey: virtualKey(id: "../../teams") {{ id }}
          present: team(id: "<<team:Growth>>") {{ name customer {{ name }} }}
        }}""",
        None,
    ),
    "key-values-masked-and-revealed": (
        """{
          virtualKeys(first: 10) { nodes {
            name masked: value hidden: value(reveal: false) shown: value(reveal: true)
          } }
        }""",
        None,
    ),
    "customers-in-full": (
        """{
          customers { nodes {
            id name budgetId rateLimitId configHash createdAt updatedAt calendarAligned virtualKeyCount
            budget { id maxLimit resetDuration lastReset calendarAligned createdAt }
            budgets { id maxLimit effectiveMaxLimit override { amount mode } }
            rateLimit { id tokenMaxLimit requestMaxLimit requestResetDuration requestCurrentUsage }
            teams { id name budgets { maxLimit } virtualKeys { name } }
            virtualKeys { id name value team { name } customer { name } }
          } }
          budgets { id maxLimit resetDuration currentUsage teamId virtualKeyId }
          rateLimits { id tokenMaxLimit tokenResetDuration requestMaxLimit requestResetDuration metric }
        }""",
        None,
    ),
    "team-json-and-datetime-leaves": (
        """query One($id: ID!) {
          team(id: $id) { id name profile config claims configHash createdAt updatedAt virtualKeyCount }
        }""",
        {"id": "<<team:Platform>>"},
    ),
    "same-key-merged-from-fragments": (
        """{
          teams(first: 5) { nodes {
            name
            customer { id }
            ... on Team { customer { name } }
            ...More
          } }
        }
        fragment More on Team { customer { id teams { name } } budgets { id } budgets { maxLimit } }""",
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
async def test_document_gives_the_reference_answer(engines: Engines, name: str) -> None:
    document, variables = DOCUMENTS[name]
    prepared, compiled, _ = await engines.both(resolve(engines, document), resolve_variables(engines, variables))
    assert used_compiled_plan(prepared)
    assert compiled.data is not None


async def test_refused_reveal_matches(engines: Engines) -> None:
    """A caller who may not reveal: each refused value nulls its key (nullable) or the list (non-null items)."""
    engines.caller = ANONYMOUS
    document = resolve(
        engines,
        """{
          one: virtualKey(id: "<<key:platform-prod>>") { name masked: value shown: value(reveal: true) }
          all: virtualKeys(first: 3) { nodes { name shown: value(reveal: true) } }
        }""",
    )
    prepared, compiled, _ = await engines.both(document)
    assert used_compiled_plan(prepared)
    assert compiled.errors and {error.extensions["code"] for error in compiled.errors} == {"FORBIDDEN"}  # type: ignore[index]
    assert compiled.data is None or compiled.data["one"] is None


@pytest.mark.parametrize(
    "document",
    [
        pytest.param("{ teams(first: 0) { totalCount } }", id="first-out-of-range"),
        pytest.param('{ teams(after: "not a cursor") { totalCount } }', id="bad-cursor"),
        pytest.param('{ virtualKeys(teamId: "no/pe") { totalCount } }', id="bad-filter-id"),
        pytest.param('{ customers(search: "' + "x" * 300 + '") { totalCount } }', id="search-too-long"),
    ],
)
async def test_resolver_argument_errors_match(engines: Engines, document: str) -> None:
    """Errors raised by root resolvers on their arguments: non-null root field, so ``data`` is null."""
    prepared, compiled, reference = await engines.both(document)
    assert used_compiled_plan(prepared)
    assert reference.data is None and reference.errors
    assert compiled.errors and compiled.errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_variable_coercion_errors_match(engines: Engines) -> None:
    document = "query Q($first: Int!, $id: ID!) { teams(first: $first) { totalCount } team(id: $id) { id } }"
    for variables in ({"first": "three", "id": MISSING_ID}, {"id": MISSING_ID}, {"first": 2, "id": 7.5}):
        _, compiled, reference = await engines.both(document, variables)
        assert reference.data is None and reference.errors
        assert compiled.errors


async def test_skip_and_include_variables_get_one_plan_per_distinct_value(engines: Engines) -> None:
    document = """
    query Toggles($withKeys: Boolean!, $noCustomer: Boolean!, $first: Int) {
      teams(first: $first) { nodes {
        name
        virtualKeys @include(if: $withKeys) { name }
        customer @skip(if: $noCustomer) { name teams @include(if: $withKeys) { name } }
        ... on Team @skip(if: $noCustomer) { customerId }
        ...Keys @include(if: $withKeys)
      } }
    }
    fragment Keys on Team { virtualKeyCount budgets { maxLimit } }
    """
    combinations = [(True, False), (False, False), (True, False), (False, True), (True, True), (False, True)]
    seen: set[tuple[bool, bool]] = set()
    for first, (with_keys, no_customer) in enumerate(combinations, start=2):
        variables = {"withKeys": with_keys, "noCustomer": no_customer, "first": first}
        prepared, compiled, _ = await engines.both(document, variables)
        seen.add((with_keys, no_customer))
        assert prepared.compiled is not None
        assert prepared.compiled.directive_variables == ("withKeys", "noCustomer")
        # ``first`` is not a directive variable: it never makes a new plan.
        assert set(prepared.compiled.plans) == seen
        assert all(plan is not None for plan in prepared.compiled.plans.values())
        nodes_ = compiled.data["teams"]["nodes"]  # type: ignore[index]
        assert nodes_ and all(("virtualKeys" in node) == with_keys for node in nodes_)
        assert all(("customer" in node) == (not no_customer) for node in nodes_)
    assert len(seen) == 4


async def test_more_directive_combinations_than_plans_kept_still_match(engines: Engines) -> None:
    """32 combinations of five directive variables: plans are kept for some, all of them answer right."""
    document = """
    query Many($a: Boolean!, $b: Boolean!, $c: Boolean!, $d: Boolean!, $e: Boolean!) {
      teams(first: 2) { nodes { id @include(if: $a) name @skip(if: $b) customerId @include(if: $c)
        budgets @include(if: $d) { maxLimit } customer @skip(if: $e) { name } } }
    }
    """
    kept: list[int] = []
    for combination in range(32):
        flags = {name: bool(combination >> bit & 1) for bit, name in enumerate("abcde")}
        prepared, compiled, _ = await engines.both(document, flags)
        assert prepared.compiled is not None
        kept.append(len(prepared.compiled.plans))
        node = compiled.data["teams"]["nodes"][0]  # type: ignore[index]
        assert ("id" in node, "name" in node, "customerId" in node) == (flags["a"], not flags["b"], flags["c"])
    # One more plan per new combination until the bound, then no more: not one per combination ever seen.
    bound = kept[-1]
    assert 1 < bound < 32
    assert kept == [min(count, bound) for count in range(1, 33)]


async def test_skip_and_include_literals_compile_one_plan(engines: Engines) -> None:
    document = DOCUMENTS["skip-include-literals"][0]
    for _ in range(3):
        prepared, compiled, _ = await engines.both(document)
    assert prepared.compiled is not None
    assert prepared.compiled.directive_variables == ()
    assert list(prepared.compiled.plans) == [()]
    assert all(set(node) == {"name", "budgets", "customerId"} for node in compiled.data["teams"]["nodes"])  # type: ignore[index]


INTROSPECTION = """
query Introspect($name: String!) {
  __schema { queryType { name } mutationType { name } types { name kind fields { name args { name } } } }
  named: __type(name: $name) { name kind fields { name type { name kind ofType { name kind } } } }
  teams(first: 2) { nodes { name } }
}
"""


async def test_introspection_falls_back_to_graphql_core(engines: Engines) -> None:
    prepared, compiled, _ = await engines.both(INTROSPECTION, {"name": "VirtualKey"})
    assert not used_compiled_plan(prepared)
    assert compiled.data["named"]["name"] == "VirtualKey"  # type: ignore[index]
    assert len(compiled.data["teams"]["nodes"]) == 2  # type: ignore[index]


async def test_typename_only_introspection_is_compiled(engines: Engines) -> None:
    prepared, compiled, _ = await engines.both("{ __typename a: __typename }")
    assert used_compiled_plan(prepared)
    assert compiled.data == {"__typename": "Query", "a": "Query"}


# ---------------------------------------------------------------------------------------------
# Upstream failures
# ---------------------------------------------------------------------------------------------


def fails(prefix: str, answer: Callable[[], httpx.Response | Exception], method: str = "GET") -> Failure:
    def fail(request: httpx.Request) -> httpx.Response | Exception | None:
        if request.method == method and request.url.path.startswith(prefix):
            return answer()
        return None

    return fail


KEYS_500 = fails("/api/governance/virtual-keys", lambda: upstream_error(500, "database is locked"))
CUSTOMERS_DOWN = fails("/api/governance/customers/", lambda: httpx.ConnectError("refused"))
BUDGETS_TIMEOUT = fails("/api/governance/budgets", lambda: httpx.ReadTimeout("slow"))
RATE_LIMITS_403 = fails("/api/governance/rate-limits", lambda: upstream_error(403, "no"))

# name -> (failure, document, generations where the failure reaches the answer)
FAILURE_CASES: dict[str, tuple[Failure, str, tuple[str, ...]]] = {
    "non-null-list-of-non-null-items-element-fails": (
        KEYS_500,
        """{
          customer(id: "<<customer:Acme Corp>>") { id name teams { id name virtualKeys { id } } }
          t: team(id: "<<team:Platform>>") { id name virtualKeys { id } customer { name } }
          ok: team(id: "<<team:Growth>>") { name }
        }""",
        GENERATIONS,
    ),
    "propagates-to-the-root": (
        KEYS_500,
        "{ teams { totalCount edges { node { id virtualKeys { id } } } } }",
        GENERATIONS,
    ),
    "nested-nullable-stops-propagation": (
        KEYS_500,
        """{
          team(id: "<<team:Research>>") { id customer { name teams { name virtualKeys { name } } } budgets { id } }
          virtualKey(id: "<<key:platform-prod>>") { name }
          customers { nodes { name virtualKeys { name } } }
        }""",
        GENERATIONS,
    ),
    "connection-error-on-each-customer": (
        CUSTOMERS_DOWN,
        """{
          teams { nodes { name customer { name teams { name } } } }
          customer(id: "<<customer:Globex>>") { name }
          keys: virtualKeys { nodes { name customer { name virtualKeys { name } } } }
        }""",
        GENERATIONS,
    ),
    "connection-error-two-non-null-siblings-fail": (
        CUSTOMERS_DOWN,
        """{
          teams(first: 3) { nodes { name customer { id name teams { name } virtualKeys { name } } } }
        }""",
        GENERATIONS,
    ),
    "timeout-on-non-null-root-list": (
        BUDGETS_TIMEOUT,
        """{
          rateLimits { id }
          budgets { id }
        }""",
        GENERATIONS,
    ),
    "timeout-on-customer-by-id": (
        fails("/api/governance/customers/", lambda: httpx.ReadTimeout("slow")),
        """{
          teams { nodes { name customer { name budget { id maxLimit } rateLimit { id } teams { name } } } }
          virtualKeys { nodes { name customer { name } team { customer { virtualKeys { name } } } } }
        }""",
        GENERATIONS,
    ),
    "forbidden-rate-limits": (
        RATE_LIMITS_403,
        """{
          customers { nodes { name teams { name rateLimit { id } } virtualKeys { name rateLimit { id } } } }
          teams { nodes { name rateLimit { id tokenMaxLimit } } }
          virtualKeys { nodes { name rateLimit { id } providerConfigs { rateLimit { id } } } }
        }""",
        ("current",),
    ),
    "team-by-id-500": (
        fails("/api/governance/teams/", lambda: upstream_error(500, "team table corrupt")),
        """{
          a: team(id: "<<team:Platform>>") { name }
          virtualKeys { nodes { name team { name customer { name } virtualKeys { name } budgets { maxLimit } } } }
          customers { nodes { teams { name budgets { maxLimit } } } }
        }""",
        GENERATIONS,
    ),
}
FAILURES = [
    pytest.param(fail, document, generation, id=f"{name}-{generation}")
    for name, (fail, document, generations) in FAILURE_CASES.items()
    for generation in generations
]


@pytest.mark.parametrize(("fail", "document", "generation"), FAILURES)
async def test_upstream_failures_give_the_reference_errors(fail: Failure, document: str, generation: str) -> None:
    engines = make_engines(demo_upstream(generation), fail)
    try:
        prepared, compiled, reference = await engines.both(resolve(engines, document))
    finally:
        await engines.client.aclose()
    assert used_compiled_plan(prepared)
    assert reference.errors, "the failure must reach the answer for the comparison to mean anything"
    codes = {error.extensions["code"] for error in reference.errors}  # type: ignore[index]
    assert codes <= {"UPSTREAM_ERROR", "UPSTREAM_UNAVAILABLE", "UPSTREAM_TIMEOUT", "FORBIDDEN"}
    assert compiled.errors


async def test_v2_payloads_give_the_reference_answer() -> None:
    """Bifrost v2's new fields (overrides as an enum, per-model budgets, partial customers loaded) on both engines."""
    routes = {
        **v2.embedded_customer_routes(),
        **v2.key_route(v2.rich_key()),
        "/api/governance/customers": v2.customer_list(
            [v2.customer(v2.ACME, "Acme", virtual_key_count=4, budgets=[v2.budget("b", 9)])]
        ),
    }
    arranged = v2.Arranged(routes)
    client = BifrostClient(
        HttpxWire(httpx.AsyncClient(base_url="http://bifrost", transport=arranged.transport())),
        read_retries=0,
        breaker=CircuitBreaker(failure_threshold=1_000_000),
    )
    limits = Limits()
    engines = Engines(
        None,
        client,
        Executor(SCHEMA, limits, hide_suggestions=False, compiled=True),
        Executor(SCHEMA, limits, hide_suggestions=False, compiled=False),
    )
    for document, variables in (
        (v2.TEAM_CUSTOMERS, None),
        (v2.KEY_FIELDS, {"id": v2.KEY}),
        (v2.CUSTOMER_PAGE, None),
    ):
        prepared, compiled, _ = await engines.both(document, variables)
        assert used_compiled_plan(prepared)
        assert compiled.data is not None and not compiled.errors
    await client.aclose()
    await arranged.http.aclose()


async def test_failing_element_nulls_the_nearest_nullable_position() -> None:
    """``Customer.teams: [Team!]!``: a team whose ``virtualKeys`` fail nulls the whole customer, once."""
    engines = make_engines(demo_upstream("current"), KEYS_500)
    acme = engines.ids("customers")["Acme Corp"]
    try:
        _, compiled, _ = await engines.both(
            f'{{ customer(id: "{acme}") {{ name teams {{ name virtualKeys {{ id }} }} }} }}'
        )
    finally:
        await engines.client.aclose()
    assert compiled.data == {"customer": None}
    assert [error.path for error in compiled.errors or ()] == [["customer", "teams", 0, "virtualKeys"]]
    assert compiled.errors[0].extensions == {"code": "UPSTREAM_ERROR", "upstream": {"status": 500}}  # type: ignore[index]


@pytest.mark.parametrize("generation", GENERATIONS)
async def test_error_beside_a_non_null_failure_is_kept_like_graphql_core(generation: str) -> None:
    """Minimal reproduction: one failing load feeds a nullable field and its non-null sibling.

    ``Customer.budget`` (nullable) and ``Customer.teams`` (non-null) both need the full customer, whose
    ``GET /customers/{id}`` fails. graphql-core records the error of ``budget`` and the error of ``teams``
    (which nulls ``customer``); the compiled executor must answer the same two errors.
    """
    engines = make_engines(
        demo_upstream(generation), fails("/api/governance/customers/", lambda: upstream_error(500, "down"))
    )
    document = "{ teams(first: 1) { nodes { customer { budget { id } teams { name } } } } }"
    try:
        _, compiled = await engines.run(engines.compiled, document)
        _, reference = await engines.run(engines.reference, document)
    finally:
        await engines.client.aclose()
    assert compiled is not None and reference is not None
    assert reference.data == compiled.data == {"teams": {"nodes": [{"customer": None}]}}
    assert sorted(error.path for error in reference.errors or ()) == [  # type: ignore[type-var]
        ["teams", "nodes", 0, "customer", "budget"],
        ["teams", "nodes", 0, "customer", "teams"],
    ]
    assert errors_of(compiled) == errors_of(reference)  # here the order is fixed: exactly the same errors


# ---------------------------------------------------------------------------------------------
# Mutations: serial, same answers, same writes
# ---------------------------------------------------------------------------------------------

MUTATIONS = """
mutation Two($customer: ID) {
  __typename
  first: createTeam(input: {name: "Mobile", customerId: $customer, budgets: [{maxLimit: 10, resetDuration: "1d"}]}) {
    __typename
    team { id name customerId customer { name teams { name } } budgets { maxLimit resetDuration } virtualKeys { id } }
    userErrors { field message code }
  }
  again: createTeam(input: {name: "Mobile"}) { team { id name } userErrors { field message code } }
  other: createTeam(input: {name: "Web", customerId: $customer}) { team { name customer { teams { name } } } }
  customer: createCustomer(input: {name: "Umbrella"}) { customer { name teams { name } } userErrors { code } }
}
"""
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def without_ids(text: str) -> str:
    """Ids replaced by their order of first appearance (fresh upstreams generate different ids)."""
    seen: dict[str, str] = {}
    return _UUID.sub(lambda match: seen.setdefault(match[0], f"<id{len(seen)}>"), text)


@pytest.mark.parametrize("generation", GENERATIONS)
async def test_mutations_run_serially_with_the_same_results_and_writes(generation: str) -> None:
    outcomes: list[dict[str, Any]] = []
    for compiled in (True, False):
        engines = make_engines(demo_upstream(generation))  # a fresh upstream per engine: mutations change it
        executor = engines.compiled if compiled else engines.reference
        try:
            prepared, result = await engines.run(executor, MUTATIONS, {"customer": engines.ids("customers")["Globex"]})
        finally:
            await engines.client.aclose()
        assert result is not None
        if compiled:
            assert prepared.compiled is not None and used_compiled_plan(prepared)
            assert all(plan is not None and plan.serial for plan in prepared.compiled.plans.values())
        else:
            assert prepared.compiled is None
        log = [[r.method, r.path, r.query] for r in engines.upstream.state.request_log]
        # Ids differ between the two upstreams: each is named by its order of first appearance.
        outcome = {"data": result.data, "errors": [orjson.loads(e) for e in errors_of(result)], "log": log}
        outcomes.append(orjson.loads(without_ids(orjson.dumps(outcome).decode())))
    assert outcomes[0] == outcomes[1]
    data, log = outcomes[0]["data"], outcomes[0]["log"]
    assert data["__typename"] == "Mutation" and data["first"]["__typename"] == "CreateTeamPayload"
    assert data["first"]["team"]["name"] == "Mobile" and data["first"]["userErrors"] == []
    assert data["again"]["team"] is None and [e["code"] for e in data["again"]["userErrors"]] == ["NAME_TAKEN"]
    assert [team["name"] for team in data["other"]["team"]["customer"]["teams"]] == ["Support", "Mobile", "Web"]
    assert data["customer"] == {"customer": {"name": "Umbrella", "teams": []}, "userErrors": []}
    posts = [index for index, (method, _, _) in enumerate(log) if method == "POST"]
    assert [log[index][1] for index in posts] == ["/api/governance/teams"] * 3 + ["/api/governance/customers"]
    # Serial: the first field's nested reads (its team's keys) finish before the second field's POST.
    first_team_keys = next(i for i, (method, path, _) in enumerate(log) if path == "/api/governance/virtual-keys")
    assert posts[0] < first_team_keys < posts[1]


# ---------------------------------------------------------------------------------------------
# Generated queries
# ---------------------------------------------------------------------------------------------

DIFFERENTIAL = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def differential(fail: Failure | None, *, varied: bool = False) -> tuple[int, int]:
    """Generated queries through both executors; returns (documents executed, answers with errors).

    ``varied``: each document is also rewritten with fragments, variables and ``@skip``/``@include``
    (``document_variants``). The run is seeded with ``DIFFERENTIAL_SEED``, which a failure names.
    """
    executed = with_errors = 0
    with asyncio.Runner() as runner:
        # Generous limits so that most generated documents execute instead of failing validation.
        limits = Limits(max_depth=20, max_aliases=100, max_tokens=20_000, max_cost=PRICELESS)
        engines = make_engines(demo_upstream("current"), fail, limits=limits)
        ids = demo_ids(engines.upstream)
        scalars = {
            "ID": st.sampled_from(ids).map(nodes.String)
            | st.sampled_from([MISSING_ID, MALFORMED_ID]).map(nodes.String),
            "Int64": st.integers(-(2**70), 2**70).map(nodes.Int),
            "DateTime": st.datetimes().map(lambda d: nodes.String(d.isoformat())),
            "JSON": st.text(max_size=20).map(nodes.String),
        }

        @seed(DIFFERENTIAL_SEED)
        @DIFFERENTIAL
        @given(
            document=queries(export_sdl(), custom_scalars=scalars, mode=Mode.POSITIVE).filter(is_query),
            data=st.data(),
        )
        def one(document: str, data: st.DataObject) -> None:
            nonlocal executed, with_errors
            variables = None
            if varied:
                document, variables = variant(SCHEMA._schema, document, data.draw)
                note(f"variables: {variables!r}")
            prepared, compiled = runner.run(engines.run(engines.compiled, document, variables))
            _, reference = runner.run(engines.run(engines.reference, document, variables))
            if compiled is None or reference is None:
                assert compiled is None and reference is None
                return
            executed += 1
            with_errors += bool(reference.errors)
            if compiled.data is not None or not reference.errors or reference.errors[0].path:
                # A variable that does not coerce stops both before any plan is chosen.
                assert used_compiled_plan(prepared), document
            assert orjson.dumps(compiled.data) == orjson.dumps(reference.data), document
            assert_same_errors(compiled, reference)

        try:
            one()
        except BaseException as failure:
            failure.add_note(f"DIFFERENTIAL_SEED={DIFFERENTIAL_SEED} repeats this run")
            raise
        finally:
            runner.run(engines.client.aclose())
    return executed, with_errors


def is_query(document: str) -> bool:
    return "mutation" not in document


def test_generated_queries_give_the_reference_answer() -> None:
    executed, _ = differential(None)
    assert executed >= 50


def test_generated_queries_with_fragments_variables_and_directives_give_the_reference_answer() -> None:
    executed, _ = differential(None, varied=True)
    assert executed >= 50


def test_generated_queries_over_a_failing_upstream_give_the_reference_answer() -> None:
    """Entities by id and the rate-limit list fail (lists of teams, customers and keys answer)."""

    def fail(request: httpx.Request) -> httpx.Response | None:
        path = request.url.path
        by_id = path.startswith(("/api/governance/customers/", "/api/governance/teams/"))
        if request.method == "GET" and (by_id or path == "/api/governance/rate-limits"):
            return upstream_error(503 if "teams" in path else 500, "down")
        return None

    executed, with_errors = differential(fail)
    assert executed >= 50
    assert with_errors >= 25


# Direct resolvers are called positionally for the usual signatures, by keyword otherwise -----------


@strawberry.type
class Thing:
    name: str

    @strawberry.field
    def shouted(self) -> str:
        return self.name.upper()

    @strawberry.field
    def root_and_info(root: strawberry.Parent[Thing], info: strawberry.Info) -> str:
        return f"{root.name}:{info.field_name}:{info.context['who']}"

    @strawberry.field
    def info_first(info: strawberry.Info, root: strawberry.Parent[Thing]) -> str:
        return f"{info.path.key}:{root.name}"

    @strawberry.field
    def info_only(info: strawberry.Info) -> str:
        return str(info.path.as_list())

    @strawberry.field
    def nothing() -> int:
        return 7

    @strawberry.field
    def keyword_info(root: strawberry.Parent[Thing], *, info: strawberry.Info) -> str:
        return f"{root.name}/{info.context['who']}"


@strawberry.type
class ThingQuery:
    @strawberry.field
    def things(self) -> list[Thing]:
        return [Thing(name="a"), Thing(name="b")]


SIGNATURES = "{ things { name shouted rootAndInfo infoFirst infoOnly nothing keywordInfo alias: rootAndInfo } }"


async def on_both_engines(query_type: type, document: str, context: Any) -> tuple[ExecutionResult, ExecutionResult]:
    """A toy schema's answer from the compiled engine (which must run a plan of its own) and from graphql-core."""
    schema = GatewaySchema(query=query_type)
    answers = []
    for compiled in (True, False):
        executor = Executor(schema, Limits(10, 15, 2000), hide_suggestions=False, compiled=compiled)
        prepared = executor.prepare(document, None)
        answers.append(await executor.execute(prepared, variables=None, context=context, operation_name=None))
        assert used_compiled_plan(prepared) == compiled
    return answers[0], answers[1]


async def test_direct_resolvers_get_the_same_arguments_whatever_their_signature() -> None:
    compiled_answer, reference = await on_both_engines(ThingQuery, SIGNATURES, {"who": "me"})
    assert compiled_answer.errors is None and reference.errors is None
    assert compiled_answer.data == reference.data
    assert compiled_answer.data["things"][1] == {
        "name": "b",
        "shouted": "B",
        "rootAndInfo": "b:rootAndInfo:me",
        "infoFirst": "infoFirst:b",
        "infoOnly": "['things', 1, 'infoOnly']",
        "nothing": 7,
        "keywordInfo": "b/me",
        "alias": "b:rootAndInfo:me",
    }


# Leading leaf fields are read by a generated function; anything unusual takes the general path -------


@strawberry.type
class Reading:
    label: str
    value: float
    ok: bool
    note: str | None

    @strawberry.field
    def unit(self) -> str:
        return "kg"


@strawberry.type
class ReadingQuery:
    @strawberry.field
    def readings(self) -> list[Reading | None]:
        return [
            Reading(label="fine", value=1.5, ok=True, note="n"),
            Reading(label="nan", value=float("nan"), ok=True, note=None),
            Reading(label="inf", value=float("inf"), ok=False, note="n"),
            Reading(label="int", value=2, ok=True, note="n"),  # an int where Float is declared
            Reading(label="none", value=None, ok=True, note="n"),  # type: ignore[arg-type]
            Reading(label=7, value=1.0, ok=1, note="n"),  # type: ignore[arg-type]
        ]


READINGS = "{ readings { label value ok note unit alias: label } }"


async def test_leading_leaf_fields_give_the_reference_answer_for_unusual_values() -> None:
    compiled_answer, reference = await on_both_engines(ReadingQuery, READINGS, None)
    assert compiled_answer.data == reference.data
    assert [e.formatted for e in compiled_answer.errors or []] == [e.formatted for e in reference.errors or []]
    readings = compiled_answer.data["readings"]
    assert readings[0] == {"label": "fine", "value": 1.5, "ok": True, "note": "n", "unit": "kg", "alias": "fine"}
    assert readings[1] is None and readings[2] is None and readings[4] is None  # NaN, inf, null: errors
    assert readings[3]["value"] == 2.0
    assert readings[5]["label"] == "7" and readings[5]["ok"] is True
    assert len(compiled_answer.errors or []) == 3


# Objects whose selection is only such leaf fields are read whole, list items without a path -------------


class Exploding:
    """A list item whose fields raise when read (a resolver's object gone wrong)."""

    @property
    def label(self) -> str:
        raise ValueError("label unreadable")

    value = 1.0
    ok = True


def _odd_readings() -> list[Any]:
    return [
        Reading(label="fine", value=1.5, ok=True, note="n"),
        None,
        Reading(label="nan", value=float("nan"), ok=True, note=None),
        Reading(label="int", value=2, ok=True, note="n"),
        ValueError("item failed"),
        Reading(label=7, value=1.0, ok=1, note="n"),  # type: ignore[arg-type]
        Exploding(),
        Reading(label="none", value=None, ok=True, note="n"),  # type: ignore[arg-type]
        Exploding(),
        Reading(label="last", value=-0.0, ok=False, note="n"),
    ]


@strawberry.type
class Shelf:
    name: str

    @strawberry.field
    def readings(self) -> list[Reading | None]:
        return _odd_readings()

    @strawberry.field
    def checked(self) -> list[Reading] | None:  # non-null items: one failing nulls the whole list
        return [
            Reading(label="a", value=1.0, ok=True, note=None),
            Reading(label="b", value=float("inf"), ok=True, note=None),
        ]

    @strawberry.field
    def unchecked(self) -> list[Reading] | None:
        return [Reading(label=f"r{i}", value=float(i), ok=i % 2 == 0, note=None) for i in range(5)]

    @strawberry.field
    def top(self) -> Reading | None:
        return Reading(label=7, value=1.0, ok=True, note=None)  # type: ignore[arg-type]

    @strawberry.field
    def must(self) -> Reading:  # a non-null object failing nulls the shelf
        return Reading(label="m", value=float("nan"), ok=True, note=None)


@strawberry.type
class ShelfQuery:
    @strawberry.field
    def shelves(self) -> list[Shelf | None]:
        return [Shelf(name="a"), Shelf(name="b")]


WHOLE_SELECTIONS = [
    "{ shelves { name readings { label value ok } } }",
    "{ shelves { name readings { ok label } checked { label value } unchecked { label ok } } }",
    "{ shelves { name top { label value } unchecked { value label } } }",
    "{ shelves { name must { label value } } }",
    "{ shelves { name must { label } readings { value } } }",
    "{ shelves { readings { label value ok note } } }",  # a nullable leaf that is null: read field by field
]


@pytest.mark.parametrize("document", WHOLE_SELECTIONS)
async def test_whole_selections_give_the_reference_answer(document: str) -> None:
    for _ in range(2):  # the second time, every item type is known to be plain
        compiled_answer, reference = await on_both_engines(ShelfQuery, document, None)
        assert orjson.dumps(compiled_answer.data) == orjson.dumps(reference.data)
        assert_same_errors(compiled_answer, reference)


async def test_whole_selection_items_fail_at_their_own_paths() -> None:
    compiled_answer, _ = await on_both_engines(ShelfQuery, WHOLE_SELECTIONS[0], None)
    readings = compiled_answer.data["shelves"][0]["readings"]
    assert readings[0] == {"label": "fine", "value": 1.5, "ok": True}
    assert readings[3] == {"label": "int", "value": 2.0, "ok": True}
    assert readings[5] == {"label": "7", "value": 1.0, "ok": True}
    assert readings[9] == {"label": "last", "value": -0.0, "ok": False}
    assert [readings[i] for i in (1, 2, 4, 6, 7, 8)] == [None] * 6
    paths = sorted(tuple(error.path or ()) for error in compiled_answer.errors or [])
    assert ("shelves", 0, "readings", 2, "value") in paths
    assert ("shelves", 0, "readings", 4) in paths
    assert ("shelves", 0, "readings", 6, "label") in paths
    assert ("shelves", 1, "readings", 8, "label") in paths
    assert len(paths) == 2 * 5  # nan, the error item, two unreadable labels and a null Float, per shelf
