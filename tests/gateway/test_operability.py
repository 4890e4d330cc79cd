"""Operability: circuit breaker, readiness, metrics, request logs, APQ, CORS and client disconnects."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any

import httpx
import pytest

from app.bifrost.breaker import CircuitBreaker
from app.observability import JsonFormatter
from app.settings import Settings
from app.web import create_app
from app.web.app import bifrost_client_of
from tests.gateway.conftest import Gateway, make_gateway
from tests.gateway.raw_asgi import LeavingClient, graphql_scope

TEAM_ID = "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"
LOOKUP = 'query Lookup { team(id: "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c") { id } }'


class Switchable:
    """An upstream that can be taken down and brought back."""

    def __init__(self) -> None:
        self.down = False
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.down:
            raise httpx.ConnectError("refused")
        if request.url.path == "/health":
            return httpx.Response(200, json={"status": "ok"})
        return httpx.Response(404, json={"error": {"message": "Team not found"}})


def gateway_over(upstream: Switchable, **settings: Any) -> httpx.AsyncClient:
    app = create_app(
        Settings(bifrost_url="http://bifrost.internal", bifrost_api_generation="current", **settings),
        transport=httpx.MockTransport(upstream),
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


def test_breaker_states_with_a_clock() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, reset_seconds=10, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 10.0
    assert breaker.state == "half-open"
    assert breaker.allow() and not breaker.allow(), "one probe at a time"
    breaker.record_failure()
    assert breaker.state == "open"
    now[0] = 20.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"


async def test_breaker_fails_fast_while_down_and_recovers() -> None:
    upstream = Switchable()
    now = [0.0]
    app = create_app(
        Settings(bifrost_url="http://bifrost.internal", bifrost_api_generation="current", upstream_read_retries=0),
        transport=httpx.MockTransport(upstream),
    )
    bifrost_client_of(app).breaker = CircuitBreaker(failure_threshold=3, reset_seconds=0.2, clock=lambda: now[0])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        upstream.down = True
        for _ in range(3):
            body = (await http.post("/graphql", json={"query": LOOKUP})).json()
            assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
        calls = upstream.calls
        body = (await http.post("/graphql", json={"query": LOOKUP})).json()
        assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
        assert upstream.calls == calls, "open circuit: nothing sent"
        upstream.down = False
        now[0] = 0.1
        body = (await http.post("/graphql", json={"query": LOOKUP})).json()
        assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE", "still open before the reset time"
        assert upstream.calls == calls
        now[0] = 0.2
        body = (await http.post("/graphql", json={"query": LOOKUP})).json()
        assert body == {"data": {"team": None}}
        assert upstream.calls == calls + 1


async def test_readiness_follows_bifrost_health() -> None:
    upstream = Switchable()
    async with gateway_over(upstream, upstream_read_retries=0, breaker_failure_threshold=100) as http:
        assert (await http.get("/readyz")).status_code == 200
        upstream.down = True
        not_ready = await http.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["reason"] == "Bifrost /health did not answer 200"
        assert (await http.get("/healthz")).status_code == 200
        upstream.down = False
        assert (await http.get("/readyz")).status_code == 200


async def test_metrics_move() -> None:
    def sample(text: str, prefix: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))

    current_gateway = await make_gateway("current", metrics_operation_names=["MetricsProbe"])
    before = (await current_gateway.http.get("/metrics")).text
    await current_gateway.graphql("query MetricsProbe { teams(first: 2) { totalCount } }")
    after = (await current_gateway.http.get("/metrics")).text
    await current_gateway.http.aclose()
    assert (
        sample(after, 'gateway_requests_total{operation="MetricsProbe",outcome="ok"}')
        == sample(before, 'gateway_requests_total{operation="MetricsProbe",outcome="ok"}') + 1
    )
    route = 'gateway_upstream_requests_total{route="GET /api/governance/teams",status="200"}'
    assert sample(after, route) > sample(before, route)
    assert "gateway_request_duration_seconds_bucket" in after
    assert "gateway_upstream_request_duration_seconds_bucket" in after


async def test_one_json_log_line_per_request_without_secrets(
    current_gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.request")
    await current_gateway.graphql(
        "mutation CreateTeam($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }",
        {"input": {"name": "secret-team-name"}},
        headers={"authorization": "Bearer very-secret-session", "x-request-id": "log-test-1"},
    )
    [record] = [r for r in caplog.records if r.name == "app.request"]
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "request"
    assert line["request_id"] == "log-test-1"
    assert line["operation"] == "CreateTeam"
    assert line["operation_type"] == "mutation"
    assert line["upstream_calls"] == 2  # version detection + the POST
    assert line["cost"] == 10 + 1 + 1  # the mutation, its payload, the team
    assert line["outcome"] == "ok"
    assert line["duration_ms"] > 0
    text = json.dumps(line)
    for secret in ("very-secret", "secret-team-name", "Bearer", "bifrost.internal"):
        assert secret not in text


async def test_automatic_persisted_queries(current_gateway: Gateway) -> None:
    query = "query Persisted { teams(first: 1) { totalCount } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    miss = await current_gateway.http.post("/graphql", json={"extensions": extensions})
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    stored = await current_gateway.http.post("/graphql", json={"query": query, "extensions": extensions})
    assert stored.json() == {"data": {"teams": {"totalCount": 0}}}
    hit = await current_gateway.http.get("/graphql", params={"extensions": json.dumps(extensions)})
    assert hit.json() == {"data": {"teams": {"totalCount": 0}}}
    wrong = await current_gateway.http.post("/graphql", json={"query": "{ __typename }", "extensions": extensions})
    assert wrong.status_code == 400


async def test_persisted_queries_are_bounded() -> None:
    gw = await make_gateway("current", apq_cache_size=2)
    try:
        for i in range(5):
            query = f"query Q{i} {{ __typename }}"
            ext = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}}
            await gw.http.post("/graphql", json={"query": query, "extensions": ext})
        assert len(gw.app.state.persisted_queries) == 2
    finally:
        await gw.http.aclose()


async def test_cors_allow_list_with_credentials() -> None:
    gw = await make_gateway("current", cors_allow_origins=["https://app.example"])
    try:
        preflight = await gw.http.options(
            "/graphql",
            headers={
                "origin": "https://app.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        assert preflight.headers["access-control-allow-credentials"] == "true"
        other = await gw.http.options(
            "/graphql", headers={"origin": "https://evil.example", "access-control-request-method": "POST"}
        )
        assert "access-control-allow-origin" not in other.headers
        simple = await gw.http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": "https://app.example"}
        )
        assert simple.headers["access-control-allow-origin"] == "https://app.example"
        assert "x-request-id" in simple.headers["access-control-expose-headers"]
    finally:
        await gw.http.aclose()


async def test_unacceptable_accept_is_406(current_gateway: Gateway) -> None:
    response = await current_gateway.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"accept": "application/xml"}
    )
    assert response.status_code == 406


async def test_client_disconnect_cancels_upstream_calls() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    class Slow(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            started.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return httpx.Response(500)

    app = create_app(
        Settings(bifrost_url="http://bifrost.internal", bifrost_api_generation="current"), transport=Slow()
    )
    client = LeavingClient(json.dumps({"query": LOOKUP}).encode())
    call = asyncio.create_task(app(graphql_scope(), client.receive, client.send))
    await asyncio.wait_for(started.wait(), 5)
    client.leave.set()
    await asyncio.wait_for(cancelled.wait(), 5)
    await asyncio.wait_for(call, 5)
    assert client.messages[0]["status"] == 499
