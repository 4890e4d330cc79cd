"""Direct responses under attack: what a hostile or unlucky client meets, with ``HTTP_DIRECT_RESPONSES`` on and off.

Each test is a differential where it can be: the same conversation, over a real socket, with a complete GraphQL
answer written by ``respond_directly`` and with it sent through uvicorn's ``send``; the bytes and the fate of the
connection must be the same. The attacks: a graceful shutdown while an answer is being made, the keep-alive and
head timers after a direct answer, pipelining behind a held answer (and a refused request behind one), odd
``Connection`` headers, a client that leaves as its answer is written or half-closes, a client that reads nothing
(the send timeout and the write buffer's size), and the reference from a request's scope to its uvicorn cycle on
the paths that never answer directly (CORS, ``limit_concurrency``, a pipelined request whose client left).
Every test runs on asyncio's event loop and on uvloop (conftest.py).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import httpx
import orjson
import pytest
from uvicorn.logging import TRACE_LOG_LEVEL
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

import app.web.edge
from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.http_limits import LimitedHttpToolsProtocol, respond_directly
from tests.http_server.served import WAIT, LogWatch, Served, read_answer, request, served, watching_logs
from tests.http_server.test_direct_responses import BIG, CLOSE, JSON, TYPENAME, _cycle, _headers, normalised, post

LOOKUP = orjson.dumps({"query": '{ team(id: "t-1") { id name } }'})


class HeldUpstream(httpx.AsyncBaseTransport):
    """The embedded upstream, each call held until ``release`` is set."""

    def __init__(self) -> None:
        self.inner = httpx.ASGITransport(app=create_embedded_bifrost(database=":memory:", generation="current"))
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.started.set()
        await self.release.wait()
        return await self.inner.handle_async_request(request)


async def read_all(reader: asyncio.StreamReader) -> bytes:
    """Everything until the server closes (a reset after the last byte counts as closed)."""
    chunks = []
    with suppress(ConnectionError):
        while chunk := await asyncio.wait_for(reader.read(65536), WAIT):
            chunks.append(chunk)
    return b"".join(chunks)


async def settled(gw: Served) -> None:
    """Wait until the server holds no connection and runs no request: it checks once each step of the loop."""

    async def idle() -> None:
        # uvicorn signals neither (connection_lost and a task's done callback only discard from a set).
        while gw.server.server_state.connections or gw.server.server_state.tasks:  # noqa: ASYNC110
            await asyncio.sleep(0)

    await asyncio.wait_for(idle(), WAIT)


def problems(records: list[logging.LogRecord]) -> list[str]:
    return [record.getMessage() for record in records if record.levelno >= logging.WARNING]


@asynccontextmanager
async def every_log() -> AsyncIterator[LogWatch]:
    """Every log record in the block, uvicorn's included.

    uvicorn's default logging configuration (applied by any ``uvicorn.Config`` made without ``log_config=None``)
    stops its records at the ``uvicorn`` logger, short of the root logger that ``watching_logs`` watches.
    """
    uvicorn_logger = logging.getLogger("uvicorn")
    propagate = uvicorn_logger.propagate
    uvicorn_logger.propagate = True
    try:
        async with watching_logs(lambda record: False) as logs:
            yield logs
    finally:
        uvicorn_logger.propagate = propagate


@asynccontextmanager
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """What reaches the loop's exception handler (``Task exception was never retrieved`` ...) in the block."""
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: seen.append(context))
    try:
        yield seen
    finally:
        gc.collect()  # a task whose exception was never retrieved reports it when collected
        loop.set_exception_handler(previous)


# The connection's fate


async def held_conversation(
    direct: bool, message: bytes, meanwhile: Callable[[Served], Any] | None = None, **settings: Any
) -> bytes:
    """``message`` sent while Bifrost holds its first call; ``meanwhile`` runs, then Bifrost answers."""
    upstream = HeldUpstream()
    async with served(
        transport=upstream, bifrost_api_generation="current", http_direct_responses=direct, **settings
    ) as gw:
        reader, writer = await gw.connect()
        writer.write(message)
        await asyncio.wait_for(upstream.started.wait(), WAIT)
        if meanwhile is not None:
            await meanwhile(gw)
        upstream.release.set()
        raw = await read_all(reader)
        writer.close()
        return raw


