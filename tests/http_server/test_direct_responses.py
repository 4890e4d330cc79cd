"""Direct responses (``HTTP_DIRECT_RESPONSES``): a complete GraphQL answer written to the connection in one write.

The differential half runs the same conversations, byte for byte, with the setting on and off (``false`` sends
every answer through uvicorn's ASGI ``send``): keep-alive, pipelining, HTTP/1.0 with and without keep-alive,
``Connection: close``, ``Expect: 100-continue``, errors, streams, GraphiQL, CORS, large answers and a client that
reads nothing for a while. Only the ``date`` header and the request ids differ between two runs.

The other half holds ``respond_directly`` to its refusals on a real uvicorn cycle: whatever it cannot write
exactly as ``send`` would, it leaves to ``send`` with nothing written and nothing changed.
Every test runs on asyncio's event loop and on uvloop (conftest.py).
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from typing import Any

import orjson
import pytest
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from app.http_limits import respond_directly
from tests.http_server.served import WAIT, request, served

JSON = [("Content-Type", "application/json")]
CLOSE = [("Connection", "close")]
LEGACY = [("Accept", "application/json"), *CLOSE]
TYPENAME = orjson.dumps({"query": "{ __typename }"})
BIG = orjson.dumps({"query": "{ __schema { types { name description fields { name description } } } }"})


def post(body: bytes = TYPENAME, extra: list[tuple[str, str]] | None = None, version: str = "HTTP/1.1") -> bytes:
    return request("POST", "/graphql", body=body, headers=JSON + (extra or []), version=version)


CONVERSATIONS: dict[str, bytes] = {
    "post": post(extra=CLOSE),
    "get": request("GET", "/graphql?query=%7B__typename%7D", headers=CLOSE),
    "keep-alive then close": post() + post(BIG) + post(extra=CLOSE),
    "pipelined with a health check": post() + request() + post(BIG) + post(extra=CLOSE),
    "close on the first of two": post(extra=CLOSE) + post(),
    "http/1.0": post(version="HTTP/1.0"),
    "http/1.0 keep-alive": post(extra=[("Connection", "keep-alive")], version="HTTP/1.0") + post(extra=CLOSE),
    "connection header with several tokens": post(extra=[("Connection", "keep-alive, close")]),
    "expect 100-continue": post(extra=[("Expect", "100-continue"), *CLOSE]),
    "syntax error": post(orjson.dumps({"query": "{"}), [("Accept", "application/graphql-response+json"), *CLOSE]),
    "validation error, legacy JSON": post(orjson.dumps({"query": "{ nope }"}), LEGACY),
    "bad JSON": post(b"{", CLOSE),
    "wrong content type": request("POST", "/graphql", body=TYPENAME, headers=[("Content-Type", "text/plain"), *CLOSE]),
    "method not allowed": request("PUT", "/graphql", body=TYPENAME, headers=[*JSON, *CLOSE]),
    "batching refused": post(b"[]", CLOSE),
    "head": request("HEAD", "/graphql", headers=CLOSE),
    "not acceptable": post(extra=[("Accept", "text/event-stream"), *CLOSE]),
    "a stream": post(orjson.dumps({"query": "subscription {"}), [("Accept", "text/event-stream"), *CLOSE]),
    "graphiql": request("GET", "/graphql", headers=[("Accept", "text/html"), *CLOSE]),
    "a client's request id": post(extra=[("X-Request-Id", "client-chosen-id-1"), *CLOSE]),
    "large answer": post(BIG, CLOSE),
}

_DATE = re.compile(rb"\r\ndate: [^\r]*")
_REQUEST_ID = re.compile(rb"\r\nx-request-id: [^\r]*")


def normalised(raw: bytes) -> bytes:
    """The bytes a server sent, with the two headers that differ from run to run blanked."""
    return _REQUEST_ID.sub(b"\r\nx-request-id: -", _DATE.sub(b"\r\ndate: -", raw))


async def conversation(direct: bool, message: bytes, **settings: Any) -> bytes:
    """Everything the server sends in answer to ``message`` until it closes the connection."""
    async with served(http_direct_responses=direct, **settings) as gw:
        reader, writer = await gw.connect()
        writer.write(message)
        raw = await asyncio.wait_for(reader.read(-1), WAIT)  # each conversation ends with the server closing
        writer.close()
        return raw


@pytest.mark.parametrize("name", list(CONVERSATIONS))
async def test_the_same_bytes_with_direct_responses_on_and_off(name: str) -> None:
    message = CONVERSATIONS[name]
    direct = await conversation(True, message)
    assert normalised(direct) == normalised(await conversation(False, message))
    assert direct.startswith(b"HTTP/1.")
    assert b"\r\ndate: " in direct and b"\r\nserver: uvicorn" in direct


async def test_the_same_bytes_with_cors_on() -> None:
    # Wrapped by CORS, the answer must pass through the wrapper's send: never direct.
    message = post(extra=[("Origin", "https://app.example"), *CLOSE])
    settings = {"cors_allow_origins": ["https://app.example"]}
    direct = await conversation(True, message, **settings)
    assert normalised(direct) == normalised(await conversation(False, message, **settings))
    assert b"\r\naccess-control-allow-origin: https://app.example\r\n" in direct


async def test_a_client_that_reads_nothing_for_a_while_gets_every_answer_in_order() -> None:
    # Thirty large answers pipelined to a client with a small receive buffer that reads nothing fill the server's
    # write buffer: writes pause, and the answers written meanwhile take uvicorn's send (which waits for the
    # buffer to drain). Once the client reads, all of them arrive, whole and in order.
    message = post(BIG) * 29 + post(BIG, CLOSE)

    async def slow_reader(direct: bool) -> bytes:
        loop = asyncio.get_running_loop()
        async with served(http_direct_responses=direct) as gw:
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.setblocking(False)
                await loop.sock_connect(sock, ("127.0.0.1", gw.port))
                await loop.sock_sendall(sock, request())  # once answered, the server's side of it is known
                seen = b""
                while not seen.endswith(b"}"):
                    seen += await asyncio.wait_for(loop.sock_recv(sock, 65536), WAIT)
                (connection,) = gw.server.server_state.connections
                connection.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
                paused = asyncio.Event()
                pause_writing = connection.pause_writing

                def pausing() -> None:
                    pause_writing()
                    paused.set()

                connection.pause_writing = pausing  # the transport calls it when its buffer is over the limit
                await loop.sock_sendall(sock, message)
                await asyncio.wait_for(paused.wait(), WAIT)
                chunks = [seen]
                while chunk := await asyncio.wait_for(loop.sock_recv(sock, 65536), WAIT):
                    chunks.append(chunk)
                return b"".join(chunks)

    direct = await slow_reader(True)
    assert normalised(direct) == normalised(await slow_reader(False))
    assert direct.count(b"HTTP/1.1 200 OK\r\n") == 31
    assert direct.endswith(b"}}}")


async def test_the_graphql_answer_skips_uvicorns_send_only_when_on(monkeypatch: pytest.MonkeyPatch) -> None:
    sends: list[str] = []
    original = RequestResponseCycle.send

    async def counted(self: RequestResponseCycle, message: Any) -> None:
        sends.append(message["type"])
        await original(self, message)

    monkeypatch.setattr(RequestResponseCycle, "send", counted)
    for direct, expected in ((True, []), (False, ["http.response.start", "http.response.body"])):
        sends.clear()
        raw = await conversation(direct, post(extra=CLOSE))
        assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
        assert sends == expected
    sends.clear()
    await conversation(True, CONVERSATIONS["a stream"])
    assert "http.response.start" in sends  # a stream is sent through ASGI


# respond_directly on a real uvicorn cycle


class _Transport(asyncio.Transport):
    """A transport that records what is written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _cycle(*, keep_alive: bool = True, access_log: bool = False) -> tuple[RequestResponseCycle, _Transport, list[int]]:
    transport = _Transport()
    completed: list[int] = []
    cycle = RequestResponseCycle(
        scope={"type": "http", "method": "POST", "path": "/graphql", "headers": []},  # type: ignore[typeddict-item]
        transport=transport,
        flow=FlowControl(transport),
        logger=logging.getLogger("test"),
        access_logger=logging.getLogger("test.access"),
        access_log=access_log,
        default_headers=[(b"server", b"uvicorn")],
        message_event=asyncio.Event(),
        expect_100_continue=True,
        keep_alive=keep_alive,
        on_response=lambda: completed.append(1),
    )
    return cycle, transport, completed


