"""Caller headers checked before they go upstream: W3C trace context, the Authorization header's size and form."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.settings import Settings
from app.trace_context import trace_context, valid_traceparent
from app.tracing import OtelTracing
from app.web import create_app

TEAM_BY_ID = 'query Lookup { team(id: "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c") { id } }'
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


class Upstream:
    """Records what reached Bifrost; answers every call with Bifrost's 404."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(404, json={"error": {"message": "Team not found"}})


async def call(
    headers: dict[str, str] | list[tuple[bytes, bytes]], tracing: OtelTracing | None = None
) -> tuple[httpx.Response, Upstream]:
    upstream = Upstream()
    app = create_app(
        Settings(bifrost_url="http://bifrost.internal", bifrost_api_generation="current"),
        transport=httpx.MockTransport(upstream),
        tracing=tracing,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        response = await http.post("/graphql", json={"query": TEAM_BY_ID}, headers=headers)
    return response, upstream


async def test_valid_trace_context_is_forwarded() -> None:
    response, upstream = await call(
        {"traceparent": TRACEPARENT, "tracestate": "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"}
    )
    assert response.json() == {"data": {"team": None}}
    sent = upstream.requests[-1].headers
    assert sent["traceparent"] == TRACEPARENT
    assert sent["tracestate"] == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"


INVALID_TRACEPARENTS = [
    "x" * 100,
    "00-" + "a" * 2_000_000 + "-b7ad6b7169203331-01",  # the 2 MB traceparent
    f"ff-{TRACE_ID}-b7ad6b7169203331-01",  # version ff is invalid
    "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # all-zero trace id
    f"00-{TRACE_ID}-0000000000000000-01",  # all-zero parent id
    f"00-{TRACE_ID.upper()}-b7ad6b7169203331-01",  # upper case is not the syntax
    f"00-{TRACE_ID}-b7ad6b7169203331-01-extra",
    f" 00-{TRACE_ID}-b7ad6b7169203331-01",
    f"00-{TRACE_ID}-b7ad6b7169203331",
    f"00-{TRACE_ID[:-1]}-b7ad6b7169203331-01",
    f"00-{TRACE_ID}-b7ad6b716920333g-01",
    "",
]


@pytest.mark.parametrize("traceparent", INVALID_TRACEPARENTS, ids=range(len(INVALID_TRACEPARENTS)))
async def test_invalid_traceparent_is_dropped_with_its_tracestate(traceparent: str) -> None:
    response, upstream = await call({"traceparent": traceparent, "tracestate": "rojo=00f067aa0ba902b7"})
    assert response.json() == {"data": {"team": None}}, "a bad trace header never fails the request"
    sent = upstream.requests[-1].headers
    assert "traceparent" not in sent and "tracestate" not in sent


async def test_tracestate_without_traceparent_is_dropped() -> None:
    _, upstream = await call({"tracestate": "rojo=00f067aa0ba902b7"})
    assert "tracestate" not in upstream.requests[-1].headers


INVALID_TRACESTATES = [
    "a=" + "b" * 600,  # over 512 characters
    ",".join(f"k{i}=v" for i in range(33)),  # over 32 members
    "no-equals-sign",
    "Upper=1",
    "k=v\x01",
    "k=a,b",
    "k==v",
    "k=é",
]


@pytest.mark.parametrize("tracestate", INVALID_TRACESTATES, ids=range(len(INVALID_TRACESTATES)))
async def test_invalid_tracestate_is_dropped_and_traceparent_kept(tracestate: str) -> None:
    _, upstream = await call([(b"traceparent", TRACEPARENT.encode()), (b"tracestate", tracestate.encode("latin-1"))])
    sent = upstream.requests[-1].headers
    assert sent["traceparent"] == TRACEPARENT
    assert "tracestate" not in sent


def test_tracestate_at_its_limits_is_kept() -> None:
    members = ",".join(f"k{i}=v" for i in range(32))
    assert trace_context({"traceparent": TRACEPARENT, "tracestate": members})["tracestate"] == members
    tenant = "t@sys=" + "v" * 255
    assert "tracestate" in trace_context({"traceparent": TRACEPARENT, "tracestate": tenant})
    assert valid_traceparent(f"cc-{TRACE_ID}-b7ad6b7169203331-00"), "a future version of the same shape"


async def test_invalid_traceparent_does_not_parent_the_operation_span() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _, upstream = await call({"traceparent": f"00-{TRACE_ID}-0000000000000000-01"}, OtelTracing(provider))
    operation = next(span for span in exporter.get_finished_spans() if span.name == "query Lookup")
    assert operation.parent is None and operation.context.trace_id != int(TRACE_ID, 16)
    # What goes upstream is the gateway's own span, in the new trace.
    assert upstream.requests[-1].headers["traceparent"].split("-")[1] == format(operation.context.trace_id, "032x")


async def test_huge_authorization_is_431_and_nothing_goes_upstream() -> None:
    response, upstream = await call({"authorization": "Bearer " + "a" * 3_000_000})
    assert response.status_code == 431
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "HEADER_TOO_LARGE"
    assert "Authorization" in error["message"]
    assert upstream.requests == []


async def test_authorization_at_the_limit_is_forwarded() -> None:
    value = "Bearer " + "a" * (8 * 1024 - len("Bearer "))
    response, upstream = await call({"authorization": value})
    assert response.status_code == 200
    assert upstream.requests[-1].headers["authorization"] == value


@pytest.mark.parametrize("value", [b"Bearer \xe9t\xe9", b"Bearer a\x01b", b"Bearer a\x7fb", b"Bearer\ttab"])
async def test_authorization_outside_printable_ascii_is_400(value: bytes) -> None:
    response, upstream = await call([(b"authorization", value)])
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INVALID_HEADER"
    assert "Authorization" in error["message"]
    assert upstream.requests == []
