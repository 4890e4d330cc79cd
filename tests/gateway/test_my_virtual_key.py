"""myVirtualKey: the holder of a virtual key reads its own key from Bifrost's quota route, and nothing else.

The embedded v2 upstream runs with its auth on and a recorder keeps the headers of every request it receives,
so each test sees exactly what went upstream: for a key holder, the quota call with ``x-bf-vk`` and no other
credential, or nothing at all.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.embedded_bifrost.request_logs import LogRow, record
from app.embedded_bifrost.timestamps import parse_rfc3339
from app.schema.self_service.queries import NOT_A_KEY_HOLDER, UNKNOWN_KEY
from tests.gateway.conftest import REVEALING, Gateway, make_gateway
from tests.gateway.guarded import ADMIN_KEY, AUTH, SERVICE, Recorder, policy_gateway

QUOTA = "/api/governance/virtual-keys/quota"
CHAT = "/v1/chat/completions"
MY_KEY = """
{
  myVirtualKey {
    name isActive
    budgets { id maxLimit resetDuration currentUsage lastReset perModelUsage { model provider totalRequests
      totalTokens totalCost } total { totalRequests totalTokens totalCost } }
    rateLimit { tokenMaxLimit tokenCurrentUsage requestMaxLimit requestCurrentUsage }
    providerConfigs { provider allowedModels blacklistedModels budgets { maxLimit currentUsage } rateLimit { id } }
    modelConfigs { modelName provider budgets { maxLimit } rateLimit { tokenMaxLimit } }
  }
}
"""
MY_NAME = "{ myVirtualKey { name } }"
KEY_BODY = {
    "name": "holder",
    "budgets": [{"max_limit": 10, "reset_duration": "1d"}],
    "rate_limit": {"token_max_limit": 1000, "token_reset_duration": "1h"},
    "provider_configs": [
        {"provider": "openai", "allowed_models": ["*"], "budgets": [{"max_limit": 5, "reset_duration": "1h"}]}
    ],
}


async def key_gateway(**settings: Any) -> tuple[Gateway, Recorder, httpx.AsyncClient]:
    """The gateway over an embedded v2 upstream with auth on; the generation is fixed so no probe goes out."""
    upstream = create_embedded_bifrost(database=":memory:", generation="v2", auth=AUTH)
    settings.setdefault("bifrost_api_generation", "v2")
    return await policy_gateway(upstream=upstream, **{**SERVICE, **settings})


async def arrange_key(admin: httpx.AsyncClient, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await admin.post("/api/governance/virtual-keys", json=body or KEY_BODY)
    assert response.status_code == 200, response.text
    key: dict[str, Any] = response.json()["virtual_key"]
    return key


async def post(gw: Gateway, query: str, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
    return await gw.http.post("/graphql", json={"query": query, **kwargs}, headers=headers)


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.mark.parametrize(
    "presented",
    [
        pytest.param(lambda value: {"x-bf-vk": value}, id="x-bf-vk"),
        pytest.param(lambda value: {"authorization": f"Bearer {value}"}, id="bearer"),
        pytest.param(lambda value: {"authorization": f"bearer   {value}  "}, id="bearer-lower-case-spaces"),
    ],
)
async def test_key_holder_reads_its_key_from_one_quota_call_with_the_key_alone(presented: Any) -> None:
    gw, recorder, admin = await key_gateway()
    key = await arrange_key(admin)
    body = (await post(gw, MY_KEY, presented(key["value"]))).json()
    assert "errors" not in body, body
    mine = body["data"]["myVirtualKey"]
    assert mine["name"] == "holder" and mine["isActive"] is True
    [budget] = mine["budgets"]
    assert (budget["maxLimit"], budget["resetDuration"], budget["currentUsage"]) == (10.0, "1d", 0.0)
    assert budget["perModelUsage"] == [] and budget["total"] == {"totalRequests": 0, "totalTokens": 0, "totalCost": 0}
    assert mine["rateLimit"]["tokenMaxLimit"] == "1000"  # Int64: a string
    [config] = mine["providerConfigs"]
    assert config["provider"] == "openai" and config["allowedModels"] == ["*"] and config["blacklistedModels"] == []
    assert [b["maxLimit"] for b in config["budgets"]] == [5.0]
    assert mine["modelConfigs"] == []
    assert recorder.paths() == [QUOTA]
    [(_, sent)] = recorder.seen
    assert sent["x-bf-vk"] == key["value"]
    assert "authorization" not in sent and "cookie" not in sent


async def test_key_holder_sees_the_usage_bifrost_counted() -> None:
    gw, _, admin = await key_gateway()
    key = await arrange_key(admin)
    db = gw.upstream.state.store.db
    db.execute("UPDATE budgets SET current_usage = 2.5 WHERE max_limit = 10")
    db.execute("UPDATE rate_limits SET token_current_usage = 321")
    mine = (await post(gw, MY_KEY, {"x-bf-vk": key["value"]})).json()["data"]["myVirtualKey"]
    assert mine["budgets"][0]["currentUsage"] == 2.5
    assert mine["rateLimit"]["tokenCurrentUsage"] == "321"


async def test_inactive_key_is_shown_as_inactive() -> None:
    gw, _, admin = await key_gateway()
    key = await arrange_key(admin, {"name": "off", "is_active": False})
    mine = (await post(gw, MY_KEY, {"x-bf-vk": key["value"]})).json()["data"]["myVirtualKey"]
    assert mine["name"] == "off" and mine["isActive"] is False and mine["budgets"] == []


async def test_unknown_key_is_an_unauthenticated_error_after_one_quota_call() -> None:
    gw, recorder, _ = await key_gateway()
    value = "sk-bf-00000000-0000-4000-8000-000000000000"
    body = (await post(gw, MY_NAME, {"x-bf-vk": value})).json()
    assert body["data"] == {"myVirtualKey": None}
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [(UNKNOWN_KEY, "UNAUTHENTICATED")]
    assert recorder.paths() == [QUOTA]
    assert value not in str(body)


async def test_rotated_out_value_works_during_its_grace_period_then_stops() -> None:
    gw, _, admin = await key_gateway()
    assert (await admin.put("/api/config", json={"client_config": {"vk_rotation_cooldown": "1h"}})).status_code == 200
    key = await arrange_key(admin)
    rotated = (await admin.post(f"/api/governance/virtual-keys/{key['id']}/rotate")).json()["virtual_key"]
    old, new = key["value"], rotated["value"]
    for value in (old, new):
        assert (await post(gw, MY_NAME, {"x-bf-vk": value})).json() == {"data": {"myVirtualKey": {"name": "holder"}}}
    context = gw.upstream.state.context
    expires_at = gw.upstream.state.store.db.execute(
        "SELECT previous_value_expires_at FROM virtual_keys WHERE id = ?", (key["id"],)
    ).fetchone()[0]
    context.clock = lambda: expires_at  # the grace window is half-open: at its end the old value is dead
    stale = (await post(gw, MY_NAME, {"x-bf-vk": old})).json()
    assert stale["data"] == {"myVirtualKey": None} and codes(stale) == ["UNAUTHENTICATED"]
    assert (await post(gw, MY_NAME, {"x-bf-vk": new})).json() == {"data": {"myVirtualKey": {"name": "holder"}}}


@pytest.mark.parametrize("generation", ["seed", "current"])
async def test_before_v2_my_virtual_key_is_null_and_nothing_is_sent(generation: str) -> None:
    gw = await make_gateway(generation, bifrost_api_generation=generation)
    body = (await post(gw, MY_NAME, {"x-bf-vk": "sk-bf-00000000-0000-4000-8000-000000000000"})).json()
    assert body == {"data": {"myVirtualKey": None}}
    assert list(gw.upstream.state.request_log) == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="anonymous"),
        pytest.param(REVEALING, id="gateway-key"),
        pytest.param({"authorization": "Bearer my-session"}, id="own-credentials"),
    ],
)
async def test_callers_without_a_key_get_a_clear_error_and_nothing_is_sent(headers: dict[str, str]) -> None:
    gw = await make_gateway("v2", bifrost_api_generation="v2")
    body = (await post(gw, MY_NAME, headers)).json()
    assert body["data"] == {"myVirtualKey": None}
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [(NOT_A_KEY_HOLDER, "UNAUTHENTICATED")]
    assert list(gw.upstream.state.request_log) == []


async def test_key_holder_never_gets_the_service_credential_even_where_anonymous_callers_would() -> None:
    gw, recorder, admin = await key_gateway(allow_anonymous_service_credentials=True, bifrost_api_generation="auto")
    key = await arrange_key(admin)
    body = (await post(gw, MY_NAME, {"x-bf-vk": key["value"]})).json()
    assert body == {"data": {"myVirtualKey": {"name": "holder"}}}
    assert QUOTA in recorder.paths(), "the generation was detected first, then the quota read"
    assert recorder.authorizations() == [None] * len(recorder.seen)
    assert [path for path, sent in recorder.seen if "x-bf-vk" in sent] == [QUOTA]


async def test_two_key_holders_at_once_each_read_their_own_key() -> None:
    gw, recorder, admin = await key_gateway()
    first = await arrange_key(admin, {"name": "first"})
    second = await arrange_key(admin, {"name": "second"})
    answers = await asyncio.gather(
        *(post(gw, MY_NAME, {"x-bf-vk": key["value"]}) for key in (first, second, first, second))
    )
    names = [answer.json()["data"]["myVirtualKey"]["name"] for answer in answers]
    assert names == ["first", "second", "first", "second"]
    assert recorder.paths() == [QUOTA] * 4, "never shared between keys"


async def test_key_holder_request_log_line_names_the_kind_never_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    gw, _, admin = await key_gateway()
    key = await arrange_key(admin)
    await post(gw, MY_NAME, {"x-bf-vk": key["value"]})
    await post(gw, "{ teams { totalCount } }", {"x-bf-vk": key["value"]})
    lines = [line for line in caplog.records if line.name == "app.request"]
    assert [line.caller for line in lines] == ["virtual_key", "virtual_key"]  # type: ignore[attr-defined]
    for line in caplog.records:
        assert key["value"] not in str(line.__dict__)


async def test_a_key_holder_reaches_no_admin_data_with_an_admin_key_in_the_same_process() -> None:
    gw, recorder, admin = await key_gateway()
    key = await arrange_key(admin)
    await post(gw, "{ virtualKeys { totalCount } }", {"x-gateway-key": ADMIN_KEY})
    recorder.seen.clear()
    refused = await post(gw, "{ virtualKeys { totalCount } }", {"x-bf-vk": key["value"]})
    assert refused.status_code == 403 and codes(refused.json()) == ["FORBIDDEN"]
    assert recorder.seen == []


async def test_while_the_generation_is_unknown_the_quota_route_answers_for_itself() -> None:
    # No version route and no team yet: nothing a probe reads tells this upstream's generation.
    upstream = create_embedded_bifrost(database=":memory:", generation="current", expose_version=False)
    gw, recorder, _ = await policy_gateway(upstream=upstream, auth=None)
    body = (await post(gw, MY_NAME, {"x-bf-vk": "sk-bf-00000000-0000-4000-8000-000000000000"})).json()
    assert body == {"data": {"myVirtualKey": None}}
    assert recorder.paths()[-1] == QUOTA and recorder.authorizations() == [None] * len(recorder.seen)


async def test_key_holder_sees_what_its_chat_completions_were_charged() -> None:
    gw, _, admin = await key_gateway()
    body = {**KEY_BODY, "provider_configs": [{**KEY_BODY["provider_configs"][0], "key_ids": ["*"]}]}  # type: ignore[dict-item]
    key = await arrange_key(admin, body)
    before = (await post(gw, MY_KEY, {"x-bf-vk": key["value"]})).json()["data"]["myVirtualKey"]
    assert before["budgets"][0]["currentUsage"] == 0.0
    sent = []
    for model, content in (
        ("openai/gpt-4o-mini", "Hello there"),
        ("openai/gpt-4o", "x" * 400),
        ("openai/gpt-4o-mini", "Hi"),
    ):
        answer = await admin.post(
            CHAT,
            json={"model": model, "messages": [{"role": "user", "content": content}]},
            headers={"x-bf-vk": key["value"]},
        )
        assert answer.status_code == 200, answer.text
        sent.append(answer.json()["usage"])
    mine = (await post(gw, MY_KEY, {"x-bf-vk": key["value"]})).json()["data"]["myVirtualKey"]
    charged = sum(usage["cost"] for usage in sent)
    assert charged > 0
    assert mine["budgets"][0]["currentUsage"] == pytest.approx(charged, rel=1e-9)
    assert mine["providerConfigs"][0]["budgets"][0]["currentUsage"] == pytest.approx(charged, rel=1e-9)
    assert int(mine["rateLimit"]["tokenCurrentUsage"]) == sum(usage["total_tokens"] for usage in sent)
    assert mine["rateLimit"]["requestCurrentUsage"] == "3"
    per_model = {item["model"]: item for item in mine["budgets"][0]["perModelUsage"]}
    assert {model: item["totalRequests"] for model, item in per_model.items()} == {"gpt-4o-mini": 2, "gpt-4o": 1}
    assert sum(item["totalTokens"] for item in per_model.values()) == sum(usage["total_tokens"] for usage in sent)
    assert mine["budgets"][0]["total"]["totalCost"] == pytest.approx(charged, rel=1e-9)


async def test_cors_preflight_allows_the_virtual_key_header() -> None:
    gw, _, _ = await key_gateway(cors_allow_origins="https://usage.example")
    response = await gw.http.options(
        "/graphql",
        headers={
            "origin": "https://usage.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type, x-bf-vk",
        },
    )
    assert response.status_code == 200
    assert "x-bf-vk" in response.headers["access-control-allow-headers"].lower()


async def test_key_holder_sees_its_usage_per_model_since_the_budget_window_opened() -> None:
    gw, _, admin = await key_gateway()
    key = await arrange_key(admin)
    other = await arrange_key(admin, {"name": "other"})
    db = gw.upstream.state.store.db
    [opened] = db.execute("SELECT last_reset FROM budgets WHERE virtual_key_id = ?", (key["id"],)).fetchone()
    since = parse_rfc3339(opened)
    assert since is not None
    rows = [
        (key["id"], "gpt-4o-mini", "openai", 0.25, 30, since),  # the window's first instant counts
        (key["id"], "gpt-4o-mini", "openai", 0.5, 60, since + 2),
        (key["id"], "claude-haiku-4-5", "anthropic", 1.0, 100, since + 3),
        (key["id"], "gpt-4o-mini", "openai", 9.0, 999, since - 1),  # before the window opened
        (other["id"], "gpt-4o-mini", "openai", 7.0, 700, since + 4),  # another key's
    ]
    for i, (vk_id, model, provider, cost, tokens, at) in enumerate(rows):
        row = LogRow(
            id=f"r{i}",
            timestamp=at,
            provider=provider,
            model=model,
            status="success",
            cost=cost,
            total_tokens=tokens,
            virtual_key_id=vk_id,
        )
        record(db, row)
    mine = (await post(gw, MY_KEY, {"x-bf-vk": key["value"]})).json()["data"]["myVirtualKey"]
    [budget] = mine["budgets"]
    assert budget["perModelUsage"] == [
        {
            "model": "claude-haiku-4-5",
            "provider": "anthropic",
            "totalRequests": 1,
            "totalTokens": 100,
            "totalCost": 1.0,
        },
        {"model": "gpt-4o-mini", "provider": "openai", "totalRequests": 2, "totalTokens": 90, "totalCost": 0.75},
    ]
    assert budget["total"] == {"totalRequests": 3, "totalTokens": 190, "totalCost": 1.75}
