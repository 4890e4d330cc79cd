"""Two real gateway processes (``python -m app``) in front of one standalone embedded Bifrost, sharing one Redis.

client --HTTP--> gateway process A --+--HTTP--> python -m app.embedded_bifrost
client --HTTP--> gateway process B --+
                  (both) ----------------> redis-server
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.scale.conftest import SHARED_SECRET, RedisServer, free_port

CREATE_CUSTOMER = """
mutation CreateCustomer($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id name } }
}
"""


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, f"{url}: the process exited"
        assert time.monotonic() < deadline, f"{url} did not answer"
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@pytest.fixture
def processes(redis_server: RedisServer) -> Iterator[tuple[str, str, str]]:
    """The base URLs of gateway A, gateway B and the embedded Bifrost."""
    upstream_port = free_port()
    upstream = subprocess.Popen(
        [sys.executable, "-m", "app.embedded_bifrost", "--port", str(upstream_port), "--database", ":memory:"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = [upstream]
    try:
        upstream_url = f"http://127.0.0.1:{upstream_port}"
        wait_for(f"{upstream_url}/health", upstream)
        urls = []
        for _ in range(2):
            port = free_port()
            env = {
                **os.environ,
                "BIFROST_URL": upstream_url,
                "BIFROST_API_GENERATION": "current",
                "REDIS_URL": redis_server.url,
                "REDIS_KEY_SECRET": SHARED_SECRET,  # without it each process keys its names its own way
                "GATEWAY_HOST": "127.0.0.1",
                "GATEWAY_PORT": str(port),
                "LOG_LEVEL": "WARNING",
            }
            gateway = subprocess.Popen(
                [sys.executable, "-m", "app"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            started.append(gateway)
            wait_for(f"http://127.0.0.1:{port}/healthz", gateway)
            urls.append(f"http://127.0.0.1:{port}")
        yield urls[0], urls[1], upstream_url
    finally:
        for process in reversed(started):
            stop(process)


def test_two_gateway_processes_share_documents_and_keys(processes: tuple[str, str, str]) -> None:
    a, b, upstream = processes
    document = "query ProcessShared { __typename }"
    digest = hashlib.sha256(document.encode()).hexdigest()
    persisted = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    with httpx.Client(timeout=10) as http:
        assert http.post(f"{a}/graphql", json={**persisted, "query": document}).json() == {
            "data": {"__typename": "Query"}
        }
        assert http.post(f"{b}/graphql", json=persisted).json() == {"data": {"__typename": "Query"}}

        body = {"query": CREATE_CUSTOMER, "variables": {"input": {"name": "two-processes"}}}
        first = http.post(f"{a}/graphql", json=body, headers={"idempotency-key": "proc-1"})
        retry = http.post(f"{b}/graphql", json=body, headers={"idempotency-key": "proc-1"})
        assert first.json()["data"]["createCustomer"]["customer"]["name"] == "two-processes"
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.content == first.content

        stored = http.get(f"{upstream}/api/governance/customers", params={"search": "two-processes"}).json()
    assert [c["name"] for c in stored["customers"]] == ["two-processes"]
