"""Model configs over the embedded v2 server: create, read, list with filters and paging, update (the scope
cannot change), delete, 409 as NAME_TAKEN, and a page of keys reading their configs with one list call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.gateway.arrange import MISSING_ID, codes, result_of, upstream_post, writes
from tests.gateway.conftest import Gateway, make_gateway
from tests.gateway.v2_documents import (
    CREATE_MODEL_CONFIG,
    DELETE_MODEL_CONFIG,
    KEYS_WITH_MODEL_CONFIGS,
    MODEL_CONFIG,
    MODEL_CONFIGS,
    UPDATE_MODEL_CONFIG,
)

RULES = [
    {"metric": "TOKENS", "maxLimit": 100000, "resetDuration": "1h"},
    {"metric": "REQUESTS", "maxLimit": 60, "resetDuration": "1m"},
]


@pytest.fixture
async def v2() -> AsyncIterator[Gateway]:
    gw = await make_gateway("v2")
    yield gw
    await gw.http.aclose()


async def create(gw: Gateway, **config: Any) -> dict[str, Any]:
    payload = result_of(await gw.graphql(CREATE_MODEL_CONFIG, {"input": config}), "createModelConfig")
    assert payload["userErrors"] == [], payload
    created: dict[str, Any] = payload["modelConfig"]
    return created


def config_reads(gw: Gateway) -> list[Any]:
    return gw.upstream_calls("GET", "/api/governance/model-configs")


async def test_create_read_update_delete(v2: Gateway) -> None:
    created = await create(
        v2, modelName="gpt-4o", provider="openai", budgets=[{"maxLimit": 20, "resetDuration": "1d"}], rateLimits=RULES
    )
    assert created["modelName"] == "gpt-4o" and created["provider"] == "openai"
    assert created["scope"] == "GLOBAL" and created["scopeId"] is None
    assert [(b["maxLimit"], b["resetDuration"]) for b in created["budgets"]] == [(20.0, "1d")]
    rules = {(rule["metric"], rule["maxLimit"], rule["resetDuration"]) for rule in created["rateLimits"]}
    assert rules == {("TOKENS", "100000", "1h"), ("REQUESTS", "60", "1m")}

    assert (await v2.graphql(MODEL_CONFIG, {"id": created["id"]}))["data"]["modelConfig"] == created

    update = {"rateLimits": [{"metric": "REQUESTS", "maxLimit": 10, "resetDuration": "1m"}], "budgets": []}
    updated = result_of(
        await v2.graphql(UPDATE_MODEL_CONFIG, {"id": created["id"], "input": update}), "updateModelConfig"
    )
    assert updated["userErrors"] == []
    config = updated["modelConfig"]
    assert config["budgets"] == [] and [(r["metric"], r["maxLimit"]) for r in config["rateLimits"]] == [
        ("REQUESTS", "10")
    ]
    assert config["modelName"] == "gpt-4o", "fields left out are unchanged"

    deleted = result_of(await v2.graphql(DELETE_MODEL_CONFIG, {"id": created["id"]}), "deleteModelConfig")
    assert deleted == {"deletedId": created["id"], "userErrors": []}
    assert (await v2.graphql(MODEL_CONFIG, {"id": created["id"]}))["data"]["modelConfig"] is None
    again = result_of(await v2.graphql(DELETE_MODEL_CONFIG, {"id": created["id"]}), "deleteModelConfig")
    assert codes(again) == [(["id"], "NOT_FOUND")]


async def test_a_second_config_for_the_same_model_and_scope_is_name_taken(v2: Gateway) -> None:
    await create(v2, modelName="claude-3", provider="anthropic")
    payload = result_of(
        await v2.graphql(CREATE_MODEL_CONFIG, {"input": {"modelName": "claude-3", "provider": "anthropic"}}),
        "createModelConfig",
    )
    assert codes(payload) == [(["input", "modelName"], "NAME_TAKEN")]
    assert "already exists" in payload["userErrors"][0]["message"]


async def test_the_scope_cannot_change_and_nothing_is_written(v2: Gateway) -> None:
    key = await upstream_post(v2, "virtual-keys", {"name": "scoped"})
    created = await create(v2, modelName="*", scope="VIRTUAL_KEY", scopeId=key["id"])
    assert created["scope"] == "VIRTUAL_KEY" and created["scopeId"] == key["id"]
    before = len(writes(v2))
    for change, field in (({"scope": "GLOBAL"}, "scope"), ({"scopeId": MISSING_ID}, "scopeId")):
        payload = result_of(
            await v2.graphql(UPDATE_MODEL_CONFIG, {"id": created["id"], "input": change}), "updateModelConfig"
        )
        assert codes(payload) == [(["input", field], "INVALID_INPUT")]
    assert len(writes(v2)) == before
    same = {"scope": "VIRTUAL_KEY", "scopeId": key["id"], "modelName": "gpt-4o-mini"}
    payload = result_of(
        await v2.graphql(UPDATE_MODEL_CONFIG, {"id": created["id"], "input": same}), "updateModelConfig"
    )
    assert payload["userErrors"] == [] and payload["modelConfig"]["modelName"] == "gpt-4o-mini"


async def test_a_config_for_a_missing_key_is_not_found_on_scope_id(v2: Gateway) -> None:
    config = {"modelName": "*", "scope": "VIRTUAL_KEY", "scopeId": MISSING_ID}
    payload = result_of(await v2.graphql(CREATE_MODEL_CONFIG, {"input": config}), "createModelConfig")
    assert codes(payload) == [(["input", "scopeId"], "NOT_FOUND")]


async def test_updating_a_missing_config_is_not_found(v2: Gateway) -> None:
    payload = result_of(
        await v2.graphql(UPDATE_MODEL_CONFIG, {"id": MISSING_ID, "input": {"modelName": "x"}}), "updateModelConfig"
    )
    assert codes(payload) == [(["id"], "NOT_FOUND")]


async def test_the_list_filters_and_pages(v2: Gateway) -> None:
    key = await upstream_post(v2, "virtual-keys", {"name": "filtered"})
    for name in ("gpt-4o", "gpt-4o-mini", "o1"):
        await create(v2, modelName=name, provider="openai")
    await create(v2, modelName="claude-3", provider="anthropic")
    await create(v2, modelName="*", scope="VIRTUAL_KEY", scopeId=key["id"])

    every = (await v2.graphql(MODEL_CONFIGS, {"first": 100}))["data"]["modelConfigs"]
    assert every["totalCount"] == 5
    openai = (await v2.graphql(MODEL_CONFIGS, {"provider": "openai"}))["data"]["modelConfigs"]
    assert sorted(node["modelName"] for node in openai["nodes"]) == ["gpt-4o", "gpt-4o-mini", "o1"]
    scoped = (await v2.graphql(MODEL_CONFIGS, {"scope": "VIRTUAL_KEY", "scopeId": key["id"]}))["data"]["modelConfigs"]
    assert [(node["modelName"], node["scopeId"]) for node in scoped["nodes"]] == [("*", key["id"])]
    searched = (await v2.graphql(MODEL_CONFIGS, {"search": "gpt"}))["data"]["modelConfigs"]
    assert {node["modelName"] for node in searched["nodes"]} == {"gpt-4o", "gpt-4o-mini"}

    first = (await v2.graphql(MODEL_CONFIGS, {"first": 2}))["data"]["modelConfigs"]
    assert first["pageInfo"]["hasNextPage"] is True and len(first["nodes"]) == 2
    rest = (await v2.graphql(MODEL_CONFIGS, {"first": 10, "after": first["pageInfo"]["endCursor"]}))["data"]
    seen = [node["id"] for node in first["nodes"] + rest["modelConfigs"]["nodes"]]
    assert len(seen) == 5 == len(set(seen))


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [({"scopeId": "../x"}, "scopeId"), ({"search": "s" * 256}, "search"), ({"first": 0}, "first")],
)
async def test_bad_list_arguments_are_refused_by_name_before_anything_is_sent(
    v2: Gateway, arguments: dict[str, Any], argument: str
) -> None:
    body = await v2.graphql(MODEL_CONFIGS, arguments)
    assert [(e["extensions"]["code"], e["extensions"].get("argument")) for e in body["errors"]] == [
        ("BAD_USER_INPUT", argument)
    ]
    assert config_reads(v2) == []


async def test_a_page_of_keys_reads_their_model_configs_with_one_list_call(v2: Gateway) -> None:
    keys = [await upstream_post(v2, "virtual-keys", {"name": f"key-{i}"}) for i in range(8)]
    for key in keys[:3]:
        await create(v2, modelName="gpt-4o", scope="VIRTUAL_KEY", scopeId=key["id"])
    await create(v2, modelName="gpt-4o")  # global: no key's
    v2.upstream.state.request_log.clear()
    body = await v2.graphql(KEYS_WITH_MODEL_CONFIGS, {"first": 25})
    assert "errors" not in body, body
    by_key = {node["id"]: node["modelConfigs"] for node in body["data"]["virtualKeys"]["nodes"]}
    for key in keys[:3]:
        assert [(c["modelName"], c["scopeId"]) for c in by_key[key["id"]] if c["modelName"] == "gpt-4o"] == [
            ("gpt-4o", key["id"])
        ]
    for key in keys[3:]:
        assert all(config["scopeId"] == key["id"] for config in by_key[key["id"]])
    assert len(config_reads(v2)) == 1, "one list call for the whole page, not one per key"


async def test_one_key_reads_its_model_configs_with_one_filtered_call(v2: Gateway) -> None:
    key = await upstream_post(v2, "virtual-keys", {"name": "alone"})
    await create(v2, modelName="o1", scope="VIRTUAL_KEY", scopeId=key["id"])
    v2.upstream.state.request_log.clear()
    body = await v2.graphql("query($id: ID!) { virtualKey(id: $id) { modelConfigs { modelName } } }", {"id": key["id"]})
    assert "o1" in [config["modelName"] for config in body["data"]["virtualKey"]["modelConfigs"]]
    reads = config_reads(v2)
    assert len(reads) == 1 and f"scope_id={key['id']}" in reads[0].query


async def test_a_keys_configs_read_before_a_create_are_read_again_after_it(v2: Gateway) -> None:
    key = await upstream_post(v2, "virtual-keys", {"name": "stale"})
    document = """
    mutation($key: ID!) {
      before: updateVirtualKey(input: {id: $key, description: "a"}) { virtualKey { modelConfigs { modelName } } }
      createModelConfig(input: {modelName: "o1", scope: VIRTUAL_KEY, scopeId: $key}) { userErrors { code } }
      after: updateVirtualKey(input: {id: $key, description: "b"}) { virtualKey { modelConfigs { modelName } } }
    }
    """
    body = await v2.graphql(document, {"key": key["id"]})
    assert "errors" not in body, body
    before = [config["modelName"] for config in body["data"]["before"]["virtualKey"]["modelConfigs"]]
    after = [config["modelName"] for config in body["data"]["after"]["virtualKey"]["modelConfigs"]]
    assert "o1" not in before and "o1" in after
