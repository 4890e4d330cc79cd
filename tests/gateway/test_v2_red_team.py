"""Hostile traffic over the v2 surface: deep and aliased documents over the new lists are priced and refused
before Bifrost is asked; Bifrost's 500s on the new routes never reach the client and reach the logs only
redacted; an older Bifrost claiming to be v2 still gets typed answers; model and provider names (and the list
filters on them) a client should not send are refused naming the field, the others stored as sent."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.generations import generation_named
from app.keys import entry_for
from app.settings import Settings
from app.web import create_app
from tests.gateway.arrange import FailingTransport, result_of, upstream_error, upstream_post
from tests.gateway.conftest import REVEAL_KEY, Gateway, make_gateway
from tests.gateway.v2_documents import (
    CLEAR_OVERRIDE,
    CREATE_MODEL_CONFIG,
    MODEL_CONFIG,
    MODEL_CONFIGS,
    ROTATE_KEY_MASKED,
    SET_OVERRIDE,
    SET_PROVIDER_GOVERNANCE,
)

SECRET = (
    "pq: dial postgres://bifrost:hunter2@db.internal:5432/bifrost failed (token=sk-bf-0123456789abcdef) "
    "at internal.go:42"
)

WIDE_KEYS = (
    "query { "
    + " ".join(
        f"k{i}: virtualKeys(first: 100) {{ nodes {{ modelConfigs {{ budgets {{ id }} rateLimits {{ id }} }} "
        "providerConfigs { modelBudgets { budgets { id } } } } }"
        for i in range(12)
    )
    + " }"
)
WIDE_CONFIGS = (
    "query { "
    + " ".join(
        f"m{i}: modelConfigs(first: 100) {{ nodes {{ budgets {{ id }} rateLimits {{ id }} }} }}" for i in range(12)
    )
    + " }"
)
WIDE_CUSTOMERS = (
    "query { "
    + " ".join(
        f"c{i}: customers(first: 100) {{ nodes {{ budgets {{ id override {{ __typename }} }} }} }}" for i in range(12)
    )
    + " }"
)


@pytest.mark.parametrize(
    ("document", "max_cost"),
    [(WIDE_KEYS, 50_000), (WIDE_CONFIGS, 5_000), (WIDE_CUSTOMERS, 10_000)],
    ids=["keys", "configs", "customers"],
)
async def test_wide_documents_are_refused_before_bifrost(document: str, max_cost: int) -> None:
    gw = await make_gateway("v2", max_query_cost=max_cost)
    before = len(gw.upstream.state.request_log)
    response = await gw.http.post("/graphql", json={"query": document})
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"], body
    assert body["errors"][0]["extensions"]["cost"] > max_cost
    assert len(gw.upstream.state.request_log) == before
    await gw.http.aclose()


async def test_one_page_of_keys_with_configs_is_priced_plausibly() -> None:
    gw = await make_gateway("v2")
    one = WIDE_KEYS.split(" k1:")[0].replace("k0: ", "") + " }"
    response = await gw.http.post("/graphql", json={"query": one}, headers={"X-Query-Cost": "1"})
    body = response.json()
    assert "errors" not in body, body
    # 100 keys, each with its configs (one list call for the page) and provider configs inline
    cost = body["extensions"]["cost"]["requestedQueryCost"]
    assert 100 < cost <= 50_000, cost
    await gw.http.aclose()


def failing_on(gw_box: dict[str, str]) -> Any:
    """Answer 500 with Bifrost's internals for requests whose path contains ``gw_box["match"]``."""

    def fail(request: httpx.Request) -> httpx.Response | None:
        match = gw_box["match"]
        return upstream_error(500, SECRET) if match and match in request.url.path else None

    return fail


