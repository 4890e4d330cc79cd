"""The inputs Bifrost v2 added, as they go upstream on each generation, and the v2 traps closed.

On v2 each new input is sent in v2's words; on older generations (and while the generation is unknown) it is
refused with UNSUPPORTED_BY_UPSTREAM on its field and nothing is written. Bodies are read off the wire
(``recording_gateway``) in front of the embedded server of each generation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.generations import V2
from app.settings import Settings
from app.web import create_app
from tests.gateway.arrange import (
    FailingTransport,
    codes,
    recording_gateway,
    upstream_error,
    upstream_get,
    upstream_post,
)
from tests.gateway.conftest import Gateway

Sent = list[tuple[str, str, Any]]

# What each generation's /api/version answers: the gateway reads the generation from it.
VERSIONS = {"seed": ("seed", None), "v1.5": ("current", None), "v2": ("v2", None)}

CREATE_TEAM = """
mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } userErrors { field message code } } }
"""
UPDATE_TEAM = """
mutation($input: UpdateTeamInput!) { updateTeam(input: $input) { team { id } userErrors { field message code } } }
"""
CREATE_CUSTOMER = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id } userErrors { field message code } }
}
"""
UPDATE_CUSTOMER = """
mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { customer { id } userErrors { field message code } }
}
"""
CREATE_KEY = """
mutation($input: CreateVirtualKeyInput!) {
  createVirtualKey(input: $input) { virtualKey { id } userErrors { field message code } }
}
"""
UPDATE_KEY = """
mutation($input: UpdateVirtualKeyInput!) {
  updateVirtualKey(input: $input) { virtualKey { id } userErrors { field message code } }
}
"""


async def on(generation: str) -> tuple[Gateway, Sent]:
    server, version = VERSIONS[generation]
    return await recording_gateway(server, version=version)


@pytest.fixture(params=list(VERSIONS))
async def recorded(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Gateway, Sent, str]]:
    gw, sent = await on(request.param)
    yield gw, sent, request.param
    await gw.http.aclose()


@pytest.fixture
async def v2() -> AsyncIterator[tuple[Gateway, Sent]]:
    gw, sent = await on("v2")
    yield gw, sent
    await gw.http.aclose()


@pytest.fixture(params=["seed", "v1.5"])
async def older(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Gateway, Sent]]:
    gw, sent = await on(request.param)
    yield gw, sent
    await gw.http.aclose()


async def run(gw: Gateway, document: str, given: dict[str, Any]) -> dict[str, Any]:
    body = await gw.graphql(document, {"input": given})
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


