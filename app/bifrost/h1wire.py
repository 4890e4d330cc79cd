"""``H1Wire``: a small HTTP/1.1 client to Bifrost, written as an asyncio protocol over httptools' parser.

The upstream client is the largest layer of the gateway's CPU per request. reqwest is cheap per byte, but on
one core every call crosses from the event loop to reqwest's runtime thread and back; aiohttp stays in the
loop but runs a task, streams and a payload object per call. This wire does only what Bifrost needs: one
``transport.write`` per request, httptools (C) parsing the answer in the loop's own ``data_received``, and one
future per call. It is hardened as the other wires (``tests/reliability/test_wire_parity.py`` runs it over the
same matrix, ``tests/reliability/test_h1wire_attacks.py`` over lying and hostile servers):

* at most ``max_connections`` calls in flight, so at most that many connections, kept alive (LIFO; one idle
  for ~15 s, or closed by the server, is dropped when taken); waiting longer than ``connect_timeout`` for a
  free one is a connect timeout;
* ``read_timeout`` between reads, the wait for the head included (aiohttp's ``sock_read``);
* a total ``deadline`` per call when the caller gives one, on the same timer as the read timeout (one timer per
  connection, not two per call, kept from call to call while it is due no later than the next call's bounds):
  reached while waiting for a connection it is a connect timeout, after writing a ``TimeoutError`` as
  ``asyncio.timeout`` would raise;
* an answer is at most ``max_bytes`` after decoding (a declared length over it is refused before the body is
  read; gzip and deflate inflate no further than the limit), its head at most 64 KiB;
* a connection is reused only after a complete answer that allows it and nothing more arrived; a call that
  fails or whose caller left closes its connection;
* refused, DNS or connect timeout say nothing was sent; any failure after writing leaves the outcome unknown,
  and nothing is ever sent twice. Exceptions name the kind only, never the URL or the upstream's text;
* the request target is the one aiohttp sends (no fragment, dot segments resolved);
* the pool belongs to the event loop that calls it: called from another (each test runs its own), it starts
  over rather than use the old loop's connections and call slots.

Example:
    >>> wire = H1Wire("http://127.0.0.1:8080", max_connections=100, connect_timeout=2, read_timeout=10)
    >>> wire.base_url
    'http://127.0.0.1:8080'
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import ssl
import zlib
from collections.abc import Mapping
from typing import NoReturn, cast

import httptools
from yarl import URL

from app.bifrost.slots import CallSlots
from app.bifrost.wire import (
    UpstreamResponse,
    WireConnectError,
    WireConnectionError,
    WireConnectTimeout,
    WireTimeout,
    WireTooLarge,
)

__all__ = ["MAX_HEAD_BYTES", "H1Wire"]

MAX_HEAD_BYTES = 64 * 1024  # an answer's status line and headers together
_IDLE_SECONDS = 15.0  # aiohttp's keep-alive: an idle connection older than this is not trusted to be open
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a value may hold tabs and text, nothing else below space
_ROOT = URL("http://upstream")  # resolves a path's dot segments (the host is never used)
# A path yarl gives back unchanged: nothing to quote, no query or fragment, no dot segment (with "//" refused too).
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9_\-~/]*")
_NO_DEADLINE = float("inf")  # a call without a total deadline: the read timeout alone bounds it
_HEADER_LINES = 256  # validated header lines kept per wire (names and values repeat from call to call)
_KEPT_VALUE_CHARS = 1024  # a header value longer than this is validated on every call, never kept
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})  # others say Content-Length: 0 (as aiohttp)
# The answer headers the gateway reads; every other one is skipped unread.
_LENGTH, _ENCODING, _TRANSFER, _COOKIE, _RETRY, _DEPRECATION = range(6)
_KEPT = {
    b"content-length": _LENGTH,
    b"content-encoding": _ENCODING,
    b"transfer-encoding": _TRANSFER,
    b"set-cookie": _COOKIE,
    b"retry-after": _RETRY,
    b"deprecation": _DEPRECATION,
}


class H1Wire:
    """A pool of HTTP/1.1 connections to Bifrost's base URL, each an asyncio protocol (see the module).

    ``send(..., deadline=t)`` ends the call by the loop time ``t`` (the Bifrost client's total timeout) on the
    connection's own read timer rather than a timer of the caller's (``enforces_total_timeout``): waiting for a
    free connection or connecting past it is a connect timeout (nothing was sent), and once written the call
    raises ``TimeoutError`` at the deadline, as ``asyncio.timeout`` around it would.

    Example:
        >>> H1Wire.enforces_total_timeout
        True
    """

    enforces_total_timeout = True

    def __init__(self, base_url: str, *, max_connections: int, connect_timeout: float, read_timeout: float) -> None:
        self.base_url = base_url
        url = URL(base_url)
        self._host = url.raw_host or ""
        self._tls = url.scheme == "https"
        self._port = url.port or (443 if self._tls else 80)
        self._prefix = url.raw_path.rstrip("/")
        self._host_line = f"Host: {url.host_port_subcomponent}\r\n"
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_connections = max_connections
        self._loop: asyncio.AbstractEventLoop | None = None  # the pool below belongs to this loop (see _bind)
        self._slots = CallSlots(max_connections)  # its waiters' futures belong to this wire's loop
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._ssl: ssl.SSLContext | None = None
        # Bounded and per wire: values may be secrets, held in memory only, and dropped when the wire closes.
        self._header_line = functools.lru_cache(maxsize=_HEADER_LINES)(_header_line)

    async def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, str | int] | None,
        max_bytes: int,
        *,
        deadline: float | None = None,
    ) -> UpstreamResponse:
        request = self._request(method, path, headers, content, params)
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._bind(loop)
        slots = self._slots
        if not slots.take():
            try:
                async with asyncio.timeout_at(self._connect_deadline(loop, deadline)):
                    await slots.wait()
            except TimeoutError:
                raise WireConnectTimeout("no free connection in time") from None
        try:
            connection = self._pooled() or await self._connect(loop, deadline)
            try:
                response = await connection.start(request, max_bytes, _NO_DEADLINE if deadline is None else deadline)
            except BaseException:
                connection.close()  # failed, or its caller left mid-call: what it would read next is unknown
                raise
            if connection.reusable:
                connection.idle_since = connection.loop.time()
                self._idle.append(connection)
            else:
                connection.close()
            return response
        finally:
            slots.release()

    async def aclose(self) -> None:
        """Close every connection; a later call opens new ones."""
        for connection in list(self._open):
            connection.close()
        self._idle.clear()
        self._header_line.cache_clear()

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve calls on ``loop`` from now on (a wire called from a new loop, as each test's, starts over).

        The old loop's connections cannot be read from this one, and its slots' waiters are bound to it.
        """
        for connection in self._open:
            with contextlib.suppress(RuntimeError):  # that loop is closed: its sockets close when collected
                connection.close()
        self._open.clear()
        self._idle.clear()
        self._slots = CallSlots(self._max_connections)
        self._loop = loop

    def _request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, str | int] | None,
    ) -> bytes:
        lines = [f"{method} {self._target(path, params)} HTTP/1.1\r\n", self._host_line]
        kept = self._header_line
        for name, value in headers.items():
            # A long value is checked on every call, never kept: the kept lines stay small however large a
            # caller's headers are.
            lines.append(kept(name, value) if len(value) <= _KEPT_VALUE_CHARS else _header_line(name, value))
        lines.append("Accept-Encoding: gzip, deflate\r\n")
        if content:
            lines.append(f"Content-Length: {len(content)}\r\n\r\n")
        elif method in _NO_BODY_METHODS:
            lines.append("\r\n")
        else:
            lines.append("Content-Length: 0\r\n\r\n")
        try:
            head = "".join(lines).encode()  # a value outside ASCII leaves as UTF-8, as the other wires send it
        except UnicodeEncodeError:
            raise ValueError("an upstream request header is not valid") from None
        return head + content if content else head

    def _target(self, path: str, params: Mapping[str, str | int] | None) -> str:
        """The request target of ``path`` and ``params`` below the base URL's path (see ``_yarl_target``).

        The client's paths are absolute API paths whose ids never hold a dot: made only of characters that
        need no quoting and holding no empty segment, such a path is its own target (yarl would give it back as
        it is), which spares yarl's parse, join and query building on nearly every call.

        Example:
            >>> H1Wire("http://b/root/", max_connections=1, connect_timeout=1, read_timeout=1)._target("/a/b-1", None)
            '/root/a/b-1'
        """
        if not params and _PLAIN_PATH.fullmatch(path) is not None and "//" not in path:
            return self._prefix + path
        return self._yarl_target(path, params)

    def _yarl_target(self, path: str, params: Mapping[str, str | int] | None) -> str:
        # The target as aiohttp and reqwest build it (yarl), below the base URL's path: only a path and query,
        # never a host (the absolute form tells a server to ignore the Host line) nor a fragment; dot segments
        # resolved and a relative path made absolute as both do (rare: the client's paths are absolute and its
        # ids never hold a dot).
        url = URL(path)
        raw = url.raw_path
        if raw[:1] != "/" or "/." in raw:
            url = _ROOT.join(url)
        return self._prefix + (url.extend_query(params) if params else url).raw_path_qs

    def _pooled(self) -> _Connection | None:
        idle = self._idle
        if not idle:
            return None
        now = idle[0].loop.time()
        if now - idle[0].idle_since > _IDLE_SECONDS:  # the oldest, unused since: closed in passing
            idle.pop(0).close()
        while idle:
            connection = idle.pop()
            if not connection.lost and now - connection.idle_since <= _IDLE_SECONDS:
                return connection
            connection.close()
        return None

    def _connect_deadline(self, loop: asyncio.AbstractEventLoop, deadline: float | None) -> float:
        # Nothing is sent before a connection is had: the total deadline cuts this wait short as a connect timeout.
        connect_by = loop.time() + self._connect_timeout
        return connect_by if deadline is None or deadline > connect_by else deadline

    async def _connect(self, loop: asyncio.AbstractEventLoop, deadline: float | None) -> _Connection:
        if self._tls and self._ssl is None:
            self._ssl = ssl.create_default_context()
        try:
            async with asyncio.timeout_at(self._connect_deadline(loop, deadline)):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop, self._read_timeout, self._open),
                    self._host,
                    self._port,
                    ssl=self._ssl if self._tls else None,
                    server_hostname=self._host if self._tls else None,
                )
        except TimeoutError:
            raise WireConnectTimeout("no connection in time") from None
        except OSError:  # refused, unreachable, DNS (gaierror), TLS handshake: nothing was sent
            raise WireConnectError("no connection") from None
        if connection.lost:  # closed by the server before a byte was written
            raise WireConnectError("no connection")
        # Known from here on, not from connection_made: uvloop closes a connection whose connect was cancelled
        # mid-way without ever calling connection_lost, which would leave it in the set for good.
        self._open.add(connection)
        return connection


