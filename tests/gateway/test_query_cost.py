"""Pricing documents before they run: the numbers of the cost model, fragments, variables and directives."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLObjectType, get_named_type, get_operation_ast, is_leaf_type, is_list_type, parse, validate
from graphql.type import GraphQLNonNull

from app.schema import cost as cost_module
from app.schema.cost import PRICELESS, OperationCost
from app.schema.cost_model import LIST_SIZES, RELATIONS
from app.schema.schema import build_schema
from tests.gateway.test_dashboard_calls import DASHBOARD

SCHEMA = build_schema()._schema
ENTITIES = frozenset({"Team", "Customer", "VirtualKey", "Budget", "RateLimit"})


def price(document: str, variables: dict[str, Any] | None = None) -> int:
    parsed = parse(document)
    assert validate(SCHEMA, parsed) == [], document
    operation = get_operation_ast(parsed, None)
    assert operation is not None
    return OperationCost.of(SCHEMA, parsed, operation).for_variables(variables)


# Worked numbers: root call 10, each object 1, a page multiplies by `first`, relations add 10 per call.

TEN_TEAMS = "{ teams(first: 10) { totalCount nodes { id name } } }"
KEYS_WITH_CONFIGS = "{ virtualKeys(first: 10) { nodes { providerConfigs { provider keys { name } } } } }"
KEYS_WITH_TEAMS = "{ virtualKeys(first: 10) { nodes { team { name } } } }"
TEAMS_WITH_KEYS = "{ teams(first: 100) { nodes { virtualKeys { id } } } }"


def test_a_page_costs_its_call_its_connection_and_an_object_per_item() -> None:
    assert price(TEN_TEAMS) == 10 + 1 + 10 * 1
    assert price("{ teams { nodes { id } } }") == 10 + 1 + 25  # the default page
    assert price("{ teams(first: 10) { edges { cursor node { id } } } }") == 10 + 1 + 10 * (1 + 1)


def test_embedded_lists_multiply_by_their_estimate_and_relations_add_their_calls() -> None:
    # 3 configs of 3 keys per key, all embedded in the key list's payload: no call beyond the page's.
    assert price(KEYS_WITH_CONFIGS) == 10 + 1 + 10 * (1 + 3 * (1 + 3 * 1))
    # A key's team may need GET /teams/{id}: one call per key.
    assert price(KEYS_WITH_TEAMS) == 10 + 1 + 10 * (1 + 1 + 10)
    assert price(KEYS_WITH_TEAMS) > price("{ virtualKeys(first: 10) { nodes { name teamId } } }")


def test_a_relation_served_by_one_list_call_is_priced_once_per_place() -> None:
    # 100 teams x (team 1 + ~10 keys), plus the key list (up to 4 calls) once, not once per team.
    assert price(TEAMS_WITH_KEYS) == 10 + 1 + 100 * (1 + 10 * 1) + 4 * 10


def test_fields_of_one_object_served_by_the_same_read_share_its_price() -> None:
    one = '{ customer(id: "c") { teams { id } } }'
    both = '{ customer(id: "c") { teams { id } virtualKeys { id } budget { id } } }'
    assert price(one) == 10 + 1 + 10 + 10 * 1
    assert price(both) == 10 + 1 + 10 + 10 * 1 + 10 * 1 + 1


def test_nested_lists_multiply() -> None:
    nested = "{ teams(first: 100) { nodes { customer { teams { virtualKeys { id } } } } } }"
    per_team = 1 + (1 + 10) + 10 + 10 * (1 + 10 * 1)  # node, customer (+ its GET), its GET for teams, teams
    assert price(nested) == 10 + 1 + 100 * per_team + 4 * 10


def test_fragments_inline_fragments_and_merged_fields_price_as_the_expanded_document() -> None:
    expanded = price(KEYS_WITH_CONFIGS)
    named = """
    query { virtualKeys(first: 10) { nodes { ...Configs } } }
    fragment Configs on VirtualKey { providerConfigs { provider ...Keys } }
    fragment Keys on ProviderConfig { keys { name } }
    """
    inline = "{ virtualKeys(first: 10) { nodes { ... on VirtualKey { providerConfigs { ... { keys { name } } } } } } }"
    merged = """
    query {
      virtualKeys(first: 10) { nodes { providerConfigs { provider } ...Configs providerConfigs { keys { name } } } }
    }
    fragment Configs on VirtualKey { providerConfigs { keys { name } } }
    """
    assert price(named) == price(inline) == price(merged) == expanded


def test_aliases_are_priced_separately() -> None:
    assert price("{ a: teams(first: 10) { nodes { id } } b: teams(first: 10) { nodes { id } } }") == 2 * price(
        "{ teams(first: 10) { nodes { id } } }"
    )


def test_introspection_and_typename_are_free() -> None:
    assert price("{ __typename __schema { types { name fields { name } } } }") == 0
    assert price("{ teams(first: 10) { __typename nodes { __typename id } } }") == 10 + 1 + 10


def test_mutations_cost_more_than_a_read() -> None:
    create = 'mutation { createTeam(input: {name: "x"}) { team { id } userErrors { message } } }'
    assert price(create) == 10 + 1 + 1 + 5 * 1


PAGED = "query Q($n: Int) { teams(first: $n) { nodes { id } } }"
PAGED_WITH_DEFAULT = "query Q($n: Int = 7) { teams(first: $n) { nodes { id } } }"


@pytest.mark.parametrize(
    ("variables", "page"),
    [
        pytest.param({"n": 10}, 10, id="given"),
        pytest.param({"n": 100}, 100, id="largest"),
        pytest.param({}, 25, id="absent: the field's default"),
        pytest.param({"n": None}, 25, id="null: the default page"),
        pytest.param({"n": 10**30}, 100, id="huge: clamped to the largest page"),
        pytest.param({"n": -5}, 0, id="negative: refused at run time, no items"),
        pytest.param({"n": 12.0}, 12, id="integral float"),
        pytest.param({"n": 1.5}, 100, id="fraction: priced as the largest page"),
        pytest.param({"n": "100000"}, 100, id="string: priced as the largest page"),
        pytest.param({"n": True}, 100, id="boolean: not an Int"),
        pytest.param({"n": [1, 2]}, 100, id="list: not an Int"),
    ],
)
def test_first_from_variables(variables: dict[str, Any], page: int) -> None:
    assert price(PAGED, variables) == 10 + 1 + page


def test_first_from_the_variables_default() -> None:
    assert price(PAGED_WITH_DEFAULT, {}) == 10 + 1 + 7
    assert price(PAGED_WITH_DEFAULT, {"n": 50}) == 10 + 1 + 50


def test_literal_first_is_clamped_to_the_page_range() -> None:
    assert price("{ teams(first: 1000) { nodes { id } } }") == 10 + 1 + 100
    assert price("{ teams(first: -1) { nodes { id } } }") == 10 + 1
    assert price("{ teams(first: null) { nodes { id } } }") == 10 + 1 + 25


def test_price_per_variable_combination_is_remembered_not_recomputed() -> None:
    parsed = parse(PAGED)
    operation = get_operation_ast(parsed, None)
    assert operation is not None
    cost = OperationCost.of(SCHEMA, parsed, operation)
    assert cost.depends_on_variables
    assert cost.for_variables({"n": 10}) == cost.for_variables({"n": 10.0}) == 21
    assert cost.for_variables({"n": 10**30}) == cost.for_variables({"n": 100}) == 111
    assert len(cost._prices) == 2  # huge and 100 normalise to the same page
    for n in range(200):
        cost.for_variables({"n": n})
    assert len(cost._prices) <= 64
    fixed = parse(TEN_TEAMS)
    fixed_operation = get_operation_ast(fixed, None)
    assert fixed_operation is not None
    assert not OperationCost.of(SCHEMA, fixed, fixed_operation).depends_on_variables


EXPENSIVE = "teams(first: 100) { nodes { virtualKeys { id } } }"


def expensive(directive: str = "") -> str:
    return EXPENSIVE.replace("teams(first: 100)", f"teams(first: 100) {directive}")


CHEAP = "cheap: teams(first: 1) { totalCount }"


def on_field(directive: str, variables: str = "") -> str:
    return f"query Q{variables} {{ {CHEAP} {expensive(directive)} }}"


def on_fragment(directive: str) -> str:
    return f"query Q($i: Boolean!) {{ {CHEAP} ...E {directive} }} fragment E on Query {{ {EXPENSIVE} }}"


@pytest.mark.parametrize(
    ("document", "variables", "included"),
    [
        pytest.param(on_field("@skip(if: true)"), {}, False, id="skip literal"),
        pytest.param(on_field("@include(if: false)"), {}, False, id="include literal"),
        pytest.param(on_field("@skip(if: false) @include(if: true)"), {}, True, id="both literals keep it"),
        pytest.param(on_field("@skip(if: $s)", "($s: Boolean!)"), {"s": True}, False, id="skip variable true"),
        pytest.param(on_field("@skip(if: $s)", "($s: Boolean!)"), {"s": False}, True, id="skip variable false"),
        pytest.param(on_field("@skip(if: $s)", "($s: Boolean!)"), {"s": "yes"}, True, id="not a boolean: kept"),
        pytest.param(on_field("@skip(if: $s)", "($s: Boolean!)"), {}, True, id="absent: kept"),
        pytest.param(on_field("@skip(if: $s)", "($s: Boolean = true)"), {}, False, id="variable default"),
        pytest.param(
            f"query Q($i: Boolean!) {{ {CHEAP} ... @include(if: $i) {{ {EXPENSIVE} }} }}",
            {"i": False},
            False,
            id="inline fragment",
        ),
        pytest.param(on_fragment("@include(if: $i)"), {"i": False}, False, id="fragment spread left out"),
        pytest.param(on_fragment("@include(if: $i)"), {"i": True}, True, id="fragment spread kept"),
    ],
)
def test_skip_and_include(document: str, variables: dict[str, Any], included: bool) -> None:
    cheap = 10 + 1
    assert price(document, variables) == (cheap + price("{ " + EXPENSIVE + " }") if included else cheap)


# The documents of the issue, the dashboard and the rest ------------------------------------------

KEYS_TEAMS_BUDGETS = "{ virtualKeys(first: 100) { nodes { team { budgets { id } } } } }"
WORST = (
    "query Worst { "
    + " ".join(f"t{i}: teams(first: 100) {{ nodes {{ ...Deep }} }}" for i in range(8))
    + " "
    + " ".join(f"k{i}: virtualKeys(first: 100) {{ nodes {{ id team {{ ...Deep }} }} }}" for i in range(7))
    + " } fragment Deep on Team { id name customer { id name teams { id name virtualKeys { id name"
    " team { id name customer { id name teams { id } } } } } } }"
)


def test_the_dashboard_is_priced_well_under_the_default_limit() -> None:
    assert price(DASHBOARD) == 23_771
    assert price(DASHBOARD) * 2 < 50_000


def test_the_issues_worst_case_document_is_priced_far_above_the_default_limit() -> None:
    assert len(WORST.encode()) < 2300  # inside the document, token, alias and depth limits
    assert price(WORST) > 100 * 50_000


def test_a_relation_per_item_costs_more_than_the_same_items_embedded() -> None:
    embedded = "{ virtualKeys(first: 100) { nodes { budgets { id } providerConfigs { provider } } } }"
    assert price(KEYS_TEAMS_BUDGETS) > price(embedded)


# Hostile documents --------------------------------------------------------------------------------


def doubling(levels: int) -> str:
    """Each fragment spreads the next twice under two aliases: 2**levels paths if nothing were shared."""
    fragments = " ".join(
        f"fragment F{i} on Team {{ a: customer {{ teams {{ ...F{i + 1} }} }}"
        f" b: customer {{ teams {{ ...F{i + 1} }} }} }}"
        for i in range(levels)
    )
    return f'query {{ team(id: "x") {{ ...F0 }} }} {fragments} fragment F{levels} on Team {{ id }}'


def test_a_document_with_exponentially_many_paths_is_priced_in_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    # 2**11 paths; the walk shares each fragment's price between them, so 200 visited fields are plenty.
    monkeypatch.setattr(cost_module, "_MAX_WORK", 200)
    assert 50_000 < price(doubling(11)) < PRICELESS
    assert price(doubling(40)) == PRICELESS  # 2**40 paths: capped, and exact in JSON for JavaScript clients


def test_pricing_that_would_need_too_much_work_is_priced_above_any_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cost_module, "_MAX_WORK", 5)
    assert price(TEN_TEAMS) == 21  # 4 selections: within the work allowed
    assert price(KEYS_WITH_CONFIGS) == PRICELESS


# The price list covers the schema ----------------------------------------------------------------


def object_fields() -> list[tuple[str, str, Any]]:
    found = []
    for type_ in SCHEMA.type_map.values():
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__"):
            for name, field in type_.fields.items():
                found.append((type_.name, name, field))
    return found


def test_every_relation_between_entities_is_in_the_price_list() -> None:
    """A new field from one entity to another must say how it is loaded (or the model underprices it)."""
    for owner, name, field in object_fields():
        if owner in ENTITIES | {"ProviderConfig"} and get_named_type(field.type).name in ENTITIES:
            assert (owner, name) in RELATIONS, f"{owner}.{name} is not priced as a relation"


def test_every_unpaged_list_of_objects_has_an_estimate() -> None:
    for owner, name, field in object_fields():
        field_type = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        if not is_list_type(field_type) or is_leaf_type(get_named_type(field.type)):
            continue
        if owner.endswith("Connection") and name in ("edges", "nodes"):
            continue
        assert (owner, name) in LIST_SIZES or ("*", name) in LIST_SIZES, f"{owner}.{name} has no size estimate"