def future(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


# Customer budgets -----------------------------------------------------------------------------------------

BUDGET_DAY = {"maxLimit": 5, "resetDuration": "1d"}
BUDGET_MONTH = {"maxLimit": 100, "resetDuration": "1M"}


async def test_customer_budgets_on_v2_are_sent_as_budgets(v2: tuple[Gateway, Sent]) -> None:
    gw, sent = v2
    result = await run(gw, CREATE_CUSTOMER, {"name": "Acme", "budgets": [BUDGET_DAY, BUDGET_MONTH]})
    assert result["userErrors"] == []
    [(_, path, body)] = sent
    assert path == "/api/governance/customers"
    assert body == {
        "name": "Acme",
        "budgets": [{"max_limit": 5, "reset_duration": "1d"}, {"max_limit": 100, "reset_duration": "1M"}],
    }


async def test_customer_budgets_empty_on_update_deletes_all_only_when_given(v2: tuple[Gateway, Sent]) -> None:
    gw, sent = v2
    customer = await upstream_post(gw, "customers", {"name": "Acme"})
    await run(gw, UPDATE_CUSTOMER, {"id": customer["id"], "name": "Acme 2"})
    assert sent[-1][2] == {"name": "Acme 2"}  # left out: the budgets stay
    await run(gw, UPDATE_CUSTOMER, {"id": customer["id"], "budgets": []})
    assert sent[-1][2] == {"budgets": []}
    await run(gw, UPDATE_CUSTOMER, {"id": customer["id"], "budgets": None})
    assert sent[-1][2] == {"budgets": []}
    # On create an empty list is no budget at all, not a deletion.
    await run(gw, CREATE_CUSTOMER, {"name": "Beta", "budgets": []})
    assert sent[-1][2] == {"name": "Beta"}


async def test_customer_budget_ids_on_v2_keep_a_budget_through_a_new_duration(v2: tuple[Gateway, Sent]) -> None:
    gw, sent = v2
    customer = await upstream_post(
        gw, "customers", {"name": "Acme", "budgets": [{"max_limit": 100, "reset_duration": "1M"}]}
    )
    [budget] = customer["budgets"]
    given = {"id": customer["id"], "budgets": [{**BUDGET_MONTH, "resetDuration": "1w", "id": budget["id"]}]}
    result = await run(gw, UPDATE_CUSTOMER, given)
    assert result["userErrors"] == []
    assert sent[-1][2] == {"budgets": [{"max_limit": 100, "reset_duration": "1w", "id": budget["id"]}]}
    stored = await upstream_get(gw, "customers", customer["id"])
    assert stored is not None
    assert [(b["id"], b["reset_duration"]) for b in stored["budgets"]] == [(budget["id"], "1w")]
    # Another entity's budget id is Bifrost's to refuse, named on the budgets.
    result = await run(
        gw, UPDATE_CUSTOMER, {**given, "budgets": [{**BUDGET_DAY, "id": "3f0c1e2d-4b5a-4c6d-8e7f-9a0b1c2d3e4f"}]}
    )
    assert codes(result) == [(["input", "budgets"], "INVALID_INPUT")]
    assert (
        result["userErrors"][0]["message"]
        == "budget 3f0c1e2d-4b5a-4c6d-8e7f-9a0b1c2d3e4f does not belong to this entity"
    )


async def test_several_customer_budgets_on_older_versions_are_refused(older: tuple[Gateway, Sent]) -> None:
    gw, sent = older
    result = await run(gw, CREATE_CUSTOMER, {"name": "Acme", "budgets": [BUDGET_DAY, BUDGET_MONTH]})
    assert codes(result) == [(["input", "budgets"], "UNSUPPORTED_BY_UPSTREAM")]
    assert sent == []


async def test_one_customer_budget_on_older_versions_is_their_single_budget(older: tuple[Gateway, Sent]) -> None:
    gw, sent = older
    result = await run(gw, CREATE_CUSTOMER, {"name": "Acme", "budgets": [BUDGET_MONTH]})
    assert result["userErrors"] == []
    assert sent[-1][2] == {"name": "Acme", "budget": {"max_limit": 100, "reset_duration": "1M"}}
    customer_id = result["customer"]["id"]
    await run(gw, UPDATE_CUSTOMER, {"id": customer_id, "budgets": []})
    assert sent[-1][2] == {"budget": {}}  # their way to remove the budget


async def test_customer_budget_ids_on_older_versions_are_refused(older: tuple[Gateway, Sent]) -> None:
    gw, sent = older
    customer = await upstream_post(gw, "customers", {"name": "Acme"})
    given = {"id": customer["id"], "budgets": [{**BUDGET_DAY, "id": "3f0c1e2d-4b5a-4c6d-8e7f-9a0b1c2d3e4f"}]}
    result = await run(gw, UPDATE_CUSTOMER, given)
    assert codes(result) == [(["input", "budgets", "0", "id"], "UNSUPPORTED_BY_UPSTREAM")]
    assert sent == []


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"budget": BUDGET_DAY, "budgets": [BUDGET_MONTH]}, ["input", "budgets"]),
        ({"budgets": [BUDGET_DAY, BUDGET_DAY]}, ["input", "budgets", "1", "resetDuration"]),
        ({"budgets": [{**BUDGET_DAY, "id": "../customers"}]}, ["input", "budgets", "0", "id"]),
        ({"budgets": [{**BUDGET_DAY, "id": "3f0c1e2d-4b5a-4c6d-8e7f-9a0b1c2d3e4f"}]}, ["input", "budgets", "0", "id"]),
    ],
)
async def test_customer_budgets_that_cannot_be_sent_are_refused_by_field(
    v2: tuple[Gateway, Sent], given: dict[str, Any], field: list[str]
) -> None:
    gw, sent = v2
    result = await run(gw, CREATE_CUSTOMER, {"name": "Acme", **given})
    assert [error["field"] for error in result["userErrors"]] == [field]
    assert sent == []


