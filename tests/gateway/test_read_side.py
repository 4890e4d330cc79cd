"""Queries: connections over Bifrost paging, lookups, relations always complete, ids never reach other routes."""

from __future__ import annotations

from typing import Any

import pytest

from app.generations import Feature
from tests.gateway.conftest import REVEALING, Gateway, upstream_http

TEAMS_PAGE = """
query Teams($first: Int, $after: String, $search: String, $customerId: ID) {
  teams(first: $first, after: $after, search: $search, customerId: $customerId) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name } }
  }
}
"""
VIRTUAL_KEY = """
query Key($id: ID!) {
  virtualKey(id: $id) {
    id name value masked: value revealed: value(reveal: true) isActive
    team { id name budgets { maxLimit } customer { id } virtualKeys { id } }
    customer { id }
    providerConfigs {
      provider allowAllKeys keys { keyId value { isSet fromEnv envVar } azureEndpoint { isSet envVar fromEnv } }
    }
  }
}
"""


async def rest(gw: Gateway, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    async with upstream_http(gw) as up:
        response = await up.request(method, path, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_teams_connection_pages_through_everything(gateway: Gateway) -> None:
    for i in range(7):
        await rest(gateway, "POST", "/api/governance/teams", {"name": f"team-{i}"})
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        body = await gateway.graphql(TEAMS_PAGE, {"first": 3, "after": after})
        connection = body["data"]["teams"]
        assert connection["totalCount"] == 7
        seen += [edge["node"]["name"] for edge in connection["edges"]]
        pages += 1
        assert connection["pageInfo"]["hasPreviousPage"] == (pages > 1)
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert pages == 3
    assert sorted(seen) == [f"team-{i}" for i in range(7)]


async def test_teams_search_and_customer_filter(gateway: Gateway) -> None:
    customer = (await rest(gateway, "POST", "/api/governance/customers", {"name": "Acme"}))["customer"]
    await rest(gateway, "POST", "/api/governance/teams", {"name": "Platform", "customer_id": customer["id"]})
    await rest(gateway, "POST", "/api/governance/teams", {"name": "platform-ops"})
    await rest(gateway, "POST", "/api/governance/teams", {"name": "data"})
    found = await gateway.graphql(TEAMS_PAGE, {"search": "PLATFORM"})
    assert sorted(e["node"]["name"] for e in found["data"]["teams"]["edges"]) == ["Platform", "platform-ops"]
    unicode = await gateway.graphql(TEAMS_PAGE, {"search": "platform \u00e9\u4e2d"})
    assert unicode["data"]["teams"]["edges"] == []  # printable text of any script is searched for as it is
    filtered = await gateway.graphql(TEAMS_PAGE, {"customerId": customer["id"]})
    assert [e["node"]["name"] for e in filtered["data"]["teams"]["edges"]] == ["Platform"]


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"first": 101}, "first"),
        ({"first": 0}, "first"),
        ({"after": "bm9wZQ=="}, "after"),
        ({"customerId": "../virtual-keys"}, "customerId"),
        ({"search": "x" * 256}, "search"),
        ({"search": "plat\u0000form"}, "search"),
        ({"search": "plat\nform"}, "search"),
        ({"search": "\u007f"}, "search"),
        ({"search": "\u0085"}, "search"),
    ],
)
async def test_teams_bad_arguments_are_errors_before_upstream(
    current_gateway: Gateway, variables: dict[str, Any], argument: str
) -> None:
    body = await current_gateway.graphql(TEAMS_PAGE, variables)
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}
    assert current_gateway.upstream_calls() == []


@pytest.mark.parametrize("field", ["team", "customer", "virtualKey"])
async def test_lookup_of_missing_id_is_null(gateway: Gateway, field: str) -> None:
    body = await gateway.graphql(f'{{ {field}(id: "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c") {{ id }} }}')
    assert body == {"data": {field: None}}


