"""The listener on METRICS_PORT under hostile clients: huge heads, heads that never end, and floods of connections.

Before these bounds, 300 connections each sending 5 MB of unfinished headers took the gateway process from
80 MB to 1.6 GB and 306 threads, and a client sending a byte every few seconds held its thread for ever.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from app import metrics_listener
from app.metrics_listener import MAX_HEAD_BYTES, MetricsAccess, MetricsServer

TOKEN = "metrics-token-0123456789abcdef"
SCRAPE = f"GET /metrics HTTP/1.1\r\nHost: metrics\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()


@pytest.fixture
def server() -> Iterator[MetricsServer]:
    listener = MetricsServer("127.0.0.1", 0, MetricsAccess(SecretStr(TOKEN)))
    listener.start()
    yield listener
    listener.close()


def connect(server: MetricsServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=30)


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def scrape(server: MetricsServer) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{server.port}/metrics", headers={"authorization": f"Bearer {TOKEN}"})


def test_a_scrape_still_gets_the_metrics(server: MetricsServer) -> None:
    with connect(server) as sock:
        sock.sendall(SCRAPE)
        received = answer(sock)
    assert received.startswith(b"HTTP/1.0 200")
    assert b"gateway_requests_total" in received


@pytest.mark.parametrize(
    "head",
    [
        b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 10_000_000 + b"\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"a" * 1000) for i in range(90)) + b"\r\n",
        b"GET /" + b"m" * (MAX_HEAD_BYTES + 1) + b" HTTP/1.1\r\n\r\n",
    ],
    ids=["one-10MB-header", "90-headers-of-1KB", "long-request-line"],
)
def test_a_head_over_the_limit_is_refused_with_431(server: MetricsServer, head: bytes) -> None:
    with connect(server) as sock:
        try:
            sock.sendall(head)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused while still sending: the answer is already waiting
        received = answer(sock)
    assert received.split(b" ", 2)[1] == b"431"
    assert scrape(server).status_code == 200


def test_a_head_that_never_ends_is_answered_408(server: MetricsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics_listener, "HEAD_SECONDS", 0.3)
    with connect(server) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\n")
        assert answer(sock).startswith(b"HTTP/1.1 408")


def test_a_head_trickling_in_a_byte_at_a_time_is_cut_at_the_deadline(
    server: MetricsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each byte arrives well within any per-read timeout; only a deadline for the whole head stops it.
    monkeypatch.setattr(metrics_listener, "HEAD_SECONDS", 0.3)
    with connect(server) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
        sock.settimeout(0.05)
        received = b""
        for _ in range(400):  # 20 s of trickling at most
            try:
                sock.sendall(b"a")
                received = sock.recv(1024)
                break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.settimeout(30)
        received += answer(sock)
    assert received.startswith(b"HTTP/1.1 408")


def test_connections_over_the_limit_are_closed_unanswered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics_listener, "MAX_CONNECTIONS", 2)
    listener = MetricsServer("127.0.0.1", 0, MetricsAccess(SecretStr(TOKEN)))
    listener.start()
    held = [connect(listener), connect(listener)]
    try:
        for sock in held:
            sock.sendall(b"GET /metrics HTTP/1.1\r\n")  # unfinished: each holds its slot
        # Slots are taken as connections are accepted, in order: the third finds none left.
        with connect(listener) as extra:
            assert answer(extra) == b""
        for sock in held:
            sock.sendall(f"Authorization: Bearer {TOKEN}\r\n\r\n".encode())
            assert answer(sock).startswith(b"HTTP/1.0 200")
    finally:
        for sock in held:
            sock.close()
        listener.close()