async def test_team_budget_ids_are_refused_on_v2_where_team_budgets_match_by_duration(v2: tuple[Gateway, Sent]) -> None:
    gw, sent = v2
    team = await upstream_post(gw, "teams", {"name": "platform"})
    given = {"id": team["id"], "budgets": [{**BUDGET_DAY, "id": "3f0c1e2d-4b5a-4c6d-8e7f-9a0b1c2d3e4f"}]}
    result = await run(gw, UPDATE_TEAM, given)
    assert codes(result) == [(["input", "budgets", "0", "id"], "UNSUPPORTED_BY_UPSTREAM")]
    assert sent == []


async def test_while_the_version_is_unknown_one_customer_budget_goes_and_several_are_refused() -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="current", expose_version=False)
    app = create_app(Settings(bifrost_url="http://bifrost.internal"), transport=httpx.ASGITransport(app=upstream))
    gw = Gateway(
        app=app,
        http=httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw"),
        upstream=upstream,
        generation=V2,
    )
    try:
        result = await run(gw, CREATE_CUSTOMER, {"name": "Acme", "budgets": [BUDGET_DAY, BUDGET_MONTH]})
        assert codes(result) == [(["input", "budgets"], "UNSUPPORTED_BY_UPSTREAM")]
        assert "not known yet" in result["userErrors"][0]["message"]
        result = await run(gw, CREATE_CUSTOMER, {"name": "Acme", "budgets": [BUDGET_DAY]})
        assert result["userErrors"] == []
        writes = [r for r in upstream.state.request_log if r.method != "GET"]
        assert [(r.method, r.path) for r in writes] == [("POST", "/api/governance/customers")]
    finally:
        await gw.http.aclose()


# calendarAligned ------------------------------------------------------------------------------------------

OWNER_WRITES = [
    (CREATE_TEAM, lambda ids: {"name": "t2"}),
    (UPDATE_TEAM, lambda ids: {"id": ids["team"]}),
    (CREATE_CUSTOMER, lambda ids: {"name": "c2"}),
    (UPDATE_CUSTOMER, lambda ids: {"id": ids["customer"]}),
    (CREATE_KEY, lambda ids: {"name": "k2"}),
    (UPDATE_KEY, lambda ids: {"id": ids["key"]}),
]


async def arranged(gw: Gateway) -> dict[str, str]:
    team = await upstream_post(gw, "teams", {"name": "platform"})
    customer = await upstream_post(gw, "customers", {"name": "Acme"})
    key = await upstream_post(gw, "virtual-keys", {"name": "k", "team_id": team["id"]})
    return {"team": team["id"], "customer": customer["id"], "key": key["id"]}


@pytest.mark.parametrize(("document", "base"), OWNER_WRITES)
async def test_calendar_aligned_goes_to_v2_and_is_refused_before(
    recorded: tuple[Gateway, Sent, str], document: str, base: Any
) -> None:
    gw, sent, generation = recorded
    ids = await arranged(gw)
    result = await run(gw, document, {**base(ids), "calendarAligned": True})
    if generation == "v2":
        assert result["userErrors"] == []
        assert sent[-1][2]["calendar_aligned"] is True
    else:
        assert codes(result) == [(["input", "calendarAligned"], "UNSUPPORTED_BY_UPSTREAM")]
        assert sent == []


@pytest.mark.parametrize("document", [UPDATE_TEAM, UPDATE_CUSTOMER, UPDATE_KEY])
async def test_calendar_aligned_null_on_update_is_refused(v2: tuple[Gateway, Sent], document: str) -> None:
    gw, sent = v2
    ids = await arranged(gw)
    entity = {UPDATE_TEAM: "team", UPDATE_CUSTOMER: "customer", UPDATE_KEY: "key"}[document]
    result = await run(gw, document, {"id": ids[entity], "calendarAligned": None})
    assert codes(result) == [(["input", "calendarAligned"], "INVALID_INPUT")]
    assert sent == []


# Key expiry, every provider, usage reset ------------------------------------------------------------------


