"""Hostile callers of live data: borrowed credentials, key holders off their one field, floods and huge sets."""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import Any

import httpx
import orjson
import pytest

from tests.gateway.conftest import REVEAL_KEY, Gateway, upstream_http
from tests.gateway.live import AsgiWebSocket, Closed, SteppedClock, make_live_gateway, until

USAGE = """
subscription Usage($teams: [ID!]) {
  budgetUsage(teamIds: $teams) { initial counters { owner { id } budget { maxLimit } } }
}
"""
ADMIN = ("admin", "s3cret")
BASIC = {"authorization": "Basic " + base64.b64encode(b"admin:s3cret").decode()}
SSE = {"accept": "text/event-stream"}


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


async def make_team(gw: Gateway, max_limit: float = 10, headers: dict[str, str] | None = None) -> str:
    async with upstream_http(gw) as bifrost:
        response = await bifrost.post(
            "/api/governance/teams",
            json={"name": "platform", "budgets": [{"max_limit": max_limit, "reset_duration": "1d"}]},
            headers=headers or {},
        )
    assert response.status_code == 200, response.text
    team_id: str = response.json()["team"]["id"]
    return team_id


async def next_payload(ws: AsgiWebSocket) -> dict[str, Any]:
    message = await ws.receive_except_pings()
    assert message["type"] == "next", message
    payload: dict[str, Any] = message["payload"]
    return payload


async def test_an_anonymous_subscriber_never_rides_a_gateway_key_holders_poll(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, auth=ADMIN, bifrost_username=ADMIN[0], bifrost_password=ADMIN[1])
    team_id = await make_team(gw, headers=BASIC)
    backend = AsgiWebSocket(gw.app, client=("10.0.0.2", 1))
    anonymous = AsgiWebSocket(gw.app, client=("10.0.0.3", 1))
    await backend.connect()
    await backend.init({"headers": {"X-Gateway-Key": REVEAL_KEY}})
    await backend.subscribe("1", USAGE, {"teams": [team_id]})
    first = await next_payload(backend)
    assert first["data"]["budgetUsage"]["counters"][0]["budget"]["maxLimit"] == 10
    await anonymous.connect()
    await anonymous.init()
    await anonymous.subscribe("1", USAGE, {"teams": [team_id]})
    refused = await next_payload(anonymous)
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await anonymous.receive_json()) == {"id": "1", "type": "complete"}
    # The anonymous poll went without credentials (Bifrost refused it), and that did not end the backend's stream.
    reads = [call for call in gw.upstream_calls("GET") if call.path == f"/api/governance/teams/{team_id}"]
    assert len(reads) == 2, "each caller polled with its own credentials"
    async with upstream_http(gw) as bifrost:
        await bifrost.put(
            f"/api/governance/teams/{team_id}",
            json={"budgets": [{"max_limit": 11, "reset_duration": "1d"}]},
            headers=BASIC,
        )
    await clock.until_waiting()
    clock.step()
    pushed = await next_payload(backend)
    assert pushed["data"]["budgetUsage"]["counters"][0]["budget"]["maxLimit"] == 11
    await backend.disconnect()
    await anonymous.disconnect()
    assert gw.app.state.live.hub.active_keys() == 0
    await gw.http.aclose()


async def test_thousands_of_duplicate_ids_watch_one_team_with_one_read_per_poll(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock)
    team_id = await make_team(gw)
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await ws.subscribe("1", USAGE, {"teams": [team_id] * 1500})
        payload = await next_payload(ws)
    assert len(payload["data"]["budgetUsage"]["counters"]) == 1
    reads = [call for call in gw.upstream_calls("GET") if call.path.startswith("/api/governance/teams/")]
    assert len(reads) == 1
    await gw.http.aclose()


