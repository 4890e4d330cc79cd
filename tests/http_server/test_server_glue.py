"""What the gateway's protocol does around each request in place of uvicorn's generic path, held to uvicorn's.

* uvicorn's proxy-headers middleware is skipped for a request with neither ``X-Forwarded-For`` nor
  ``X-Forwarded-Proto``: over a real socket, an application that echoes its scope sees the same ``client`` and
  ``scheme`` under ``LimitedHttpToolsProtocol`` as under uvicorn's own protocol, request after request on one
  connection (pipelined, with and without the headers, in any case, several of them, a chunked body whose
  trailer fields are named so), with the proxy trusted, trusted always, not trusted, and the middleware off;
* uvicorn's ``on_headers_complete`` is the protocol's own, with each request target's parse kept for the
  connection's later requests: the application sees the same method, version, ``path``, ``raw_path``,
  ``query_string`` and ``root_path`` as under uvicorn's (quoted, absolute-form, fragments, long targets, more
  targets than a connection keeps, a root path);
* the keep-alive timer is kept from answer to answer rather than made per answer: on a clock the test moves,
  a connection is closed exactly when it has been idle ``timeout_keep_alive`` seconds since its last answer,
  never while a request is being read or answered, and one timer serves many answers;
* ``respond_directly`` writes the server's default headers from lines made once per list (uvicorn renews the
  list every second for its date): a new list is written as it is, and a default header that frames or closes
  is still seen.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
import uvicorn
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle
from uvicorn.server import ServerState

from app.http_limits import HttpLimits, LimitedHttpToolsProtocol, respond_directly, server_options
from app.settings import Settings
from tests.http_server.served import WAIT, request

# The proxy-headers middleware, differential


async def echo(scope: Any, receive: Any, send: Any) -> None:
    """Answers with what the application was told of its client, and the body it read."""
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    seen = {key: scope[key] for key in ("method", "http_version", "path", "raw_path", "query_string", "root_path")}
    answer = orjson.dumps(
        {"client": list(scope["client"]), "scheme": scope["scheme"], "body": body.decode(), **seen},
        default=lambda value: value.decode("latin-1"),
    )
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


@asynccontextmanager
async def echo_server(limited: bool, **config: Any) -> AsyncIterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    options = server_options(Settings(http_edge_limits=limited))
    server = uvicorn.Server(
        uvicorn.Config(echo, log_config=None, access_log=False, lifespan="off", http=options["http"], **config)
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
        sock.close()


def post(*headers: tuple[str, str], body: bytes = b"{}") -> bytes:
    return request("POST", "/echo", body=body, headers=list(headers))


CHUNKED_WITH_TRAILER = (
    b"POST /echo HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"2\r\n{}\r\n0\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n\r\n"
)
FORWARDED = {
    "plain": post(),
    "for": post(("X-Forwarded-For", "1.2.3.4")),
    "proto": post(("X-Forwarded-Proto", "https")),
    "both, in odd case": post(("x-FORWARDED-for", "10.1.1.1:8443"), ("X-Forwarded-PROTO", "https")),
    "several for": post(("X-Forwarded-For", "1.1.1.1"), ("X-Forwarded-For", "2.2.2.2, 127.0.0.1")),
    "empty for": post(("X-Forwarded-For", "")),
    "odd proto": post(("X-Forwarded-Proto", "gopher")),
    "a near name": post(("X-Forwarded-Fore", "9.9.9.9"), ("X-Forwarded", "https")),
    "trailer fields so named": CHUNKED_WITH_TRAILER,
}
# Each conversation on one connection, pipelined: a request without the headers after one with them must not
# inherit what the middleware did for it.
CONVERSATIONS = {
    "each alone": [FORWARDED[name] for name in FORWARDED],
    "alternating": [FORWARDED["for"], FORWARDED["plain"], FORWARDED["proto"], FORWARDED["plain"]],
    "after a trailer": [FORWARDED["trailer fields so named"], FORWARDED["plain"], FORWARDED["for"]],
}
PROXY_CONFIGS = {
    "trusted": {},  # uvicorn's default: the middleware on, 127.0.0.1 trusted
    "trusted always": {"forwarded_allow_ips": "*"},
    "not trusted": {"forwarded_allow_ips": "10.9.9.9"},
    "off": {"proxy_headers": False},
}


async def converse(limited: bool, messages: list[bytes], config: dict[str, Any]) -> bytes:
    async with echo_server(limited, **config) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        own_port = writer.get_extra_info("sockname")[1]
        writer.write(b"".join(messages) + request("GET", "/echo", headers=[("Connection", "close")]))
        raw = await asyncio.wait_for(reader.read(-1), WAIT)
        writer.close()
    raw = re.sub(rb"\r\ndate: [^\r]*", b"\r\ndate: -", raw)
    return raw.replace(b',%d],"scheme"' % own_port, b',"PEER"],"scheme"')


# The request target, method and version in the scope, differential

TARGETS = [
    "/echo",
    "/echo?a=1&b=%20x",
    "/e%63ho/%2F/x%20y?q=%25",
    "/echo?",
    "/echo#fragment",
    "//double//slashes/",
    "/echo;param",
    "/" + "a" * 300 + "?q=1",  # longer than a kept target
    "http://gateway/absolute?x=1",
]
TARGET_CONFIGS = {"default": {}, "root path": {"root_path": "/api"}}


def targets_conversation() -> list[bytes]:
    # Each target twice on one connection (the second is read from what the connection kept), other methods and
    # versions between them, and more distinct targets than a connection keeps.
    messages = []
    for target in TARGETS:
        messages += [request("GET", target), request("POST", target, body=b"{}"), request("DELETE", target)]
    messages += [request("GET", f"/many/{n}?n={n}") for n in range(20)]
    messages += [request("GET", TARGETS[1]), request("PATCH", TARGETS[2], body=b"x", version="HTTP/1.0")]
    return messages


@pytest.mark.parametrize("config", list(TARGET_CONFIGS))
async def test_each_request_target_reaches_the_application_as_under_uvicorns_protocol(config: str) -> None:
    messages = targets_conversation()
    ours = await converse(True, messages, TARGET_CONFIGS[config])
    assert ours == await converse(False, messages, TARGET_CONFIGS[config])
    assert ours.count(b"HTTP/1.1 200 OK\r\n") == len(messages)  # the HTTP/1.0 request's answer closes
    assert b'///x y","raw_path":"' in ours and b'/e%63ho/%2F/x%20y","query_string":"q=%25"' in ours  # unquoted


@pytest.mark.parametrize("proxy", list(PROXY_CONFIGS))
@pytest.mark.parametrize("name", list(CONVERSATIONS))
async def test_the_application_is_told_of_its_client_as_under_uvicorns_protocol(name: str, proxy: str) -> None:
    messages = CONVERSATIONS[name]
    ours = await converse(True, messages, PROXY_CONFIGS[proxy])
    assert ours == await converse(False, messages, PROXY_CONFIGS[proxy])
    assert ours.count(b"HTTP/1.1 200 OK\r\n") == len(messages) + 1
    if proxy in ("trusted", "trusted always") and name == "each alone":
        # The middleware did act where asked (the comparison alone would pass with it never running).
        assert b'"client":["1.2.3.4",0],"scheme":"http"' in ours
        assert b'"client":["127.0.0.1","PEER"],"scheme":"https"' in ours


async def test_a_request_without_forwarded_headers_skips_the_middleware(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []
    original = uvicorn.middleware.proxy_headers.ProxyHeadersMiddleware.__call__

    async def counted(self: Any, scope: Any, receive: Any, send: Any) -> None:
        calls.append(any(name.startswith(b"x-forwarded") for name, _ in scope.get("headers", [])))
        await original(self, scope, receive, send)

    monkeypatch.setattr(uvicorn.middleware.proxy_headers.ProxyHeadersMiddleware, "__call__", counted)
    messages = [FORWARDED["plain"], FORWARDED["for"], FORWARDED["plain"], FORWARDED["proto"]]
    await converse(True, messages, {})
    assert calls == [True, True]
    calls.clear()
    await converse(False, messages, {})
    assert calls == [False, True, False, True, False]  # uvicorn's own: every request, the last GET too


# The keep-alive timer, on a clock the test moves


class _Timer:
    def __init__(self, when: float, callback: Any, args: tuple[Any, ...]) -> None:
        self.when, self.callback, self.args = when, callback, args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Clock:
    """The part of an event loop the protocol asks for its timers, on time the test moves; tasks run on the loop."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.timers: list[_Timer] = []
        self.made = 0

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Any, *args: Any) -> _Timer:
        self.made += 1
        timer = _Timer(when, callback, args)
        self.timers.append(timer)
        return timer

    def call_later(self, delay: float, callback: Any, *args: Any) -> _Timer:
        return self.call_at(self.now + delay, callback, *args)

    def create_task(self, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        return asyncio.get_running_loop().create_task(coro, **kwargs)

    def advance(self, seconds: float) -> None:
        """Move the clock, running each timer that comes due on the way, in order."""
        until = self.now + seconds
        while due := sorted((t for t in self.timers if not t.cancelled and t.when <= until), key=lambda t: t.when):
            timer = due[0]
            self.timers.remove(timer)
            self.now = max(self.now, timer.when)
            timer.callback(*timer.args)
        self.now = until


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closing = False
        self.answers = 0
        self.answered = asyncio.Event()

    def write(self, data: Any) -> None:
        self.written += data
        self.answers = self.written.count(b"HTTP/1.1 200 OK")
        self.answered.set()

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


KEEPALIVE = 5.0


async def connection(app: Any = echo) -> tuple[LimitedHttpToolsProtocol, _Transport, Clock]:
    clock = Clock()
    config = Config(app, log_config=None, access_log=False, timeout_keep_alive=int(KEEPALIVE))
    config.load()
    limits = HttpLimits(max_header_bytes=16384, max_header_count=100, header_timeout=60, body_timeout=60)
    protocol = LimitedHttpToolsProtocol(config, ServerState(), {}, clock, limits=limits)  # type: ignore[arg-type]
    transport = _Transport()
    protocol.connection_made(transport)
    return protocol, transport, clock


async def answered(transport: _Transport, count: int) -> None:
    while transport.answers < count:
        transport.answered.clear()
        await asyncio.wait_for(transport.answered.wait(), WAIT)
    for _ in range(3):  # the task's end (on_response_complete ran within the write's call already)
        await asyncio.sleep(0)


async def test_a_connection_idle_for_the_keepalive_timeout_after_its_answer_is_closed() -> None:
    protocol, transport, clock = await connection()
    protocol.data_received(post())
    await answered(transport, 1)
    clock.advance(KEEPALIVE - 0.01)
    assert not transport.closing
    clock.advance(0.01)
    assert transport.closing


async def test_a_later_request_moves_the_close_to_a_full_timeout_after_its_own_answer() -> None:
    protocol, transport, clock = await connection()
    protocol.data_received(post())
    await answered(transport, 1)
    clock.advance(4.0)
    protocol.data_received(post())
    await answered(transport, 2)
    clock.advance(1.5)  # past the first answer's timeout
    assert not transport.closing
    clock.advance(KEEPALIVE - 1.5 - 0.01)
    assert not transport.closing
    clock.advance(0.01)
    assert transport.closing


async def test_a_request_being_answered_when_the_timer_comes_due_is_not_closed() -> None:
    release = asyncio.Event()

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/slow":
            await release.wait()
        await echo(scope, receive, send)

    protocol, transport, clock = await connection(slow)
    protocol.data_received(post())
    await answered(transport, 1)
    clock.advance(2.0)
    protocol.data_received(request("POST", "/slow", body=b"{}"))
    await asyncio.sleep(0)
    clock.advance(60.0)  # far past the first answer's timeout: the slow request is still at work
    assert not transport.closing
    release.set()
    await answered(transport, 2)
    clock.advance(KEEPALIVE - 0.01)
    assert not transport.closing
    clock.advance(0.01)
    assert transport.closing


async def test_a_request_only_begun_when_the_timer_comes_due_is_not_closed_by_it() -> None:
    protocol, transport, clock = await connection()
    protocol.data_received(post())
    await answered(transport, 1)
    protocol.data_received(b"POST /echo HTTP/1.1\r\n")  # the rest comes later
    clock.advance(KEEPALIVE + 1)
    assert not transport.closing
    protocol.data_received(b"Host: gateway\r\nContent-Length: 2\r\n\r\n{}")
    await answered(transport, 2)
    clock.advance(KEEPALIVE)
    assert transport.closing


async def test_many_answers_share_one_keepalive_timer() -> None:
    protocol, transport, clock = await connection()
    made = clock.made  # the header timer of a new connection
    for n in range(1, 51):
        protocol.data_received(post())
        await answered(transport, n)
        clock.advance(0.01)
    assert clock.made - made == 1
    assert not transport.closing


async def test_a_lost_connection_leaves_no_keepalive_timer() -> None:
    protocol, transport, clock = await connection()
    protocol.data_received(post())
    await answered(transport, 1)
    protocol.connection_lost(None)
    assert [timer for timer in clock.timers if not timer.cancelled] == []


# The server's default headers in a direct answer


def _cycle(defaults: list[tuple[bytes, bytes]]) -> tuple[RequestResponseCycle, _Transport]:
    transport = _Transport()
    cycle = RequestResponseCycle(
        scope={"type": "http", "method": "POST", "path": "/graphql", "headers": []},  # type: ignore[typeddict-item]
        transport=transport,
        flow=FlowControl(transport),
        logger=logging.getLogger("test"),
        access_logger=logging.getLogger("test.access"),
        access_log=False,
        default_headers=defaults,
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=True,
        on_response=lambda: None,
    )
    return cycle, transport


APP_HEADERS = [(b"content-length", b"2"), (b"Content-Type", b"application/json")]


async def test_each_new_list_of_default_headers_is_written_as_it_is() -> None:
    for second in range(3):
        defaults = [(b"date", b"Mon, 30 Nov 2026 10:00:0%d GMT" % second), (b"server", b"uvicorn")]
        cycle, transport = _cycle(defaults)
        assert respond_directly(cycle, 200, APP_HEADERS, b"{}")
        assert bytes(transport.written) == (
            b"HTTP/1.1 200 OK\r\ndate: Mon, 30 Nov 2026 10:00:0%d GMT\r\nserver: uvicorn\r\n"
            b"content-length: 2\r\ncontent-type: application/json\r\n\r\n{}" % second
        )


DEFAULTS_SEEN = {
    "a default that closes": ([(b"Connection", b"close")], True, b"Connection: close"),
    "a default length besides the answer's": ([(b"content-length", b"2")], False, None),
    "a default that frames": ([(b"transfer-encoding", b"chunked")], False, None),
    "a default name send refuses": ([(b"x bad", b"1")], False, None),
    "a default value send refuses": ([(b"x-a", b"1\r\nx-b: 2")], False, None),
}


@pytest.mark.parametrize("name", list(DEFAULTS_SEEN))
async def test_a_default_header_that_is_not_plain_is_seen_every_time(name: str) -> None:
    defaults, written, _ = DEFAULTS_SEEN[name]
    for _ in range(2):  # the second time too: nothing about such a list is kept
        cycle, transport = _cycle(defaults)
        assert respond_directly(cycle, 200, APP_HEADERS, b"{}") is written
        assert bool(transport.written) is written
        if written:
            assert b"\r\nconnection: close\r\n" in transport.written and not cycle.keep_alive and transport.closing
            assert transport.written.count(b"connection") == 1


async def test_an_invalid_answer_header_is_refused_after_valid_ones_were_seen() -> None:
    cycle, transport = _cycle([(b"server", b"uvicorn")])
    assert respond_directly(cycle, 200, [*APP_HEADERS, (b"x-request-id", b"abc")], b"{}")
    for bad in ((b"x-request-id", b"abc\r\nx-injected: 1"), (b"x-request-id ", b"abc"), (b"content-length", b"+2")):
        cycle, transport = _cycle([(b"server", b"uvicorn")])
        headers = [bad, (b"content-type", b"application/json")]
        if bad[0] != b"content-length":
            headers.append((b"content-length", b"2"))
        assert not respond_directly(cycle, 200, headers, b"{}")
        assert transport.written == b"" and not cycle.response_started
