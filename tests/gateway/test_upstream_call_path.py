"""The Bifrost client's path to the wire, trimmed per call: each shortcut must keep what the long way did.

* ``route_of`` takes a shortcut for ``/api/governance/<collection>/<id>``: held to the segment rule on any path;
* with tracing off no context manager is opened around the call; with it on, the wire's call runs inside the
  upstream span and sends its ``traceparent``, over a wire that keeps the total deadline itself and over one
  that the client bounds with ``asyncio.timeout``;
* ``request`` hands back the call itself for a read: awaited, cancelled or timed out, it behaves as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.bifrost import BifrostClient
from app.bifrost.client import route_of
from app.bifrost.errors import UpstreamOutcomeUnknown, UpstreamTimeout
from app.bifrost.wire import UpstreamResponse
from app.tracing import NO_TRACING, OtelTracing

_WORDS = {"rotate", "quota", "override"}


def route_by_segments(path: str) -> str:
    """The rule written out plainly: under ``/api/governance``, every second segment from the fifth on is an id
    unless it is a word of the API."""
    parts = path.split("/")
    if parts[1:3] == ["api", "governance"]:
        for i in range(4, len(parts), 2):
            if parts[i] not in _WORDS:
                parts[i] = "{id}"
    return "/".join(parts)


segment = st.one_of(
    st.sampled_from(["", "api", "governance", "teams", "rotate", "quota", "override", "3f2b", "a.b", "?x=1"]),
    st.text(st.sampled_from("ab/-_.{}"), max_size=6),
)
governance_paths = st.lists(segment, max_size=6).map(lambda parts: "/api/governance/" + "/".join(parts))
any_paths = st.one_of(
    governance_paths,
    governance_paths.map(lambda path: "x" + path),
    st.lists(segment, max_size=6).map("/".join),
    st.text(max_size=30),
)


@settings(max_examples=2000, deadline=None)
@given(path=any_paths)
@example(path="/api/governance/teams/3f2b")
@example(path="/api/governance/teams/rotate")
@example(path="/api/governance/teams/")
@example(path="/api/governance//3f2b")
@example(path="/api/governance/teams")
@example(path="/api/governance")
@example(path="/api/governance/")
@example(path="/api/governancex/teams/3f2b")
@example(path="/api/governance/virtual-keys/3f2b/budgets/9c1d/override")
@example(path="/api/governance/teams/3f2b/")
@example(path="api/governance/teams/3f2b")
@example(path="0/api/governance//")
@example(path="x/api/governance/teams/3f2b")
def test_a_route_is_the_segment_rule_s_for_any_path(path: str) -> None:
    assert route_of(path) == route_by_segments(path)


class SpanWatchingWire:
    """Answers at once, and keeps for each call the span current while it ran and the headers it was given."""

    def __init__(self, enforces: bool) -> None:
        if enforces:
            self.enforces_total_timeout = True
        self.spans: list[Any] = []
        self.headers: list[dict[str, str]] = []
        self.keywords: list[dict[str, float]] = []

    async def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, str | int] | None,
        max_bytes: int,
        **keywords: float,
    ) -> UpstreamResponse:
        self.spans.append(trace.get_current_span())
        self.headers.append(dict(headers))
        self.keywords.append(keywords)
        return UpstreamResponse(200, b"{}", [], None)

    async def aclose(self) -> None:
        return None


@pytest.mark.parametrize("enforces", [True, False], ids=["deadline-wire", "client-timeout"])
async def test_with_tracing_on_the_wire_call_runs_inside_the_upstream_span(enforces: bool) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    wire = SpanWatchingWire(enforces)
    client = BifrostClient(wire, tracing=OtelTracing(provider))
    response = await client.request("GET", "/api/governance/teams/3f2b", headers={"authorization": "Bearer t"})
    assert response.status == 200
    [span] = exporter.get_finished_spans()
    assert span.name == "bifrost GET /api/governance/teams/{id}"
    [current] = wire.spans
    assert current.get_span_context().span_id == span.context.span_id  # the call ran inside the span
    [headers] = wire.headers
    assert headers["traceparent"].split("-")[2] == format(span.context.span_id, "016x")
    assert headers["authorization"] == "Bearer t" and headers["accept"] == "application/json"
    assert list(wire.keywords[0]) == (["deadline"] if enforces else [])


@pytest.mark.parametrize("enforces", [True, False], ids=["deadline-wire", "client-timeout"])
async def test_with_tracing_off_the_wire_gets_the_caller_s_headers_and_no_span(enforces: bool) -> None:
    wire = SpanWatchingWire(enforces)
    client = BifrostClient(wire, tracing=NO_TRACING)
    await client.request("POST", "/api/governance/teams", headers={"x-request-id": "r1"}, body={"name": "t"})
    assert wire.headers == [{"accept": "application/json", "x-request-id": "r1", "content-type": "application/json"}]
    assert not wire.spans[0].get_span_context().is_valid
    assert list(wire.keywords[0]) == (["deadline"] if enforces else [])


class SilentWire:
    """Never answers; counts the calls that reached it and those that were cancelled there."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.sent = 0
        self.cancelled = 0

    async def send(self, *args: Any, **keywords: Any) -> UpstreamResponse:
        self.sent += 1
        self.reached.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        return None


