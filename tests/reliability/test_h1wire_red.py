"""``H1Wire`` attacked from outside its author's own list: answers that smuggle or lie about their framing,
connections that die as they are reused, calls abandoned at any point, a second event loop, TLS that does not
verify, secrets in errors, and request targets that must leave as aiohttp sends them.

Every server here listens on 127.0.0.1. ``Canned`` answers each request with what a test scripts, byte for byte,
and counts connections and requests; ``ScriptedUpstream`` serves the named routes; a server in a child process
is used where this process's descriptors are counted or the test's event loop changes.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import random
import ssl
import subprocess
import sys
import textwrap
import traceback
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
import uvloop

from app.bifrost import BifrostClient, h1wire
from app.bifrost.errors import UpstreamOutcomeUnknown
from app.bifrost.h1wire import H1Wire
from app.bifrost.wire import AiohttpWire, WireConnectError, WireConnectionError, WireTimeout
from app.settings import Settings
from app.web import create_app
from app.web.app import bifrost_client_of
from tests.reliability.scripted_upstream import ScriptedUpstream, closed_port

LIMIT = 256 * 1024
ROOT = Path(__file__).resolve().parents[2]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
RUNNERS: dict[str, Callable[[Coroutine[Any, Any, None]], None]] = {"asyncio": asyncio.run, "uvloop": uvloop.run}

Handler = Callable[[int, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]


class Canned:
    """A keep-alive server whose ``handler(n, reader, writer)`` answers the n-th request (from 1) after its head and
    body were read; it returns whether to serve the connection on. ``answer(bytes)`` is the handler for one
    fixed answer to every request."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.methods: list[str] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def answer(cls, raw: bytes) -> Canned:
        async def handler(n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
            writer.write(raw)
            await writer.drain()
            return True

        return cls(handler)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> Canned:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.methods.append(head.split(b" ", 1)[0].decode())
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        await reader.readexactly(int(line.split(b":")[1]))
                if not await self.handler(len(self.methods), reader, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)


@pytest.fixture
async def canned() -> AsyncIterator[Callable[[Canned], Awaitable[Canned]]]:
    started: list[Canned] = []

    async def start(server: Canned) -> Canned:
        started.append(await server.start())
        return server

    yield start
    for server in started:
        await server.stop()


def make_wire(url: str, *, max_connections: int = 1, read_timeout: float = 1.0) -> H1Wire:
    return H1Wire(url, max_connections=max_connections, connect_timeout=1.0, read_timeout=read_timeout)


async def get(wire: H1Wire, path: str = "/x") -> tuple[int, bytes]:
    response = await asyncio.wait_for(wire.send("GET", path, {}, None, None, LIMIT), 10)
    return response.status, response.content


# Answers that lie about their framing ------------------------------------------------------------------------------

_H = b"HTTP/1.1 200 OK\r\n"
LIES = {
    "chunked-and-length": _H + b"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    "length-and-chunked": _H + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    "two-lengths-differing": _H + b"Content-Length: 2\r\nContent-Length: 5\r\n\r\n{}",
    "two-lengths-alike": _H + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",  # refused too: never guessed
    "length-plus": _H + b"Content-Length: +2\r\n\r\n{}",
    "length-list": _H + b"Content-Length: 2,2\r\n\r\n{}",
    "length-underscore": _H + b"Content-Length: 0_2\r\n\r\n{}",  # int() would read 2
    "length-negative": _H + b"Content-Length: -1\r\n\r\n{}",
    "length-empty": _H + b"Content-Length: \r\n\r\n{}",
    "length-huge-digits": _H + b"Content-Length: 99999999999999999999999999\r\n\r\n{}",
    "length-space-before-colon": _H + b"Content-Length : 5\r\n\r\n{}",
    "identity-and-length": _H + b"Transfer-Encoding: identity\r\nContent-Length: 2\r\n\r\n{}",
    "chunk-size-overflow": _H + b"Transfer-Encoding: chunked\r\n\r\n10000000000000002\r\n{}\r\n0\r\n\r\n",
    "length-in-trailer": _H + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nContent-Length: 9\r\n\r\n",
    "bare-line-feeds": b"HTTP/1.1 200 OK\nContent-Length: 2\n\n{}",
    "folded-header": _H + b"X-A: a\r\n b\r\nContent-Length: 2\r\n\r\n{}",
    "nul-in-header": _H + b"X-A: a\x00b\r\nContent-Length: 2\r\n\r\n{}",
    "status-below-100": b"HTTP/1.1 000 None\r\nContent-Length: 2\r\n\r\n{}",
    "processing-with-body": b"HTTP/1.1 102 Processing\r\nContent-Length: 2\r\n\r\n{}" + OK,
    "switching-protocols": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n" + OK,
    "switching-unasked": b"HTTP/1.1 101 Switching Protocols\r\n\r\n" + OK,
}


@pytest.mark.parametrize("lie", list(LIES))
async def test_an_answer_whose_framing_lies_is_refused_at_once_and_its_connection_dropped(
    lie: str, canned: Callable[[Canned], Awaitable[Canned]]
) -> None:
    # Refused as it is read (not waited on until the read timeout), and never a connection read on afterwards.
    server = await canned(Canned.answer(LIES[lie]))
    wire = make_wire(server.url, read_timeout=30.0)
    try:
        for _ in range(2):
            with pytest.raises(WireConnectionError) as error:
                await get(wire)
            assert not isinstance(error.value, WireTimeout)
        assert wire._idle == []
    finally:
        await wire.aclose()
    assert (server.connections, len(server.methods)) == (2, 2)


ACCEPTED = {
    "length-with-spaces": _H + b"Content-Length:   2  \r\n\r\n{}",
    "chunk-extension": _H + b"Transfer-Encoding: chunked\r\n\r\n2;name=value\r\n{}\r\n0\r\n\r\n",
    "http-1.0-keep-alive": b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}",
    "hundred-interim-answers": b"HTTP/1.1 100 Continue\r\n\r\n" * 100 + OK,
}