async def test_expires_at_goes_to_v2_as_rfc3339_and_null_clears_it(v2: tuple[Gateway, Sent]) -> None:
    gw, sent = v2
    result = await run(gw, CREATE_KEY, {"name": "k", "expiresAt": "2099-01-31T10:00:00+02:00"})
    assert result["userErrors"] == []
    assert sent[-1][2]["expires_at"] == "2099-01-31T10:00:00+02:00"
    key_id = result["virtualKey"]["id"]
    await run(gw, UPDATE_KEY, {"id": key_id, "expiresAt": "2099-06-01T00:00:00Z"})
    assert sent[-1][2]["expires_at"] == "2099-06-01T00:00:00+00:00"
    await run(gw, UPDATE_KEY, {"id": key_id, "expiresAt": None})
    assert sent[-1][2] == {"expires_at": ""}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2001-01-01T00:00:00Z", "expiresAt must be in the future"),
        ("0001-01-01T00:00:00Z", "expiresAt must be in the future"),
        ("0001-01-01T00:00:00+05:00", "expiresAt must be in the future"),
        ("2099-01-31T10:00:00", "expiresAt must be an RFC 3339 time with an offset, e.g. 2027-01-31T00:00:00Z"),
        ("2099-01-31", "expiresAt must be an RFC 3339 time with an offset, e.g. 2027-01-31T00:00:00Z"),
    ],
)
@pytest.mark.parametrize("document", [CREATE_KEY, UPDATE_KEY])
async def test_an_expiry_in_the_past_or_without_offset_is_refused_by_name(
    v2: tuple[Gateway, Sent], document: str, value: str, message: str
) -> None:
    gw, sent = v2
    key = await upstream_post(gw, "virtual-keys", {"name": "k"})
    base = {"name": "k2"} if document is CREATE_KEY else {"id": key["id"]}
    result = await run(gw, document, {**base, "expiresAt": value})
    assert [(e["field"], e["message"], e["code"]) for e in result["userErrors"]] == [
        (["input", "expiresAt"], message, "INVALID_INPUT")
    ]
    assert sent == []