async def test_a_wire_that_keeps_no_deadline_is_still_bounded_by_the_total_timeout() -> None:
    wire = SilentWire()
    client = BifrostClient(wire, total_timeout=0.05, read_retries=0)
    with pytest.raises(UpstreamTimeout):
        await client.request("GET", "/api/governance/teams/3f2b", headers={})
    with pytest.raises(UpstreamOutcomeUnknown):  # a write that left and timed out: its outcome is unknown
        await client.request("POST", "/api/governance/teams", headers={}, body={"name": "t"})
    assert wire.sent == wire.cancelled == 2


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_caller_that_leaves_mid_call_cancels_the_wire_s_call(method: str) -> None:
    wire = SilentWire()
    client = BifrostClient(wire, total_timeout=30.0)
    body = {"name": "t"} if method == "POST" else None
    task = asyncio.create_task(client.request(method, "/api/governance/teams", headers={}, body=body))
    await asyncio.wait_for(wire.reached.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert wire.sent == wire.cancelled == 1
    assert client.breaker.state == "closed"  # a caller leaving says nothing about Bifrost


class SyncFailingWire:
    """A wire whose ``send`` fails as it is called, before any coroutine exists."""

    def send(self, *args: Any, **keywords: Any) -> Any:
        raise RuntimeError("refused before sending")

    async def aclose(self) -> None:
        return None


@pytest.mark.parametrize("enforces", [True, False], ids=["deadline-wire", "client-timeout"])
async def test_a_wire_failing_as_it_is_called_is_an_error_of_the_call(enforces: bool) -> None:
    wire = SyncFailingWire()
    if enforces:
        wire.enforces_total_timeout = True  # type: ignore[attr-defined]
    seen: list[tuple[str, str]] = []
    client = BifrostClient(wire, read_retries=0, observe=lambda route, outcome, _: seen.append((route, outcome)))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="refused before sending"):
        await client.request("GET", "/api/governance/teams/3f2b", headers={})
    assert seen == [("GET /api/governance/teams/{id}", "error")]
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # no deadline left behind to cancel it later
    assert client.breaker._failures == 1


class EnvelopeWire:
    """Answers each path from ``answers`` (the same bytes every time) and records the calls."""

    def __init__(self, answers: dict[str, bytes]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str]] = []

    async def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, str | int] | None,
        max_bytes: int,
    ) -> UpstreamResponse:
        self.calls.append((method, path))
        return UpstreamResponse(200, self.answers[path], [], None)

    async def aclose(self) -> None:
        return None


_STAMPS = b'"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"'
_BARE_TEAM = b'{"id": "t1", "name": "T", ' + _STAMPS + b"}"
_TEAM_OF_BUDGET_ID = b'{"id": "t2", "name": "U", "budget_id": "b9", ' + _STAMPS + b"}"


@pytest.mark.parametrize("accessor", ["get_team", "get_customer", "get_virtual_key"])
async def test_an_invalid_id_fails_when_awaited_and_nothing_goes_upstream(accessor: str) -> None:
    wire = EnvelopeWire({})
    session = BifrostClient(wire).session({"authorization": "Bearer t"})  # type: ignore[arg-type]
    for bad in ["../teams", "a/b", "", "x" * 200, "t 1", "t%2F1"]:
        call = getattr(session, accessor)(bad)  # handing the call back raises nothing yet, as before
        with pytest.raises(ValueError, match="invalid id"):
            await call
    assert wire.calls == [] and session.calls == 0


async def test_team_reads_and_writes_read_an_absent_budget_list_as_none_once_per_body() -> None:
    wire = EnvelopeWire(
        {
            "/api/governance/teams/t1": b'{"team": ' + _BARE_TEAM + b"}",
            "/api/governance/teams/t2": b'{"team": ' + _TEAM_OF_BUDGET_ID + b"}",
            "/api/governance/teams": b'{"team": ' + _BARE_TEAM + b"}",
        }
    )
    client = BifrostClient(wire)  # type: ignore[arg-type]
    session = client.session({"authorization": "Bearer t"})
    first = await session.get_team("t1")
    assert first.budgets == [] and first.all_budgets == [] and first.has_budgets_loaded
    again = await session.get_team("t1")
    assert again is first  # the memo keeps the settled team: settled once per body, not per read
    unsettled = await session.get_team("t2")  # a budget id without budgets: not known to have none
    assert unsettled.budgets is None and not unsettled.has_budgets_loaded
    created = await session.create_team({"name": "T"})
    assert created.id == "t1" and created.budgets == [] and created is not first  # writes never use the memo
    assert wire.calls == [
        ("GET", "/api/governance/teams/t1"),
        ("GET", "/api/governance/teams/t1"),
        ("GET", "/api/governance/teams/t2"),
        ("POST", "/api/governance/teams"),
    ]


async def test_customer_reads_settle_their_embedded_teams_and_keys_come_as_parsed() -> None:
    customer = b'{"id": "c1", "name": "Acme", "teams": [' + _BARE_TEAM + b", " + _TEAM_OF_BUDGET_ID + b"], " + _STAMPS
    key = b'{"id": "k1", "name": "K", "team": ' + _BARE_TEAM + b", " + _STAMPS
    wire = EnvelopeWire(
        {
            "/api/governance/customers/c1": b'{"customer": ' + customer + b"}}",
            "/api/governance/virtual-keys/k1": b'{"virtual_key": ' + key + b"}}",
        }
    )
    session = BifrostClient(wire).session({})  # type: ignore[arg-type]
    read = await session.get_customer("c1")
    assert read.teams is not None and [team.budgets for team in read.teams] == [[], None]
    assert await session.get_customer("c1") is read
    virtual_key = await session.get_virtual_key("k1")
    # A team embedded in a key may not have its budgets loaded: left as Bifrost sent it, to be reloaded.
    assert virtual_key.team is not None and virtual_key.team.budgets is None
