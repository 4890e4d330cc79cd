"""A virtual key reaches myVirtualKey and nothing else: every other root field of the schema is refused with
FORBIDDEN before anything is sent, and credentials that mix a key with anything else, or put it where the
gateway does not read it, are refused at the edge.

The list of root fields is generated from the schema itself, so a field added later is covered without a
change here.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLField, GraphQLObjectType, get_named_type, is_composite_type, parse

from app.schema.federation.schema import build_subgraph_schema
from app.schema.schema import build_schema
from app.schema.self_service import key_holder_refusal
from tests.gateway.conftest import REVEAL_KEY, Gateway, make_gateway

KEY = "sk-bf-00000000-0000-4000-8000-000000000000"
HOLDER = {"x-bf-vk": KEY}


def _document(operation: str, name: str, field: GraphQLField) -> str:
    """A valid document selecting only ``name``: required arguments bound to variables never sent."""
    required = [(arg_name, arg) for arg_name, arg in field.args.items() if str(arg.type).endswith("!")]
    declared = ", ".join(f"${arg_name}: {arg.type}" for arg_name, arg in required)
    passed = ", ".join(f"{arg_name}: ${arg_name}" for arg_name, _ in required)
    selection = " { __typename }" if is_composite_type(get_named_type(field.type)) else ""
    return (
        f"{operation} Probe{f'({declared})' if declared else ''} "
        f"{{ {name}{f'({passed})' if passed else ''}{selection} }}"
    )


def _root_fields() -> list[Any]:
    schema = build_schema()._schema
    cases = []
    roots: list[tuple[str, GraphQLObjectType | None]] = [
        ("query", schema.query_type),
        ("mutation", schema.mutation_type),
        ("subscription", schema.subscription_type),
    ]
    for operation, root in roots:
        if root is None:
            continue
        for name, field in root.fields.items():
            if name != "myVirtualKey":
                cases.append(pytest.param(operation, _document(operation, name, field), id=f"{operation}-{name}"))
    return cases


ROOT_FIELDS = _root_fields()


async def v2() -> Gateway:
    return await make_gateway("v2", bifrost_api_generation="v2")


def test_the_generated_list_covers_queries_and_mutations() -> None:
    ids = {case.id for case in ROOT_FIELDS}
    assert {"query-teams", "query-virtualKey", "mutation-createVirtualKey", "mutation-login"} <= ids
    assert len(ids) > 30


@pytest.mark.parametrize(("operation", "document"), ROOT_FIELDS)
async def test_key_holder_is_refused_every_other_root_field_and_nothing_is_sent(operation: str, document: str) -> None:
    gw = await v2()
    response = await gw.http.post("/graphql", json={"query": document}, headers=HOLDER)
    assert response.status_code == 403, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "myVirtualKey" in error["message"]
    assert list(gw.upstream.state.request_log) == []


async def test_the_same_documents_run_for_an_admin_caller() -> None:
    # The documents above are valid: they are refused for who sends them, not for what they are.
    gw = await v2()
    query = next(case.values[1] for case in ROOT_FIELDS if case.id == "query-teams")
    body = (await gw.http.post("/graphql", json={"query": query}, headers={"x-gateway-key": REVEAL_KEY})).json()
    assert "errors" not in body


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(
            "{ myVirtualKey { name } ...Admin } fragment Admin on Query { teams { totalCount } }", id="spread"
        ),
        pytest.param("{ myVirtualKey { name } ... on Query { teams { totalCount } } }", id="inline-fragment"),
        pytest.param("{ ... { ... on Query { customers { totalCount } } } }", id="nested-fragments"),
        pytest.param("{ myVirtualKey { name } teams @skip(if: true) { totalCount } }", id="skipped"),
        pytest.param("query Q($no: Boolean = false) { teams @include(if: $no) { totalCount } }", id="included-never"),
        pytest.param("{ myVirtualKey: teams { totalCount } }", id="alias-disguise"),
        pytest.param("query Q { __typename } mutation M { logout { success } }", id="second-operation-chosen"),
        pytest.param(
            "{ myVirtualKey { name } ...A } fragment A on Query { ...B } fragment B on Query { budgets { id } }",
            id="fragment-chain",
        ),
    ],
)
async def test_refusal_sees_through_fragments_aliases_and_directives(document: str) -> None:
    gw = await v2()
    name = "M" if "mutation M" in document else None
    response = await gw.http.post("/graphql", json={"query": document, "operationName": name}, headers=HOLDER)
    assert response.status_code == 403, response.text
    assert list(gw.upstream.state.request_log) == []


async def test_refusal_over_get_too() -> None:
    gw = await v2()
    response = await gw.http.get("/graphql", params={"query": "{ teams { totalCount } }"}, headers=HOLDER)
    assert response.status_code == 403 and response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert list(gw.upstream.state.request_log) == []


@pytest.mark.parametrize(
    "document",
    [
        pytest.param("{ __typename }", id="typename"),
        pytest.param("{ __schema { queryType { name } } }", id="schema"),
        pytest.param('{ __type(name: "MyVirtualKey") { fields { name } } }', id="type"),
        pytest.param("{ mine: myVirtualKey { name } again: myVirtualKey { isActive } }", id="aliases-of-my-key"),
    ],
)
async def test_key_holder_may_introspect_and_alias_its_own_field(document: str) -> None:
    gw = await v2()
    response = await gw.http.post("/graphql", json={"query": document}, headers=HOLDER)
    assert response.status_code == 200, response.text
    assert all(record.path.endswith("/quota") for record in gw.upstream.state.request_log)


async def test_introspection_stays_off_for_key_holders_in_the_production_profile() -> None:
    gw = await make_gateway("v2", bifrost_api_generation="v2", gateway_env="production")
    body = (
        await gw.http.post("/graphql", json={"query": "{ __schema { queryType { name } } }"}, headers=HOLDER)
    ).json()
    assert body["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"


def test_the_federation_subgraph_refuses_its_entity_fields_to_key_holders() -> None:
    schema = build_subgraph_schema()._schema
    assert {"_entities", "_service"} <= set(schema.query_type.fields)  # type: ignore[union-attr]
    assert key_holder_refusal(parse("{ _entities(representations: []) { __typename } }"), None) is not None
    assert key_holder_refusal(parse("{ _service { sdl } }"), None) is not None


# Credentials ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({"x-bf-vk": KEY, "authorization": "Bearer admin-session"}, 400, id="key-and-admin-bearer"),
        pytest.param({"x-bf-vk": KEY, "authorization": "Basic YWRtaW46czNjcmV0"}, 400, id="key-and-basic"),
        pytest.param({"x-bf-vk": KEY, "x-gateway-key": REVEAL_KEY}, 400, id="key-and-gateway-key"),
        pytest.param({"x-bf-vk": KEY, "authorization": f"Bearer {REVEAL_KEY}"}, 400, id="key-and-gateway-bearer"),
        pytest.param({"x-bf-vk": KEY, "cookie": "token=admin-session"}, 400, id="key-and-session-cookie"),
        pytest.param({"x-bf-vk": KEY, "cookie": 'token="bad value'}, 400, id="key-and-broken-session-cookie"),
        pytest.param({"x-bf-vk": KEY, "authorization": f"Bearer {KEY}"}, 400, id="key-in-two-headers"),
        pytest.param({"authorization": f"Bearer {KEY}", "x-gateway-key": REVEAL_KEY}, 400, id="bearer-key-and-gk"),
        pytest.param({"cookie": f"token={KEY}"}, 401, id="key-as-session-cookie"),
        pytest.param({"authorization": KEY}, 401, id="key-without-scheme"),
        pytest.param({"authorization": f"Token {KEY}"}, 401, id="key-other-scheme"),
        pytest.param({"authorization": f"Basic {KEY}"}, 401, id="key-as-basic"),
        pytest.param({"x-api-key": KEY}, 401, id="x-api-key"),
        pytest.param({"x-goog-api-key": KEY.upper()}, 401, id="x-goog-api-key"),
        pytest.param({"api-key": KEY}, 401, id="api-key"),
        pytest.param({"x-bf-vk": ""}, 401, id="empty"),
        pytest.param({"x-bf-vk": "   "}, 401, id="blank"),
        pytest.param({"x-bf-vk": "sk-bf-" + "a" * 300}, 401, id="huge"),
        pytest.param({"authorization": "Bearer sk-bf-a b"}, 401, id="space-inside"),
        pytest.param({"x-bf-vk": "sk-bf-\u00e9t\u00e9"}, 401, id="non-ascii"),
    ],
)
async def test_hostile_or_mixed_key_credentials_are_refused_at_the_edge(headers: dict[str, str], status: int) -> None:
    gw = await v2()
    raw = [(name.encode(), value.encode("latin-1")) for name, value in headers.items()]
    response = await gw.http.post("/graphql", json={"query": "{ myVirtualKey { name } }"}, headers=raw)
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == ("BAD_REQUEST" if status == 400 else "UNAUTHENTICATED")
    assert KEY not in response.text and KEY.upper() not in response.text
    assert list(gw.upstream.state.request_log) == []


async def test_two_key_headers_are_ambiguous() -> None:
    gw = await v2()
    headers = [(b"x-bf-vk", KEY.encode()), (b"x-bf-vk", KEY.encode())]
    response = await gw.http.post("/graphql", json={"query": "{ myVirtualKey { name } }"}, headers=headers)
    assert response.status_code == 400
    assert list(gw.upstream.state.request_log) == []


async def test_a_bearer_key_is_never_forwarded_as_an_admin_token() -> None:
    # Before key holders were a caller of their own, ``Bearer sk-bf-...`` went upstream on every admin call.
    gw = await v2()
    response = await gw.http.post(
        "/graphql", json={"query": "{ virtualKeys { totalCount } }"}, headers={"authorization": f"Bearer {KEY}"}
    )
    assert response.status_code == 403
    assert list(gw.upstream.state.request_log) == []
