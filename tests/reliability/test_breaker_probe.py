"""The half-open probe always ends: whatever the wire raises, the next probe is allowed in due time.

The breaker runs on an injected clock and the wire is a stub, so nothing here sleeps or times anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import httpx
import pytest

from app.bifrost import BifrostClient
from app.bifrost.breaker import CircuitBreaker
from app.bifrost.errors import UpstreamUnavailable
from app.bifrost.wire import HttpxWire, UpstreamResponse, WireConnectionError

RESET_SECONDS = 10.0


class Teardown(BaseException):
    """Stands for the base exceptions a task may see while it is torn down (GeneratorExit, KeyboardInterrupt)."""


class StubWire:
    """Raises what ``fail`` gives for each call, or answers 200 when it gives None."""

    def __init__(self) -> None:
        self.fail: Callable[[], BaseException | None] = lambda: None
        self.calls = 0
        self.entered = asyncio.Event()
        self.hold: asyncio.Event | None = None

    async def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, str | int] | None,
        max_bytes: int,
    ) -> UpstreamResponse:
        self.calls += 1
        self.entered.set()
        if self.hold is not None:
            await self.hold.wait()
        error = self.fail()
        if error is not None:
            raise error
        return UpstreamResponse(200, b'"v1.5.2"', [], None)

    async def aclose(self) -> None:
        return None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def open_circuit() -> tuple[BifrostClient, StubWire, CircuitBreaker, Clock]:
    """A client whose breaker has just opened (threshold 1) and whose reset time has passed: half-open."""
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_seconds=RESET_SECONDS, clock=clock)
    wire = StubWire()
    client = BifrostClient(wire, read_retries=0, breaker=breaker, coalesce_reads=False)
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now += RESET_SECONDS
    assert breaker.state == "half-open"
    return client, wire, breaker, clock


async def get_version(client: BifrostClient) -> UpstreamResponse:
    return await client.request("GET", "/api/version", headers={})


@pytest.mark.parametrize(
    "unexpected",
    [
        httpx.DecodingError("bad gzip"),
        RuntimeError("a bug below the client"),
        UnicodeDecodeError("utf-8", b"", 0, 1, "x"),
    ],
    ids=["httpx-decoding-error", "runtime-error", "unicode-error"],
)
async def test_an_unexpected_error_during_the_probe_reopens_and_the_next_probe_goes_out(
    unexpected: Exception,
) -> None:
    client, wire, breaker, clock = open_circuit()
    wire.fail = lambda: unexpected
    with pytest.raises(type(unexpected)):
        await get_version(client)
    assert wire.calls == 1
    # The probe failed: the circuit is open again for a full period, not stuck.
    assert breaker.state == "open"
    with pytest.raises(UpstreamUnavailable):
        await get_version(client)
    assert wire.calls == 1, "open: nothing sent"
    clock.now += RESET_SECONDS
    wire.fail = lambda: None
    response = await get_version(client)
    assert response.status == 200 and wire.calls == 2
    assert breaker.state == "closed"


async def test_a_probe_whose_caller_leaves_frees_the_slot_at_once() -> None:
    client, wire, breaker, _ = open_circuit()
    wire.hold = asyncio.Event()
    probe = asyncio.create_task(get_version(client))
    await wire.entered.wait()
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    # Cancelling says nothing about Bifrost: still half-open, and the next call is the new probe.
    assert breaker.state == "half-open"
    wire.hold = None
    assert (await get_version(client)).status == 200
    assert breaker.state == "closed"


async def test_a_base_exception_during_the_probe_frees_the_slot() -> None:
    client, wire, breaker, _ = open_circuit()
    wire.fail = lambda: Teardown()
    with pytest.raises(Teardown):
        await get_version(client)
    assert breaker.state == "half-open"
    wire.fail = lambda: None
    assert (await get_version(client)).status == 200
    assert breaker.state == "closed"


async def test_a_mapped_failure_during_the_probe_still_reopens() -> None:
    client, wire, breaker, clock = open_circuit()
    wire.fail = lambda: WireConnectionError()
    with pytest.raises(UpstreamUnavailable):
        await get_version(client)
    assert breaker.state == "open"
    clock.now += RESET_SECONDS
    wire.fail = lambda: None
    assert (await get_version(client)).status == 200
    assert breaker.state == "closed"


async def test_an_httpx_decoding_error_from_the_httpx_wire_is_no_usable_answer() -> None:
    """The httpx wire maps a body it cannot decode like a broken connection (as the aiohttp wire does)."""

    def broken_gzip(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"not gzip", headers={"content-encoding": "gzip"})

    wire = HttpxWire(httpx.AsyncClient(base_url="http://bifrost", transport=httpx.MockTransport(broken_gzip)))
    client = BifrostClient(wire, read_retries=0, breaker=CircuitBreaker(failure_threshold=1), coalesce_reads=False)
    with pytest.raises(UpstreamUnavailable):
        await get_version(client)
    assert client.breaker.state == "open"
    await client.aclose()


async def test_a_call_that_was_not_the_probe_leaving_keeps_the_probe_slot() -> None:
    """A call sent while closed and cancelled after the circuit opened must not let a second probe out."""
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_seconds=RESET_SECONDS, clock=clock)
    wire = StubWire()
    client = BifrostClient(wire, read_retries=0, breaker=breaker, coalesce_reads=False)
    wire.hold = asyncio.Event()
    early = asyncio.create_task(get_version(client))  # sent while closed
    await wire.entered.wait()
    breaker.record_failure()  # another call failed meanwhile: open
    clock.now += RESET_SECONDS
    wire.entered.clear()
    probe = asyncio.create_task(get_version(client))  # half-open: this one is the probe
    await wire.entered.wait()
    early.cancel()
    with pytest.raises(asyncio.CancelledError):
        await early
    with pytest.raises(UpstreamUnavailable):
        await get_version(client)
    assert wire.calls == 2, "no second probe was sent"
    wire.hold.set()
    assert (await probe).status == 200
    assert breaker.state == "closed"