def _header_line(name: str, value: str) -> str:
    """``name: value`` as a request head's line; ``ValueError`` for a name or value that could break the head."""
    if _TOKEN.fullmatch(name) is None or _CONTROL.search(value) is not None:
        raise ValueError("an upstream request header is not valid")  # never quoted: it may be a secret
    return f"{name}: {value}\r\n"


class _Stop(Exception):
    """Raised from a parser callback to stop parsing; the reason is kept on the connection."""


class _Connection(asyncio.Protocol):
    """One connection and the one call it serves at a time; httptools calls the ``on_*`` methods."""

    __slots__ = (
        "body",
        "call",
        "chunked",
        "deadline",
        "decoder",
        "deprecation",
        "done",
        "encoding",
        "failure",
        "head_bytes",
        "head_read",
        "idle_since",
        "keep_alive",
        "last_read",
        "length",
        "loop",
        "lost",
        "max_bytes",
        "parser",
        "pool",
        "read_timeout",
        "received",
        "retry_after",
        "reusable",
        "set_cookies",
        "size",
        "status",
        "timer",
        "timer_at",
        "transport",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, read_timeout: float, pool: set[_Connection]) -> None:
        self.loop = loop
        self.read_timeout = read_timeout
        self.pool = pool  # the wire's open connections, which this one leaves when it closes
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.idle_since = 0.0
        self.call: asyncio.Future[UpstreamResponse] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = 0.0  # the loop time the timer was set for
        self.deadline = _NO_DEADLINE  # the call's total deadline (loop time)
        self.last_read = 0.0
        self.reusable = False
        self.max_bytes = 0
        self.head_read = 0
        self.head_bytes = 0
        self._clear()

    def _clear(self) -> None:
        """Forget what was read of an answer (a new call, or after a 1xx interim answer)."""
        self.status = 0
        self.length: bytes | None = None
        self.encoding = b""
        self.chunked = False
        self.set_cookies: list[str] = []
        self.retry_after: str | None = None
        self.deprecation: bytes | None = None
        self.body: list[bytes] = []
        self.received = 0
        self.size = 0
        self.decoder: zlib._Decompress | None = None
        self.done = False
        self.keep_alive = False
        self.failure: Exception | None = None

    def start(self, request: bytes, max_bytes: int, deadline: float) -> asyncio.Future[UpstreamResponse]:
        """Write one request; the future gives its answer, or fails by the loop time ``deadline``."""
        assert self.transport is not None
        self._clear()
        self.max_bytes = max_bytes
        self.head_read = self.head_bytes = 0  # kept across interim answers: endless 1xx are bounded too
        self.reusable = False
        self.call = call = self.loop.create_future()
        self.deadline = deadline
        self.last_read = now = self.loop.time()
        read_by = now + self.read_timeout
        due = read_by if read_by < deadline else deadline
        # A timer left by the previous call is kept when it is due no later than this call's bounds: it then
        # finds data read since it was set and waits out the rest (see _timed_out). One timer per connection
        # per read timeout, rather than one made and cancelled per call.
        if self.timer is None or self.timer_at > due:
            if self.timer is not None:
                self.timer.cancel()
            self._arm(read_by)
        self.transport.write(request)
        return call

    def close(self) -> None:
        self.lost = True
        self.reusable = False
        if self.timer is not None:  # a call its caller left: its timer would keep this alive until it fired
            self.timer.cancel()
            self.timer = None
        if self.transport is not None:
            self.transport.abort()

    # asyncio's protocol --------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio's classes

    def data_received(self, data: bytes) -> None:
        call = self.call
        if call is None or call.done():  # bytes nobody asked for: the connection cannot be trusted
            self.close()
            return
        self.last_read = self.loop.time()
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            if not self.done:
                self._fail(self.failure or WireConnectionError("the answer is not valid HTTP"))
            self.close()  # an answer was read, then more bytes: the connection cannot be trusted
            return
        if not self.status:  # the head is not complete yet: httptools holds it, so it is bounded here
            self.head_read += len(data)
            if self.head_read > MAX_HEAD_BYTES:
                self._fail(WireConnectionError("the answer's head is too large"))

    def eof_received(self) -> bool:
        self.lost = True
        return False  # asyncio closes the transport; connection_lost settles a call in flight

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.pool.discard(self)
        call = self.call
        if call is None or call.done():
            return
        if self.status and self.length is None and not self.chunked:
            self._finish()  # an answer without a length ends with its connection
        else:
            self._fail(WireConnectionError("the connection closed before the answer ended"))

    # httptools' callbacks ------------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.done:
            raise _Stop  # a second answer to one request

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_bytes += len(name) + len(value)
        if self.head_bytes > MAX_HEAD_BYTES:  # a whole head in one read never reaches data_received's bound
            self._stop(WireConnectionError("the answer's head is too large"))
        kind = _KEPT.get(name.lower())
        if kind is None:
            return
        if kind == _COOKIE:
            self.set_cookies.append(value.decode("utf-8", "surrogateescape"))  # aiohttp's reading of the bytes
        elif kind == _LENGTH:
            self.length = value
        elif kind == _ENCODING:
            self.encoding = value.strip().lower()
        elif kind == _TRANSFER:
            self.chunked = value.rstrip().lower().endswith(b"chunked")
        elif kind == _RETRY:
            self.retry_after = value.decode("utf-8", "surrogateescape")
        else:
            self.deprecation = value

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:
            if status < 100:  # no such answer: not an interim one to wait past until the read timeout
                self._stop(WireConnectionError("the answer is not valid HTTP"))
            return  # an interim answer: its headers are forgotten when it completes
        self.status = status
        if self.length is not None and int(self.length) > self.max_bytes:
            self._stop(WireTooLarge("the answer is too large"))

    def on_body(self, chunk: bytes) -> None:
        # Both bounded: what came (as a declared length is) and what it decodes to.
        self.received += len(chunk)
        if self.encoding:
            chunk = self._decode(chunk)
        self.body.append(chunk)
        self.size += len(chunk)
        if self.size > self.max_bytes or self.received > self.max_bytes:
            self._stop(WireTooLarge("the answer is too large"))

    def on_message_complete(self) -> None:
        if not self.status:
            self._clear()  # 100 Continue and the like: the real answer follows
            return
        self.keep_alive = self.parser.should_keep_alive()
        if (self.status == 204 or self.status == 304) and (self.chunked or (self.length and int(self.length))):
            # An answer that has no body declared one: if the server writes it after all, it would be read as
            # the next call's answer. (A 304 may declare a length it does not send; Bifrost sends no 304.)
            self.keep_alive = False
        self._finish()

    # The call's end ------------------------------------------------------------------------------------------

    def _decode(self, chunk: bytes) -> bytes:
        decoder = self.decoder
        if decoder is None:
            if not chunk:
                return chunk
            if self.encoding in (b"gzip", b"x-gzip"):
                wbits = 16 + zlib.MAX_WBITS
            elif self.encoding == b"deflate":
                # zlib-wrapped as the RFC says, or raw deflate as some servers send (aiohttp reads both)
                wbits = zlib.MAX_WBITS if chunk[0] & 0x0F == 8 else -zlib.MAX_WBITS
            else:
                return chunk  # not an encoding asked for: the bytes as they came (as aiohttp gives them)
            self.decoder = decoder = zlib.decompressobj(wbits)
        try:
            # Never more than one byte past the limit, however much this chunk would inflate to.
            plain = decoder.decompress(chunk, self.max_bytes - self.size + 1)
        except zlib.error:
            self._stop(WireConnectionError("the answer's encoding is broken"))
        if decoder.unused_data:  # bytes after the compressed stream's end
            self._stop(WireConnectionError("the answer's encoding is broken"))
        return plain

    def _finish(self) -> None:
        call = self.call
        assert call is not None
        decoder = self.decoder
        if decoder is not None and not decoder.eof:
            self._fail(WireConnectionError("the answer's encoding is broken"))  # cut short
            return
        self.done = True  # the timer stays: the next call on this connection may use it (see start)
        self.reusable = self.keep_alive and not self.lost
        body = self.body
        self.body = []  # an idle connection holds no answer
        call.set_result(
            UpstreamResponse(
                self.status,
                body[0] if len(body) == 1 else b"".join(body),
                self.set_cookies,
                self.retry_after,
                self.deprecation is not None and self.deprecation.strip().lower() not in (b"", b"false"),
            )
        )

    def _stop(self, failure: Exception) -> NoReturn:
        self.failure = failure
        raise _Stop

    def _fail(self, failure: Exception) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.close()
        call = self.call
        if call is not None and not call.done():
            call.set_exception(failure)

    def _arm(self, read_by: float) -> None:
        """One timer for both bounds: the next read's and the call's total deadline, whichever comes first."""
        self.timer_at = at = read_by if read_by < self.deadline else self.deadline
        self.timer = self.loop.call_at(at, self._timed_out)

    def _timed_out(self) -> None:
        self.timer = None
        call = self.call
        if call is None or call.done():  # left by a call that has ended: nothing to bound until the next one
            return
        if self.timer_at >= self.deadline:
            # Set for the total deadline: it ends the call when the loop runs it, as asyncio.timeout's timer
            # would (which may be a hair before the clock reads the deadline), and as the same TimeoutError.
            self._fail(TimeoutError())
            return
        quiet = self.loop.time() - self.last_read
        if quiet >= self.read_timeout:
            self._fail(WireTimeout("no answer in time"))
        else:  # data came since the timer was set: wait out the rest from the last read
            self._arm(self.last_read + self.read_timeout)
