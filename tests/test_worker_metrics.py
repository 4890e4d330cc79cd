"""Two real workers count their requests in files the scrape merges: ``/metrics`` on METRICS_PORT (or the
public ``/metrics`` without it) shows every request of both workers.

Run as users run it (``python -m app`` with ``WEB_CONCURRENCY=2``, which sets ``PROMETHEUS_MULTIPROC_DIR``):
connections opened at once are served by both workers (checked from ``/proc``), each asks one GraphQL query.
"""

from __future__ import annotations

import re
import socket

import httpx
import orjson
import pytest

from tests.test_process import free_port
from tests.test_workers import gateway, holders, open_connections, serving_workers

REQUESTS = re.compile(r'^gateway_requests_total\{operation="[^"]*",outcome="ok"\} (\S+)$', re.MULTILINE)
UPSTREAM = re.compile(r'^gateway_upstream_requests_total\{route="GET [^"]*teams[^"]*",status="\d+"\} (\S+)$', re.M)
DURATIONS = re.compile(r'^gateway_request_duration_seconds_count\{operation_type="query"\} (\S+)$', re.MULTILINE)
CONNECTIONS = 16
BODY = orjson.dumps({"query": '{ team(id: "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b20") { id } }'})


def ask(client: socket.socket) -> None:
    client.sendall(
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
        + BODY
    )
    answer = b""
    # What is left of the health check's answer (``open_connections`` reads its head only) comes first.
    while not answer.endswith(b'{"data":{"team":null}}'):
        chunk = client.recv(65536)
        assert chunk, "the gateway closed a connection"
        answer += chunk
    assert b"HTTP/1.1 200 " in answer, answer[:200]


def total(pattern: re.Pattern[str], text: str) -> float:
    return sum(float(value) for value in pattern.findall(text))


@pytest.mark.parametrize("where", ["metrics-port", "public"])
def test_both_workers_requests_are_in_every_scrape(where: str) -> None:
    metrics_port = free_port()
    extra = {"METRICS_PORT": str(metrics_port)} if where == "metrics-port" else {}
    with gateway(2, **extra) as (process, port):
        workers = serving_workers(process, port)
        clients = open_connections(port, CONNECTIONS)
        try:
            held = holders(port, clients, workers)
            assert all(held[worker] > 0 for worker in workers), held  # both workers answer some
            for client in clients:
                ask(client)
        finally:
            for client in clients:
                client.close()
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port if extra else port}/metrics", timeout=10).text
        if extra:  # the listener serves the metrics; the public route does not then
            assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 404
    assert total(REQUESTS, scraped) == CONNECTIONS, scraped
    assert total(DURATIONS, scraped) == CONNECTIONS, scraped
    assert total(UPSTREAM, scraped) == CONNECTIONS, scraped
