"""A lean HTTP/1.1 server for the standalone embedded server: httptools parsing, one write per response.

The embedded server is the upstream of benchmarks, and must stay several times faster than any gateway measured
in front of it. Its handlers are synchronous (the body is read, then the answer is built without an ``await``),
so the ASGI machinery around them (a task, ``receive``/``send`` messages and two socket writes per request)
cost as much as the handler itself. This server parses with httptools (the parser uvicorn uses) and calls
:meth:`BifrostApp.respond` straight from the parser's callback, writing the whole response at once.

What it does: keep-alive and ``Connection: close``, HTTP/1.0, pipelined requests (answered in order),
chunked request bodies, ``Expect: 100-continue``, ``HEAD`` (headers only), a ``Date`` header, a 413 above
:data:`MAX_BODY` and a 400 for a malformed request (then the connection is closed), and back-pressure (a
client that does not read its answers is not read from until it does). There is no TLS, HTTP/2 or
upgrade: Bifrost's governance API needs none of them. ``python -m app.embedded_bifrost --server uvicorn``
serves the same application through uvicorn instead.
"""

from __future__ import annotations

import asyncio
import email.utils
import http
import logging
import signal
import time
from typing import Protocol, cast
from urllib.parse import unquote_to_bytes

import httptools

__all__ = ["MAX_BODY", "Responder", "Server", "serve", "start_server"]

logger = logging.getLogger(__name__)

MAX_BODY = 64 * 1024 * 1024
"""Request bodies above this many bytes are answered 413 and the connection is closed."""


class Responder(Protocol):
    """What the server serves: :class:`~app.embedded_bifrost.BifrostApp`, or anything answering like it."""

    def respond(
        self,
        method: str,
        raw_path: bytes,
        path: str,
        query_string: bytes,
        body: bytes,
        headers: list[tuple[bytes, bytes]],
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]: ...

    def close(self) -> None: ...

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


_REASONS = {status.value: status.phrase.encode() for status in http.HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Clock:
    """The ``Date`` header, formatted once per second."""

    __slots__ = ("_header", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._header = b""

    def header(self) -> bytes:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._header = b"date: " + email.utils.formatdate(second, usegmt=True).encode() + b"\r\n"
        return self._header


class _Connection(asyncio.Protocol):
    __slots__ = (
        "_app",
        "_body",
        "_clock",
        "_closing",
        "_headers",
        "_open",
        "_parser",
        "_size",
        "_transport",
        "_url",
    )

    def __init__(self, app: Responder, clock: _Clock, open_transports: set[asyncio.Transport]) -> None:
        self._app = app
        self._clock = clock
        self._open = open_transports
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._closing = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        self._open.add(self._transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._open.discard(self._transport)
        self._transport = None

    def pause_writing(self) -> None:
        # A client that sends requests faster than it reads the answers: stop reading until it catches up.
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None and not self._closing:
            self._transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(400, b'{"error":"upgrade is not supported"}')
        except httptools.HttpParserError:
            self._fail(400, b'{"error":"malformed request"}')

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = []
        self._size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        self._headers.append((name, value))
        if name == b"expect" and value.lower() == b"100-continue" and self._transport is not None:
            self._transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_BODY:
            self._fail(413, b'{"error":"request body too large"}')
            raise httptools.HttpParserError("body too large")  # stops the parser; data_received ignores the rest
        self._body.append(body)

    def on_message_complete(self) -> None:
        transport = self._transport
        if transport is None or self._closing:
            return
        parser = self._parser
        method = parser.get_method().decode("ascii")
        target = self._url
        if target[:1] == b"/":  # origin form, as every client sends it
            raw_path, _, query = target.partition(b"?")
        else:  # absolute form (http://host/path?query)
            url = httptools.parse_url(target)
            raw_path, query = url.path or b"/", url.query or b""
        body = b"".join(self._body) if len(self._body) != 1 else self._body[0]
        # as uvicorn decodes it: percent-escapes as UTF-8, anything undecodable replaced
        path = (unquote_to_bytes(raw_path) if b"%" in raw_path else raw_path).decode("utf-8", "replace")
        status, payload, headers = self._app.respond(method, raw_path, path, query, body, self._headers)
        keep_alive = parser.should_keep_alive()
        head = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"")), self._clock.header()]
        for name, value in headers:
            head.append(name + b": " + value + b"\r\n")
        head.append(b"content-length: %d\r\n" % len(payload))
        if not keep_alive:
            head.append(b"connection: close\r\n")
        elif parser.get_http_version() == "1.0":
            head.append(b"connection: keep-alive\r\n")
        head.append(b"\r\n")
        if method != "HEAD":
            head.append(payload)
        transport.write(b"".join(head))
        if not keep_alive:
            self._closing = True
            transport.close()

    def _fail(self, status: int, payload: bytes) -> None:
        transport = self._transport
        if transport is None or self._closing:
            return
        self._closing = True
        transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
            % (status, _REASONS[status], len(payload))
            + payload
        )
        transport.close()


class Server:
    """A listening server: :attr:`port` is where it listens; :meth:`close` stops it and its connections."""

    def __init__(self, server: asyncio.Server, open_transports: set[asyncio.Transport]) -> None:
        self._server = server
        self._open = open_transports
        self.port: int = server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and close every open connection."""
        self._server.close()
        for transport in list(self._open):
            transport.close()
        await self._server.wait_closed()


async def start_server(app: Responder, host: str, port: int) -> Server:
    """Start serving ``app`` on ``host:port`` in the running event loop.

    Args:
        app: The embedded server (see :func:`~app.embedded_bifrost.create_app`).
        host: The address to listen on.
        port: The port (0 picks a free one: read :attr:`Server.port`).

    Returns:
        The listening server.
    """
    clock = _Clock()
    open_transports: set[asyncio.Transport] = set()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Connection(app, clock, open_transports), host, port, reuse_address=True, backlog=2048
    )
    return Server(server, open_transports)


async def _serve_until_signalled(app: Responder, host: str, port: int) -> None:
    server = await start_server(app, host, port)
    await app.startup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    logger.info("serving on %s:%d", host, server.port)
    try:
        await stop.wait()
    finally:
        await app.shutdown()
        await server.close()
        app.close()


def serve(app: Responder, host: str, port: int) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, on uvloop where it is installed."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is installed wherever it builds
        asyncio.run(_serve_until_signalled(app, host, port))
    else:
        uvloop.run(_serve_until_signalled(app, host, port))
