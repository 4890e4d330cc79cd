"""Fields Bifrost v2 added (and the ones it dropped) read through the gateway, on every generation.

The v2 payloads are arranged directly (``tests.gateway.v2_payloads``), so each v2 trap is pinned whatever the
embedded server answers; the older generations run over the embedded server.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.gateway.conftest import make_gateway, upstream_http
from tests.gateway.v2_payloads import (
    ACME,
    CUSTOMER_PAGE,
    GLOBEX,
    KEY,
    KEY_FIELDS,
    TEAM,
    TEAM_CUSTOMERS,
    Arranged,
    budget,
    customer,
    customer_list,
    embedded_customer_routes,
    key_route,
    provider_config,
    rate_limit,
    rich_key,
    team,
    virtual_key,
)

# Customers ------------------------------------------------------------------------------------------------------


async def test_v2_customer_page_answers_budgets_and_key_count_from_the_one_list_call() -> None:
    many = [
        customer(
            f"c0000000-0000-4000-8000-{n:012d}",
            f"customer-{n:03d}",
            virtual_key_count=n,
            calendar_aligned=n % 2 == 0,
            budgets=[budget(f"b{n}-day", 10 + n), budget(f"b{n}-month", 300 + n, "1M")],
        )
        for n in range(100)
    ]
    upstream = Arranged({"/api/governance/customers": customer_list(many)})
    data = await upstream.graphql(CUSTOMER_PAGE)
    nodes = data["customers"]["nodes"]
    assert len(nodes) == 100
    for n, node in enumerate(nodes):
        assert node["virtualKeyCount"] == n
        assert node["calendarAligned"] is (n % 2 == 0)
        assert [b["id"] for b in node["budgets"]] == [f"b{n}-day", f"b{n}-month"]
        # v2 dropped the single budget and its id: both answer the first of `budgets`.
        assert node["budget"] == {"id": f"b{n}-day", "maxLimit": 10 + n}
        assert node["budgetId"] == f"b{n}-day"
        assert all(b["effectiveMaxLimit"] == b["maxLimit"] and b["override"] is None for b in node["budgets"])
    assert upstream.governance_calls() == ["GET /api/governance/customers"]


async def test_v2_customer_without_budgets_answers_an_empty_list_without_a_call() -> None:
    upstream = Arranged({"/api/governance/customers": customer_list([customer(ACME, "Acme", virtual_key_count=3)])})
    data = await upstream.graphql(CUSTOMER_PAGE)
    [node] = data["customers"]["nodes"]
    assert (node["budgets"], node["budget"], node["budgetId"], node["virtualKeyCount"]) == ([], None, None, 3)
    assert upstream.governance_calls() == ["GET /api/governance/customers"]


async def test_v2_customer_embedded_in_a_team_is_read_from_its_own_get() -> None:
    upstream = Arranged(embedded_customer_routes())
    data = await upstream.graphql(TEAM_CUSTOMERS)
    assert [node["customer"] for node in data["teams"]["nodes"]] == [
        {
            "name": "Acme",
            "virtualKeyCount": 2,
            "calendarAligned": True,
            "budgetId": "acme-b",
            "budgets": [{"id": "acme-b"}],
        },
        {
            "name": "Acme",
            "virtualKeyCount": 2,
            "calendarAligned": True,
            "budgetId": "acme-b",
            "budgets": [{"id": "acme-b"}],
        },
        {"name": "Globex", "virtualKeyCount": 0, "calendarAligned": False, "budgetId": None, "budgets": []},
    ]
    # One GET per distinct customer, serving its count and its budgets together.
    assert sorted(upstream.governance_calls()) == [
        f"GET /api/governance/customers/{ACME}",
        f"GET /api/governance/customers/{GLOBEX}",
        "GET /api/governance/teams",
    ]


async def test_customer_fields_that_need_no_load_send_nothing_more_for_an_embedded_customer() -> None:
    teams = [team(TEAM, "platform", customer_id=ACME, customer=customer(ACME, "Acme", embedded=True))]
    upstream = Arranged({"/api/governance/teams": {"teams": teams, "count": 1, "total_count": 1}})
    data = await upstream.graphql("{ teams { nodes { customer { id name calendarAligned } } } }")
    assert data["teams"]["nodes"] == [{"customer": {"id": ACME, "name": "Acme", "calendarAligned": False}}]
    assert upstream.governance_calls() == ["GET /api/governance/teams"]


# Virtual keys and provider configs -------------------------------------------------------------------------------


async def test_v2_key_fields_overrides_and_provider_governance() -> None:
    upstream = Arranged(key_route(rich_key()))
    data = (await upstream.graphql(KEY_FIELDS, {"id": KEY}))["virtualKey"]
    assert {name: data[name] for name in ("expiresAt", "rotatedAt", "previousValueExpiresAt")} == {
        "expiresAt": "2027-01-01T00:00:00+00:00",
        "rotatedAt": "2026-11-01T12:00:00+00:00",
        "previousValueExpiresAt": "2026-11-01T12:05:00+00:00",
    }
    assert (data["calendarAligned"], data["allowAllProviders"], data["mcpConfigs"]) == (True, True, [])
    assert data["budgets"] == [
        {
            "id": "cycles",
            "maxLimit": 100.0,
            "effectiveMaxLimit": 125.5,
            "override": {
                "amount": 25.5,
                "mode": "CYCLES",
                "cyclesRemaining": 2,
                "cyclesTotal": 3,
                "anchorReset": "2026-10-01T00:00:00+00:00",
            },
        },
        {
            "id": "forever",
            "maxLimit": 10.0,
            "effectiveMaxLimit": 15.0,
            "override": {
                "amount": 5.0,
                "mode": "FOREVER",
                "cyclesRemaining": None,
                "cyclesTotal": None,
                "anchorReset": None,
            },
        },
    ]
    first, second = data["providerConfigs"]
    assert first["allowedModels"] == ["gpt-4o", "gpt-4o-mini"] and first["blacklistedModels"] == ["gpt-4o-mini"]
    assert first["allowAllKeys"] is True and first["keys"] == []  # `keys: null` reads as no key listed
    assert first["budgets"] == [{"id": "pc-b", "effectiveMaxLimit": 20.0, "override": None}]
    assert first["modelBudgets"] == [
        {
            "modelName": "gpt-4o",
            "budgets": [
                {"id": "m-b", "maxLimit": 3.0, "effectiveMaxLimit": 4.0, "override": {"amount": 1.0, "mode": "FOREVER"}}
            ],
            "rateLimit": {"id": "m-rl", "requestMaxLimit": "60", "metric": "REQUESTS"},
        },
        {"modelName": "gpt-4o-mini", "budgets": [], "rateLimit": None},
    ]
    # v2 leaves `model_budgets` out when a config has none: an empty list, not "unknown".
    assert (second["allowedModels"], second["blacklistedModels"], second["allowAllKeys"]) == ([], [], False)
    assert second["modelBudgets"] == []
    assert upstream.governance_calls() == [f"GET /api/governance/virtual-keys/{KEY}"]


@pytest.mark.parametrize(
    ("override", "effective", "shown"),
    [
        pytest.param({}, 10.0, None, id="none"),
        pytest.param({"override_amount": 4, "override_mode": "forever"}, 14.0, "FOREVER", id="forever"),
        pytest.param(
            {"override_amount": 4, "override_mode": "cycles", "override_cycles_remaining": 1},
            14.0,
            "CYCLES",
            id="cycles",
        ),
        # Spent cycles, a zero or negative amount: the override no longer counts (Bifrost's HasActiveOverride).
        pytest.param(
            {"override_amount": 4, "override_mode": "cycles", "override_cycles_remaining": 0},
            10.0,
            "CYCLES",
            id="spent",
        ),
        pytest.param({"override_amount": 0, "override_mode": "forever"}, 10.0, "FOREVER", id="zero-amount"),
        pytest.param({"override_amount": -3, "override_mode": "forever"}, 10.0, "FOREVER", id="negative-amount"),
        pytest.param({"override_amount": 4}, 10.0, None, id="amount-without-mode"),
        # A mode this gateway does not know is not shown as the enum (no error); it is not counted either.
        pytest.param({"override_amount": 4, "override_mode": "weekly"}, 10.0, None, id="unknown-mode"),
        pytest.param({"override_amount": 4, "override_mode": ""}, 10.0, None, id="empty-mode"),
        pytest.param({"override_mode": None, "override_amount": None}, 10.0, None, id="nulls"),
    ],
)
async def test_budget_override_and_effective_limit(
    override: dict[str, Any], effective: float, shown: str | None
) -> None:
    upstream = Arranged(key_route(virtual_key(KEY, "k", budgets=[budget("b", 10, **override)])))
    data = await upstream.graphql(
        "query ($id: ID!) { virtualKey(id: $id) { budgets { effectiveMaxLimit override { mode } } } }", {"id": KEY}
    )
    [found] = data["virtualKey"]["budgets"]
    assert found["effectiveMaxLimit"] == effective
    assert (found["override"] or {}).get("mode") == shown


async def test_huge_override_amounts_answer_the_largest_float_rather_than_an_error() -> None:
    huge = budget("b", 1.7e308, override_amount=1.7e308, override_mode="forever")
    upstream = Arranged(key_route(virtual_key(KEY, "k", budgets=[huge])))
    data = await upstream.graphql(
        "query ($id: ID!) { virtualKey(id: $id) { budgets { maxLimit effectiveMaxLimit } } }", {"id": KEY}
    )
    assert data["virtualKey"]["budgets"] == [{"maxLimit": 1.7e308, "effectiveMaxLimit": 1.7976931348623157e308}]


async def test_null_lists_read_as_empty_lists() -> None:
    key = virtual_key(KEY, "bare", provider_configs=None, mcp_configs=None)
    upstream = Arranged(
        {
            "/api/governance/virtual-keys": {
                "virtual_keys": [key],
                "count": 1,
                "total_count": 1,
                "limit": 25,
                "offset": 0,
            },
            "/api/governance/customers": {"customers": None, "count": 0, "total_count": 0, "limit": 25, "offset": 0},
            "/api/governance/teams": {"teams": None, "count": 0, "total_count": 0},
            "/api/governance/budgets": {"budgets": None, "count": 0},
        }
    )
    data = await upstream.graphql(
        "{ virtualKeys(first: 5) { nodes { providerConfigs { id } mcpConfigs { id } } }"
        " customers { totalCount nodes { id } } teams { nodes { id } } budgets { id } }"
    )
    assert data["virtualKeys"]["nodes"] == [{"providerConfigs": [], "mcpConfigs": []}]
    assert data["customers"] == {"totalCount": 0, "nodes": []}
    assert data["teams"]["nodes"] == [] and data["budgets"] == []


# Older generations ----------------------------------------------------------------------------------------------

OLDER_FIELDS = """
{
  customers { nodes {
    name calendarAligned virtualKeyCount budgetId budget { id }
    budgets { id maxLimit effectiveMaxLimit override { mode } }
  } }
  teams { nodes { name calendarAligned customer { name virtualKeyCount } } }
  virtualKeys { nodes {
    name expiresAt calendarAligned allowAllProviders rotatedAt previousValueExpiresAt
    budgets { maxLimit effectiveMaxLimit override { mode } }
    providerConfigs { blacklistedModels allowAllKeys modelBudgets { modelName } }
    rateLimit { metric }
  } }
  rateLimits { metric }
}
"""


@pytest.mark.parametrize("generation", ["seed", "current"])
async def test_older_generations_answer_null_for_v2_fields_and_their_own_values_for_the_rest(generation: str) -> None:
    gateway = await make_gateway(generation)
    async with upstream_http(gateway) as up:
        budget_body = {"max_limit": 40, "reset_duration": "1M"}
        acme = (await up.post("/api/governance/customers", json={"name": "Acme", "budget": budget_body})).json()
        acme_id = acme["customer"]["id"]
        await up.post("/api/governance/customers", json={"name": "Globex"})
        created = await up.post("/api/governance/teams", json={"name": "platform", "customer_id": acme_id})
        assert created.status_code == 200, created.text
        for n in range(2):
            key = {
                "name": f"acme-{n}",
                "customer_id": acme_id,
                "budget": {"max_limit": 5, "reset_duration": "1d"},
                "budgets": [{"max_limit": 5, "reset_duration": "1d"}],
                "provider_configs": [{"provider": "openai", "allowed_models": ["*"]}],
            }
            response = await up.post("/api/governance/virtual-keys", json=key)
            assert response.status_code == 200, response.text
    body = await gateway.graphql(OLDER_FIELDS)
    await gateway.http.aclose()
    assert "errors" not in body, body
    data = body["data"]
    customers = {node["name"]: node for node in data["customers"]["nodes"]}
    acme_budget = customers["Acme"]["budget"]["id"]
    assert customers["Acme"] == {
        "name": "Acme",
        "calendarAligned": None,
        "virtualKeyCount": 2,  # counted from the keys the customer list embeds
        "budgetId": acme_budget,
        "budget": {"id": acme_budget},
        "budgets": [{"id": acme_budget, "maxLimit": 40.0, "effectiveMaxLimit": 40.0, "override": None}],
    }
    assert customers["Globex"]["budgets"] == [] and customers["Globex"]["virtualKeyCount"] == 0
    assert data["teams"]["nodes"] == [
        {"name": "platform", "calendarAligned": None, "customer": {"name": "Acme", "virtualKeyCount": 2}}
    ]
    for node in data["virtualKeys"]["nodes"]:
        for name in ("expiresAt", "calendarAligned", "allowAllProviders", "rotatedAt", "previousValueExpiresAt"):
            assert node[name] is None, name
        assert node["budgets"] == [{"maxLimit": 5.0, "effectiveMaxLimit": 5.0, "override": None}]
        assert node["providerConfigs"] == [{"blacklistedModels": None, "allowAllKeys": None, "modelBudgets": None}]
        assert node["rateLimit"] is None or node["rateLimit"]["metric"] is None
    assert all(limit["metric"] is None for limit in data["rateLimits"])


def test_v2_only_fields_say_so_in_their_description() -> None:
    from app.schema.schema import build_schema

    schema = build_schema()
    sdl = str(schema)
    v2_only = {
        "Customer": ["calendarAligned"],
        "Team": ["calendarAligned"],
        "VirtualKey": ["expiresAt", "calendarAligned", "allowAllProviders", "rotatedAt", "previousValueExpiresAt"],
        "ProviderConfig": ["blacklistedModels", "allowAllKeys", "modelBudgets"],
        "Budget": ["override"],
        "RateLimit": ["metric"],
    }
    graphql_schema = schema._schema
    for type_name, fields in v2_only.items():
        for field_name in fields:
            description = graphql_schema.type_map[type_name].fields[field_name].description  # type: ignore[attr-defined]
            assert description and "(Bifrost v2; null on older versions)" in description, (type_name, field_name)
    assert re.search(r"enum BudgetOverrideMode \{\s+\"\"\"[^\"]+\"\"\"\s+CYCLES", sdl)


def test_the_new_list_fields_are_priced() -> None:
    from tests.gateway.test_query_cost import price

    # A customer: its object, its GET when it is partial (10), about 3 budgets.
    assert price("{ customers(first: 10) { nodes { budgets { id } } } }") == 10 + 1 + 10 * (1 + 10 + 3 * 1)
    # The count shares that GET with the budgets: no second call priced.
    assert price("{ customers(first: 10) { nodes { virtualKeyCount budgets { id } } } }") == 10 + 1 + 10 * 14
    # Per-model budgets arrive embedded in the key: objects only, no call.
    per_config = 1 + 1 * (1 + 2 * 1 + 1)  # the config, ~1 model with ~2 budgets and a rate limit
    document = (
        "{ virtualKeys(first: 10) { nodes { providerConfigs { modelBudgets { budgets { id } rateLimit { id } } } } } }"
    )
    assert price(document) == 10 + 1 + 10 * (1 + 3 * per_config)


async def test_rate_limit_metric_is_set_for_model_config_rules_only() -> None:
    limits = [
        rate_limit("tokens", metric="tokens", token_max_limit=1000, token_reset_duration="1h"),
        rate_limit("requests", metric="requests", request_max_limit=60, request_reset_duration="1m"),
        rate_limit(
            "owner", token_max_limit=5, token_reset_duration="1h", request_max_limit=5, request_reset_duration="1m"
        ),
        rate_limit("later", metric="dollars"),  # a metric this gateway does not know: null, not an error
        rate_limit("empty", metric=""),
    ]
    upstream = Arranged({"/api/governance/rate-limits": {"rate_limits": limits, "count": len(limits)}})
    data = await upstream.graphql("{ rateLimits { id metric } }")
    assert data["rateLimits"] == [
        {"id": "tokens", "metric": "TOKENS"},
        {"id": "requests", "metric": "REQUESTS"},
        {"id": "owner", "metric": None},
        {"id": "later", "metric": None},
        {"id": "empty", "metric": None},
    ]
    assert upstream.governance_calls() == ["GET /api/governance/rate-limits"]


# Over the embedded v2 server ------------------------------------------------------------------------------------


async def test_a_page_of_100_v2_customers_with_budgets_and_key_counts_is_one_upstream_call() -> None:
    gw = await make_gateway("v2")
    async with upstream_http(gw) as up:
        for n in range(100):
            budgets = [{"max_limit": 10 + n, "reset_duration": "1d"}, {"max_limit": 300, "reset_duration": "1M"}]
            created = await up.post("/api/governance/customers", json={"name": f"customer-{n:03d}", "budgets": budgets})
            assert created.status_code == 200, created.text
            for k in range(n % 3):
                key = {"name": f"key-{n}-{k}", "customer_id": created.json()["customer"]["id"]}
                assert (await up.post("/api/governance/virtual-keys", json=key)).status_code == 200
    gw.upstream.state.request_log.clear()
    body = await gw.graphql(CUSTOMER_PAGE)
    await gw.http.aclose()
    assert "errors" not in body, body
    nodes = body["data"]["customers"]["nodes"]
    assert len(nodes) == 100
    for n, node in enumerate(sorted(nodes, key=lambda node: node["name"])):
        assert node["virtualKeyCount"] == n % 3
        assert sorted(b["maxLimit"] for b in node["budgets"]) == [10 + n, 300]
        assert node["budget"]["id"] == node["budgetId"] == node["budgets"][0]["id"]
    assert [(call.method, call.path) for call in gw.upstream_calls()] == [("GET", "/api/governance/customers")]


async def test_v2_budgets_answer_their_owners_calendar_alignment() -> None:
    # v2 keeps `calendar_aligned` on the owner only; its budgets follow it (Bifrost stamps them when it loads them).
    model_budget = {"model_name": "gpt-4o", "budgets": [budget("model", 1)]}
    aligned = virtual_key(
        KEY,
        "aligned",
        calendar_aligned=True,
        budgets=[budget("key", 5)],
        provider_configs=[provider_config(1, budgets=[budget("config", 2)], model_budgets=[model_budget])],
        team=team(TEAM, "platform", calendar_aligned=True),
    )
    teams = [
        team(TEAM, "aligned", calendar_aligned=True, budgets=[budget("team", 3)]),
        team("70000000-0000-4000-8000-000000000002", "rolling", budgets=[budget("rolling", 3)]),
    ]
    upstream = Arranged(
        {
            **key_route(aligned),
            "/api/governance/teams": {"teams": teams, "count": 2, "total_count": 2},
            "/api/governance/customers": customer_list(
                [customer(ACME, "Acme", calendar_aligned=True, budgets=[budget("customer", 9)])]
            ),
        }
    )
    data = await upstream.graphql(
        """query ($id: ID!) {
          virtualKey(id: $id) { budgets { id calendarAligned }
            providerConfigs { budgets { id calendarAligned } modelBudgets { budgets { id calendarAligned } } } }
          teams { nodes { budgets { id calendarAligned } } }
          customers { nodes { budgets { id calendarAligned } } }
        }""",
        {"id": KEY},
    )
    key = data["virtualKey"]
    assert key["budgets"] == [{"id": "key", "calendarAligned": True}]
    assert key["providerConfigs"][0]["budgets"] == [{"id": "config", "calendarAligned": True}]
    assert key["providerConfigs"][0]["modelBudgets"][0]["budgets"] == [{"id": "model", "calendarAligned": True}]
    assert [node["budgets"] for node in data["teams"]["nodes"]] == [
        [{"id": "team", "calendarAligned": True}],
        [{"id": "rolling", "calendarAligned": False}],
    ]
    assert data["customers"]["nodes"][0]["budgets"] == [{"id": "customer", "calendarAligned": True}]


KEY_OVER_V2 = """
query ($id: ID!) {
  virtualKey(id: $id) {
    expiresAt calendarAligned allowAllProviders rotatedAt previousValueExpiresAt
    budgets { id maxLimit calendarAligned effectiveMaxLimit
      override { amount mode cyclesRemaining cyclesTotal anchorReset } }
    providerConfigs { allowedModels blacklistedModels allowAllKeys keys { keyId } modelBudgets { modelName } }
  }
  rateLimits { metric tokenMaxLimit }
}
"""


async def test_v2_key_fields_and_overrides_read_what_the_embedded_v2_server_stored() -> None:
    gw = await make_gateway("v2")
    async with upstream_http(gw) as up:
        key = {
            "name": "overridden",
            "calendar_aligned": True,
            "expires_at": "2099-01-01T00:00:00Z",
            "budgets": [{"max_limit": 10, "reset_duration": "1d"}, {"max_limit": 100, "reset_duration": "1M"}],
            "provider_configs": [
                {"provider": "openai", "allowed_models": ["*"], "blacklisted_models": ["gpt-4o-mini"], "key_ids": ["*"]}
            ],
        }
        created = await up.post("/api/governance/virtual-keys", json=key)
        assert created.status_code == 200, created.text
        key_id = created.json()["virtual_key"]["id"]
        day, month = sorted(created.json()["virtual_key"]["budgets"], key=lambda b: b["max_limit"])
        effective = {}
        for budget_id, override in (
            (day["id"], {"amount": 5, "mode": "cycles", "cycles": 2}),
            (month["id"], {"amount": 50, "mode": "forever"}),
        ):
            answer = await up.put(f"/api/governance/virtual-keys/{key_id}/budgets/{budget_id}/override", json=override)
            assert answer.status_code == 200, answer.text
            effective[budget_id] = answer.json()["effective_max_limit"]
        rule = {
            "model_name": "gpt-4o",
            "rate_limits": [{"metric": "tokens", "max_limit": 1000, "reset_duration": "1h"}],
        }
        assert (await up.post("/api/governance/model-configs", json=rule)).status_code == 200
        stored = (await up.get(f"/api/governance/virtual-keys/{key_id}")).json()["virtual_key"]
    gw.upstream.state.request_log.clear()
    body = await gw.graphql(KEY_OVER_V2, {"id": key_id})
    await gw.http.aclose()
    assert "errors" not in body, body
    found = body["data"]["virtualKey"]
    assert found["expiresAt"].startswith("2099-01-01T00:00:00") and found["calendarAligned"] is True
    assert (
        found["allowAllProviders"] is False and found["rotatedAt"] is None and found["previousValueExpiresAt"] is None
    )
    budgets = {b["id"]: b for b in found["budgets"]}
    assert all(b["calendarAligned"] for b in found["budgets"])  # the key's alignment
    # The gateway's effective limit is the one Bifrost answered when the override was set.
    assert {budget_id: budgets[budget_id]["effectiveMaxLimit"] for budget_id in effective} == effective
    assert budgets[day["id"]]["override"] == {
        "amount": 5.0,
        "mode": "CYCLES",
        "cyclesRemaining": 2,
        "cyclesTotal": 2,
        "anchorReset": budgets[day["id"]]["override"]["anchorReset"],
    }
    assert budgets[day["id"]]["override"]["anchorReset"] is not None
    assert budgets[month["id"]]["override"] == {
        "amount": 50.0,
        "mode": "FOREVER",
        "cyclesRemaining": None,
        "cyclesTotal": None,
        "anchorReset": None,
    }
    [config] = found["providerConfigs"]
    assert (config["allowedModels"], config["blacklistedModels"], config["allowAllKeys"]) == (
        ["*"],
        ["gpt-4o-mini"],
        True,
    )
    assert [k["keyId"] for k in config["keys"]] == [k["key_id"] for k in stored["provider_configs"][0]["keys"]]
    assert config["modelBudgets"] == []
    assert {"metric": "TOKENS", "tokenMaxLimit": "1000"} in body["data"]["rateLimits"]
    # Everything arrived with the key and the rate-limit list: nothing else was read.
    assert sorted(call.path for call in gw.upstream_calls()) == [
        "/api/governance/rate-limits",
        f"/api/governance/virtual-keys/{key_id}",
    ]