@pytest.mark.parametrize("pipelined", [False, True], ids=["alone", "with one pipelined behind"])
async def test_a_graceful_shutdown_during_the_work_says_close_and_closes(pipelined: bool) -> None:
    message = post(LOOKUP) + (post() if pipelined else b"")

    async def shut_down(gw: Served) -> None:
        (connection,) = gw.server.server_state.connections
        told = asyncio.Event()
        shutdown = connection.shutdown

        def telling() -> None:
            shutdown()
            told.set()

        connection.shutdown = telling  # type: ignore[method-assign]
        gw.server.should_exit = True
        await asyncio.wait_for(told.wait(), WAIT)

    direct = await held_conversation(True, message, shut_down)
    assert normalised(direct) == normalised(await held_conversation(False, message, shut_down))
    assert direct.count(b"HTTP/1.1 200 OK\r\n") == (2 if pipelined else 1)
    assert direct.endswith(b"}}")
    # Only the request being read when the shutdown began is told to close; uvicorn's own rule.
    assert direct.count(b"\r\nconnection: close\r\n") == 1


async def test_requests_pipelined_behind_a_held_answer_are_answered_in_order() -> None:
    message = post(LOOKUP) + post() + request() + post(BIG) + post(LOOKUP, CLOSE)
    direct = await held_conversation(True, message)
    assert normalised(direct) == normalised(await held_conversation(False, message))
    assert direct.count(b"HTTP/1.1 200 OK\r\n") == 5
    assert direct.index(b'"team"') < direct.index(b'"__typename"') < direct.index(b'"status"')


async def test_an_oversized_request_pipelined_behind_a_held_answer_waits_for_it() -> None:
    oversized = request("POST", "/graphql", body=TYPENAME, headers=[*JSON, ("X-Big", "a" * 40000)])
    message = post(LOOKUP) + oversized
    direct = await held_conversation(True, message)
    assert normalised(direct) == normalised(await held_conversation(False, message))
    assert direct.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"HTTP/1.1 431 Request Header Fields Too Large\r\n" in direct


async def test_a_large_head_in_the_read_that_ends_a_body_is_431() -> None:
    # The bytes after a message's end in one read are not in the head's byte count; the parsed fields are.
    async with served() as gw:
        reader, writer = await gw.connect()
        writer.write(
            b"POST /graphql HTTP/1.1\r\nHost: g\r\nContent-Type: application/json\r\nContent-Length: 26\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT) == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b'{"query":"{ __typename }"}' + request(headers=[("X-Big", "a" * 20000), *CLOSE]))
        raw = await read_all(reader)
        writer.close()
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert raw.count(b"HTTP/1.1 ") == 2 and b"HTTP/1.1 431 Request Header Fields Too Large\r\n" in raw


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "send"])
async def test_a_large_head_pipelined_in_one_write_with_a_request_is_431(direct: bool) -> None:
    raw = await conversation(direct, post() + request(headers=[("X-Big", "a" * 16400)]))
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert raw.count(b"HTTP/1.1 ") == 2 and b"HTTP/1.1 431 Request Header Fields Too Large\r\n" in raw


async def timed_conversation(direct: bool, then: bytes) -> bytes:
    """An answer, then ``then`` on the same connection, under short keep-alive and header timeouts."""
    async with served(http_direct_responses=direct, keepalive_timeout=0.2, header_timeout=0.2) as gw:
        reader, writer = await gw.connect()
        writer.write(post())
        first = await read_answer(reader)
        writer.write(then)
        raw = await read_all(reader)
        writer.close()
        return b"%d " % first.status + raw


@pytest.mark.parametrize("then", [b"", b"POST /graphql HTTP/1.1\r\nHost: g"], ids=["idle", "half a request"])
async def test_the_timers_after_a_direct_answer_are_those_after_send(then: bytes) -> None:
    # The keep-alive timer closes an idle connection; the head timer answers 408 to an unfinished head.
    direct = await timed_conversation(True, then)
    assert normalised(direct) == normalised(await timed_conversation(False, then))
    assert direct.startswith(b"200 ")
    assert (b"HTTP/1.1 408 " in direct) == bool(then)


async def conversation(direct: bool, message: bytes, **settings: Any) -> bytes:
    async with served(http_direct_responses=direct, **settings) as gw:
        reader, writer = await gw.connect()
        writer.write(message)
        raw = await read_all(reader)
        writer.close()
        return raw