@pytest.mark.parametrize("value", ["x" * 10_000, "tomorrow", "2099-13-45T00:00:00Z", 1893456000])
async def test_an_expiry_that_is_no_time_is_refused_naming_the_field(v2: tuple[Gateway, Sent], value: Any) -> None:
    gw, sent = v2
    response = await gw.http.post(
        "/graphql", json={"query": CREATE_KEY, "variables": {"input": {"name": "k", "expiresAt": value}}}
    )
    body = response.json()
    assert body.get("data") is None
    [error] = body["errors"]
    assert "expiresAt" in error["message"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert len(response.content) < len(str(value)) + 1_000  # echoed at most once, never amplified
    assert sent == []


@pytest.mark.parametrize(
    ("document", "given", "field", "sent_as"),
    [
        (CREATE_KEY, {"name": "k2", "expiresAt": "2099-01-01T00:00:00Z"}, "expiresAt", "expires_at"),
        (CREATE_KEY, {"name": "k2", "allowAllProviders": True}, "allowAllProviders", "allow_all_providers"),
        (UPDATE_KEY, {"allowAllProviders": False}, "allowAllProviders", "allow_all_providers"),
        (UPDATE_KEY, {"resetBudgetUsage": True}, "resetBudgetUsage", "reset_budget_usage"),
        (UPDATE_KEY, {"expiresAt": None}, "expiresAt", "expires_at"),
    ],
)
async def test_key_inputs_of_v2_go_to_v2_and_are_refused_before(
    recorded: tuple[Gateway, Sent, str], document: str, given: dict[str, Any], field: str, sent_as: str
) -> None:
    gw, sent, generation = recorded
    key = await upstream_post(gw, "virtual-keys", {"name": "k"})
    base = {} if document is CREATE_KEY else {"id": key["id"]}
    result = await run(gw, document, {**base, **given})
    if generation == "v2":
        assert result["userErrors"] == []
        assert sent_as in sent[-1][2]
    else:
        assert codes(result) == [(["input", field], "UNSUPPORTED_BY_UPSTREAM")]
        assert sent == []


@pytest.mark.parametrize("field", ["allowAllProviders", "resetBudgetUsage"])
async def test_key_flags_null_on_update_are_refused(v2: tuple[Gateway, Sent], field: str) -> None:
    gw, sent = v2
    key = await upstream_post(gw, "virtual-keys", {"name": "k"})
    result = await run(gw, UPDATE_KEY, {"id": key["id"], field: None})
    assert codes(result) == [(["input", field], "INVALID_INPUT")]
    assert sent == []


# Provider configs: blacklisted models, the empty allowedModels trap -----------------------------------------


async def test_blacklisted_models_go_to_v2_and_are_refused_before(recorded: tuple[Gateway, Sent, str]) -> None:
    gw, sent, generation = recorded
    config = {"provider": "openai", "allowedModels": ["*"], "blacklistedModels": ["gpt-4o"]}
    result = await run(gw, CREATE_KEY, {"name": "k", "providerConfigs": [config]})
    if generation == "v2":
        assert result["userErrors"] == []
        [sent_config] = sent[-1][2]["provider_configs"]
        assert sent_config["blacklisted_models"] == ["gpt-4o"] and sent_config["allowed_models"] == ["*"]
    else:
        assert codes(result) == [(["input", "providerConfigs", "0", "blacklistedModels"], "UNSUPPORTED_BY_UPSTREAM")]
        assert sent == []


@pytest.mark.parametrize("field", ["blacklistedModels", "allowedModels"])
async def test_ten_thousand_models_are_refused_once_by_name(v2: tuple[Gateway, Sent], field: str) -> None:
    gw, sent = v2
    config = {"provider": "openai", field: [f"model-{i}" for i in range(10_000)]}
    result = await run(gw, CREATE_KEY, {"name": "k", "providerConfigs": [config]})
    assert [(e["field"], e["message"]) for e in result["userErrors"]] == [
        (["input", "providerConfigs", "0", field], f"{field} must have at most 1000 entries")
    ]
    assert sent == []


async def test_an_empty_allowed_models_on_v2_is_refused_unless_denying_all_is_said(v2: tuple[Gateway, Sent]) -> None:
    gw, sent = v2
    result = await run(gw, CREATE_KEY, {"name": "k", "providerConfigs": [{"provider": "openai", "allowedModels": []}]})
    assert codes(result) == [(["input", "providerConfigs", "0", "allowedModels"], "INVALID_INPUT")]
    assert '["*"]' in result["userErrors"][0]["message"]
    assert sent == []
    for config in (
        {"provider": "openai", "allowedModels": [], "denyAllModels": True},
        {"provider": "openai", "denyAllModels": True},
    ):
        result = await run(gw, CREATE_KEY, {"name": f"k{len(sent)}", "providerConfigs": [config]})
        assert result["userErrors"] == []
        assert sent[-1][2]["provider_configs"][0]["allowed_models"] == []


async def test_deny_all_models_with_models_named_is_refused(v2: tuple[Gateway, Sent]) -> None:
    gw, sent = v2
    config = {"provider": "openai", "allowedModels": ["gpt-4o"], "denyAllModels": True}
    result = await run(gw, CREATE_KEY, {"name": "k", "providerConfigs": [config]})
    assert codes(result) == [(["input", "providerConfigs", "0", "denyAllModels"], "INVALID_INPUT")]
    assert sent == []


async def test_an_empty_allowed_models_before_v2_still_means_all(older: tuple[Gateway, Sent]) -> None:
    gw, sent = older
    result = await run(gw, CREATE_KEY, {"name": "k", "providerConfigs": [{"provider": "openai", "allowedModels": []}]})
    assert result["userErrors"] == []
    assert sent[-1][2]["provider_configs"][0]["allowed_models"] == []
    config = {"provider": "openai", "denyAllModels": True}
    result = await run(gw, CREATE_KEY, {"name": "k2", "providerConfigs": [config]})
    assert codes(result) == [(["input", "providerConfigs", "0", "denyAllModels"], "UNSUPPORTED_BY_UPSTREAM")]


# Owners on v2: leaving both out keeps them, with nothing read or sent for them -------------------------------


async def test_a_v2_key_update_naming_no_owner_reads_and_sends_none(v2: tuple[Gateway, Sent]) -> None:
    gw, sent = v2
    team = await upstream_post(gw, "teams", {"name": "platform"})
    key = await upstream_post(gw, "virtual-keys", {"name": "k", "team_id": team["id"]})
    gw.upstream.state.request_log.clear()
    result = await run(gw, UPDATE_KEY, {"id": key["id"], "isActive": False})
    assert result["userErrors"] == []
    assert sent[-1][2] == {"is_active": False}
    assert [(r.method, r.path) for r in gw.upstream_calls()] == [("PUT", f"/api/governance/virtual-keys/{key['id']}")]


async def test_a_v2_key_update_with_both_owners_is_refused(v2: tuple[Gateway, Sent]) -> None:
    gw, sent = v2
    ids = await arranged(gw)
    result = await run(gw, UPDATE_KEY, {"id": ids["key"], "teamId": ids["team"], "customerId": ids["customer"]})
    assert codes(result) == [(["input", "customerId"], "INVALID_INPUT")]
    assert sent == []


# Taken names on v2: 409 at create, a bare 500 at update -----------------------------------------------------


async def test_a_v2_customer_renamed_to_a_taken_name_is_name_taken() -> None:
    def taken(request: httpx.Request) -> httpx.Response | None:
        if request.method == "PUT" and request.url.path.startswith("/api/governance/customers/"):
            return upstream_error(500, "Failed to update customer")
        return None

    upstream = create_embedded_bifrost(database=":memory:", generation="current", version="v2.2.5")
    app = create_app(Settings(bifrost_url="http://bifrost.internal"), transport=FailingTransport(upstream, taken))
    gw = Gateway(
        app=app,
        http=httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw"),
        upstream=upstream,
        generation=V2,
    )
    try:
        await upstream_post(gw, "customers", {"name": "Acme"})
        other = await upstream_post(gw, "customers", {"name": "Beta"})
        result = await run(gw, UPDATE_CUSTOMER, {"id": other["id"], "name": "Acme"})
        assert codes(result) == [(["input", "name"], "NAME_TAKEN")]
        # A 500 on a rename to a free name stays Bifrost's failure.
        body = await gw.graphql(UPDATE_CUSTOMER, {"input": {"id": other["id"], "name": "Gamma"}})
        assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_ERROR"
    finally:
        await gw.http.aclose()


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [
        (CREATE_TEAM, "/api/governance/teams", "A team with this name already exists"),
        (CREATE_CUSTOMER, "/api/governance/customers", "A customer with this name already exists"),
        (CREATE_KEY, "/api/governance/virtual-keys", "A virtual key with this name already exists"),
    ],
)
async def test_a_v2_409_at_create_is_name_taken(document: str, path: str, message: str) -> None:
    def conflict(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST" and request.url.path == path:
            return upstream_error(409, message)
        return None

    upstream = create_embedded_bifrost(database=":memory:", generation="current", version="v2.2.5")
    app = create_app(Settings(bifrost_url="http://bifrost.internal"), transport=FailingTransport(upstream, conflict))
    gw = Gateway(
        app=app,
        http=httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw"),
        upstream=upstream,
        generation=V2,
    )
    try:
        result = await run(gw, document, {"name": "taken"})
        assert [(e["field"], e["message"], e["code"]) for e in result["userErrors"]] == [
            (["input", "name"], message, "NAME_TAKEN")
        ]
    finally:
        await gw.http.aclose()


async def test_a_v2_config_entry_leaving_blacklisted_models_out_keeps_them() -> None:
    key_id = "7d3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a"
    stored = {
        "id": key_id,
        "name": "k",
        "value": "sk-bf-7d3c2b1a",
        "provider_configs": [
            {"id": 1, "provider": "openai", "weight": 1.0, "allowed_models": ["*"], "blacklisted_models": ["o1"]}
        ],
        "created_at": "2026-09-01T00:00:00Z",
        "updated_at": "2026-09-01T00:00:00Z",
    }
    puts: list[Any] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/version":
            return httpx.Response(200, json="v2.2.5")
        if request.method == "GET" and request.url.path.endswith(key_id):
            return httpx.Response(200, json={"virtual_key": stored})
        if request.method == "PUT":
            puts.append(orjson.loads(request.content))
            return httpx.Response(200, json={"message": "Virtual key updated successfully", "virtual_key": stored})
        return upstream_error(404, "Not found")

    app = create_app(Settings(bifrost_url="http://bifrost.internal"), transport=httpx.MockTransport(upstream))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        given = {"id": key_id, "providerConfigs": [{"provider": "openai", "weight": 0.5}]}
        response = await http.post("/graphql", json={"query": UPDATE_KEY, "variables": {"input": given}})
    assert response.json()["data"]["updateVirtualKey"]["userErrors"] == []
    [body] = puts
    assert body["provider_configs"] == [
        {
            "provider": "openai",
            "id": 1,
            "weight": 0.5,
            "allowed_models": ["*"],
            "blacklisted_models": ["o1"],
            "key_ids": [],
        }
    ]
