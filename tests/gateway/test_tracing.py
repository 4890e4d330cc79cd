"""OpenTelemetry: one span per operation, one per upstream call, traceparent propagated to Bifrost."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.settings import Settings
from app.tracing import OtelTracing
from app.web import create_app

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
DASHBOARD = "query Dash { teams(first: 4) { nodes { id customer { id } virtualKeys { id } } } }"


async def test_spans_per_operation_and_upstream_call_with_propagation() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    seen: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"teams": [], "count": 0, "total_count": 0, "limit": 4, "offset": 0})

    app = create_app(
        Settings(bifrost_url="http://bifrost.internal", bifrost_api_generation="current"),
        transport=httpx.MockTransport(upstream),
        tracing=OtelTracing(provider),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        response = await http.post(
            "/graphql", json={"query": DASHBOARD}, headers={"traceparent": f"00-{CALLER_TRACE}-b7ad6b7169203331-01"}
        )
    assert response.json() == {"data": {"teams": {"nodes": []}}}
    spans = exporter.get_finished_spans()
    operation = [s for s in spans if s.name == "query Dash"]
    calls = [s for s in spans if s.name.startswith("bifrost ")]
    assert len(operation) == 1 and len(calls) == len(seen) == 1
    assert len(spans) == 2, "no span per field"
    assert operation[0].context.trace_id == int(CALLER_TRACE, 16)
    assert calls[0].parent.span_id == operation[0].context.span_id
    assert calls[0].attributes["http.route"] == "GET /api/governance/teams"
    sent = seen[0].headers["traceparent"]
    assert sent.split("-")[1] == CALLER_TRACE
    assert sent.split("-")[2] == format(calls[0].context.span_id, "016x")


async def test_free_text_operation_name_never_names_a_span() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(
        Settings(bifrost_url="http://bifrost.internal", bifrost_api_generation="current"),
        transport=httpx.MockTransport(lambda request: httpx.Response(500)),
        tracing=OtelTracing(provider),
    )
    junk = "x y\n" + "z" * 10_000
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        await http.post("/graphql", json={"query": "query Real { __typename }", "operationName": junk})
    [span] = exporter.get_finished_spans()
    assert span.name == "graphql other"
    assert span.attributes["graphql.operation.name"] == "other"