CONVERSATIONS: dict[str, bytes] = {
    "close in capitals": post(extra=[("Connection", "CLOSE")]),
    "close among other tokens": post(extra=[("Connection", "TE,  Close ")]),
    "two connection fields": post(extra=[("Connection", "keep-alive"), ("Connection", "close")]),
    "close then a pipelined request": post(extra=[("Connection", "close")]) + post(BIG),
    "http/1.0 keep-alive in capitals": post(extra=[("Connection", "Keep-Alive")], version="HTTP/1.0")
    + post(extra=CLOSE, version="HTTP/1.0"),
    "http/1.0 without keep-alive, a second behind": post(version="HTTP/1.0") + post(),
    "garbage behind an answer": post() + b"NOT HTTP\r\n\r\n",
    "a 431 behind an answer": post() + request(headers=[("X-Big", "a" * 40000)]),
    "put with expect 100-continue and no body": b"PUT /graphql HTTP/1.1\r\nHost: g\r\nContent-Length: 10\r\n"
    b"Expect: 100-continue\r\nConnection: close\r\n\r\n",
    "options": request("OPTIONS", "/graphql", headers=CLOSE),
    "head with keep-alive then a post": request("HEAD", "/graphql") + post(extra=CLOSE),
    "a request id with a control character": post(extra=[("X-Request-Id", "a\x0bb"), *CLOSE]),
    "a request id with obs-text": post(extra=[("X-Request-Id", "a\xffb"), *CLOSE]),
    "a request id too long": post(extra=[("X-Request-Id", "a" * 129), *CLOSE]),
    "logout clears the cookie": post(orjson.dumps({"query": "mutation { logout { success } }"}), CLOSE),
    "login": post(
        orjson.dumps({"query": 'mutation { login(username: "a", password: "b") { success userErrors { code } } }'}),
        CLOSE,
    ),
    "a body over the limit, then a request": post(b"x" * (1024 * 1024 + 1)) + post(extra=CLOSE),
    "a chunked body over the limit, then a request": b"POST /graphql HTTP/1.1\r\nHost: g\r\nContent-Type: "
    b"application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    + (b"10000\r\n" + b"x" * 0x10000 + b"\r\n") * 20
    + b"0\r\n\r\n"
    + post(extra=CLOSE),
    "a body over the limit behind expect 100-continue": b"POST /graphql HTTP/1.1\r\nHost: g\r\nContent-Type: "
    b"application/json\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
    "a 401 challenge": post(extra=[("X-Gateway-Key", "not-a-key"), *CLOSE]),
    "a cookie no token can hold": post(extra=[("Cookie", 'token=a"b'), *CLOSE]),
    "two gateway keys": post(extra=[("X-Gateway-Key", "a"), ("X-Gateway-Key", "b"), *CLOSE]),
}


@pytest.mark.parametrize("name", list(CONVERSATIONS))
async def test_odd_conversations_get_the_same_bytes(name: str) -> None:
    message = CONVERSATIONS[name]
    direct = await conversation(True, message)
    assert normalised(direct) == normalised(await conversation(False, message))
    assert direct.startswith(b"HTTP/1.")


async def test_a_request_id_from_the_client_never_adds_a_header() -> None:
    raw = await conversation(True, post(extra=[("X-Request-Id", "a\tx-injected: 1"), *CLOSE]))
    assert b"\r\nx-injected" not in raw.lower()
    assert raw.lower().count(b"\r\nx-request-id: ") == 1


