"""Pricing ``_entities``: by the number of representations, each item at its dearest possible type."""

from __future__ import annotations

from typing import Any

from graphql import get_operation_ast, parse, validate

from app.schema.cost import OperationCost
from app.schema.federation import build_subgraph_schema
from tests.gateway.conftest import make_gateway

SUBGRAPH = build_subgraph_schema()._schema
TEAMS = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Team { id name } } }"
MIXED = """
query($r: [_Any!]!) {
  _entities(representations: $r) {
    __typename
    ... on Team { customer { name } }
    ...Key
    ... on _Entity { ... on Budget { id } }
  }
}
fragment Key on VirtualKey { rateLimit { id } }
"""


def price(document: str, variables: dict[str, Any] | None = None) -> int:
    parsed = parse(document)
    assert validate(SUBGRAPH, parsed) == [], document
    operation = get_operation_ast(parsed, None)
    assert operation is not None
    return OperationCost.of(SUBGRAPH, parsed, operation).for_variables(variables)


def team_refs(count: int) -> list[dict[str, str]]:
    return [{"__typename": "Team", "id": f"t{i}"} for i in range(count)]


def test_entities_cost_an_object_per_representation_and_the_reads_that_find_them() -> None:
    # The root call, an object per representation, reads by id for a few (at most 4: more share list pages).
    assert price(TEAMS, {"r": team_refs(100)}) == 10 + 100 * 1 + 4 * 10
    assert price(TEAMS, {"r": team_refs(2)}) == 10 + 2 * 1 + 2 * 10
    assert price(TEAMS, {"r": []}) == 10
    assert price(TEAMS, {"r": {"__typename": "Team", "id": "t"}}) == 10 + 1 + 10  # one value is a list of one
    assert price(TEAMS, {"r": team_refs(100_000)}) == 10 + 100_000 + 40


def test_representations_written_in_the_document_are_counted() -> None:
    written = ", ".join(f'{{__typename: "Team", id: "t{i}"}}' for i in range(7))
    assert price(f"{{ _entities(representations: [{written}]) {{ ... on Team {{ id }} }} }}") == 10 + 7 + 40
    assert price('query($d: [_Any!]! = [{id: "a"}, {id: "b"}]) { _entities(representations: $d) { __typename } }') == (
        10 + 2 + 20
    )


def test_each_entity_is_priced_at_its_dearest_type_and_each_type_once_costs_are_added() -> None:
    # Team.customer: a read by id per team (10) and the customer object (1); VirtualKey.rateLimit: the rate
    # limit list once (10) and its object (1); Budget (through the fragment on the union): nothing more.
    assert price(MIXED, {"r": team_refs(10)}) == 10 + 10 * (1 + 1 + 10) + 10 + 4 * 10


async def test_a_batch_priced_above_the_limit_is_refused_before_anything_goes_upstream() -> None:
    gw = await make_gateway("current", federation=True, max_query_cost=1_000)
    try:
        response = await gw.http.post("/graphql", json={"query": TEAMS, "variables": {"r": team_refs(1_000)}})
        small = await gw.graphql(TEAMS, {"r": team_refs(5)}, headers={"x-query-cost": "1"})
    finally:
        await gw.http.aclose()
    body = response.json()
    assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 10 + 1_000 + 40, "maxCost": 1_000}
    assert small["extensions"]["cost"]["requestedQueryCost"] == 10 + 5 + 40
    assert [record.path for record in gw.upstream_calls()] == ["/api/governance/teams"]  # only the small batch's page
