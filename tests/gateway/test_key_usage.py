"""VirtualKey.usage: a key's usage per budget from Bifrost's quota route, which takes the key's value as its only
credential. The gateway sends a key's value there only for callers who may reveal it, with no other credential,
once per distinct key in a request, priced as one upstream call per key.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.schema.cost_model import UPSTREAM_CALL_COST
from app.schema.self_service.usage import REVEAL_FORBIDDEN
from tests.gateway.conftest import REVEAL_KEY, Gateway, make_gateway
from tests.gateway.guarded import ADMIN_KEY, AUTH, BFF_KEY, SERVICE, SERVICE_BASIC, Recorder, policy_gateway

QUOTA = "/api/governance/virtual-keys/quota"
KEYS_USAGE = """
query Usage($first: Int) {
  virtualKeys(first: $first) {
    nodes { name usage { budgets { maxLimit currentUsage perModelUsage { model totalCost } total { totalCost } } } }
  }
}
"""
ONE_KEY_TWICE = """
query Twice($id: ID!) {
  a: virtualKey(id: $id) { usage { budgets { currentUsage } } }
  b: virtualKey(id: $id) { usage { budgets { maxLimit } } }
}
"""
CREATE_AND_READ = """
mutation Create($name: String!) {
  createVirtualKey(input: {name: $name, budgets: [{maxLimit: 3, resetDuration: "1d"}]}) {
    virtualKey { usage { budgets { maxLimit currentUsage } } }
  }
}
"""


async def usage_gateway(**settings: Any) -> tuple[Gateway, Recorder, httpx.AsyncClient]:
    upstream = create_embedded_bifrost(database=":memory:", generation="v2", auth=AUTH)
    return await policy_gateway(upstream=upstream, **{**SERVICE, "bifrost_api_generation": "v2", **settings})


async def arrange_keys(admin: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    keys = []
    for i in range(count):
        body = {"name": f"k{i}", "budgets": [{"max_limit": 10 + i, "reset_duration": "1d"}]}
        response = await admin.post("/api/governance/virtual-keys", json=body)
        assert response.status_code == 200, response.text
        keys.append(response.json()["virtual_key"])
    return keys


async def post(gw: Gateway, query: str, variables: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = await gw.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    body: dict[str, Any] = response.json()
    return body


async def test_usage_sends_each_key_value_to_the_quota_route_alone_for_a_caller_who_may_reveal() -> None:
    gw, recorder, admin = await usage_gateway()
    keys = await arrange_keys(admin, 3)
    gw.upstream.state.store.db.execute("UPDATE budgets SET current_usage = 1.25 WHERE max_limit = 11")
    body = await post(gw, KEYS_USAGE, {"first": 10}, **{"x-gateway-key": ADMIN_KEY})
    assert "errors" not in body, body
    usage = {node["name"]: node["usage"]["budgets"] for node in body["data"]["virtualKeys"]["nodes"]}
    assert usage == {
        f"k{i}": [
            {
                "maxLimit": 10.0 + i,
                "currentUsage": 1.25 if i == 1 else 0.0,
                "perModelUsage": [],
                "total": {"totalCost": 0.0},
            }
        ]
        for i in range(3)
    }
    quota_calls = [sent for path, sent in recorder.seen if path == QUOTA]
    assert sorted(sent["x-bf-vk"] for sent in quota_calls) == sorted(key["value"] for key in keys)
    assert all("authorization" not in sent and "cookie" not in sent for sent in quota_calls)
    others = [sent for path, sent in recorder.seen if path != QUOTA]
    assert others and all(sent.get("authorization") == SERVICE_BASIC for sent in others)
    assert all("x-bf-vk" not in sent for sent in others)


@pytest.mark.parametrize(
    "headers",
    [pytest.param({"x-gateway-key": BFF_KEY}, id="gateway-key-without-reveal"), pytest.param({}, id="anonymous")],
)
async def test_usage_is_forbidden_like_revealing_and_no_value_is_sent(headers: dict[str, str]) -> None:
    gw, recorder, admin = await usage_gateway(allow_anonymous_service_credentials=True)
    await arrange_keys(admin, 2)
    body = await post(gw, KEYS_USAGE, {"first": 10}, **headers)
    errors = [(error["path"], error["message"], error["extensions"]["code"]) for error in body["errors"]]
    assert errors == [(["virtualKeys", "nodes", i, "usage"], REVEAL_FORBIDDEN, "FORBIDDEN") for i in range(2)]
    assert QUOTA not in recorder.paths()
    assert all("x-bf-vk" not in sent for _, sent in recorder.seen)


async def test_one_key_asked_twice_costs_one_quota_call() -> None:
    gw, recorder, admin = await usage_gateway()
    [key] = await arrange_keys(admin, 1)
    body = await post(gw, ONE_KEY_TWICE, {"id": key["id"]}, **{"x-gateway-key": ADMIN_KEY})
    assert body["data"]["a"]["usage"] == {"budgets": [{"currentUsage": 0.0}]}
    assert body["data"]["b"]["usage"] == {"budgets": [{"maxLimit": 10.0}]}
    assert recorder.paths().count(QUOTA) == 1


async def test_a_key_created_in_the_request_may_show_its_usage_as_it_may_show_its_value() -> None:
    gw, recorder, _ = await usage_gateway()
    body = await post(gw, CREATE_AND_READ, {"name": "fresh"}, **{"x-gateway-key": BFF_KEY})
    assert "errors" not in body, body
    assert body["data"]["createVirtualKey"]["virtualKey"]["usage"] == {
        "budgets": [{"maxLimit": 3.0, "currentUsage": 0.0}]
    }
    assert recorder.paths().count(QUOTA) == 1


@pytest.mark.parametrize("generation", ["seed", "current"])
async def test_before_v2_usage_is_null_and_the_quota_route_is_not_called(generation: str) -> None:
    gw = await make_gateway(generation)
    await gw.graphql('mutation { createVirtualKey(input: {name: "old"}) { virtualKey { id } } }')
    body = await post(gw, KEYS_USAGE, {"first": 5}, **{"x-gateway-key": REVEAL_KEY})
    assert body == {"data": {"virtualKeys": {"nodes": [{"name": "old", "usage": None}]}}}
    assert gw.upstream_calls(prefix=QUOTA) == []


async def test_usage_is_priced_as_one_upstream_call_per_key() -> None:
    gw, _, _ = await usage_gateway()
    plain = "query Usage($first: Int) { virtualKeys(first: $first) { nodes { name } } }"
    costs = []
    for query in (plain, KEYS_USAGE):
        response = await gw.http.post(
            "/graphql",
            json={"query": query, "variables": {"first": 100}},
            headers={"x-gateway-key": ADMIN_KEY, "x-query-cost": "1"},
        )
        costs.append(response.json()["extensions"]["cost"]["requestedQueryCost"])
    assert costs[1] - costs[0] >= 100 * UPSTREAM_CALL_COST


async def test_usage_of_many_keys_stops_at_the_request_ceiling_on_upstream_calls() -> None:
    gw, recorder, admin = await usage_gateway(max_upstream_calls_per_request=4)
    await arrange_keys(admin, 6)
    body = await post(gw, KEYS_USAGE, {"first": 10}, **{"x-gateway-key": ADMIN_KEY})
    assert {error["extensions"]["code"] for error in body["errors"]} == {"TOO_MANY_UPSTREAM_CALLS"}
    assert len(recorder.seen) == 4, "the list and three keys; the other keys' values were never sent"


async def test_usage_per_model_equals_what_chat_completions_were_charged() -> None:
    gw, _, admin = await usage_gateway()
    body = {
        "name": "spender",
        "budgets": [{"max_limit": 50, "reset_duration": "1d"}],
        "provider_configs": [{"provider": "openai", "allowed_models": ["*"], "key_ids": ["*"]}],
    }
    response = await admin.post("/api/governance/virtual-keys", json=body)
    key = response.json()["virtual_key"]
    charged: dict[str, list[dict[str, Any]]] = {}
    for model, content in (("gpt-4o-mini", "Hello there"), ("gpt-4o", "x" * 400), ("gpt-4o-mini", "Hi")):
        answer = await admin.post(
            "/v1/chat/completions",
            json={"model": f"openai/{model}", "messages": [{"role": "user", "content": content}]},
            headers={"x-bf-vk": key["value"]},
        )
        assert answer.status_code == 200, answer.text
        charged.setdefault(model, []).append(answer.json()["usage"])
    query = "query K($id: ID!) { virtualKey(id: $id) { usage { budgets { currentUsage perModelUsage { model "
    query += "provider totalRequests totalTokens totalCost } total { totalRequests totalCost } } } } }"
    data = await post(gw, query, {"id": key["id"]}, **{"x-gateway-key": ADMIN_KEY})
    [budget] = data["data"]["virtualKey"]["usage"]["budgets"]
    expected = [
        {
            "model": model,
            "provider": "openai",
            "totalRequests": len(usages),
            "totalTokens": sum(usage["total_tokens"] for usage in usages),
            "totalCost": pytest.approx(sum(usage["cost"] for usage in usages), rel=1e-9),
        }
        for model, usages in sorted(charged.items())
    ]
    assert budget["perModelUsage"] == expected
    assert budget["total"]["totalRequests"] == 3
    assert budget["total"]["totalCost"] == pytest.approx(budget["currentUsage"], rel=1e-9)
