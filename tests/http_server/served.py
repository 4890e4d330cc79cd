"""The gateway served by uvicorn on a real socket, as ``python -m app`` serves it, and a raw HTTP/1.1 client.

The server runs in the test's event loop (the upstream is the embedded server, reached without a socket),
so tests can watch what the server does to a client that is slow, oversized or leaves.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import uvicorn

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.http_limits import server_options
from app.settings import Settings
from app.web import create_app


@dataclass
class Served:
    """A gateway listening on 127.0.0.1:``port`` and the embedded upstream behind it."""

    port: int
    upstream: Any
    server: uvicorn.Server

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A new raw connection to the gateway."""
        return await asyncio.open_connection("127.0.0.1", self.port, limit=4 * 1024 * 1024)

    def upstream_calls(self) -> list[Any]:
        """What reached the upstream's governance API."""
        return [record for record in self.upstream.state.request_log if record.path.startswith("/api/governance")]


@asynccontextmanager
async def served(transport: httpx.AsyncBaseTransport | None = None, **settings: Any) -> AsyncIterator[Served]:
    """Serve a gateway with ``settings`` (defaults otherwise) through uvicorn on a free port.

    The upstream is the embedded server unless ``transport`` replaces it.
    """
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    gateway_settings = Settings(bifrost_url="http://bifrost.internal:8080", **settings)
    app = create_app(gateway_settings, transport=transport or httpx.ASGITransport(app=upstream))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections made before the server accepts wait in the backlog
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
        **server_options(gateway_settings),
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield Served(sock.getsockname()[1], upstream, server)
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
        sock.close()


@dataclass
class Answer:
    """One HTTP response as read off the wire."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


WAIT = 10
"""Seconds a test waits for the server before it fails (never reached when the server behaves)."""


async def read_answer(reader: asyncio.StreamReader) -> Answer:
    """Read one response (content-length framed, as the gateway sends them)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await asyncio.wait_for(reader.readexactly(length), WAIT)
    return Answer(int(status_line.split()[1]), headers, body)


async def closed(reader: asyncio.StreamReader) -> bool:
    """Wait for the server to close the connection; True once it has (nothing more arrives)."""
    with suppress(ConnectionError):
        rest = await asyncio.wait_for(reader.read(), WAIT)
        assert rest == b"", rest[:200]
    return True


def request(
    method: str = "GET",
    target: str = "/healthz",
    *,
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    version: str = "HTTP/1.1",
) -> bytes:
    """A raw request; ``Host`` and (with a body) ``Content-Length`` are added."""
    lines = [f"{method} {target} {version}", "Host: gateway"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class LogWatch(logging.Handler):
    """Collects log records and sets an event when one matches ``wanted``."""

    def __init__(self, wanted: Callable[[logging.LogRecord], bool]) -> None:
        super().__init__(logging.DEBUG)
        self.wanted = wanted
        self.records: list[logging.LogRecord] = []
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if self.wanted(record):
            self.seen.set()


@asynccontextmanager
async def watching_logs(wanted: Callable[[logging.LogRecord], bool]) -> AsyncIterator[LogWatch]:
    """Every log record while the block runs (root logger, all levels)."""
    watch = LogWatch(wanted)
    root = logging.getLogger()
    level = root.level
    root.addHandler(watch)
    root.setLevel(logging.DEBUG)
    try:
        yield watch
    finally:
        root.removeHandler(watch)
        root.setLevel(level)
