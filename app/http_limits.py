"""Limits the HTTP server enforces before a request reaches the application: head size, and slow clients.

uvicorn's httptools protocol bounds neither the request head nor the time a client may take to send it
or its body, and its keep-alive timer only starts after a first response: one connection could hold
megabytes of unfinished header, or stay open for ever. :class:`LimitedHttpToolsProtocol` is that
protocol with the limits added, handed to uvicorn through its public ``http=`` parameter. It relies on
the protocol's attributes (parser, cycle, flow, transport), so uvicorn is pinned to the tested range in
pyproject.toml and ``HTTP_EDGE_LIMITS=false`` runs uvicorn's protocol unchanged.

What a client meets (each setting is in the README):

* request line and headers over ``MAX_HEADER_BYTES``, or more than ``MAX_HEADER_COUNT`` fields: 431 (the
  trailer fields after a chunked body get the same bounds);
* headers not complete ``HEADER_TIMEOUT`` seconds after the connection opened, or after their first byte
  on a kept-alive connection: 408 (a new connection that sent nothing is closed without a word);
* a body not complete ``BODY_TIMEOUT`` seconds after its headers: 408, and the application sees the
  client leave;
* nothing sent for ``KEEPALIVE_TIMEOUT`` seconds after an answer: closed (uvicorn's own timer);
* an answer that cannot be written for ``SEND_TIMEOUT`` seconds because the client reads nothing (the
  write buffer stays full): the connection is dropped, and the application sees the client leave.

A complete GraphQL answer is written by ``respond_directly`` in one write, with the bytes uvicorn's ``send``
would write in two (``HTTP_DIRECT_RESPONSES=false`` sends it through ``send``).

Each refusal closes the connection after the answer: the server stops sending, drops what the client
still sends for a moment so that the client can read the answer, then closes.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import http
import logging
import urllib.parse
from dataclasses import dataclass
from typing import Any, cast

import httptools
import orjson
from prometheus_client import Counter
from uvicorn.config import Config
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.server import ServerState

from app.settings import Settings

__all__ = [
    "DISCONNECT_WATCH",
    "REFUSED_REQUESTS",
    "DisconnectWatch",
    "HttpLimits",
    "LimitedHttpToolsProtocol",
    "direct_cycle",
    "respond_directly",
    "server_options",
]

log = logging.getLogger("app.web")

REFUSED_REQUESTS = Counter(
    "gateway_http_refused_total", "Requests the HTTP server refused before the application saw them", ["reason"]
)

_LINGER_SECONDS = 2.0
"""How long a refused connection keeps reading (and dropping) before it is dropped."""

_KEPT_TARGETS = 16
_KEPT_TARGET_BYTES = 256
"""A connection keeps the parse of its first 16 request targets up to 256 bytes long."""

_WATCHED_HEADERS = frozenset((b"expect", b"x-forwarded-for", b"x-forwarded-proto"))
"""Request headers uvicorn's protocol (100-continue) or its proxy-headers middleware acts on."""


DISCONNECT_WATCH = "gateway.disconnect"
"""The key of a request's :class:`DisconnectWatch` in its scope's ``extensions`` (set by this protocol only)."""


class DisconnectWatch:
    """Tells the application when its client leaves, without a task waiting on ``receive()`` for it.

    The protocol puts one into each request's ``scope["extensions"]``; the application names the task
    to cancel (``task``) while it works, and the protocol cancels it, with ``left`` set, when the
    connection is lost. A request whose client left before it set ``task`` finds ``left`` set.

    Example:
        >>> watch = DisconnectWatch()
        >>> watch.left, watch.task
        (False, None)
    """

    __slots__ = ("direct", "forwarded", "left", "task")

    def __init__(self, direct: bool = False) -> None:
        self.left = False
        self.task: asyncio.Task[Any] | None = None
        # Whether a complete answer may be written by ``respond_directly`` (``direct_cycle``).
        self.direct = direct
        # Whether the request has a field uvicorn's proxy-headers middleware reads (``_skip_proxy_headers``).
        self.forwarded = False

    def client_left(self) -> None:
        """The connection is lost: cancel the task at work, if any."""
        self.left = True
        if self.task is not None:
            self.task.cancel()