@pytest.mark.parametrize("answer", list(ACCEPTED))
async def test_an_odd_but_valid_answer_is_read_and_its_connection_kept(
    answer: str, canned: Callable[[Canned], Awaitable[Canned]]
) -> None:
    server = await canned(Canned.answer(ACCEPTED[answer]))
    wire = make_wire(server.url)
    try:
        assert [await get(wire) for _ in range(3)] == [(200, b"{}")] * 3
    finally:
        await wire.aclose()
    assert server.connections == 1


NOT_KEPT = {
    "http-1.0": (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", (200, b"{}")),
    "connection-close": (_H + b"Connection: close\r\nContent-Length: 2\r\n\r\n{}", (200, b"{}")),
    "no-content-with-a-body": (b"HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\n{}", (204, b"")),
    "not-modified-with-a-body": (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 2\r\n\r\n{}", (304, b"")),
}


@pytest.mark.parametrize("answer", list(NOT_KEPT))
async def test_an_answer_after_which_the_connection_cannot_be_trusted_is_read_and_its_connection_closed(
    answer: str, canned: Callable[[Canned], Awaitable[Canned]]
) -> None:
    raw, expected = NOT_KEPT[answer]
    server = await canned(Canned.answer(raw))
    wire = make_wire(server.url)
    try:
        assert [await get(wire) for _ in range(3)] == [expected] * 3
    finally:
        await wire.aclose()
    assert server.connections == 3


async def test_the_late_body_of_a_no_content_answer_never_becomes_the_next_answer(
    canned: Callable[[Canned], Awaitable[Canned]],
) -> None:
    # A server that writes a 204's declared body only later, once the next request came on that connection: read
    # as the start of that request's answer, it would fail it (or, shaped as an answer, answer it).
    smuggled = b'HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{"smuggled":true}'

    async def handler(n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        if n == 1:
            writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: %d\r\n\r\n" % len(smuggled))
        else:
            writer.write(smuggled + OK if n == 2 and server.connections == 1 else OK)
        await writer.drain()
        return True

    server = await canned(Canned(handler))
    wire = make_wire(server.url)
    try:
        assert await get(wire) == (204, b"")
        assert await get(wire) == (200, b"{}")
    finally:
        await wire.aclose()
    assert server.connections == 2


async def test_endless_interim_answers_are_refused_once_past_the_head_bound(
    canned: Callable[[Canned], Awaitable[Canned]],
) -> None:
    # Each 100 Continue is a read, so the read timeout never fires: the head bound (kept across interim answers)
    # must end it.
    async def handler(n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        while True:  # until the client goes
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" * 40)
            await writer.drain()
            await asyncio.sleep(0)

    server = await canned(Canned(handler))
    wire = make_wire(server.url, read_timeout=30.0)
    try:
        with pytest.raises(WireConnectionError) as error:
            await get(wire)
    finally:
        await wire.aclose()
    assert not isinstance(error.value, WireTimeout)


# A connection that dies as it is reused --------------------------------------------------------------------------


@pytest.mark.parametrize("death", ["close", "reset"])
async def test_a_pooled_connection_dying_as_it_is_reused_retries_a_read_and_never_sends_a_write_twice(
    death: str, canned: Callable[[Canned], Awaitable[Canned]]
) -> None:
    # The server answers once and keeps the connection alive, then drops it when the next request arrives on
    # it (as a server closing an idle connection at that moment does): the request may have been read.
    async def handler(n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        if n in (2, 5):  # the second request on each of the two pooled connections below
            if death == "reset":
                writer.transport.abort()
            return False
        writer.write(OK)
        await writer.drain()
        return True

    server = await canned(Canned(handler))
    wire = make_wire(server.url)
    client = BifrostClient(wire, total_timeout=10.0, read_retries=1, sleep=_no_sleep)
    try:
        assert (await client.request("GET", "/api/governance/teams", headers={})).status == 200  # request 1
        # Request 2 dies; the read goes again on a new connection (request 3).
        assert (await client.request("GET", "/api/governance/teams", headers={})).status == 200
        assert (await client.request("GET", "/api/governance/teams", headers={})).status == 200  # request 4
        with pytest.raises(UpstreamOutcomeUnknown):  # request 5 dies: the write may have been applied
            await client.request("POST", "/api/governance/teams", headers={}, body={"name": "t"})
    finally:
        await wire.aclose()
    assert server.methods == ["GET", "GET", "GET", "GET", "POST"]  # the write left once


async def _no_sleep(seconds: float) -> None:
    return None


async def test_a_trickling_upstream_ends_as_a_typed_graphql_error_within_the_total_timeout() -> None:
    # One byte every 0.2 s: the 1 s read timeout never fires, the 1 s total timeout does, for a read and a write.
    server = await ScriptedUpstream(only="drip", drip=0.2).start()
    settings = Settings(
        bifrost_url=server.url,
        bifrost_api_generation="current",
        upstream_http_client="h1",
        upstream_read_timeout=1.0,
        upstream_connect_timeout=1.0,
        upstream_total_timeout=1.0,
        upstream_read_retries=0,
    )
    app = create_app(settings, transport=None)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
            read = await http.post("/graphql", json={"query": "{ teams(first: 1) { nodes { id } } }"})
            write = await http.post(
                "/graphql", json={"query": 'mutation { createTeam(input: {name: "t"}) { team { id } } }'}
            )
    finally:
        await bifrost_client_of(app).aclose()
        await server.stop()
    assert read.json()["errors"][0]["extensions"]["code"] == "UPSTREAM_TIMEOUT"
    assert write.json()["errors"][0]["extensions"]["code"] == "UPSTREAM_OUTCOME_UNKNOWN"
    assert [request.method for request in server.received].count("POST") == 1


# Calls abandoned anywhere, and event loops -------------------------------------------------------------------


@pytest.fixture
def child_upstream() -> Iterator[str]:
    """A ``ScriptedUpstream`` in a child process (its sockets are not this process's); /gate opens at 8 held."""
    script = textwrap.dedent(
        """
        import asyncio
        from tests.reliability.scripted_upstream import ScriptedUpstream

        async def main():
            server = await ScriptedUpstream(drip=0.001).start()
            server.gate_size = 8
            print(server.port, flush=True)
            await server.gate_filled.wait()
            server.open_gate()
            await asyncio.Event().wait()

        asyncio.run(main())
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert child.stdout is not None
        yield f"http://127.0.0.1:{int(child.stdout.readline())}"
    finally:
        child.kill()
        child.wait()
        assert child.stdout is not None
        child.stdout.close()


def _descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("loop", list(RUNNERS))
def test_a_thousand_calls_cancelled_anywhere_leak_no_connection_slot_descriptor_or_warning(
    loop: str, child_upstream: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Cancelled while waiting for a slot, connecting, after writing, or mid-body: afterwards at most
    # max_connections are open, all eight slots serve calls at once, and closing the wire gives every descriptor
    # back. uvloop never tells a protocol whose connect was cancelled mid-way that it was lost.
    caplog.set_level(logging.DEBUG)
    problems: list[str] = []
    paths = ["/status/200", "/chunked", "/drip", "/slow-head", "/silent", "/echo", "/gzip"]

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, context: problems.append(context["message"]))
        wire = make_wire(child_upstream, max_connections=8)
        await wire.send("GET", "/status/200", {}, None, None, LIMIT)  # the loop's own lazily made descriptors
        await wire.aclose()
        before = _descriptors()
        chance = random.Random(7)

        async def abandoned() -> None:
            call = asyncio.create_task(
                wire.send(chance.choice(["GET", "POST"]), chance.choice(paths), {}, b"{}", None, LIMIT)
            )
            for _ in range(chance.randrange(12)):
                await asyncio.sleep(0)
            if chance.random() < 0.3:
                await asyncio.sleep(chance.random() * 0.005)
            call.cancel()
            await asyncio.gather(call, return_exceptions=True)

        for _ in range(50):
            await asyncio.gather(*(abandoned() for _ in range(20)))
        assert len(wire._open) <= 8 and len(wire._idle) <= 8
        held = [wire.send("GET", "/gate", {}, None, None, LIMIT) for _ in range(8)]
        assert [response.status for response in await asyncio.wait_for(asyncio.gather(*held), 10)] == [200] * 8
        await wire.aclose()
        for _ in range(5):  # the closed transports' last callbacks
            await asyncio.sleep(0)
        gc.collect()
        assert wire._open == set()
        assert _descriptors() <= before

    RUNNERS[loop](scenario())
    assert problems == []
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


@pytest.mark.parametrize("second", list(RUNNERS))
def test_a_wire_serves_a_second_event_loop_after_the_first_closed(second: str, child_upstream: str) -> None:
    # Each test (and each app a test builds) may run on a loop of its own: the first loop's pooled connections
    # and its semaphore (bound to a loop once a call waited on it) must not be used from the next one.
    wire = make_wire(child_upstream, max_connections=2)

    async def burst() -> None:
        calls = [wire.send("GET", "/status/200", {}, None, None, LIMIT) for _ in range(6)]  # four of them wait
        assert [response.status for response in await asyncio.wait_for(asyncio.gather(*calls), 10)] == [200] * 6

    asyncio.run(burst())
    RUNNERS[second](burst())
    RUNNERS[second](burst())


@pytest.mark.parametrize("loop", list(RUNNERS))
def test_a_call_its_caller_left_is_forgotten_at_once_not_at_the_read_timeout(loop: str, child_upstream: str) -> None:
    # The read timer of a call cancelled mid-wait would hold its connection (parser, body read so far) until the
    # read timeout; a gateway whose clients leave often would hold that many.
    async def scenario() -> None:
        wire = make_wire(child_upstream, read_timeout=60.0)
        call = asyncio.create_task(wire.send("GET", "/silent", {}, None, None, LIMIT))
        while not wire._open:  # noqa: ASYNC110 (connected: the only sign is the pool's set)
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the request is out, the answer awaited
        call.cancel()
        await asyncio.gather(call, return_exceptions=True)
        del call  # its exception's traceback holds the connection, as a caller's would until it is gone
        for _ in range(5):  # the aborted transport's last callbacks
            await asyncio.sleep(0)
        gc.collect()
        assert not [kept for kept in gc.get_objects() if isinstance(kept, h1wire._Connection)]
        await wire.aclose()

    RUNNERS[loop](scenario())


async def test_many_failing_calls_do_not_grow_memory(canned: Callable[[Canned], Awaitable[Canned]]) -> None:
    server = await canned(Canned.answer(LIES["two-lengths-differing"]))
    refused = make_wire(f"http://127.0.0.1:{closed_port()}")
    lying = make_wire(server.url)

    async def fail(times: int) -> None:
        for _ in range(times):
            with pytest.raises(WireConnectError):
                await refused.send("POST", "/x", {}, b"{}", None, LIMIT)
            with pytest.raises(WireConnectionError):
                await lying.send("POST", "/x", {}, b"{}", None, LIMIT)

    try:
        await fail(50)  # warm: first-use caches
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.take_snapshot()
            await fail(500)
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
    finally:
        await refused.aclose()
        await lying.aclose()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert grown < 256 * 1024, grown


async def test_closing_the_wire_with_calls_at_every_stage_ends_each_of_them(
    canned: Callable[[Canned], Awaitable[Canned]],
) -> None:
    # Four calls hold the four connections (two mid-body, two waiting for the head), two wait for a slot: closing
    # ends the four at once (not at the read timeout), and the two then go out on new connections.
    async def handler(n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        if n > 4:
            writer.write(OK)
            await writer.drain()
            return True
        if n % 2:
            writer.write(_H + b"Content-Length: 10\r\n\r\n{")
            await writer.drain()
        await reader.read()  # held until the client goes
        return False

    server = await canned(Canned(handler))
    wire = make_wire(server.url, max_connections=4, read_timeout=30.0)
    calls = [asyncio.create_task(get(wire)) for _ in range(6)]
    try:
        while len(server.methods) < 4:  # noqa: ASYNC110 (the server's count is the only sign the four were sent)
            await asyncio.sleep(0.01)
        await wire.aclose()
        results = await asyncio.gather(*calls, return_exceptions=True)
    finally:
        await wire.aclose()
    assert [type(result) for result in results[:4]] == [WireConnectionError] * 4
    assert results[4:] == [(200, b"{}")] * 2
    assert server.connections == 6


# TLS --------------------------------------------------------------------------------------------------------------


async def test_a_certificate_for_another_name_is_refused_even_from_a_trusted_authority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default context checks the name as well as the chain: a cert for "localhost" does not serve 127.0.0.1.
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_context)
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    server = await ScriptedUpstream(tls=server_context).start()
    wire = make_wire(server.url)
    try:
        with pytest.raises(WireConnectError):
            await get(wire, "/status/200")
    finally:
        await wire.aclose()
        await server.stop()
    assert server.received == []


# Secrets in what an error shows -----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["refused", "reset-head", "silent", "two-lengths", "tls"])
async def test_no_error_shows_the_url_port_or_a_header_value(route: str) -> None:
    # What a log line with exc_info would print of it, chained exceptions included.
    context = None
    if route == "tls":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
    server = await ScriptedUpstream(only=None if route == "tls" else route, tls=context).start()
    url = f"http://127.0.0.1:{closed_port()}" if route == "refused" else server.url
    wire = make_wire(url, read_timeout=0.3)
    try:
        with pytest.raises((WireConnectionError, WireTimeout)) as error:
            await wire.send("POST", "/status/200", {"authorization": "Bearer s3cret"}, b'{"k":"v4lue"}', None, LIMIT)
    finally:
        await wire.aclose()
        await server.stop()
    shown = "".join(traceback.format_exception_only(error.value))
    chained: BaseException | None = error.value
    while chained is not None:  # each exception a traceback would print (a suppressed context is not)
        shown += repr(chained) + str(chained)
        chained = chained.__cause__ or (None if chained.__suppress_context__ else chained.__context__)
    port = url.rsplit(":", 1)[1]
    for secret in ("127.0.0.1", port, "s3cret", "v4lue"):
        assert secret not in shown


# The request as it leaves ---------------------------------------------------------------------------------------

ODD_PATHS = [
    "/echo/a?b=1",
    "/echo/a#fragment",
    "/echo/a?b=1#fragment",
    "/echo/../teams",
    "/echo/./x/../y",
    "/echo/%2e%2e/teams",
    "/echo/a b",
    "/echo/%41%2F%zz",
    "/echo/100%",
    "/echo/caf\u00e9",
    "/echo/a;b",
    "/echo//double",
    "echo/relative",
]
ODD_PARAMS: list[dict[str, str | int] | None] = [None, {"q": "a?b#c d&e=f/../"}, {"q": "%zz%20", "": "\u2028"}]


@pytest.mark.parametrize("path", ODD_PATHS)
async def test_an_odd_path_leaves_as_aiohttp_sends_it(path: str) -> None:
    # Never a fragment (invalid in a request), dot segments resolved: the same target, byte for byte.
    server = await ScriptedUpstream(only="echo").start()
    targets: dict[str, list[str]] = {}
    try:
        for kind, wire_type in (("aiohttp", AiohttpWire), ("h1", H1Wire)):
            wire = wire_type(server.url, max_connections=1, connect_timeout=1.0, read_timeout=1.0)
            try:
                for params in ODD_PARAMS:
                    assert (await wire.send("GET", path, {}, None, params, LIMIT)).status == 200
            finally:
                await wire.aclose()
            targets[kind] = [request.target for request in server.received]
            server.received.clear()
    finally:
        await server.stop()
    assert targets["h1"] == targets["aiohttp"]
    assert all("#" not in target for target in targets["h1"])


@pytest.mark.parametrize(
    "path", ["/echo/x\r\nX-Injected: 1\r\n", "/echo/x HTTP/1.1\r\nHost: evil\r\n\r\nGET /echo/y", "/echo/x\x00\x7f"]
)
async def test_a_path_cannot_inject_a_line_or_a_second_request(path: str) -> None:
    server = await ScriptedUpstream(only="echo").start()
    wire = make_wire(server.url)
    try:
        assert (await wire.send("GET", path, {}, None, {"q": "a\r\nX-Injected: 2"}, LIMIT)).status == 200
        assert (await wire.send("GET", "/echo/z", {}, None, None, LIMIT)).status == 200
    finally:
        await wire.aclose()
        await server.stop()
    assert [request.target.split("/")[2][:1] for request in server.received] == ["x", "z"]  # two requests, no more
    first = server.received[0]
    assert " " not in first.target and "\r" not in first.target and "\n" not in first.target
    assert [value for name, value in first.headers if name.lower() == "host"] == [server.url.removeprefix("http://")]
    assert not any(name.lower() == "x-injected" for name, _ in first.headers)


@pytest.mark.parametrize("path", ["http://elsewhere.example/echo/a", "//elsewhere.example/echo/a"])
async def test_a_path_naming_another_host_stays_a_path_on_bifrost(path: str) -> None:
    # Never the absolute form (which tells a server to ignore the Host line) nor another host's name.
    server = await ScriptedUpstream(only="echo").start()
    wire = make_wire(server.url)
    try:
        assert (await wire.send("GET", path, {}, None, None, LIMIT)).status == 200
    finally:
        await wire.aclose()
        await server.stop()
    assert [request.target for request in server.received] == ["/echo/a"]
    assert ("Host", server.url.removeprefix("http://")) in server.received[0].headers


async def test_a_retry_after_in_digits_outside_ascii_is_no_delay_and_no_error(
    canned: Callable[[Canned], Awaitable[Canned]],
) -> None:
    # "²" passes str.isdigit() and fails float(), whose ValueError would quote the upstream's text.
    async def handler(n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 503 Busy\r\nRetry-After: \xc2\xb2\r\nContent-Length: 2\r\n\r\n{}" if n == 1 else OK)
        await writer.drain()
        return True

    server = await canned(Canned(handler))
    wire = make_wire(server.url)
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    try:
        client = BifrostClient(wire, total_timeout=10.0, read_retries=1, sleep=sleep)
        assert (await client.request("GET", "/api/governance/teams", headers={})).status == 200
    finally:
        await wire.aclose()
    assert len(delays) == 1 and delays[0] <= 0.05  # the backoff's own jitter, as for no Retry-After
