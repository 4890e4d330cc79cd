"""Explicit ``null`` on the optional fields of update inputs, through variables and written inline.

``null`` clears where Bifrost can clear (lists: the same as ``[]``) and is a userError naming the field where
it cannot (names, ``isActive``): never an error about Python types, never an ERROR log line, and a refused
input sends nothing upstream.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from strawberry.types.base import StrawberryMaybe, StrawberryObjectDefinition, StrawberryOptional

from app.schema import build_schema
from tests.gateway.arrange import MISSING_ID, codes, result_of, upstream_get, upstream_post
from tests.gateway.conftest import Gateway

UPDATE = {
    "updateTeam": ("UpdateTeamInput", "team { id name budgets { resetDuration } }"),
    "updateCustomer": ("UpdateCustomerInput", "customer { id name }"),
    "updateVirtualKey": (
        "UpdateVirtualKeyInput",
        "virtualKey { id name isActive budgets { resetDuration } providerConfigs { provider } "
        "mcpConfigs { mcpClientName } }",
    ),
}

REFUSED = [
    ("updateTeam", "name"),
    ("updateCustomer", "name"),
    ("updateVirtualKey", "name"),
    ("updateVirtualKey", "isActive"),
]


def document(mutation: str) -> str:
    input_type, selection = UPDATE[mutation]
    return (
        f"mutation M($input: {input_type}!) {{ {mutation}(input: $input) "
        f"{{ {selection} userErrors {{ field message code }} }} }}"
    )


def inline(mutation: str, entity_id: str, field: str) -> str:
    selection = UPDATE[mutation][1]
    return (
        f'mutation {{ {mutation}(input: {{id: "{entity_id}", {field}: null}}) '
        f"{{ {selection} userErrors {{ field message code }} }} }}"
    )


async def send(gw: Gateway, mutation: str, entity_id: str, field: str, *, literal: bool) -> dict[str, Any]:
    if literal:
        body = await gw.graphql(inline(mutation, entity_id, field))
    else:
        body = await gw.graphql(document(mutation), {"input": {"id": entity_id, field: None}})
    return result_of(body, mutation)


@pytest.mark.parametrize("literal", [False, True], ids=["variables", "inline"])
@pytest.mark.parametrize(("mutation", "field"), REFUSED)
async def test_null_where_bifrost_cannot_clear_is_a_user_error_naming_the_field(
    gateway: Gateway, caplog: pytest.LogCaptureFixture, mutation: str, field: str, literal: bool
) -> None:
    with caplog.at_level(logging.WARNING):
        result = await send(gateway, mutation, MISSING_ID, field, literal=literal)
    assert codes(result) == [(["input", field], "INVALID_INPUT")]
    assert result["userErrors"][0]["message"] == f"{field} cannot be null: leave it out to keep the current value"
    assert gateway.upstream_calls() == [], "nothing goes upstream"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("literal", [False, True], ids=["variables", "inline"])
async def test_team_budgets_null_removes_every_budget(
    current_gateway: Gateway, caplog: pytest.LogCaptureFixture, literal: bool
) -> None:
    budgets = [{"max_limit": 5, "reset_duration": "1d"}, {"max_limit": 50, "reset_duration": "1M"}]
    team = await upstream_post(current_gateway, "teams", {"name": "platform", "budgets": budgets})
    with caplog.at_level(logging.WARNING):
        result = await send(current_gateway, "updateTeam", team["id"], "budgets", literal=literal)
    assert result["userErrors"] == [] and result["team"]["budgets"] == []
    stored = await upstream_get(current_gateway, "teams", team["id"])
    assert stored is not None and not stored.get("budgets")
    assert stored["name"] == "platform", "nothing else changed"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_team_budgets_null_on_the_seed_generation_says_it_cannot(seed_gateway: Gateway) -> None:
    team = await upstream_post(seed_gateway, "teams", {"name": "platform"})
    result = await send(seed_gateway, "updateTeam", team["id"], "budgets", literal=False)
    assert codes(result) == [(["input", "budgets"], "UNSUPPORTED_BY_UPSTREAM")]
    assert [r for r in seed_gateway.upstream_calls() if r.method == "PUT"] == [], "nothing is written"


@pytest.mark.parametrize("literal", [False, True], ids=["variables", "inline"])
@pytest.mark.parametrize(
    ("field", "stored_field"),
    [("budgets", "budgets"), ("providerConfigs", "provider_configs"), ("mcpConfigs", "mcp_configs")],
)
async def test_key_lists_null_clear_like_an_empty_list(
    current_gateway: Gateway, caplog: pytest.LogCaptureFixture, field: str, stored_field: str, literal: bool
) -> None:
    team = await upstream_post(current_gateway, "teams", {"name": "platform"})
    key = await upstream_post(
        current_gateway,
        "virtual-keys",
        {
            "name": "k",
            "team_id": team["id"],
            "budgets": [{"max_limit": 5, "reset_duration": "1d"}],
            "provider_configs": [{"provider": "openai", "allowed_models": ["*"]}],
            "mcp_configs": [{"mcp_client_name": "github", "tools_to_execute": ["*"]}],
        },
    )
    with caplog.at_level(logging.WARNING):
        result = await send(current_gateway, "updateVirtualKey", key["id"], field, literal=literal)
    assert result["userErrors"] == [] and result["virtualKey"][field] == []
    stored = await upstream_get(current_gateway, "virtual-keys", key["id"])
    assert stored is not None and not stored.get(stored_field)
    assert stored["team_id"] == team["id"], "the key keeps its team"
    others = {"budgets", "provider_configs", "mcp_configs"} - {stored_field}
    assert all(stored.get(other) for other in others), "the other lists are unchanged"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_every_optional_update_field_accepts_null() -> None:
    """A ``Maybe[T]`` without ``None`` would fail a whole operation on ``null`` with a message about Python types."""
    strict = []
    for graphql_type in build_schema().schema_converter.type_map.values():
        definition = graphql_type.definition
        if not isinstance(definition, StrawberryObjectDefinition) or not definition.is_input:
            continue
        for field in definition.fields:
            field_type = field.resolve_type(type_definition=definition)
            if isinstance(field_type, StrawberryMaybe) and not isinstance(field_type.of_type, StrawberryOptional):
                strict.append(f"{definition.name}.{field.python_name}")
    assert strict == []