async def test_thousands_of_distinct_ids_are_refused_before_anything_is_polled(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock)
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await ws.subscribe("1", USAGE, {"teams": [f"t{n}" for n in range(3000)]})
        message = await ws.receive_except_pings()
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] in {"BAD_USER_INPUT", "QUERY_TOO_COMPLEX"}
    assert gw.upstream_calls() == []
    assert gw.app.state.live.hub.active_keys() == 0
    await gw.http.aclose()


async def key_value(gw: Gateway) -> str:
    async with upstream_http(gw) as bifrost:
        created = await bifrost.post(
            "/api/governance/virtual-keys",
            json={"name": "holder", "provider_configs": [{"provider": "openai", "allowed_models": ["*"]}]},
        )
    value: str = created.json()["virtual_key"]["value"]
    return value


HIDDEN = [
    'subscription { ...Watch } fragment Watch on Subscription { budgetUsage(teamIds: ["t1"]) { initial } }',
    'subscription { ... on Subscription { u: budgetUsage(teamIds: ["t1"]) { initial } } }',
    "{ myVirtualKey { name } ...More } fragment More on Query { teams(first: 1) { totalCount } }",
    "{ myVirtualKey { name } t: teams(first: 1) @skip(if: true) { totalCount } }",
    "query A { myVirtualKey { name } } query B { teams(first: 1) { totalCount } }",
]


@pytest.mark.parametrize("document", HIDDEN)
async def test_a_key_holder_on_a_socket_is_refused_whatever_hides_the_field(clock: SteppedClock, document: str) -> None:
    gw = await make_live_gateway("v2", clock=clock)
    value = await key_value(gw)
    arranged = len(gw.upstream_calls())
    async with AsgiWebSocket(gw.app, headers=[("x-bf-vk", value)]) as ws:
        await ws.init()
        payload: dict[str, Any] = {"query": document}
        if "query A" in document:
            payload["operationName"] = "B"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        refused = await ws.receive_except_pings()
    assert refused["type"] == "error", refused
    assert refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    assert len(gw.upstream_calls()) == arranged
    assert gw.app.state.live.hub.active_keys() == 0
    await gw.http.aclose()


async def test_a_key_holder_cannot_run_an_admin_document_by_its_hash_on_a_socket(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock)
    value = await key_value(gw)
    admin_query = "{ teams(first: 1) { totalCount } }"
    digest = hashlib.sha256(admin_query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    remembered = await gw.http.post(
        "/graphql", json={"query": admin_query, "extensions": extensions}, headers={"x-gateway-key": REVEAL_KEY}
    )
    assert remembered.status_code == 200, remembered.text
    arranged = len(gw.upstream_calls())
    async with AsgiWebSocket(gw.app, headers=[("x-bf-vk", value)]) as ws:
        await ws.init()
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"extensions": extensions}})
        refused = await ws.receive_except_pings()
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    assert len(gw.upstream_calls()) == arranged
    await gw.http.aclose()


