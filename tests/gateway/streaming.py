"""Reading a streamed HTTP response while it streams, over raw ASGI (httpx's ASGI transport waits for the end).

``StreamingCall`` runs one request through the real application and hands the test each body chunk as the
application writes it; ``leave()`` is the client closing the connection. ``ManualClock`` replaces the
heartbeat's sleep, so a test says when the interval has passed instead of waiting for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.types import ASGIApp

SSE = {"accept": "text/event-stream"}
MULTIPART = {"accept": 'multipart/mixed;subscriptionSpec="1.0", application/json'}
_WAIT_S = 10.0  # bounds every wait: a broken stream fails the test instead of hanging it


class StreamingCall:
    """One request through ``app``; read the head, then the body chunk by chunk.

    Example:
        >>> # call = StreamingCall.post(app, {"query": "subscription { tick }"}, SSE)
        >>> # await call.start(); status, headers = await call.head()
    """

    def __init__(self, app: ASGIApp, scope: dict[str, Any], body: bytes) -> None:
        self.app = app
        self.scope = scope
        self._incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._incoming.put_nowait({"type": "http.request", "body": body, "more_body": False})
        self._outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.body = b""
        self.finished = False
        self.status: int | None = None

    @classmethod
    def post(cls, app: ASGIApp, payload: dict[str, Any], headers: dict[str, str]) -> StreamingCall:
        body = orjson.dumps(payload)
        raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        return cls(app, _scope("POST", b"", raw + _raw(headers)), body)

    @classmethod
    def get(cls, app: ASGIApp, params: dict[str, str], headers: dict[str, str]) -> StreamingCall:
        return cls(app, _scope("GET", urlencode(params).encode(), _raw(headers)), b"")

    async def start(self) -> None:
        async def receive() -> dict[str, Any]:
            return await self._incoming.get()

        async def send(message: dict[str, Any]) -> None:
            await self._outgoing.put(message)

        self.task = asyncio.create_task(self.app(self.scope, receive, send))

    async def head(self) -> tuple[int, dict[str, str]]:
        message = await asyncio.wait_for(self._outgoing.get(), _WAIT_S)
        assert message["type"] == "http.response.start", message
        headers = {name.decode().lower(): value.decode() for name, value in message["headers"]}
        self.status = message["status"]
        return message["status"], headers

    async def read_until(self, done: Callable[[bytes], bool]) -> bytes:
        """Body chunks until ``done(body so far)``; the whole body so far (the head is read first if need be)."""
        if self.status is None:
            await self.head()
        while not done(self.body):
            assert not self.finished, f"the response ended first: {self.body!r}"
            message = await asyncio.wait_for(self._outgoing.get(), _WAIT_S)
            assert message["type"] == "http.response.body", message
            self.body += message.get("body", b"")
            self.finished = not message.get("more_body", False)
        return self.body

    async def read_to_end(self) -> bytes:
        await self.read_until(lambda _: self.finished)
        await self.finished_task()
        return self.body

    async def leave(self) -> None:
        """The client closes the connection; returns once the application has returned."""
        await self._incoming.put({"type": "http.disconnect"})
        await self.finished_task()

    async def finished_task(self) -> None:
        assert self.task is not None
        await asyncio.wait_for(self.task, _WAIT_S)


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), value.encode()) for name, value in headers.items()]


def _scope(method: str, query_string: bytes, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "method": method,
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": query_string,
        "headers": [(b"host", b"gateway"), *headers],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("gateway", 80),
        "client": ("127.0.0.1", 5000),
        "root_path": "",
    }


def sse_events(body: bytes) -> list[tuple[str, Any]]:
    """The body's SSE events as (event, data) with ``next`` data parsed; comments (keep-alives) left out."""
    events = []
    for block in body.decode().split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        fields = dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "") for line in lines)
        data = fields.get("data", "")
        events.append((fields["event"], orjson.loads(data) if data else None))
    return events


def sse_comments(body: bytes) -> list[str]:
    return [line for line in body.decode().split("\n") if line.startswith(":")]


def multipart_parts(body: bytes) -> list[Any]:
    """The body's JSON parts, split as Apollo Client splits them (on CRLF + ``--graphql``)."""
    parts = []
    for message in body.decode().split("\r\n--graphql"):
        head, separator, content = message.partition("\r\n\r\n")
        if separator and "application/json" in head.lower():
            parts.append(orjson.loads(content))
    return parts


class ManualClock:
    """A sleep that returns when the test says the interval has passed.

    Sleeps are told apart by their length (a heartbeat's interval, a write's bound), so a test moves one kind.

    Example:
        >>> # clock = ManualClock(); SubscriptionStream(..., sleep=clock.sleep)
        >>> # await clock.sleeping(15.0); clock.tick(15.0)
    """

    def __init__(self) -> None:
        self.asked: list[float] = []
        self._waiters: list[tuple[float, asyncio.Future[None]]] = []
        self._changed = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((seconds, waiter))
        self._changed.set()
        await waiter

    def _waiting(self, seconds: float) -> list[asyncio.Future[None]]:
        return [waiter for length, waiter in self._waiters if length == seconds and not waiter.done()]

    async def sleeping(self, seconds: float) -> None:
        """Returns once somebody sleeps ``seconds`` on this clock."""
        while not self._waiting(seconds):
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), _WAIT_S)

    def tick(self, seconds: float) -> None:
        """``seconds`` have passed for everybody sleeping that long now."""
        for waiter in self._waiting(seconds):
            waiter.set_result(None)
        self._waiters = [(length, waiter) for length, waiter in self._waiters if not waiter.done()]
