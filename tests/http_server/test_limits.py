"""The HTTP server's limits over a real socket: head size and field count, header, body and keep-alive timeouts.

Also the differential half: on ordinary traffic (keep-alive, pipelining, chunked and large bodies, HTTP/1.0,
``Expect: 100-continue``) the limited protocol answers exactly as uvicorn's own (``HTTP_EDGE_LIMITS=false``).
Every test runs on asyncio's event loop and on uvloop (conftest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from importlib.metadata import version

import orjson
import pytest
from packaging.version import Version
from prometheus_client import REGISTRY

from tests.http_server.served import Answer, closed, read_answer, request, served, watching_logs

GRAPHQL = [("Content-Type", "application/json")]
TYPENAME = orjson.dumps({"query": "{ __typename }"})


def graphql_post(body: bytes = TYPENAME, extra: list[tuple[str, str]] | None = None) -> bytes:
    return request("POST", "/graphql", body=body, headers=GRAPHQL + (extra or []))


def assert_refused(answer: Answer, status: int, code: str) -> None:
    assert answer.status == status
    assert answer.headers["connection"] == "close"
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["errors"][0]["extensions"]["code"] == code


def test_uvicorn_is_within_the_tested_range() -> None:
    # LimitedHttpToolsProtocol extends uvicorn's protocol; pyproject pins the range these tests ran on.
    assert Version("0.34") <= Version(version("uvicorn")) < Version("0.55")


# Oversized heads


async def test_a_one_megabyte_header_is_431_and_never_reaches_the_application() -> None:
    async with served() as gw:
        reader, writer = await gw.connect()
        writer.write(request(headers=[("X-Big", "a" * 1024 * 1024)]))
        sending = asyncio.ensure_future(writer.drain())
        answer = await read_answer(reader)
        assert_refused(answer, 431, "HEADERS_TOO_LARGE")
        assert "16384 bytes" in answer.json()["errors"][0]["message"]
        assert await closed(reader)
        await asyncio.gather(sending, return_exceptions=True)
        writer.close()
        assert gw.upstream_calls() == []


async def test_an_unfinished_huge_header_is_refused_without_waiting_for_its_end() -> None:
    async with served() as gw:
        reader, writer = await gw.connect()
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Big: " + b"a" * 100_000)  # never ends
        assert_refused(await read_answer(reader), 431, "HEADERS_TOO_LARGE")
        assert await closed(reader)
        writer.close()


async def test_a_long_request_line_counts_towards_the_head() -> None:
    async with served() as gw:
        reader, writer = await gw.connect()
        writer.write(request("GET", "/graphql?query=" + "a" * 20_000))
        assert_refused(await read_answer(reader), 431, "HEADERS_TOO_LARGE")
        writer.close()


@pytest.mark.parametrize("extra", [0, 1])
async def test_head_size_limit_is_exact(extra: int) -> None:
    async with served(max_header_bytes=2048) as gw:
        base = request(headers=[("X-Pad", "")])
        raw = request(headers=[("X-Pad", "p" * (2048 - len(base) + extra))])
        assert len(raw) == 2048 + extra
        reader, writer = await gw.connect()
        writer.write(raw)
        answer = await read_answer(reader)
        assert answer.status == (200 if extra == 0 else 431)
        writer.close()


async def test_two_hundred_headers_are_431() -> None:
    async with served() as gw:
        reader, writer = await gw.connect()
        writer.write(request(headers=[(f"X-H{i}", "1") for i in range(200)]))
        answer = await read_answer(reader)
        assert_refused(answer, 431, "HEADERS_TOO_LARGE")
        assert "100 header fields" in answer.json()["errors"][0]["message"]
        assert await closed(reader)
        writer.close()


async def test_a_hundred_headers_pass() -> None:
    async with served() as gw:
        reader, writer = await gw.connect()
        writer.write(request(headers=[(f"X-H{i}", "1") for i in range(99)]))  # with Host: 100
        assert (await read_answer(reader)).status == 200
        writer.close()


async def test_an_oversized_request_pipelined_behind_a_good_one_waits_for_its_answer() -> None:
    async with served() as gw:
        reader, writer = await gw.connect()
        writer.write(graphql_post() + request(headers=[("X-Big", "a" * 200_000)]))
        sending = asyncio.ensure_future(writer.drain())
        first = await read_answer(reader)
        assert first.status == 200 and first.json() == {"data": {"__typename": "Query"}}
        assert_refused(await read_answer(reader), 431, "HEADERS_TOO_LARGE")
        assert await closed(reader)
        await asyncio.gather(sending, return_exceptions=True)
        writer.close()


def chunked_post(trailer: bytes = b"") -> bytes:
    head = request("POST", "/graphql", headers=[*GRAPHQL, ("Transfer-Encoding", "chunked")])
    return head + b"%x\r\n%s\r\n0\r\n" % (len(TYPENAME), TYPENAME) + trailer


async def test_an_endless_trailer_after_a_chunked_body_is_431() -> None:
    async with served() as gw:
        reader, writer = await gw.connect()
        writer.write(chunked_post(b"X-Trailer: "))
        await writer.drain()
        pushing = asyncio.ensure_future(push_forever(writer, b"t" * 65536))
        try:
            assert_refused(await read_answer(reader), 431, "HEADERS_TOO_LARGE")
            assert await closed(reader)
        finally:
            pushing.cancel()
            await asyncio.gather(pushing, return_exceptions=True)
            writer.close()


async def test_two_hundred_trailer_fields_are_431() -> None:
    async with served() as gw:
        reader, writer = await gw.connect()
        writer.write(chunked_post())
        await writer.drain()
        # In a read of its own, after the last chunk: the trailer section as it arrives on a slow link.
        writer.write(b"".join(b"X-T%d: 1\r\n" % i for i in range(200)))
        assert_refused(await read_answer(reader), 431, "HEADERS_TOO_LARGE")
        writer.close()


async def push_forever(writer: asyncio.StreamWriter, chunk: bytes) -> None:
    with contextlib.suppress(ConnectionError):
        while True:
            writer.write(chunk)
            await writer.drain()


# Slow and idle clients


async def test_headers_trickled_slowly_get_408_then_close() -> None:
    async with served(header_timeout=0.5) as gw:
        reader, writer = await gw.connect()

        async def trickle() -> None:
            # A byte at a time, never finishing: each byte must not restart the clock.
            with_header = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Slow: " + b"s" * 10_000
            for byte in with_header:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.02)

        trickling = asyncio.ensure_future(trickle())
        try:
            assert_refused(await read_answer(reader), 408, "HEADER_TIMEOUT")
            assert await closed(reader)
        finally:
            trickling.cancel()
            await asyncio.gather(trickling, return_exceptions=True)
            writer.close()


async def test_a_connection_that_sends_nothing_is_closed_without_an_answer() -> None:
    async with served(header_timeout=0.3) as gw:
        reader, writer = await gw.connect()
        assert (
            await asyncio.wait_for(reader.read(), 10) == b""
        )  # closed, and no 408 written to a client that asked nothing
        writer.close()


async def test_an_idle_kept_alive_connection_is_closed_after_the_keepalive_timeout() -> None:
    async with served(keepalive_timeout=0.3) as gw:
        reader, writer = await gw.connect()
        writer.write(request())
        assert (await read_answer(reader)).status == 200
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()


async def test_a_partial_second_request_times_out_like_a_first_one() -> None:
    async with served(header_timeout=0.5, keepalive_timeout=30) as gw:
        reader, writer = await gw.connect()
        writer.write(request())
        assert (await read_answer(reader)).status == 200
        writer.write(b"GET /healthz HTTP/1.1\r\n")  # cancels the keep-alive timer; the header clock runs
        assert_refused(await read_answer(reader), 408, "HEADER_TIMEOUT")
        assert await closed(reader)
        writer.close()


async def test_blank_lines_between_requests_are_no_request_and_get_no_408() -> None:
    async with served(header_timeout=0.5, keepalive_timeout=30) as gw:
        reader, writer = await gw.connect()
        writer.write(request())
        assert (await read_answer(reader)).status == 200
        writer.write(b"\r\n")  # some clients send one after a body; it cancels the keep-alive timer
        assert await asyncio.wait_for(reader.read(), 10) == b"", "closed as idle, without an answer"
        writer.close()


async def test_a_slow_body_is_408_and_the_application_sees_the_client_leave() -> None:
    def request_line(record: logging.LogRecord) -> bool:
        return record.getMessage() == "request"

    async with served(body_timeout=0.5) as gw, watching_logs(request_line) as logs:
        reader, writer = await gw.connect()
        head = request("POST", "/graphql", headers=[*GRAPHQL, ("Content-Length", "1000")])
        writer.write(head + b'{"query": "{ __typ')
        assert_refused(await read_answer(reader), 408, "BODY_TIMEOUT")
        assert await closed(reader)
        await asyncio.wait_for(logs.seen.wait(), 10)
        writer.close()
    assert [r for r in logs.records if r.levelno >= logging.ERROR] == []
    (line,) = [r for r in logs.records if request_line(r)]
    assert line.outcome == "CLIENT_CLOSED_REQUEST"  # type: ignore[attr-defined]
    assert gw.upstream_calls() == []


async def test_a_client_leaving_mid_body_is_not_an_error() -> None:
    def request_line(record: logging.LogRecord) -> bool:
        return record.getMessage() == "request"

    async with served() as gw, watching_logs(request_line) as logs:
        _, writer = await gw.connect()
        head = request("POST", "/graphql", headers=[*GRAPHQL, ("Content-Length", "1000000")])
        writer.write(head + b'{"query": "' + b" " * 100_000)
        await writer.drain()
        writer.close()
        await asyncio.wait_for(logs.seen.wait(), 10)
    assert [r for r in logs.records if r.levelno >= logging.ERROR] == []
    (line,) = [r for r in logs.records if request_line(r)]
    assert line.levelno == logging.INFO
    assert line.outcome == "CLIENT_CLOSED_REQUEST"  # type: ignore[attr-defined]


async def test_a_client_that_reads_nothing_is_dropped_after_the_send_timeout() -> None:
    def refused(record: logging.LogRecord) -> bool:
        return getattr(record, "outcome", None) == "SEND_TIMEOUT"

    asset = "/graphiql/static/graphiql.min.js"  # about 1 MB
    async with served(send_timeout=0.5) as gw, watching_logs(refused) as logs:
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.setblocking(False)
        await asyncio.get_running_loop().sock_connect(client, ("127.0.0.1", gw.port))
        reader, writer = await asyncio.open_connection(sock=client, limit=4096)
        writer.write(request("GET", asset) * 20)  # 20 answers, about 20 MB, and nothing read
        await asyncio.wait_for(logs.seen.wait(), 10)
        received = 0
        with contextlib.suppress(ConnectionError):
            while chunk := await asyncio.wait_for(reader.read(65536), 10):
                received += len(chunk)
        assert received < 10 * 1024 * 1024, "dropped long before every answer was written"
        writer.close()
    assert [r for r in logs.records if r.levelno >= logging.ERROR] == []


async def test_a_body_answered_early_does_not_hold_the_connection() -> None:
    # Over MAX_BODY_BYTES by its Content-Length: answered 413 at once; the unsent rest is not waited for.
    async with served(body_timeout=0.5) as gw:
        reader, writer = await gw.connect()
        writer.write(request("POST", "/graphql", headers=[*GRAPHQL, ("Content-Length", "50000000")]) + b"{")
        assert (await read_answer(reader)).status == 413
        assert await closed(reader)
        writer.close()


async def test_the_refusals_are_counted() -> None:
    def refused() -> float:
        return REGISTRY.get_sample_value("gateway_http_refused_total", {"reason": "HEADERS_TOO_LARGE"}) or 0.0

    before = refused()
    async with served() as gw:
        reader, writer = await gw.connect()
        writer.write(request(headers=[(f"X-H{i}", "1") for i in range(200)]))
        await read_answer(reader)
        writer.close()
    assert refused() == before + 1


# Ordinary traffic: the same answers with and without the limits

ORDINARY: dict[str, tuple[list[bytes], int]] = {
    "keep-alive": ([request(), graphql_post(), request("GET", "/graphql?query=%7B__typename%7D")], 3),
    "pipelined": ([request() + graphql_post() + request()], 3),
    "large body": ([graphql_post(orjson.dumps({"query": "{ __typename }", "variables": {"pad": "x" * 300_000}}))], 1),
    "chunked": (
        [
            request("POST", "/graphql", headers=[*GRAPHQL, ("Transfer-Encoding", "chunked")])
            + b"%x\r\n%s\r\n0\r\n\r\n" % (len(TYPENAME), TYPENAME)
        ],
        1,
    ),
    "chunked with trailer": ([chunked_post(b"X-Checksum: 1\r\n\r\n")], 1),
    "expect 100-continue": ([graphql_post(extra=[("Expect", "100-continue")])], 2),
    "http/1.0": ([request(version="HTTP/1.0")], 1),
    "bad request": ([b"NOT HTTP\r\n\r\n"], 1),
}


async def converse(edge_limits: bool, messages: list[bytes], answers: int) -> list[tuple[int, bytes]]:
    async with served(http_edge_limits=edge_limits) as gw:
        reader, writer = await gw.connect()
        for message in messages:
            writer.write(message)
        seen = [await read_answer(reader) for _ in range(answers)]
        writer.close()
        return [(answer.status, answer.body) for answer in seen]


@pytest.mark.parametrize("name", list(ORDINARY))
async def test_ordinary_traffic_is_answered_as_uvicorn_answers_it(name: str) -> None:
    messages, answers = ORDINARY[name]
    limited = await converse(True, messages, answers)
    assert limited == await converse(False, messages, answers)
    if name == "bad request":
        assert [status for status, _ in limited] == [400]
    else:
        assert {status for status, _ in limited} <= {100, 200}