async def failing_gateway() -> tuple[Gateway, dict[str, str]]:
    box = {"match": ""}
    upstream = create_embedded_bifrost(database=":memory:", generation="v2")
    app = create_app(
        Settings(
            bifrost_url="http://bifrost.internal:8080", gateway_api_keys=entry_for("t", REVEAL_KEY, can_reveal=True)
        ),
        transport=FailingTransport(upstream, failing_on(box)),
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
    return Gateway(app=app, http=http, upstream=upstream, generation=generation_named("v2")), box


KEY = "query { virtualKeys(first: 5) { nodes { id modelConfigs { id budgets { id } } } } }"
NEW_ROUTES = [
    ("/model-configs", "query { modelConfigs(first: 5) { nodes { id } } }", {}),
    ("/model-configs", MODEL_CONFIG, {"id": "mc-1"}),
    ("/model-configs", CREATE_MODEL_CONFIG, {"input": {"modelName": "gpt-4o"}}),
    ("/model-configs", KEY, {}),  # the keys are read, their configs are not
    ("/providers", "{ providerGovernance { provider } }", {}),
    ("/providers", SET_PROVIDER_GOVERNANCE, {"provider": "openai", "input": {"calendarAligned": True}}),
    ("/rotate", ROTATE_KEY_MASKED, {"id": "$key"}),
    ("/override", SET_OVERRIDE, {"key": "$key", "budget": "$budget", "input": {"amount": 5, "mode": "FOREVER"}}),
    ("/override", CLEAR_OVERRIDE, {"key": "$key", "budget": "$budget"}),
]
LEAKS = ("pq:", "hunter2", "sk-bf-", "db.internal", "bifrost.internal", "internal.go")


@pytest.mark.parametrize(("match", "document", "variables"), NEW_ROUTES)
async def test_bifrost_500_on_new_routes_stays_inside(
    match: str, document: str, variables: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    gw, box = await failing_gateway()
    key = await upstream_post(gw, "virtual-keys", {"name": "k", "budgets": [{"max_limit": 10, "reset_duration": "1d"}]})
    ids = {"$key": key["id"], "$budget": (key.get("budgets") or [{"id": "b-1"}])[0]["id"]}
    variables = {name: ids.get(value, value) if isinstance(value, str) else value for name, value in variables.items()}
    box["match"] = match
    caplog.set_level(logging.DEBUG)
    response = await gw.http.post("/graphql", json={"query": document, "variables": variables})
    assert response.status_code == 200 and not any(leak in response.text for leak in LEAKS), response.text
    errors = response.json().get("errors", [])
    assert [(e["extensions"]["code"], e["extensions"]["upstream"]) for e in errors] == [
        ("UPSTREAM_ERROR", {"status": 500})
    ], errors
    assert caplog.records  # the failure is logged for operators, redacted
    for record in caplog.records:
        line = f"{record.getMessage()} {record.__dict__} {record.exc_text or ''}"
        assert not any(leak in line for leak in LEAKS[1:]), line
    box["match"] = ""
    again = await gw.graphql(document, variables)
    assert "errors" not in again, again
    await gw.http.aclose()


NAMES = ["", "   ", "x" * 10_240, "gpt-4o-ünïcødé-模型", "gpt\x00-4o", "gpt\n4o", "gpt\u202e4o"]


@pytest.mark.parametrize("name", NAMES, ids=["empty", "blank", "10k", "unicode", "nul", "newline", "bidi"])
async def test_model_names(name: str) -> None:
    gw = await make_gateway("v2")
    before = len(gw.upstream_calls("POST"))
    body = await gw.graphql(CREATE_MODEL_CONFIG, {"input": {"modelName": name, "provider": "openai"}})
    assert "errors" not in body, body
    payload = result_of(body, "createModelConfig")
    if payload["userErrors"]:
        assert payload["userErrors"][0]["field"][-1] == "modelName", payload
        assert len(gw.upstream_calls("POST")) == before
    else:
        assert payload["modelConfig"]["modelName"] == name
        again = await gw.graphql(MODEL_CONFIG, {"id": payload["modelConfig"]["id"]})
        assert again["data"]["modelConfig"]["modelName"] == name
    await gw.http.aclose()


@pytest.mark.parametrize("name", NAMES, ids=["empty", "blank", "10k", "unicode", "nul", "newline", "bidi"])
async def test_provider_names(name: str) -> None:
    gw = await make_gateway("v2")
    before = len(gw.upstream_calls("PUT")) + len(gw.upstream_calls("POST"))
    body = await gw.graphql(
        SET_PROVIDER_GOVERNANCE, {"provider": name, "input": {"budgets": [{"maxLimit": 5, "resetDuration": "1d"}]}}
    )
    assert "errors" not in body, body
    payload = result_of(body, "setProviderGovernance")
    if payload["userErrors"]:
        assert payload["userErrors"][0]["field"][-1] == "provider", payload
        assert len(gw.upstream_calls("PUT")) + len(gw.upstream_calls("POST")) == before
    else:
        assert payload["providerGovernance"]["provider"] == name
    await gw.http.aclose()

    mgw = await make_gateway("v2")
    body = await mgw.graphql(CREATE_MODEL_CONFIG, {"input": {"modelName": "gpt-4o", "provider": name}})
    assert "errors" not in body, body
    payload = result_of(body, "createModelConfig")
    if payload["userErrors"]:
        assert payload["userErrors"][0]["field"][-1] == "provider", payload
    else:
        assert payload["modelConfig"]["provider"] == name
    await mgw.http.aclose()


@pytest.mark.parametrize("argument", ["provider", "search"])
@pytest.mark.parametrize(
    "value", ["gpt\x00-4o", "gpt\n4o", "gpt\u202e4o", "   "], ids=["nul", "newline", "bidi", "blank"]
)
async def test_list_filters_with_characters_no_name_holds_are_refused_before_bifrost(argument: str, value: str) -> None:
    # A NUL in a query parameter is a 500 from a Postgres-backed Bifrost; the names it filters on cannot hold it.
    gw = await make_gateway("v2")
    body = await gw.graphql(MODEL_CONFIGS, {argument: value})
    assert [(e["extensions"]["code"], e["extensions"].get("argument")) for e in body["errors"]] == [
        ("BAD_USER_INPUT", argument)
    ], body
    assert argument in body["errors"][0]["message"]
    assert gw.upstream_calls("GET", "/api/governance/model-configs") == []
    await gw.http.aclose()


async def test_list_filters_in_any_script_are_sent_as_given() -> None:
    gw = await make_gateway("v2")
    await gw.graphql(CREATE_MODEL_CONFIG, {"input": {"modelName": "模型-ünï", "provider": "openai"}})
    body = await gw.graphql(MODEL_CONFIGS, {"search": "模型", "provider": "openai"})
    assert [node["modelName"] for node in body["data"]["modelConfigs"]["nodes"]] == ["模型-ünï"], body
    await gw.http.aclose()


TEAMS_PAGE = """
{ teams(first: 10) { totalCount nodes { id name calendarAligned budget { id maxLimit currentUsage }
  budgets { id maxLimit effectiveMaxLimit override { amount } } customer { id name } virtualKeyCount } } }
"""
CUSTOMER = """
query Customer($id: ID!) { customer(id: $id) { id name calendarAligned budgetId budget { id maxLimit }
  budgets { id maxLimit resetDuration effectiveMaxLimit override { amount mode } } virtualKeyCount
  teams { id name } } }
"""


@pytest.mark.parametrize("generation", ["seed", "current"])
@pytest.mark.parametrize("version", ["v2.0.0", "v9.9.9", "v2", "2"])
async def test_an_older_bifrost_that_says_it_is_v2_still_gets_typed_answers(generation: str, version: str) -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation=generation, version=version)
    app = create_app(Settings(bifrost_url="http://bifrost.internal:8080"), transport=httpx.ASGITransport(app=upstream))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
    gw = Gateway(app=app, http=http, upstream=upstream, generation=generation_named(generation))
    customer = await upstream_post(
        gw, "customers", {"name": "Acme", "budget": {"max_limit": 500, "reset_duration": "1M"}}
    )
    await upstream_post(gw, "teams", {"name": "Core", "customer_id": customer["id"]})
    for document, variables in ((TEAMS_PAGE, None), (CUSTOMER, {"id": customer["id"]})):
        response = await http.post("/graphql", json={"query": document, "variables": variables})
        assert response.status_code == 200, response.text
        body = response.json()
        codes = [error["extensions"]["code"] for error in body.get("errors", [])]
        assert "INTERNAL_SERVER_ERROR" not in codes and all(codes), body
        assert body["data"] is not None or codes, body
    # The budget Bifrost stored is read from whichever shape it came in, not lost to the claimed version.
    assert [budget["maxLimit"] for budget in body["data"]["customer"]["budgets"]] == [500.0], body
    await http.aclose()
