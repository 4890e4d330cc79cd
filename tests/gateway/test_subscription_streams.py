"""The streamed response on its own: heartbeats on an injected clock, ends on either side, Accept negotiation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.web.stream_framing import MultipartFraming, SSEFraming, framing_for
from app.web.stream_response import SubscriptionStream
from tests.gateway.streaming import ManualClock, StreamingCall, multipart_parts, sse_comments, sse_events


class Results:
    """Results the test releases one by one; ``closed`` once the stream let go of them."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed = asyncio.Event()

    async def __call__(self) -> AsyncIterator[dict[str, Any]]:
        try:
            while True:
                yield await self.queue.get()
        finally:
            self.closed.set()


def _call(stream: SubscriptionStream) -> StreamingCall:
    return StreamingCall(stream, {"type": "http", "method": "POST", "path": "/graphql", "headers": []}, b"")


async def test_a_quiet_sse_stream_sends_a_keep_alive_each_interval_and_results_between() -> None:
    clock, results = ManualClock(), Results()
    call = _call(SubscriptionStream(results(), SSEFraming(), sleep=clock.sleep))
    await call.start()
    await call.head()
    await call.read_until(lambda body: body.count(b": ping") == 1)
    await clock.sleeping(15.0)

    clock.tick(15.0)
    await call.read_until(lambda body: body.count(b": ping") == 2)
    results.queue.put_nowait({"data": {"n": 1}})
    await call.read_until(lambda body: b"event: next" in body)
    await clock.sleeping(15.0)
    clock.tick(15.0)
    body = await call.read_until(lambda body: body.count(b": ping") == 3)

    assert sse_comments(body) == [": ping"] * 3
    assert set(clock.asked) == {15.0, 30.0}  # heartbeats, and the bound on each write
    assert sse_events(body) == [("next", {"data": {"n": 1}})]
    await call.leave()
    assert results.closed.is_set()


async def test_a_quiet_multipart_stream_sends_an_empty_part_each_interval() -> None:
    clock, results = ManualClock(), Results()
    call = _call(SubscriptionStream(results(), MultipartFraming(), sleep=clock.sleep))
    await call.start()
    await call.head()
    await clock.sleeping(5.0)  # the protocol's interval: clients give up on a longer silence
    clock.tick(5.0)
    body = await call.read_until(lambda body: multipart_parts(body) == [{}, {}])
    await call.leave()
    assert multipart_parts(body) == [{}, {}]
    assert results.closed.is_set()


async def test_a_server_that_cannot_write_any_more_ends_the_stream_and_closes_the_results() -> None:
    results = Results()
    stream = SubscriptionStream(results(), SSEFraming(), sleep=ManualClock().sleep)
    written: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # the server never reports the disconnect: only send tells
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message["body"].startswith(b"event"):
            raise OSError("connection reset")
        written.append(message)

    results.queue.put_nowait({"data": {"n": 1}})
    await asyncio.wait_for(stream({"type": "http"}, receive, send), 10)
    assert stream.ended == "client_left"
    assert results.closed.is_set()


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/event-stream", "sse"),
        ("TEXT/EVENT-STREAM;q=0.9", "sse"),
        ('multipart/mixed;subscriptionSpec="1.0", application/json', "multipart"),
        ("multipart/mixed; subscriptionSpec=1.0", "multipart"),
        ("multipart/mixed;boundary=\"graphql\";subscriptionSpec='1.0',application/json", "multipart"),
        ('MULTIPART/MIXED;SUBSCRIPTIONSPEC="1.0"', "multipart"),
        ('multipart/mixed;subscriptionSpec="1.0", text/event-stream', "sse"),
        ("multipart/mixed", None),
        ('multipart/mixed;subscriptionSpec="1.0";boundary="-"', None),
        ("application/json", None),
        ("", None),
        (",,,;;;===", None),
        ("text/event-stream" + ", application/json" * 2000, "sse"),
        ("application/json" * 100 + ", text/event-stream", None),  # not parsed past the first kilobyte
    ],
)
def test_framing_follows_the_accept_header(accept: str, expected: str | None) -> None:
    framing = framing_for(accept)
    assert (framing.name if framing else None) == expected


async def test_a_client_that_stops_reading_is_let_go_once_a_write_cannot_complete() -> None:
    clock, results = ManualClock(), Results()
    stream = SubscriptionStream(results(), SSEFraming(), sleep=clock.sleep, stalled_after=30.0)
    writes = 0

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # connected all along: it just does not read
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        nonlocal writes
        if message["type"] == "http.response.body":
            writes += 1
            if writes > 1:
                await asyncio.Event().wait()  # the socket's buffers are full: this write never completes

    running = asyncio.ensure_future(stream({"type": "http"}, receive, send))
    results.queue.put_nowait({"data": {"n": 1}})
    await clock.sleeping(30.0)
    clock.tick(30.0)
    await asyncio.wait_for(running, 10)
    assert stream.ended == "stalled"
    assert results.closed.is_set()
