"""The lean HTTP server (``app.embedded_bifrost.server``) on 127.0.0.1, spoken to over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from bifrost_helpers import client_for

from app.embedded_bifrost import BifrostApp, create_app
from app.embedded_bifrost import server as lean
from app.embedded_bifrost.server import Server, start_server


@pytest.fixture
async def open_app() -> AsyncIterator[tuple[Server, BifrostApp]]:
    app = create_app(generation="current")
    server = await start_server(app, "127.0.0.1", 0)
    try:
        yield server, app
    finally:
        await server.close()


async def _raw(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One response read off the wire: status, headers (lower-cased), body (by content-length)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await asyncio.wait_for(reader.readexactly(length), 5) if length else b""
    return status, headers, body


async def _closed(reader: asyncio.StreamReader) -> bool:
    return await asyncio.wait_for(reader.read(), 5) == b""


def _create(name: str, extra: str = "") -> bytes:
    body = orjson.dumps({"name": name})
    return (
        b"POST /api/governance/teams HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        + extra.encode()
        + b"content-length: %d\r\n\r\n" % len(body)
        + body
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/health", None),
        ("GET", "/api/version", None),
        ("GET", "/api/governance/nope", None),
        ("PATCH", "/api/governance/teams", None),
        ("GET", "/api/governance/teams/no-such-team", None),
        ("GET", "/api/governance/teams?limit=abc", None),
        ("POST", "/api/governance/teams", b"{not json"),
        ("POST", "/api/governance/teams", b"{}"),
        ("POST", "/api/governance/teams", b'{"name": 1}'),
        ("POST", "/api/governance/virtual-keys", b'{"name": "k", "team_id": "a", "customer_id": "b"}'),
        ("GET", "/api/governance/customers", None),
    ],
)
async def test_answers_as_the_asgi_interface_does(
    open_app: tuple[Server, BifrostApp], method: str, path: str, body: bytes | None
) -> None:
    server, _ = open_app
    async with (
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as wire,
        client_for(create_app(generation="current")) as asgi,
    ):
        over_wire = await wire.request(method, path, content=body)
        in_process = await asgi.request(method, path, content=body)
    assert over_wire.status_code == in_process.status_code
    assert over_wire.content == in_process.content
    assert over_wire.headers["content-type"] == in_process.headers["content-type"]


async def test_pipelined_requests_are_answered_in_order(open_app: tuple[Server, BifrostApp]) -> None:
    server, _ = open_app
    reader, writer = await _raw(server.port)
    writer.write(_create("first") + b"GET /api/governance/teams HTTP/1.1\r\nhost: x\r\n\r\n" + _create("first"))
    statuses = []
    bodies = []
    for _ in range(3):
        status, _, body = await _response(reader)
        statuses.append(status)
        bodies.append(orjson.loads(body))
    assert statuses == [200, 200, 409]
    assert [team["name"] for team in bodies[1]["teams"]] == ["first"]
    assert bodies[2]["error"]["message"] == "A team with this name already exists"
    writer.close()


async def test_a_request_split_across_packets(open_app: tuple[Server, BifrostApp]) -> None:
    server, _ = open_app
    reader, writer = await _raw(server.port)
    request = _create("split")
    for i in range(0, len(request), 7):
        writer.write(request[i : i + 7])
        await writer.drain()
        await asyncio.sleep(0)
    status, _, body = await _response(reader)
    assert status == 200 and orjson.loads(body)["team"]["name"] == "split"
    writer.close()


async def test_chunked_request_body(open_app: tuple[Server, BifrostApp]) -> None:
    server, _ = open_app
    reader, writer = await _raw(server.port)
    payload = b'{"name": "chunked"}'
    writer.write(
        b"POST /api/governance/teams HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
        + b"%x\r\n%s\r\n" % (5, payload[:5])
        + b"%x\r\n%s\r\n" % (len(payload) - 5, payload[5:])
        + b"0\r\n\r\n"
    )
    status, _, body = await _response(reader)
    assert status == 200 and orjson.loads(body)["team"]["name"] == "chunked"
    writer.close()


async def test_connection_close_is_honoured(open_app: tuple[Server, BifrostApp]) -> None:
    server, _ = open_app
    reader, writer = await _raw(server.port)
    writer.write(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    status, headers, body = await _response(reader)
    assert (status, headers["connection"], orjson.loads(body)) == (200, "close", {"status": "ok"})
    assert await _closed(reader)


async def test_http_1_0(open_app: tuple[Server, BifrostApp]) -> None:
    server, _ = open_app
    reader, writer = await _raw(server.port)
    writer.write(b"GET /health HTTP/1.0\r\n\r\n")
    status, _, _ = await _response(reader)
    assert status == 200
    assert await _closed(reader)
    reader, writer = await _raw(server.port)
    writer.write(b"GET /health HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")
    status, headers, _ = await _response(reader)
    assert (status, headers["connection"]) == (200, "keep-alive")
    writer.write(b"GET /health HTTP/1.0\r\n\r\n")
    assert (await _response(reader))[0] == 200
    assert await _closed(reader)


async def test_expect_100_continue(open_app: tuple[Server, BifrostApp]) -> None:
    server, _ = open_app
    reader, writer = await _raw(server.port)
    body = b'{"name": "patient"}'
    writer.write(
        b"POST /api/governance/teams HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\n"
        b"content-length: %d\r\n\r\n" % len(body)
    )
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(body)
    status, _, answer = await _response(reader)
    assert status == 200 and orjson.loads(answer)["team"]["name"] == "patient"
    writer.close()


async def test_head_has_the_length_but_no_body(open_app: tuple[Server, BifrostApp]) -> None:
    server, _ = open_app
    reader, writer = await _raw(server.port)
    writer.write(b"HEAD /health HTTP/1.1\r\nhost: x\r\n\r\nGET /health HTTP/1.1\r\nhost: x\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 405 ")  # Bifrost's /health has no HEAD route
    assert b"content-length: " in head
    # the next bytes are the GET's answer, not a HEAD body
    status, _, body = await _response(reader)
    assert (status, orjson.loads(body)) == (200, {"status": "ok"})
    writer.close()


async def test_malformed_request_gets_400_and_is_closed(open_app: tuple[Server, BifrostApp]) -> None:
    server, app = open_app
    reader, writer = await _raw(server.port)
    writer.write(b"NOT A REQUEST\r\n\r\n")
    status, headers, _ = await _response(reader)
    assert (status, headers["connection"]) == (400, "close")
    assert await _closed(reader)
    assert len(app.state.request_log) == 0


async def test_body_over_the_limit_gets_413(
    open_app: tuple[Server, BifrostApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lean, "MAX_BODY", 1024)
    server, app = open_app
    reader, writer = await _raw(server.port)
    writer.write(_create("x" * 2000))
    status, headers, _ = await _response(reader)
    assert (status, headers["connection"]) == (413, "close")
    assert await _closed(reader)
    assert len(app.state.request_log) == 0


async def test_percent_encoded_path_is_decoded_for_routing_and_logged_raw(
    open_app: tuple[Server, BifrostApp],
) -> None:
    server, app = open_app
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        created = (await client.post("/api/governance/teams", json={"name": "a b"})).json()["team"]
        encoded = created["id"].replace("-", "%2D")
        got = await client.get(f"/api/governance/teams/{encoded}", params={"x": "1 2"})
    assert got.json()["team"]["id"] == created["id"]
    last = app.state.request_log[-1]
    assert (last.path, last.query) == (f"/api/governance/teams/{encoded}", "x=1+2")


async def test_close_ends_open_keep_alive_connections() -> None:
    app = create_app()
    server = await start_server(app, "127.0.0.1", 0)
    reader, writer = await _raw(server.port)
    writer.write(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
    assert (await _response(reader))[0] == 200
    await asyncio.wait_for(server.close(), 5)
    assert await _closed(reader)
    with pytest.raises(OSError):
        await _raw(server.port)


class _Transport:
    """Records what the connection asks of its transport."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def pause_reading(self) -> None:
        self.calls.append("pause")

    def resume_reading(self) -> None:
        self.calls.append("resume")

    def close(self) -> None:
        self.calls.append("close")


def test_a_client_that_does_not_read_is_not_read_from() -> None:
    connection = lean._Connection(create_app(), lean._Clock(), set())
    transport: Any = _Transport()
    connection.connection_made(transport)
    connection.data_received(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
    assert transport.written and transport.written[0].startswith(b"HTTP/1.1 200 OK\r\n")
    connection.pause_writing()  # the transport's buffer is over its high-water mark
    connection.resume_writing()
    assert transport.calls == ["pause", "resume"]