class _Refused(Exception):
    """Raised from a parser callback to stop the parser once the request has been refused."""


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """What one connection may send, and how slowly.

    Example:
        >>> HttpLimits(max_header_bytes=16384, max_header_count=100, header_timeout=10, body_timeout=10).send_timeout
        30.0
    """

    max_header_bytes: int
    max_header_count: int
    header_timeout: float
    body_timeout: float
    send_timeout: float = 30.0

    def __reduce__(self) -> tuple[type[HttpLimits], tuple[int, int, float, float, float]]:
        # Pickled to each worker (app.workers): by its constructor, as a compiled frozen class (app/native.py)
        # cannot be restored attribute by attribute.
        return (
            HttpLimits,
            (self.max_header_bytes, self.max_header_count, self.header_timeout, self.body_timeout, self.send_timeout),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        """The limits set by ``MAX_HEADER_BYTES``, ``MAX_HEADER_COUNT`` and the three ``*_TIMEOUT`` settings."""
        return cls(
            settings.max_header_bytes,
            settings.max_header_count,
            settings.header_timeout,
            settings.body_timeout,
            settings.send_timeout,
        )


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's ``http``, ``timeout_keep_alive`` and ``ws_max_size`` options for these settings.

    A WebSocket frame above ``LIVE_MAX_MESSAGE_BYTES`` is refused by the server (1009) before it is buffered.

    Example:
        >>> sorted(server_options(Settings()))
        ['http', 'timeout_keep_alive', 'ws_max_size']
    """
    http_protocol: Any = "httptools"
    if settings.http_edge_limits:
        # A partial of a module-level class: uvicorn pickles its config for worker processes.
        http_protocol = functools.partial(
            LimitedHttpToolsProtocol,
            limits=HttpLimits.from_settings(settings),
            direct_responses=settings.http_direct_responses,
        )
    return {
        "http": http_protocol,
        "timeout_keep_alive": settings.keepalive_timeout,
        "ws_max_size": settings.live_max_message_bytes,
    }


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded request head, and header and body timeouts.

    Example:
        >>> # uvicorn.run(app, http=functools.partial(LimitedHttpToolsProtocol, limits=HttpLimits(...)))
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HttpLimits,
        direct_responses: bool = True,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self.direct_responses = direct_responses
        # The head is counted from the end of the previous message (or the connection's start) until
        # the parser completes the headers; within that span every byte received is a head byte.
        self._max_head = limits.max_header_bytes
        self._reading_head = True
        self._head_left = self._max_head
        self._heads = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        self._send_timer: asyncio.TimerHandle | None = None
        # Requests answered (or waiting their turn) while a later pipelined one was parsed.
        self._earlier_cycles: list[RequestResponseCycle] = []
        self._refused = False
        self._deferred: tuple[int, str, str] | None = None
        # A chunk header with nothing after it yet: what follows is that chunk's data (it reaches the
        # request's body) or, after the last (empty) chunk, trailer fields, which the parser collects
        # like headers.
        self._chunk_unread = False
        self._trailer_left = self._max_head
        # A head that began in the read that ended the previous message is not in the byte count (the parser
        # tells where a message ends, not at which byte): its size is taken from the parsed fields instead.
        self._head_uncounted = False
        # The keep-alive timer outlives the answers of a busy connection: an answer marks the connection idle
        # (``_idle_since``, None while a request is read or answered) and the timer, made only when none is
        # set, closes the connection once it has been idle ``timeout_keep_alive`` seconds, or waits out the
        # rest. uvicorn's own makes a timer per answer and cancels it with the next request's first bytes.
        self._idle_since: float | None = None
        self._keepalive_timer: asyncio.TimerHandle | None = None
        # A float (uvicorn's attribute is annotated int, and compiled, app/native.py, that would be checked).
        self._keepalive_seconds = float(cast(Any, config).timeout_keep_alive)
        # uvicorn's proxy-headers middleware reads only X-Forwarded-For and X-Forwarded-Proto: a request with
        # neither goes to the application it wraps, one coroutine and a scan of the headers fewer.
        self._forwarded = False
        # A connection's requests mostly ask for the same few targets: each one's parse is kept (a few, short).
        self._targets: dict[bytes, tuple[str, bytes, bytes]] = {}
        self._reset_contextvars = getattr(config, "reset_contextvars", False)
        if self.app.__class__ is ProxyHeadersMiddleware:
            self.app = _skip_proxy_headers(self.app)

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        if self._keepalive_timer is not None:
            self._keepalive_timer.cancel()
            self._keepalive_timer = None
        # uvicorn tells only the latest request that the client left; requests pipelined before it
        # would go on writing to the closed transport (an error on uvloop).
        for cycle in (*self._earlier_cycles, *(cycle for cycle, _ in self.pipeline)):
            if not cycle.response_complete:
                cycle.disconnected = True
                cycle.message_event.set()
                _client_left(cycle)
        self._earlier_cycles.clear()
        if self.cycle is not None and not self.cycle.response_complete:
            _client_left(self.cycle)
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        HttpToolsProtocol.pause_writing(self)
        if self._send_timer is None:
            self._send_timer = self.loop.call_later(self.limits.send_timeout, self._send_timed_out)

    def resume_writing(self) -> None:
        HttpToolsProtocol.resume_writing(self)
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # refused: drop what the client still sends until the connection closes
        self._idle_since = None  # _unset_keepalive_if_required, without a call on every read
        if self.timeout_keep_alive_task is not None:
            HttpToolsProtocol._unset_keepalive_if_required(self)
        if self._reading_head:
            if self._head_uncounted and "method" in self.scope:
                self._head_uncounted = False  # the last read ended with its message: this head is counted
            if len(data) > self._head_left:
                self._receive_beyond_head_budget(data)
                return
            self._head_left -= len(data)
        trailing = self._chunk_unread
        if trailing:
            body_before = len(self.cycle.body)
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as stop:
            self._parser_stopped(stop)
            return
        # Timers only for requests that span several reads: a request that arrives whole arms none.
        if self._reading_head:
            if self._head_timer is None and self._head_left < self._max_head:
                self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)
            return
        if trailing and self._chunk_unread and len(self.cycle.body) == body_before:
            self._trailer_left -= len(data)  # a read that starts the trailer section is not counted
        if self._trailer_left < 0 or len(self.headers) > self.limits.max_header_count:
            # Trailer fields after a chunked body are held like headers: the same bounds apply to them.
            self._refuse_mid_body(431, "HEADERS_TOO_LARGE", "the request's trailer fields are too large")
            return
        if self._body_timer is None:
            self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_timed_out)

    def _receive_beyond_head_budget(self, data: bytes) -> None:
        while self._reading_head and len(data) > self._head_left:
            # More than the head may still take: feed only that much, then see whether the head ended.
            left, heads = self._head_left, self._heads
            self._head_left = 0
            if left and not self._feed(data[:left]):
                return
            if self._heads == heads:
                self._refuse_head(f"the request line and headers are larger than {self._max_head} bytes")
                return
            data = data[left:]
        self.data_received(data)

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        # uvicorn's, which also notes whether the proxy-headers middleware has anything to read.
        name = name.lower()
        if name in _WATCHED_HEADERS:
            if name == b"expect":
                if value.lower() == b"100-continue":
                    self.expect_100_continue = True
            elif self._reading_head:
                self._forwarded = True
            else:
                # A trailer field after a chunked body: uvicorn adds it to the request's headers, where the
                # middleware reads it if the request has not started by then.
                cast(dict[str, Any], self.scope)["extensions"][DISCONNECT_WATCH].forwarded = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._heads += 1
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if len(self.headers) > self.limits.max_header_count:
            self._refuse_head(f"the request has more than {self.limits.max_header_count} header fields")
            raise _Refused  # stop before uvicorn starts the application
        if self._head_uncounted:
            self._head_uncounted = False
            # At least this many bytes: the target, and each field with its colon and CRLF.
            if len(self.url) + sum(len(name) + len(value) + 3 for name, value in self.headers) > self._max_head:
                self._refuse_head(f"the request line and headers are larger than {self._max_head} bytes")
                raise _Refused
        previous = self.cycle
        scope = cast(dict[str, Any], self.scope)
        watch = DisconnectWatch(self.direct_responses)
        if self._forwarded:
            watch.forwarded = True
            self._forwarded = False
        scope.setdefault("extensions", {})[DISCONNECT_WATCH] = watch
        self._start_request(scope)
        if self.pipeline and previous is not None and not previous.response_complete:
            self._earlier_cycles.append(previous)

    def _start_request(self, scope: dict[str, Any]) -> None:
        """uvicorn's ``on_headers_complete`` (alike from 0.34 to 0.54), with each request target's parse kept for the
        connection's later requests (``tests/http_server/test_server_glue.py`` holds the two to the same scopes)."""
        parser = self.parser
        http_version = parser.get_http_version()
        scope["method"] = parser.get_method().decode("ascii")
        if http_version != "1.1":
            scope["http_version"] = http_version
        if parser.should_upgrade() and self._should_upgrade():
            return
        target = self._targets.get(self.url)
        if target is None:
            target = self._parse_target(self.url)
        scope["path"], scope["raw_path"], scope["query_string"] = target
        if self.limit_concurrency is not None and (
            len(self.connections) >= self.limit_concurrency or len(self.tasks) >= self.limit_concurrency
        ):
            app = service_unavailable
            self.logger.warning("Exceeded concurrency limit.")
        else:
            app = self.app
        existing_cycle = self.cycle
        self.cycle = cycle = RequestResponseCycle(
            scope=self.scope,
            transport=self.transport,
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=self.expect_100_continue,
            keep_alive=http_version != "1.0" and parser.should_keep_alive(),
            on_response=self.on_response_complete,
        )
        if existing_cycle is None or existing_cycle.response_complete:
            if self._reset_contextvars:  # uvicorn's opt-in (0.38 on): the task starts from an empty context
                task = self.loop.create_task(cycle.run_asgi(app), context=contextvars.Context())
            else:
                task = self.loop.create_task(cycle.run_asgi(app))
            task.add_done_callback(self.tasks.discard)
            self.tasks.add(task)
        else:
            # Pipelined: it starts when the answers before it are complete (uvicorn's on_response_complete).
            self.flow.pause_reading()
            self.pipeline.appendleft((cycle, app))

    def _parse_target(self, url: bytes) -> tuple[str, bytes, bytes]:
        """The scope's ``path``, ``raw_path`` and ``query_string`` for ``url``, as uvicorn makes them."""
        # Any: httptools' stub says bytes where it gives None (no query); compiled (app/native.py), that is checked.
        parsed: Any = httptools.parse_url(url)
        raw_path = parsed.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        target = (self.root_path + path, self.root_path.encode("ascii") + raw_path, parsed.query or b"")
        if len(self._targets) < _KEPT_TARGETS and len(url) <= _KEPT_TARGET_BYTES:
            self._targets[url] = target
        return target

    def on_chunk_header(self) -> None:
        self._chunk_unread = True

    def on_chunk_complete(self) -> None:
        self._chunk_unread = False

    def on_message_complete(self) -> None:
        self._reading_head = True
        self._head_uncounted = True
        self._head_left = self._max_head
        self._chunk_unread = False
        self._trailer_left = self._max_head
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        HttpToolsProtocol.on_message_complete(self)

    # What happens to slow and oversized requests

    def _feed(self, data: bytes) -> bool:
        """Feed the parser; False when this connection takes no more requests."""
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as stop:
            self._parser_stopped(stop)
            return False
        return not self.transport.is_closing()

    def _parser_stopped(self, stop: Exception) -> None:
        # What uvicorn's data_received does when the parser stops.
        if isinstance(stop, httptools.HttpParserUpgrade):
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        elif not self._refused:  # a refusal stopped the parser on purpose and has answered already
            message = "Invalid HTTP request received."
            self.logger.warning(message)
            self.send_400_response(message)

    def _answering(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _refuse_head(self, message: str) -> None:
        self._refused = True
        self._cancel_timers()
        if self._answering():
            # Requests pipelined before this one are still being answered: a status line now would
            # corrupt their answers, so the refusal waits for them (on_response_complete).
            self._deferred = (431, "HEADERS_TOO_LARGE", message)
            return
        self._refuse(431, "HEADERS_TOO_LARGE", message)

    def on_response_complete(self) -> None:
        if self.pipeline or self.transport.is_closing():
            HttpToolsProtocol.on_response_complete(self)  # the next pipelined request starts, or nothing
        else:
            # uvicorn's, with the keep-alive timer kept from answer to answer (see ``_keepalive_due``).
            self.server_state.total_requests += 1
            self._unset_keepalive_if_required()
            self.flow.resume_reading()
            self._idle_since = now = self.loop.time()
            if self._keepalive_timer is None:
                self._keepalive_timer = self.loop.call_at(now + self._keepalive_seconds, self._keepalive_due)
        if self._earlier_cycles and not self.pipeline:
            self._earlier_cycles.clear()  # the one still running, if any, is the latest (uvicorn's own)
        if self._deferred is not None and not self._answering() and not self.transport.is_closing():
            status, code, message = self._deferred
            self._deferred = None
            self._refuse(status, code, message)

    def _unset_keepalive_if_required(self) -> None:
        # Bytes arrived (or the connection is lost): not idle any more. The timer stays, to find that out.
        self._idle_since = None
        if self.timeout_keep_alive_task is not None:
            HttpToolsProtocol._unset_keepalive_if_required(self)

    def _keepalive_due(self) -> None:
        self._keepalive_timer = None
        idle_since = self._idle_since
        if idle_since is None:
            return  # busy: the next answer sets the timer again
        due = idle_since + self._keepalive_seconds
        if self.loop.time() < due:  # idle again since the timer was set: wait out the rest
            self._keepalive_timer = self.loop.call_at(due, self._keepalive_due)
        else:
            self.timeout_keep_alive_handler()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or not self._reading_head or self._answering():
            return  # the clock starts again with the next bytes of a head
        # uvicorn starts a new scope (without a method until the headers end) when a request's first
        # byte is parsed; before that (nothing sent, or only the blank lines a client may send between
        # requests) the connection is idle: a 408 then could be read as the answer to a request the
        # client is sending at that moment, so it is closed without one.
        scope = cast(Any, self).scope  # None before the first request (not as uvicorn annotates it: compiled, checked)
        if scope is None or "method" in scope:
            self.transport.close()
            return
        self._refuse(408, "HEADER_TIMEOUT", f"the request headers took longer than {self.limits.header_timeout:g} s")

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self._reading_head:
            return
        if self.flow.read_paused:
            # Reading is paused by the server (back-pressure, or a pipelined request waiting its turn),
            # so the client is not the slow one.
            self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_timed_out)
            return
        self._refuse_mid_body(408, "BODY_TIMEOUT", f"the request body took longer than {self.limits.body_timeout:g} s")

    def _send_timed_out(self) -> None:
        self._send_timer = None
        self._refused = True
        self._count("SEND_TIMEOUT")
        # Closing would wait for the unread answer to drain, which it never does: drop the connection.
        # uvicorn then tells the application the client left, which ends its waiting writes.
        self.transport.abort()

    def _refuse_mid_body(self, status: int, code: str, message: str) -> None:
        cycle = self.cycle
        if cycle is None or cycle.response_started or self.pipeline:
            # Answered already, or answers to earlier pipelined requests are still being written: a
            # status line now would be a second answer, or corrupt theirs.
            self._refused = True
            self._cancel_timers()
            self._count(code)
            self.transport.close()
            return
        # The application waits for the rest of the body: it is told the client left, and its answer,
        # if it still sends one, goes nowhere.
        cycle.disconnected = True
        cycle.message_event.set()
        self._refuse(status, code, message)

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._refused = True
        self._cancel_timers()
        self._count(code)
        payload = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
        head = [b"HTTP/1.1 %d %s\r\n" % (status, http.HTTPStatus(status).phrase.encode())]
        head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
        head.append(b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(payload))
        self.transport.write(b"".join(head) + payload)
        # Closing with unread input would reset the connection, and the client could lose the answer
        # before reading it: stop writing, keep reading (and dropping) for a moment, then drop the
        # connection (a client that has not read its answer by then is not waited for).
        self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._linger_timer = self.loop.call_later(_LINGER_SECONDS, self.transport.abort)
        else:
            self.transport.close()

    def _count(self, code: str) -> None:
        REFUSED_REQUESTS.labels(code).inc()
        log.info("request refused by the HTTP server", extra={"outcome": code})

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer, self._linger_timer, self._send_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = self._linger_timer = self._send_timer = None


def _skip_proxy_headers(middleware: ProxyHeadersMiddleware) -> Any:
    """The application uvicorn runs for each request: ``middleware`` for a request with a field it reads, else
    the application it wraps (the middleware changes nothing for it). Decided when the request's task starts, as
    the middleware reads the headers then: trailer fields parsed by that time are among them."""
    proxied, direct = middleware, middleware.app

    def application(scope: Any, receive: Any, send: Any) -> Any:
        if scope["extensions"][DISCONNECT_WATCH].forwarded:
            return proxied(scope, receive, send)
        return direct(scope, receive, send)

    return application


def direct_cycle(scope: Any, receive: Any) -> RequestResponseCycle | None:
    """The uvicorn cycle that ``respond_directly`` may write this request's answer to, or None.

    The cycle is found from uvicorn's ``receive`` (its cycle's method), so that nothing reachable from the scope
    refers back to it: such a reference would keep every cycle not answered directly (CORS, ``limit_concurrency``,
    a request whose client left first), with its transport and body, until the cyclic collector runs. A
    ``receive`` wrapped by middleware (uvicorn's trace logging of ASGI messages) gives None: the answer goes
    through the wrapper's ``send``.

    Example:
        >>> direct_cycle({"extensions": {DISCONNECT_WATCH: DisconnectWatch(direct=True)}}, lambda: None) is None
        True
    """
    watch = scope["extensions"].get(DISCONNECT_WATCH) if "extensions" in scope else None
    cycle = getattr(receive, "__self__", None)
    if watch is None or not watch.direct or cycle.__class__ is not RequestResponseCycle:
        return None
    return cast(RequestResponseCycle, cycle)


def respond_directly(cycle: RequestResponseCycle, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
    """Write a whole answer as uvicorn's ``send`` would for its start and body messages, in one write.

    False (nothing written, nothing changed) where ``send`` is needed: an answer started, a client gone, writes
    paused, access log on, no ``content-length`` that matches the body, a body in answer to HEAD, a header
    ``send`` would refuse.
    """
    if cycle.response_started or cycle.disconnected or cycle.flow.write_paused or cycle.access_log:
        return False
    defaults = cycle.default_headers
    default_lines = _default_lines[1] if defaults is _default_lines[0] else _plain_lines(defaults)
    if default_lines is None:  # a server header that frames, closes or is refused: each field checked below
        content = [STATUS_LINE[status]]
        headers = [*defaults, *headers]
    else:
        content = [STATUS_LINE[status], default_lines]
    keep_alive = cycle.keep_alive
    has_close = False
    length = -1
    names = _checked_names
    for name, value in headers:
        # What ``send`` checks of every field; a name is checked once (the application's are few and fixed).
        lowered = names.get(name)
        if lowered is None:
            if HEADER_RE.search(name):
                return False
            lowered = name.lower()
            if len(names) < _CHECKED_NAMES:
                names[name] = lowered
        if lowered == b"content-length":
            if length != -1 or not value.isdigit():  # digits only: nothing ``send`` would refuse
                return False
            length = int(value)
        elif HEADER_VALUE_RE.search(value) or lowered == b"transfer-encoding":
            return False
        elif lowered == b"connection":
            if b"close" in [token.lower().strip() for token in value.split(b",")]:
                keep_alive = False
                has_close = True
        content += (lowered, b": ", value, b"\r\n")
    if length != len(body) or (body and cycle.scope["method"] == "HEAD"):
        return False  # ``send`` writes no body in answer to HEAD
    if not keep_alive and not has_close:
        content.append(b"connection: close\r\n")
    content += (b"\r\n", body)
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    cycle.chunked_encoding = False
    cycle.keep_alive = keep_alive
    cycle.transport.write(b"".join(content))
    cycle.response_complete = True
    cycle.message_event.set()
    if not keep_alive:
        cycle.transport.close()
    cycle.on_response()
    return True


_CHECKED_NAMES = 64
_checked_names: dict[bytes, bytes] = {}
"""Answer header names found valid, each with the lowercase form ``send`` writes (the first 64 seen)."""

_default_lines: tuple[object, bytes | None] = (None, None)
"""The server's default headers last written (uvicorn renews the list every second, for its date) and their lines."""


def _plain_lines(defaults: list[tuple[bytes, bytes]]) -> bytes | None:
    """The lines ``send`` writes for the server's default headers, or None unless each is plain: valid, and none
    that frames the body or closes the connection (those are checked with the answer's own, every time)."""
    global _default_lines
    lines: list[bytes] = []
    for name, value in defaults:
        lowered = name.lower()
        if HEADER_RE.search(name) or HEADER_VALUE_RE.search(value) or lowered in _FRAMING:
            return None
        lines += (lowered, b": ", value, b"\r\n")
    _default_lines = (defaults, b"".join(lines))
    return _default_lines[1]


_FRAMING = frozenset((b"content-length", b"transfer-encoding", b"connection"))


def _client_left(cycle: RequestResponseCycle) -> None:
    watch = cast(dict[str, Any], cycle.scope).get("extensions", {}).get(DISCONNECT_WATCH)
    if isinstance(watch, DisconnectWatch):
        watch.client_left()
