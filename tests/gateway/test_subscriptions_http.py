"""Subscriptions over HTTP: GraphQL over SSE and Apollo's multipart protocol, framed and ended correctly.

The endpoint here is the gateway's real one (``GraphQLEndpoint`` behind the real edge), over a small schema with
a ``Subscription`` root and a scripted ``SubscriptionSource``: these tests are about the transports (framing,
Accept negotiation, caller checks, ending on either side), whatever the live layer yields.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import httpx
import pytest
import strawberry
from starlette.applications import Starlette

from app.keys import entry_for
from app.schema.executor import Executor
from app.schema.limits import Limits
from app.schema.schema import GatewaySchema
from app.settings import Settings
from app.web.callers import CallerPolicy
from app.web.edge import GatewayASGI
from app.web.graphql_http import GraphQLEndpoint
from app.web.persisted_queries import PersistedQueries
from app.web.subscriptions_http import StreamRefused, SubscriptionNotStarted, SubscriptionRequest
from app.web.upstream import build_bifrost_client
from tests.gateway.streaming import MULTIPART, SSE, StreamingCall, multipart_parts, sse_comments, sse_events

GATEWAY_KEY = "gk_streams-0123456789abcdefghijklmnopqrstuvwxyz"
TICKS = "subscription Ticks($after: Int!) { tick(after: $after) }"
TICKS_VARIABLES = {"after": 7}


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "hi"


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def tick(self, after: int = 0) -> AsyncGenerator[int, None]:  # never run: the source answers
        yield after


class ScriptedSource:
    """A subscription source the test scripts: ``push`` a result, ``finish`` the stream, see it closed."""

    def __init__(self, *, fail_after: int | None = None, refuse: Exception | None = None) -> None:
        self.requests: list[SubscriptionRequest] = []
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.closed = asyncio.Event()
        self.fail_after = fail_after
        self.refuse = refuse

    async def __call__(self, request: SubscriptionRequest) -> AsyncIterator[dict[str, Any]]:
        self.requests.append(request)
        if self.refuse is not None:
            raise self.refuse
        return self._results()

    async def _results(self) -> AsyncIterator[dict[str, Any]]:
        sent = 0
        try:
            while (result := await self.queue.get()) is not None:
                if self.fail_after is not None and sent == self.fail_after:
                    raise RuntimeError("poll failed at http://bifrost.internal:8080/api with secret sk-bf-leaked")
                yield result
                sent += 1
        finally:
            self.closed.set()

    def push(self, *results: dict[str, Any]) -> None:
        for result in results:
            self.queue.put_nowait(result)

    def finish(self) -> None:
        self.queue.put_nowait(None)


def make_app(source: ScriptedSource | None) -> GatewayASGI:
    settings = Settings(bifrost_url="http://bifrost.internal:8080", gateway_api_keys=entry_for("streams", GATEWAY_KEY))
    endpoint = GraphQLEndpoint(
        Executor(GatewaySchema(query=Query, subscription=Subscription), Limits(), hide_suggestions=False),
        build_bifrost_client(settings, httpx.MockTransport(_no_upstream), None),
        dataloader_concurrency=4,
        max_body_bytes=settings.max_body_bytes,
        max_document_bytes=settings.max_document_bytes,
        persisted_queries=PersistedQueries(16, 65536),
        graphiql_html=None,
        callers=CallerPolicy.from_settings(settings),
        subscriptions=source,
    )
    return GatewayASGI(endpoint.handle, Starlette())


def _no_upstream(request: httpx.Request) -> httpx.Response:
    raise AssertionError("a subscription over HTTP sent something upstream itself")


@pytest.fixture
def source() -> ScriptedSource:
    return ScriptedSource()


@pytest.fixture
def app(source: ScriptedSource) -> GatewayASGI:
    return make_app(source)


async def test_sse_streams_each_result_as_a_next_event_then_complete(app: GatewayASGI, source: ScriptedSource) -> None:
    call = StreamingCall.post(app, {"query": TICKS, "variables": TICKS_VARIABLES, "operationName": "Ticks"}, SSE)
    await call.start()
    status, headers = await call.head()
    assert status == 200
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert "no-cache" in headers["cache-control"] and "no-transform" in headers["cache-control"]
    assert headers["x-request-id"]
    # The stream is open (a keep-alive comes first) before anything was produced.
    assert sse_comments(await call.read_until(lambda body: b"\n\n" in body)) == [": ping"]

    source.push({"data": {"tick": 1}})
    await call.read_until(lambda body: b"event: next" in body)
    source.push({"data": {"tick": 2}}, {"data": None, "errors": [{"message": "x", "path": ["tick"]}]})
    source.finish()
    body = await call.read_to_end()

    assert sse_events(body) == [
        ("next", {"data": {"tick": 1}}),
        ("next", {"data": {"tick": 2}}),
        ("next", {"data": None, "errors": [{"message": "x", "path": ["tick"]}]}),
        ("complete", None),
    ]
    assert source.closed.is_set()
    [request] = source.requests
    assert request.query == TICKS
    assert request.prepared.operation_type == "subscription"
    assert request.operation_name == "Ticks"
    assert request.variables == TICKS_VARIABLES
    assert request.client_address == "127.0.0.1"
    assert request.request_id == headers["x-request-id"]
    assert dict(request.caller.upstream) == {}  # anonymous: no credentials go upstream for it


async def test_multipart_streams_payload_parts_heartbeat_first_and_closes_the_boundary(
    app: GatewayASGI, source: ScriptedSource
) -> None:
    call = StreamingCall.post(app, {"query": TICKS, "variables": TICKS_VARIABLES}, MULTIPART)
    await call.start()
    status, headers = await call.head()
    assert status == 200
    assert headers["content-type"] == 'multipart/mixed; boundary="graphql"; subscriptionSpec="1.0"'
    source.push({"data": {"tick": 1}}, {"data": {"tick": 2}})
    source.finish()
    body = await call.read_to_end()

    assert body.startswith(b"--graphql\r\nContent-Type: application/json; charset=utf-8\r\n\r\n{}\r\n--graphql")
    assert body.endswith(b"\r\n--graphql--\r\n")
    assert multipart_parts(body) == [{}, {"payload": {"data": {"tick": 1}}}, {"payload": {"data": {"tick": 2}}}]
    assert source.closed.is_set()


async def test_sse_subscription_over_get_streams_too(app: GatewayASGI, source: ScriptedSource) -> None:
    # EventSource can only GET; a subscription only reads, so GET is as good as POST for it.
    call = StreamingCall.get(app, {"query": TICKS, "variables": '{"after": 3}'}, SSE)
    await call.start()
    assert (await call.head())[0] == 200
    source.push({"data": {"tick": 3}})
    source.finish()
    assert sse_events(await call.read_to_end()) == [("next", {"data": {"tick": 3}}), ("complete", None)]
    assert source.requests[0].variables == {"after": 3}


async def test_client_leaving_closes_the_subscription_while_it_waits(app: GatewayASGI, source: ScriptedSource) -> None:
    call = StreamingCall.post(app, {"query": TICKS, "variables": TICKS_VARIABLES}, SSE)
    await call.start()
    await call.head()
    source.push({"data": {"tick": 1}})
    await call.read_until(lambda body: b"event: next" in body)
    assert not source.closed.is_set()

    await call.leave()  # the source is waiting for its next result: leaving must still end it

    assert source.closed.is_set()
    assert b"event: complete" not in call.body


@pytest.mark.parametrize("accept", [MULTIPART, SSE])
async def test_client_leaving_before_the_first_result_closes_the_subscription(
    accept: dict[str, str], source: ScriptedSource
) -> None:
    call = StreamingCall.post(make_app(source), {"query": TICKS, "variables": TICKS_VARIABLES}, accept)
    await call.start()
    await call.head()
    await call.leave()
    assert source.closed.is_set()


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "application/graphql-response+json",
        "*/*",
        "",
        "multipart/mixed, application/json",  # incremental delivery (@defer), not the subscription protocol
        'multipart/mixed;subscriptionSpec="1.0";boundary="other", application/json',
        'multipart/mixed;subscriptionSpec="2.0", application/json',
        "text/event-streams, */*",
        "text/event-stream-ish, application/json",
    ],
)
async def test_subscription_without_a_streaming_accept_is_406_naming_both_protocols(
    accept: str, app: GatewayASGI, source: ScriptedSource
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        response = await http.post(
            "/graphql", json={"query": TICKS, "variables": TICKS_VARIABLES}, headers={"accept": accept}
        )
        over_get = await http.get(
            "/graphql", params={"query": TICKS, "variables": '{"after": 1}'}, headers={"accept": accept}
        )
    for answer in (response, over_get):
        assert answer.status_code == 406, answer.text
        [error] = answer.json()["errors"]
        assert error["extensions"]["code"] == "NOT_ACCEPTABLE"
        assert "text/event-stream" in error["message"] and "subscriptionSpec" in error["message"]
    assert source.requests == []


async def test_sse_reports_an_invalid_document_through_an_accepted_stream(
    app: GatewayASGI, source: ScriptedSource
) -> None:
    # graphql-sse: errors found before execution are `next` events, not a 400 the EventSource cannot read.
    call = StreamingCall.post(app, {"query": "subscription { nope }"}, SSE)
    await call.start()
    status, headers = await call.head()
    body = await call.read_to_end()
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    [(first, result), last] = sse_events(body)
    assert first == "next" and last == ("complete", None)
    assert "nope" in result["errors"][0]["message"]
    assert source.requests == []


async def test_multipart_reports_an_invalid_document_as_json_like_a_query(
    app: GatewayASGI, source: ScriptedSource
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        response = await http.post("/graphql", json={"query": "subscription { nope }"}, headers=MULTIPART)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "nope" in response.json()["errors"][0]["message"]
    assert source.requests == []


async def test_query_with_only_a_streaming_accept_is_406_and_with_json_too_is_answered_in_json(
    app: GatewayASGI,
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        only_stream = await http.post("/graphql", json={"query": "{ hello }"}, headers=SSE)
        both = await http.post(
            "/graphql", json={"query": "{ hello }"}, headers={"accept": "text/event-stream, application/json"}
        )
        multipart = await http.post("/graphql", json={"query": "{ hello }"}, headers=MULTIPART)
    assert only_stream.status_code == 406
    assert only_stream.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"
    assert both.json() == {"data": {"hello": "hi"}}
    assert multipart.json() == {"data": {"hello": "hi"}}


@pytest.mark.parametrize("accept", [SSE, MULTIPART])
async def test_caller_policy_refuses_before_any_stream_opens(
    accept: dict[str, str], app: GatewayASGI, source: ScriptedSource
) -> None:
    body = {"query": TICKS, "variables": TICKS_VARIABLES}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        bad_key = await http.post(
            "/graphql", json=body, headers={**accept, "x-gateway-key": "gk_not-a-key-0123456789abcdef"}
        )
        ambiguous = await http.post(
            "/graphql",
            json=body,
            headers={**accept, "x-gateway-key": GATEWAY_KEY, "authorization": f"Bearer {GATEWAY_KEY}"},
        )
        misplaced = await http.post("/graphql", json=body, headers={**accept, "cookie": f"token={GATEWAY_KEY}"})
    assert bad_key.status_code == 401 and bad_key.headers["content-type"] == "application/json"
    assert bad_key.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert ambiguous.status_code == 400
    assert ambiguous.json()["errors"][0]["message"] == "send the gateway key in one header only"
    assert misplaced.status_code == 401
    assert source.requests == []


async def test_a_gateway_key_holder_subscribes_with_the_service_credential_not_its_key(source: ScriptedSource) -> None:
    call = StreamingCall.post(
        make_app(source), {"query": TICKS, "variables": TICKS_VARIABLES}, {**SSE, "x-gateway-key": GATEWAY_KEY}
    )
    await call.start()
    assert (await call.head())[0] == 200
    await call.leave()
    [request] = source.requests
    assert request.caller.caller.log_name == "gateway_key:streams"
    assert GATEWAY_KEY not in str(dict(request.caller.upstream)) + str(dict(request.forwarded))


async def test_a_failing_source_ends_the_stream_with_a_generic_error_and_logs_only_its_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = ScriptedSource(fail_after=1)
    call = StreamingCall.post(make_app(source), {"query": TICKS, "variables": TICKS_VARIABLES}, MULTIPART)
    await call.start()
    await call.head()
    with caplog.at_level(logging.INFO):
        source.push({"data": {"tick": 1}}, {"data": {"tick": 2}})
        body = await call.read_to_end()
    parts = multipart_parts(body)
    assert parts[:2] == [{}, {"payload": {"data": {"tick": 1}}}]
    assert parts[2] == {
        "payload": None,
        "errors": [{"message": "Unexpected error.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}],
    }
    assert body.endswith(b"--graphql--\r\n")
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "RuntimeError" in logged
    for secret in ("bifrost.internal", "sk-bf-leaked"):
        assert secret not in body.decode() and secret not in logged
    [ended] = [record for record in caplog.records if record.getMessage() == "stream ended"]
    assert ended.ended == "failed" and ended.events == 1  # type: ignore[attr-defined]


async def test_sse_data_stays_on_one_line_whatever_the_strings_hold(app: GatewayASGI, source: ScriptedSource) -> None:
    hostile = "line\nbreak\r\nevent: complete\n\ndata: {}\u2028"
    call = StreamingCall.post(app, {"query": TICKS, "variables": TICKS_VARIABLES}, SSE)
    await call.start()
    await call.head()
    source.push({"data": {"name": hostile}})
    source.finish()
    assert sse_events(await call.read_to_end()) == [("next", {"data": {"name": hostile}}), ("complete", None)]


async def test_a_gateway_without_a_subscription_source_refuses_clearly() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app(None)), base_url="http://gateway") as http:
        response = await http.post("/graphql", json={"query": TICKS, "variables": TICKS_VARIABLES}, headers=SSE)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "subscriptions are not served by this gateway"


TOO_COMPLEX = [{"message": "the operation costs 9000, above the limit", "extensions": {"code": "QUERY_TOO_COMPLEX"}}]


async def test_an_operation_that_cannot_start_is_answered_like_a_query_error_or_through_sse() -> None:
    app = make_app(ScriptedSource(refuse=SubscriptionNotStarted(TOO_COMPLEX)))
    payload = {"query": TICKS, "variables": TICKS_VARIABLES}
    call = StreamingCall.post(app, payload, SSE)
    await call.start()
    assert (await call.head())[0] == 200
    assert sse_events(await call.read_to_end()) == [("next", {"errors": TOO_COMPLEX}), ("complete", None)]

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        multipart = await http.post("/graphql", json=payload, headers=MULTIPART)
        strict = await http.post(
            "/graphql",
            json=payload,
            headers={"accept": 'multipart/mixed;subscriptionSpec="1.0", application/graphql-response+json'},
        )
    assert (multipart.status_code, multipart.json()) == (200, {"data": None, "errors": TOO_COMPLEX})
    assert (strict.status_code, strict.json()) == (400, {"errors": TOO_COMPLEX})
    assert strict.headers["content-type"] == "application/graphql-response+json"


@pytest.mark.parametrize("accept", [SSE, MULTIPART])
async def test_a_refused_stream_is_an_http_error_before_anything_streams(accept: dict[str, str]) -> None:
    refusal = StreamRefused(429, "too many open streams from this client", "TOO_MANY_STREAMS")
    app = make_app(ScriptedSource(refuse=refusal))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        response = await http.post("/graphql", json={"query": TICKS, "variables": TICKS_VARIABLES}, headers=accept)
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "errors": [{"message": "too many open streams from this client", "extensions": {"code": "TOO_MANY_STREAMS"}}]
    }