def _headers(body: bytes, *extra: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    return [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json"), *extra]


async def test_an_answer_is_one_write_and_completes_the_cycle() -> None:
    cycle, transport, completed = _cycle()
    assert respond_directly(cycle, 200, _headers(b"{}"), b"{}")
    assert transport.written == [
        b"HTTP/1.1 200 OK\r\nserver: uvicorn\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}"
    ]
    assert cycle.response_started and cycle.response_complete and cycle.message_event.is_set()
    assert not cycle.waiting_for_100_continue  # no 100 Continue after an answer
    assert completed == [1] and not transport.closing


async def test_a_connection_not_kept_alive_says_close_and_closes() -> None:
    cycle, transport, completed = _cycle(keep_alive=False)
    assert respond_directly(cycle, 400, _headers(b"{}"), b"{}")
    assert transport.written[0].startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"\r\nconnection: close\r\n\r\n{}" in transport.written[0]
    assert transport.closing and completed == [1]


async def test_an_answer_that_says_close_ends_keep_alive() -> None:
    cycle, transport, _ = _cycle()
    assert respond_directly(cycle, 200, _headers(b"{}", (b"Connection", b"Keep-Alive, Close")), b"{}")
    assert transport.written[0].count(b"connection:") == 1  # not added a second time
    assert not cycle.keep_alive and transport.closing


REFUSED = {
    "length missing": ([(b"content-type", b"application/json")], b"{}"),
    "length short": ([(b"content-length", b"1")], b"{}"),
    "length long": ([(b"content-length", b"3")], b"{}"),
    "length not a number": ([(b"content-length", b"2x")], b"{}"),
    "two lengths": ([(b"content-length", b"2"), (b"content-length", b"2")], b"{}"),
    "chunked": ([(b"content-length", b"2"), (b"transfer-encoding", b"chunked")], b"{}"),
    "value with a line break": (_headers(b"{}", (b"x-a", b"1\r\nx-injected: 1")), b"{}"),
    "value with a NUL": (_headers(b"{}", (b"x-a", b"1\x00")), b"{}"),
    "name with a space": (_headers(b"{}", (b"x a", b"1")), b"{}"),
    "name with a colon": (_headers(b"{}", (b"x-a:", b"1")), b"{}"),
}


@pytest.mark.parametrize("name", list(REFUSED))
async def test_what_send_would_refuse_or_frame_otherwise_is_left_to_send(name: str) -> None:
    headers, body = REFUSED[name]
    cycle, transport, completed = _cycle()
    assert not respond_directly(cycle, 200, headers, body)
    assert transport.written == [] and completed == []
    assert not cycle.response_started and not cycle.response_complete and cycle.keep_alive
    assert cycle.waiting_for_100_continue


@pytest.mark.parametrize("state", ["started", "disconnected", "write paused", "access log"])
async def test_a_cycle_in_another_state_is_left_to_send(state: str) -> None:
    cycle, transport, completed = _cycle(access_log=state == "access log")
    if state == "started":
        cycle.response_started = True
    elif state == "disconnected":
        cycle.disconnected = True
    elif state == "write paused":
        cycle.flow.pause_writing()
    assert not respond_directly(cycle, 200, _headers(b"{}"), b"{}")
    assert transport.written == [] and completed == []
    assert not cycle.response_complete