async def traced(direct: bool) -> list[str]:
    """The ASGI messages uvicorn's trace logging records for one GraphQL request."""
    loggers = [logging.getLogger("uvicorn.error"), logging.getLogger("uvicorn.asgi")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:  # at this level, uvicorn wraps the application in its message logger
        logger.setLevel(TRACE_LOG_LEVEL)
    try:
        async with every_log() as logs, served(http_direct_responses=direct) as gw:
            logs.setLevel(TRACE_LOG_LEVEL)
            reader, writer = await gw.connect()
            writer.write(post(extra=CLOSE))
            await read_all(reader)
            writer.close()
            await settled(gw)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
    # What each message is, without the client's port or the scope's contents.
    return [record.getMessage().split("ASGI ")[1][:20] for record in logs.records if "ASGI [" in record.getMessage()]


async def test_uvicorns_trace_log_of_asgi_messages_sees_every_answer() -> None:
    messages = await traced(True)
    assert messages == await traced(False)
    assert "[2] Send {'type': 'h" in messages


async def bookkept(direct: bool) -> tuple[bytes, int, list[str]]:
    """Pipelined requests with uvicorn's access log on: the bytes, the answers counted, the access log lines."""
    access = logging.getLogger("uvicorn.access")
    level = access.level
    async with every_log() as logs, served(http_direct_responses=direct) as gw:
        access.addHandler(logs)  # read by each new connection: uvicorn logs each answer it sends
        access.setLevel(logging.INFO)  # whatever uvicorn's logging configuration set before
        try:
            reader, writer = await gw.connect()
            writer.write(post() + post(BIG) + request() + post(extra=CLOSE))
            raw = await read_all(reader)
            writer.close()
            await settled(gw)
        finally:
            access.removeHandler(logs)
            access.setLevel(level)
        lines = [record.getMessage().split(" - ")[1] for record in logs.records if record.name == "uvicorn.access"]
        return raw, gw.server.server_state.total_requests, lines


async def test_the_access_log_and_the_request_count_see_every_answer() -> None:
    raw, answered, lines = await bookkept(True)
    raw_send, answered_send, lines_send = await bookkept(False)
    assert (normalised(raw), answered, lines) == (normalised(raw_send), answered_send, lines_send)
    assert answered == len(lines) == 4
    assert lines[0] == '"POST /graphql HTTP/1.1" 200'


# Clients that leave


async def leaving_as_written(direct: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, list[str], list[Any], int]:
    """The client resets the connection just before its answer is written; then a new client asks again.

    What the new client read, what was logged, what reached the loop's exception handler, the answers counted.
    """
    client: list[socket.socket] = []

    def leave() -> None:
        if client:
            sock = client.pop()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # a reset, at once
            sock.close()

    original_direct = app.web.edge.respond_directly
    original_send = RequestResponseCycle.send

    def respond_directly(*args: Any) -> bool:
        leave()
        return original_direct(*args)

    async def send(self: RequestResponseCycle, message: Any) -> None:
        if message["type"] == "http.response.start":
            leave()
        await original_send(self, message)

    monkeypatch.setattr(app.web.edge, "respond_directly", respond_directly)
    monkeypatch.setattr(RequestResponseCycle, "send", send)
    loop = asyncio.get_running_loop()
    async with (
        loop_errors() as errors,
        every_log() as logs,
        served(http_direct_responses=direct) as gw,
    ):
        sock = socket.socket()
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", gw.port))
        client.append(sock)
        await loop.sock_sendall(sock, post() + post())
        await settled(gw)
        reader, writer = await gw.connect()
        writer.write(post(extra=CLOSE))
        after = await read_all(reader)
        writer.close()
        assert not client, "the client was still there when its answer was written"
        await settled(gw)
        return after, problems(logs.records), errors, gw.server.server_state.total_requests


@pytest.mark.interpreted  # replaces a name inside a compiled module (tests/conftest.py)
async def test_a_client_that_resets_as_its_answer_is_written_costs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # The reset is in the server's socket, not yet seen by its loop: the write fails, and nothing else does.
    after, logged, errors, answered = await leaving_as_written(True, monkeypatch)
    assert (after.startswith(b"HTTP/1.1 200 OK\r\n"), logged, errors) == (True, [], [])
    after_send, logged_send, errors_send, answered_send = await leaving_as_written(False, monkeypatch)
    assert normalised(after) == normalised(after_send)
    # Each answer counted once (on_response ran once for it), as with send; the pipelined one never ran.
    assert (logged, len(errors), answered) == (logged_send, len(errors_send), answered_send) == ([], 0, 2)


async def half_closed(direct: bool) -> bytes:
    async with served(http_direct_responses=direct) as gw:
        reader, writer = await gw.connect()
        writer.write(post() + post(BIG))
        writer.write_eof()
        raw = await read_all(reader)
        writer.close()
        return raw


async def test_a_client_that_half_closes_after_its_requests_meets_the_same_fate() -> None:
    direct = await half_closed(True)
    assert normalised(direct) == normalised(await half_closed(False))


# A client that reads nothing


async def never_reading(direct: bool) -> tuple[bool, int, list[str]]:
    """Large answers pipelined to a client that reads nothing, with a short send timeout.

    Whether the server dropped the connection, the largest write buffer it held, what it logged.
    """
    loop = asyncio.get_running_loop()
    buffered: list[int] = []
    async with (
        every_log() as logs,
        served(http_direct_responses=direct, send_timeout=0.3) as gw,
    ):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            await loop.sock_connect(sock, ("127.0.0.1", gw.port))
            await loop.sock_sendall(sock, request())
            seen = b""
            while not seen.endswith(b"}"):
                seen += await asyncio.wait_for(loop.sock_recv(sock, 65536), WAIT)
            (connection,) = gw.server.server_state.connections
            connection.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            dropped = asyncio.Event()
            timed_out = connection._send_timed_out

            def dropping() -> None:
                buffered.append(connection.transport.get_write_buffer_size())
                timed_out()
                dropped.set()

            connection._send_timed_out = dropping  # type: ignore[method-assign]
            await loop.sock_sendall(sock, post(BIG) * 40)
            await asyncio.wait_for(dropped.wait(), WAIT)
            await settled(gw)
    return dropped.is_set(), max(buffered), problems(logs.records)


async def test_a_client_that_reads_nothing_is_dropped_and_the_buffer_stays_bounded() -> None:
    dropped, buffered, logged = await never_reading(True)
    assert (dropped, logged) == (True, [])
    answer = len(await conversation(True, post(BIG, CLOSE)))
    # One answer over the write buffer's high-water mark (64 KiB) at most: the next waits in uvicorn's send.
    assert buffered <= 64 * 1024 + answer
    assert (dropped, logged) == (await never_reading(False))[::2]


# The reference from a request's scope to its cycle


async def cycles_left(direct: bool, scenario: str, conversations: int = 20) -> int:
    """RequestResponseCycle objects still in memory (gc off) after the scenario's conversations ended."""
    settings: dict[str, Any] = {"bifrost_api_generation": "current", "http_direct_responses": direct}
    if scenario == "cors":
        settings["cors_allow_origins"] = ["https://app.example"]
    upstream = HeldUpstream() if scenario == "pipelined, then the client left" else None
    async with served(transport=upstream, **settings) as gw:
        if scenario == "limit_concurrency":
            gw.server.config.limit_concurrency = 1  # read by each new connection: every request is 503
        gc.collect()
        gc.disable()
        try:
            before = sum(type(o) is RequestResponseCycle for o in gc.get_objects())
            for _ in range(conversations):
                reader, writer = await gw.connect()
                if upstream is not None:
                    writer.write(post(LOOKUP) + post() + post())
                    await asyncio.wait_for(upstream.started.wait(), WAIT)
                    writer.transport.abort()
                    upstream.started.clear()
                else:
                    writer.write(post(extra=[("Origin", "https://app.example"), *CLOSE]))
                    await read_all(reader)
                    writer.close()
                await settled(gw)
            return sum(type(o) is RequestResponseCycle for o in gc.get_objects()) - before
        finally:
            gc.enable()


@pytest.mark.parametrize(
    "scenario", ["answered directly", "cors", "limit_concurrency", "pipelined, then the client left"]
)
async def test_no_cycle_outlives_its_connection_unless_it_would_with_send(scenario: str) -> None:
    # Freed by reference counting, as with send: a scope that refers back to its cycle would keep each one (its
    # transport, its request body) until the cyclic collector runs.
    assert await cycles_left(True, scenario) <= max(await cycles_left(False, scenario), 1)


async def test_no_cycle_is_kept_over_many_connections() -> None:
    async with served() as gw:
        gc.collect()
        before = sum(type(o) is RequestResponseCycle for o in gc.get_objects())
        for _ in range(500):
            reader, writer = await gw.connect()
            writer.write(post(extra=CLOSE))
            await read_all(reader)
            writer.close()
        await settled(gw)
        gc.collect()
        assert sum(type(o) is RequestResponseCycle for o in gc.get_objects()) - before <= 1
        assert not any(type(o) is LimitedHttpToolsProtocol for o in gc.get_objects())


# respond_directly on a real uvicorn cycle


async def test_a_body_in_answer_to_head_is_left_to_send() -> None:
    # send writes the head only (content-length included) when the request was HEAD; a direct write must not
    # put a body on the connection, where the client would read it as the start of the next answer.
    cycle, transport, completed = _cycle()
    cycle.scope["method"] = "HEAD"
    assert not respond_directly(cycle, 200, _headers(b"{}"), b"{}")
    assert transport.written == [] and completed == [] and not cycle.response_started
    assert respond_directly(cycle, 405, [(b"allow", b"GET, POST"), (b"content-length", b"0")], b"")
    assert transport.written == [
        b"HTTP/1.1 405 Method Not Allowed\r\nserver: uvicorn\r\nallow: GET, POST\r\ncontent-length: 0\r\n\r\n"
    ]
