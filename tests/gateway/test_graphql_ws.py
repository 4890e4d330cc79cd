"""graphql-transport-ws at /graphql: the handshake, the protocol's close codes, auth, limits and hostile clients."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.keys import entry_for
from app.settings import Settings
from app.trusted_documents.manifest import sha256_of
from app.web import create_app
from app.web.edge import GatewayASGI
from tests.gateway.conftest import REVEAL_KEY, Gateway, upstream_http
from tests.gateway.live import AsgiWebSocket, SteppedClock, make_live_gateway
from tests.gateway.trusted import codegen_manifest

USAGE = 'subscription { budgetUsage(teamIds: ["%s"]) { initial counters { budget { maxLimit } } } }'
MISSING_TEAM = "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"
SUBSCRIBE = {"id": "1", "type": "subscribe", "payload": {"query": USAGE % MISSING_TEAM}}


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
async def gw(clock: SteppedClock) -> AsyncIterator[Gateway]:
    gateway = await make_live_gateway("v2", clock=clock)
    yield gateway
    await gateway.http.aclose()


async def closed_with(ws: AsgiWebSocket, *messages: Any) -> tuple[int, str]:
    for message in messages:
        if isinstance(message, bytes):
            await ws.send_bytes(message)
        elif isinstance(message, str):
            await ws.send_text(message)
        else:
            await ws.send_json(message)
    closed = await ws.closed()
    await ws.disconnect()
    return closed.code, closed.reason


async def test_the_handshake_accepts_the_protocol_and_acknowledges_init(gw: Gateway) -> None:
    async with AsgiWebSocket(gw.app) as ws:
        assert ws.accepted and ws.subprotocol == "graphql-transport-ws"
        assert await ws.init() == {"type": "connection_ack"}


async def test_a_client_without_the_subprotocol_is_closed_with_4406(gw: Gateway) -> None:
    ws = AsgiWebSocket(gw.app, subprotocols=["graphql-ws"])
    await ws.connect()
    assert (await closed_with(ws))[0] == 4406


@pytest.mark.parametrize(
    ("messages", "code", "reason"),
    [
        ([SUBSCRIBE], 4401, "Unauthorized"),
        ([{"type": "connection_init"}, {"type": "connection_init"}], 4429, "Too many initialisation requests"),
        ([{"type": "connection_init"}, {"type": "unknown"}], 4400, "unknown type"),
        (["not json"], 4400, "not JSON"),
        (["[1, 2]"], 4400, "an object with a type"),
        ([{"type": 7}], 4400, "an object with a type"),
        ([b"\x00\x01"], 4400, "binary"),
        ([{"type": "connection_init", "payload": "token"}], 4400, "payload must be an object"),
        ([{"type": "connection_init", "payload": {"headers": ["x"]}}], 4400, "payload.headers must be an object"),
        ([{"type": "connection_init"}, {"type": "subscribe", "payload": {"query": "{ x }"}}], 4400, "id must be"),
        ([{"type": "connection_init"}, {"id": "", "type": "subscribe", "payload": {}}], 4400, "id must be"),
        ([{"type": "connection_init"}, {"id": "x" * 129, "type": "subscribe"}], 4400, "id must be"),
        ([{"type": "connection_init"}, {"id": "1", "type": "subscribe", "payload": {}}], 4400, "with a query"),
        ([{"type": "connection_init"}, {"id": "1", "type": "subscribe", "payload": "q"}], 4400, "with a query"),
        ([{"type": "connection_init"}, {"id": "1", "type": "next", "payload": {}}], 4400, "unknown type"),
        ([{"type": "connection_init"}, {"type": "complete"}], 4400, "id must be"),
        (["x" * (64 * 1024 + 1)], 1009, "limited to 65536 bytes"),
        (['{"type": "ping", "pad": "' + "é" * 40_000 + '"}'], 1009, "limited to 65536 bytes"),
    ],
)
async def test_protocol_violations_close_with_the_protocols_codes(
    gw: Gateway, messages: list[Any], code: int, reason: str
) -> None:
    ws = AsgiWebSocket(gw.app)
    await ws.connect()
    closed_code, closed_reason = await closed_with(ws, *messages)
    assert closed_code == code
    assert reason in closed_reason
    assert len(closed_reason.encode()) <= 123, "a close reason must fit a control frame"
    assert gw.upstream_calls() == []


async def test_a_duplicate_subscription_id_closes_with_4409(gw: Gateway) -> None:
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await ws.send_json(SUBSCRIBE)
        await ws.receive_except_pings()  # the first push: the subscription runs
        code, reason = await closed_with(ws, SUBSCRIBE)
    assert (code, reason) == (4409, "Subscriber for 1 already exists")


async def test_an_id_may_be_used_again_once_its_subscription_completed(gw: Gateway) -> None:
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        query = {"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}}
        for _ in range(2):
            await ws.send_json(query)
            assert (await ws.receive_json())["payload"] == {"data": {"__typename": "Query"}}
            assert await ws.receive_json() == {"id": "1", "type": "complete"}


async def test_init_must_come_in_time(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, live_connection_init_timeout=0.01)
    ws = AsgiWebSocket(gw.app)
    await ws.connect()
    assert await closed_with(ws) == (4408, "Connection initialisation timeout")
    await gw.http.aclose()


async def test_ping_is_answered_before_and_after_init(gw: Gateway) -> None:
    async with AsgiWebSocket(gw.app) as ws:
        await ws.send_json({"type": "ping"})
        assert await ws.receive_json() == {"type": "pong"}
        await ws.init()
        await ws.send_json({"type": "ping", "payload": {"t": 1}})
        assert await ws.receive_json() == {"type": "pong"}
        await ws.send_json({"type": "pong"})  # an unsolicited pong is fine
        await ws.send_json({"type": "ping"})
        assert await ws.receive_json() == {"type": "pong"}


async def test_the_server_pings_an_idle_connection(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, live_ping_interval=0.01)
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        assert await ws.receive_json() == {"type": "ping"}
    await gw.http.aclose()


async def test_a_document_that_does_not_validate_gets_an_error_message(gw: Gateway) -> None:
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await ws.send_json({"id": "v", "type": "subscribe", "payload": {"query": "subscription { nope }"}})
        message = await ws.receive_json()
        assert message["type"] == "error" and message["id"] == "v"
        assert message["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        await ws.send_json({"id": "p", "type": "subscribe", "payload": {"query": "subscription {"}})
        message = await ws.receive_json()
        assert message["type"] == "error" and message["payload"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
        # The socket stays usable.
        await ws.send_json({"type": "ping"})
        assert await ws.receive_json() == {"type": "pong"}
    assert gw.upstream_calls() == []


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"query": "mutation { logout { success } }"}, "only accepted over POST"),
        ({"query": "   "}, "non-empty string"),
        ({"query": "{ __typename }", "variables": [1]}, "variables must be a JSON object"),
        ({"query": "{ __typename }", "operationName": 5}, "operationName must be a string"),
        ({"query": "subscription { __typename }" + " " * 70_000}, "larger than"),
    ],
)
async def test_what_cannot_run_on_a_stream_gets_an_error_and_nothing_goes_upstream(
    clock: SteppedClock, payload: dict[str, Any], fragment: str
) -> None:
    gw = await make_live_gateway("v2", clock=clock, live_max_message_bytes=1024 * 1024)
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await ws.send_json({"id": "m", "type": "subscribe", "payload": payload})
        message = await ws.receive_json()
    assert message["type"] == "error"
    assert fragment in message["payload"][0]["message"]
    assert gw.upstream_calls() == []
    await gw.http.aclose()


async def test_variables_that_do_not_fit_are_a_result_with_errors_and_nothing_is_polled(gw: Gateway) -> None:
    query = "subscription S($t: [ID!]) { budgetUsage(teamIds: $t) { initial } }"
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await ws.send_json({"id": "s", "type": "subscribe", "payload": {"query": query, "variables": {"t": {"x": 1}}}})
        message = await ws.receive_json()
        assert message["type"] == "next" and message["payload"]["errors"]
        assert await ws.receive_json() == {"id": "s", "type": "complete"}
    assert gw.upstream_calls() == []


async def test_a_query_on_the_socket_gets_one_result_then_complete(gw: Gateway) -> None:
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await ws.send_json({"id": "q", "type": "subscribe", "payload": {"query": "{ teams(first: 1) { totalCount } }"}})
        result = await ws.receive_json()
        assert result == {"id": "q", "type": "next", "payload": {"data": {"teams": {"totalCount": 0}}}}
        assert await ws.receive_json() == {"id": "q", "type": "complete"}


async def test_subscriptions_per_connection_are_limited(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, live_max_subscriptions_per_connection=2)
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        for operation_id in ("a", "b"):
            await ws.subscribe(operation_id, USAGE % MISSING_TEAM)
            assert (await ws.receive_json())["type"] == "next"
        await ws.subscribe("c", USAGE % MISSING_TEAM)
        refused = await ws.receive_json()
        assert refused["id"] == "c" and refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        await ws.send_json({"id": "a", "type": "complete"})
        await ws.subscribe("c", USAGE % MISSING_TEAM)  # a slot is free again
        message = await ws.receive_json()
        assert (message["id"], message["type"]) == ("c", "next")
    await gw.http.aclose()


async def test_connections_per_client_address_are_limited(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, live_max_connections_per_client=2)
    first, second = AsgiWebSocket(gw.app), AsgiWebSocket(gw.app)
    await first.connect()
    await second.connect()
    third = AsgiWebSocket(gw.app)
    await third.connect()
    assert (await closed_with(third))[0] == 1013
    elsewhere = AsgiWebSocket(gw.app, client=("10.9.9.9", 1))
    await elsewhere.connect()
    assert await elsewhere.init() == {"type": "connection_ack"}, "another address is not affected"
    await first.disconnect()
    again = AsgiWebSocket(gw.app)
    await again.connect()
    assert await again.init() == {"type": "connection_ack"}, "a closed connection frees its place"
    for ws in (second, elsewhere, again):
        await ws.disconnect()
    await gw.http.aclose()


def origin_gateway(origins: list[str]) -> GatewayASGI:
    settings = Settings(bifrost_url="http://bifrost.internal:8080", cors_allow_origins=origins)
    return create_app(settings, transport=httpx.ASGITransport(app=create_embedded_bifrost(":memory:")))


@pytest.mark.parametrize(
    ("origins", "origin", "accepted"),
    [
        (["https://dash.example"], "https://dash.example", True),
        (["https://dash.example"], "https://evil.example", False),
        (["https://dash.example"], None, True),  # not a browser
        (["https://dash.example"], "http://gateway.test", True),  # the gateway's own page (GraphiQL)
        ([], "https://evil.example", False),
        ([], "http://gateway.test", True),
        ([], "null", False),
    ],
)
async def test_browser_origins_are_checked(origins: list[str], origin: str | None, accepted: bool) -> None:
    app = origin_gateway(origins)
    headers = [("host", "gateway.test")] + ([("origin", origin)] if origin else [])
    ws = AsgiWebSocket(app, headers=headers)
    await ws.connect()
    assert ws.accepted is accepted
    if not accepted:
        closed = await ws.closed()
        assert closed.code == 1008
    await ws.disconnect()


async def credentials_seen(**ws_options: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Runs one subscription; the ack (or the close) and the headers of the poll that went upstream."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={"error": {"message": "Team not found"}})

    payload = ws_options.pop("payload", None)
    settings = ws_options.pop("settings", {})
    app = create_app(
        Settings(
            bifrost_url="http://bifrost.internal",
            bifrost_api_generation="v2",
            gateway_api_keys=entry_for("tests", REVEAL_KEY, can_reveal=True),
            **settings,
        ),
        transport=httpx.MockTransport(handler),
    )
    ws = AsgiWebSocket(app, **ws_options)
    await ws.connect()
    try:
        answer = await ws.init(payload)
    except Exception as closed:
        await ws.disconnect()
        return {"closed": getattr(closed, "code", None), "reason": getattr(closed, "reason", "")}, None
    await ws.send_json(SUBSCRIBE)
    await ws.receive_except_pings()
    await ws.disconnect()
    return answer, dict(seen[-1].headers) if seen else None


@pytest.mark.parametrize(
    ("options", "authorization"),
    [
        ({"payload": {"authorization": "Bearer from-payload"}}, "Bearer from-payload"),
        ({"payload": {"headers": {"Authorization": "Bearer in-headers"}}}, "Bearer in-headers"),
        ({"headers": [("authorization", "Bearer on-upgrade")]}, "Bearer on-upgrade"),
        ({"headers": [("cookie", "theme=dark; token=session-1")]}, None),
        ({}, None),
    ],
)
async def test_the_callers_own_credentials_go_upstream_with_the_poll(
    options: dict[str, Any], authorization: str | None
) -> None:
    ack, headers = await credentials_seen(**options)
    assert ack == {"type": "connection_ack"}
    assert headers is not None
    assert headers.get("authorization") == authorization
    if "cookie" in str(options):
        assert headers["cookie"] == "token=session-1"
    assert "x-request-id" not in headers or len(headers["x-request-id"]) <= 128


async def test_a_gateway_key_in_the_payload_sends_the_service_credential() -> None:
    settings = {"bifrost_username": "svc", "bifrost_password": "pw"}
    ack, headers = await credentials_seen(
        payload={"headers": {"X-Gateway-Key": REVEAL_KEY}},
        settings=settings,
    )
    assert ack == {"type": "connection_ack"}
    assert headers is not None
    assert headers["authorization"] == "Basic " + base64.b64encode(b"svc:pw").decode()
    anonymous_ack, anonymous = await credentials_seen(settings=settings)
    assert anonymous_ack == {"type": "connection_ack"}
    assert anonymous is not None and "authorization" not in anonymous, "no credentials never borrows the service's"


@pytest.mark.parametrize(
    ("options", "code", "fragment"),
    [
        ({"payload": {"headers": {"x-gateway-key": "gk_not-a-valid-key-0123456789abcdefghijkl"}}}, 4403, "not valid"),
        ({"payload": {"authorization": "Bearer gk_misplaced-0123456789abcdefghijklmnopqr"}}, 4403, "Forbidden"),
        (
            {"headers": [("authorization", "Bearer a")], "payload": {"authorization": "Bearer b"}},
            4400,
            "at most one authorization",
        ),
        ({"payload": {"authorization": 42}}, 4400, "printable ASCII string"),
        ({"payload": {"authorization": "Bearer a\r\nx-evil: 1"}}, 4400, "printable ASCII string"),
        ({"payload": {"authorization": "Bearer " + "a" * 9000}}, 4400, "longer than"),
        ({"headers": [("authorization", "Bearer " + "a" * 9000)]}, 4400, "longer than"),
        ({"headers": [("cookie", "token=bad value")]}, 4403, "token cookie"),
    ],
)
async def test_refused_credentials_close_the_socket_and_nothing_goes_upstream(
    options: dict[str, Any], code: int, fragment: str
) -> None:
    answer, headers = await credentials_seen(**options)
    assert answer["closed"] == code
    assert fragment in answer["reason"]
    assert headers is None


async def test_other_payload_fields_are_not_forwarded() -> None:
    _, headers = await credentials_seen(
        payload={"headers": {"x-internal-admin": "yes", "cookie": "token=stolen"}, "x-api": "1"},
    )
    assert headers is not None
    assert "x-internal-admin" not in headers and "cookie" not in headers and "authorization" not in headers


async def test_a_websocket_elsewhere_is_not_served(gw: Gateway) -> None:
    ws = AsgiWebSocket(gw.app, path="/healthz")
    await ws.connect()
    assert not ws.accepted
    await ws.disconnect()


async def test_closing_the_socket_stops_every_subscription_on_it(gw: Gateway) -> None:
    async with upstream_http(gw) as bifrost:
        team = (await bifrost.post("/api/governance/teams", json={"name": "t"})).json()["team"]
    ws = AsgiWebSocket(gw.app)
    await ws.connect()
    await ws.init()
    for operation_id in ("a", "b", "c"):
        await ws.subscribe(operation_id, USAGE % team["id"])
        await ws.receive_except_pings()
    await ws.disconnect()
    assert gw.app.state.live.hub.active_keys() == 0


async def test_a_result_larger_than_the_response_ceiling_is_replaced_by_an_error(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, max_response_bytes=1024)
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await ws.send_json({"id": "big", "type": "subscribe", "payload": {"query": "{ __schema { types { name } } }"}})
        result = await ws.receive_json()
    assert result["payload"]["data"] is None
    assert result["payload"]["errors"][0]["extensions"] == {"code": "RESPONSE_TOO_LARGE", "limit": 1024}
    await gw.http.aclose()


LISTED = f'subscription Listed {{ budgetUsage(teamIds: ["{MISSING_TEAM}"]) {{ initial }} }}'


async def test_enforced_trusted_documents_hold_on_the_socket_too(clock: SteppedClock, tmp_path: Path) -> None:
    manifest = codegen_manifest(tmp_path, LISTED)
    gw = await make_live_gateway("v2", clock=clock, trusted_documents=str(manifest))
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await ws.send_json({"id": "u", "type": "subscribe", "payload": {"query": USAGE % MISSING_TEAM}})
        refused = await ws.receive_json()
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
        by_id = {"documentId": f"sha256:{sha256_of(LISTED)}"}
        await ws.send_json({"id": "l", "type": "subscribe", "payload": by_id})
        assert (await ws.receive_json())["payload"]["data"] == {"budgetUsage": {"initial": True}}
        await ws.send_json({"id": "t", "type": "subscribe", "payload": {"query": LISTED}})
        assert (await ws.receive_json())["type"] == "next"
    await gw.http.aclose()


async def test_a_persisted_query_hash_names_a_document_this_gateway_knows(gw: Gateway) -> None:
    document = "query Known { __typename }"
    digest = hashlib.sha256(document.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"extensions": extensions}})
        unknown = await ws.receive_json()
        assert unknown["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        registered = await gw.http.post("/graphql", json={"query": document, "extensions": extensions})
        assert registered.json() == {"data": {"__typename": "Query"}}
        await ws.send_json({"id": "2", "type": "subscribe", "payload": {"extensions": extensions}})
        assert (await ws.receive_json())["payload"] == {"data": {"__typename": "Query"}}
        assert await ws.receive_json() == {"id": "2", "type": "complete"}
        wrong = {"query": "{ __typename }", "extensions": extensions}
        await ws.send_json({"id": "3", "type": "subscribe", "payload": wrong})
        assert (await ws.receive_json())["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_INVALID"


@pytest.mark.parametrize(
    "where",
    [
        {"payload": {"headers": {"x-bf-vk": "{value}"}}},
        {"payload": {"authorization": "Bearer {value}"}},
        {"headers": [("x-bf-vk", "{value}")]},
    ],
)
async def test_a_virtual_key_holder_may_query_its_key_and_nothing_else(gw: Gateway, where: dict[str, Any]) -> None:
    async with upstream_http(gw) as bifrost:
        team = (await bifrost.post("/api/governance/teams", json={"name": "t"})).json()["team"]
        created = await bifrost.post(
            "/api/governance/virtual-keys",
            json={"name": "holder", "provider_configs": [{"provider": "openai", "allowed_models": ["*"]}]},
        )
    value = created.json()["virtual_key"]["value"]
    options = orjson.loads(orjson.dumps(where).decode().replace("{value}", value))
    ws = AsgiWebSocket(gw.app, headers=[tuple(h) for h in options.get("headers", [])])
    await ws.connect()
    assert await ws.init(options.get("payload")) == {"type": "connection_ack"}
    before = len(gw.upstream_calls())
    await ws.subscribe("s", USAGE % team["id"])
    refused = await ws.receive_json()
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    await ws.send_json({"id": "q", "type": "subscribe", "payload": {"query": "{ teams(first: 1) { totalCount } }"}})
    assert (await ws.receive_json())["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    assert len(gw.upstream_calls()) == before, "nothing went upstream for the refused operations"
    await ws.send_json({"id": "m", "type": "subscribe", "payload": {"query": "{ myVirtualKey { name } }"}})
    assert (await ws.receive_json())["payload"] == {"data": {"myVirtualKey": {"name": "holder"}}}
    await ws.disconnect()


async def test_each_socket_is_logged_once_without_its_credentials(
    gw: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="app.web")
    ws = AsgiWebSocket(gw.app, headers=[("authorization", "Bearer secret-session-token")])
    await ws.connect()
    await ws.init()
    await closed_with(ws, {"type": "bogus"})
    (line,) = [record for record in caplog.records if record.getMessage() == "websocket"]
    assert line.caller == "own_credentials"  # type: ignore[attr-defined]
    assert line.close_code == 4400  # type: ignore[attr-defined]
    assert line.subscriptions == 0  # type: ignore[attr-defined]
    assert "secret-session-token" not in caplog.text