@pytest.mark.parametrize("bad_id", ["../teams", "a?b=c", "%2e%2e", "a/b", "a b", "\u00e9", "x" * 129, ""])
@pytest.mark.parametrize("field", ["team", "customer", "virtualKey"])
async def test_unsafe_ids_never_reach_upstream(current_gateway: Gateway, field: str, bad_id: str) -> None:
    body = await current_gateway.graphql(f"query($id: ID!) {{ {field}(id: $id) {{ id }} }}", {"id": bad_id})
    assert body == {"data": {field: None}}
    assert list(current_gateway.upstream.state.request_log) == []


async def test_virtual_key_relations_are_complete_and_secrets_masked(gateway: Gateway) -> None:
    customer = (await rest(gateway, "POST", "/api/governance/customers", {"name": "Acme"}))["customer"]
    team_body: dict[str, Any] = {"name": "platform", "customer_id": customer["id"]}
    if gateway.generation.owner_budgets == "single":
        team_body["budget"] = {"max_limit": 7, "reset_duration": "1d"}
    else:
        team_body["budgets"] = [{"max_limit": 7, "reset_duration": "1d"}]
    team = (await rest(gateway, "POST", "/api/governance/teams", team_body))["team"]
    key = (
        await rest(
            gateway,
            "POST",
            "/api/governance/virtual-keys",
            {
                "name": "k",
                "team_id": team["id"],
                "provider_configs": [{"provider": "azure", "key_ids": ["*"]}],
            },
        )
    )["virtual_key"]
    body = await gateway.graphql(VIRTUAL_KEY, {"id": key["id"]}, headers=REVEALING)
    assert "errors" not in body, body
    vk = body["data"]["virtualKey"]
    assert vk["value"] == vk["masked"] == "sk-bf-…" + key["value"][-4:]
    assert vk["revealed"] == key["value"]
    assert vk["team"]["name"] == "platform"
    assert vk["team"]["budgets"] == [{"maxLimit": 7}], "a team embedded in a key is completed, not reported empty"
    assert vk["team"]["customer"] == {"id": customer["id"]}
    assert vk["team"]["virtualKeys"] == [{"id": key["id"]}]
    config = vk["providerConfigs"][0]
    keys = config["keys"]
    if gateway.generation.has(Feature.ALLOW_ALL_KEYS):
        assert config["allowAllKeys"] is True  # v2 answers key_ids ["*"] as the flag
    else:
        assert keys, "azure keys are attached"
    for provider_key in keys:
        assert set(provider_key["value"]) == {"isSet", "fromEnv", "envVar"}
    text = str(body)
    for secret in ("sk-", "azure-secret"):
        assert secret not in text.replace("sk-bf-…", "").replace(key["value"], "")


async def test_customer_relations_and_lists(gateway: Gateway) -> None:
    customer = (
        await rest(
            gateway,
            "POST",
            "/api/governance/customers",
            {"name": "Acme", "budget": {"max_limit": 50, "reset_duration": "1M"}},
        )
    )["customer"]
    await rest(gateway, "POST", "/api/governance/teams", {"name": "a", "customer_id": customer["id"]})
    await rest(gateway, "POST", "/api/governance/virtual-keys", {"name": "ck", "customer_id": customer["id"]})
    body = await gateway.graphql("""{
      customers(first: 10) { totalCount nodes { name budget { maxLimit } teams { name customer { name } }
        virtualKeys { name customer { name } } } }
      budgets { maxLimit }
      rateLimits { id }
    }""")
    assert "errors" not in body, body
    [node] = body["data"]["customers"]["nodes"]
    assert node == {
        "name": "Acme",
        "budget": {"maxLimit": 50},
        "teams": [{"name": "a", "customer": {"name": "Acme"}}],
        "virtualKeys": [{"name": "ck", "customer": {"name": "Acme"}}],
    }
    assert {"maxLimit": 50} in body["data"]["budgets"]


@pytest.mark.parametrize("field", ["teams", "customers", "virtualKeys"])
async def test_a_search_with_a_control_character_is_refused_on_every_list(current_gateway: Gateway, field: str) -> None:
    body = await current_gateway.graphql(
        f"query Find($s: String) {{ {field}(search: $s) {{ totalCount }} }}", {"s": "name\u0000"}
    )
    assert body["data"] is None
    assert body["errors"][0]["message"] == "search must not contain control characters"
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "search"}
    assert current_gateway.upstream_calls() == []