async def test_a_key_holder_cannot_watch_over_sse_by_get(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock)
    value = await key_value(gw)
    arranged = len(gw.upstream_calls())
    response = await gw.http.get(
        "/graphql",
        params={"query": USAGE, "variables": orjson.dumps({"teams": ["t1"]}).decode()},
        headers={**SSE, "authorization": f"Bearer {value}"},
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert len(gw.upstream_calls()) == arranged
    assert gw.app.state.live.connections._open == {}
    await gw.http.aclose()


async def test_sockets_that_never_initialise_hold_their_place_only_until_the_timeout(clock: SteppedClock) -> None:
    gw = await make_live_gateway(
        "v2", clock=clock, live_max_connections_per_client=2, live_connection_init_timeout=0.01
    )
    silent = [AsgiWebSocket(gw.app) for _ in range(2)]
    for ws in silent:
        await ws.connect()
    extra = AsgiWebSocket(gw.app)
    await extra.connect()
    assert (await extra.closed()).code == 1013, "a third socket of the client is refused while two are open"
    await extra.disconnect()
    for ws in silent:
        assert (await ws.closed()).code == 4408
        await ws.disconnect()
    await until(lambda: gw.app.state.live.connections._open == {}, "the silent sockets gave their places back")
    again = AsgiWebSocket(gw.app)
    await again.connect()
    assert await again.init() == {"type": "connection_ack"}
    await again.disconnect()
    assert gw.upstream_calls() == []
    await gw.http.aclose()


async def test_credentials_never_reach_metrics(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock)
    team_id = await make_team(gw)
    value = await key_value(gw)
    token = "Bearer session-0123456789abcdef"
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init({"authorization": token})
        await ws.subscribe("1", USAGE, {"teams": [team_id]})
        await next_payload(ws)
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init({"headers": {"x-bf-vk": value}})
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": "{ myVirtualKey { name } }"}})
        await next_payload(ws)
    metrics = (await gw.http.get("/metrics")).text
    for secret in (token.split()[1], value, REVEAL_KEY):
        assert secret not in metrics
    await gw.http.aclose()


async def test_a_refused_socket_is_closed_before_any_subscribe_runs(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock)
    value = await key_value(gw)
    ws = AsgiWebSocket(gw.app, headers=[("x-bf-vk", value)])
    await ws.connect()
    # Ambiguous: a key on the upgrade and an admin token in the payload.
    await ws.send_json({"type": "connection_init", "payload": {"authorization": "Bearer admin-token"}})
    await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": USAGE, "variables": {"teams": ["t"]}}})
    with pytest.raises(Closed) as closed:
        await ws.receive_json()
    assert closed.value.code == 4400
    await ws.disconnect()
    assert gw.upstream_calls() == [] or all(
        "authorization" not in call.headers for call in gw.upstream_calls() if call.path.startswith("/api/governance/t")
    )
    await gw.http.aclose()


async def test_an_sse_stream_counts_against_the_client_and_frees_its_place_when_refused(
    clock: SteppedClock,
) -> None:
    gw = await make_live_gateway("v2", clock=clock, live_max_connections_per_client=1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.app), base_url="http://gateway") as http:
        for _ in range(3):
            bad = await http.post("/graphql", json={"query": USAGE, "variables": {"teams": ["../x"]}}, headers=SSE)
            assert bad.status_code == 200
            assert "BAD_USER_INPUT" in bad.text
    assert gw.app.state.live.connections._open == {}
    assert gw.upstream_calls() == []
    await gw.http.aclose()


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, json={"error": {"message": "pq: dial tcp 10.9.8.7:5432: connection refused"}}),
        httpx.Response(200, content=b"<html>10.9.8.7 proxy error</html>"),
        httpx.Response(200, json={"team": {"id": 42, "secret": "10.9.8.7"}}),
    ],
)
async def test_a_poll_that_fails_upstream_ends_the_stream_without_leaking_what_bifrost_said(
    answer: httpx.Response, caplog: pytest.LogCaptureFixture
) -> None:
    from app.keys import entry_for
    from app.settings import Settings
    from app.web import create_app

    caplog.set_level(logging.DEBUG)

    def handler(request: httpx.Request) -> httpx.Response:
        return answer

    app = create_app(
        Settings(
            bifrost_url="http://bifrost.internal",
            bifrost_api_generation="v2",
            gateway_api_keys=entry_for("tests", REVEAL_KEY, can_reveal=True),
        ),
        transport=httpx.MockTransport(handler),
    )
    async with AsgiWebSocket(app) as ws:
        await ws.init({"authorization": "Bearer session-abcdef0123456789"})
        await ws.subscribe("1", USAGE, {"teams": ["0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"]})
        ended = await next_payload(ws)
        assert (await ws.receive_json()) == {"id": "1", "type": "complete"}
    text = orjson.dumps(ended).decode()
    assert ended["errors"][0]["path"] == ["budgetUsage"]
    for leaked in ("10.9.8.7", "bifrost.internal", "pq:", "Traceback", "session-abcdef"):
        assert leaked not in text
        assert leaked not in caplog.text, f"{leaked} in a log line"
    assert app.state.live.hub.active_keys() == 0
