"""Live usage on two real gateway processes sharing one Redis: the poller's replica is killed, the other takes over.

client --WebSocket--> gateway process A --+--HTTP--> python -m app.embedded_bifrost
client --WebSocket--> gateway process B --+
                       (both) ----------------> redis-server

Real processes keep real time: a short interval and lease, and every wait is on state, with a deadline.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.scale.conftest import SHARED_SECRET, RedisServer, free_port
from tests.scale.test_two_processes import stop, wait_for

USAGE = """
subscription Usage($teams: [ID!]) { budgetUsage(teamIds: $teams) { counters { budget { maxLimit } } } }
"""


def gateway(upstream_url: str, redis_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "BIFROST_URL": upstream_url,
        "BIFROST_API_GENERATION": "v2",
        "REDIS_URL": redis_url,
        "REDIS_KEY_SECRET": SHARED_SECRET,  # without it each process keys its names its own way: nothing shared
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "LIVE_POLL_INTERVAL": "0.2",
        "LIVE_POLL_LEASE": "6",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_for(f"http://127.0.0.1:{port}/healthz", process)
    return process, f"127.0.0.1:{port}"


@pytest.fixture
def cluster(redis_server: RedisServer) -> Iterator[dict[str, Any]]:
    """The embedded Bifrost's URL and two gateway processes (each: its process and host:port)."""
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
        a = gateway(upstream_url, redis_server.url)
        started.append(a[0])
        b = gateway(upstream_url, redis_server.url)
        started.append(b[0])
        yield {"upstream": upstream_url, "a": a, "b": b}
    finally:
        for process in reversed(started):
            stop(process)


async def subscribe(address: str, team_id: str) -> ClientConnection:
    ws = await connect(f"ws://{address}/graphql", subprotocols=[Subprotocol("graphql-transport-ws")])
    await ws.send(orjson.dumps({"type": "connection_init"}).decode())
    assert orjson.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
    payload = {"query": USAGE, "variables": {"teams": [team_id]}}
    await ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": payload}).decode())
    return ws


async def limit_pushed(ws: ClientConnection, expected: float, deadline: float = 30) -> None:
    """Read pushes until one shows the budget at ``expected`` (fails after ``deadline`` seconds)."""
    async with asyncio.timeout(deadline):
        while True:
            message = orjson.loads(await ws.recv())
            if message["type"] != "next":
                assert message["type"] == "ping", message
                continue
            counters = message["payload"]["data"]["budgetUsage"]["counters"]
            if [c["budget"]["maxLimit"] for c in counters] == [expected]:
                return


async def polls(address: str) -> float:
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(f"http://{address}/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "gateway_live_polls_total" and sample.labels.get("topic") == "budgetUsage"
    )


async def until(condition: Callable[[], Awaitable[bool]], what: str, deadline: float = 30) -> None:
    """Wait until ``await condition()`` holds, for at most ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while not await condition():
        assert time.monotonic() < end, f"never happened: {what}"
        await asyncio.sleep(0.05)


async def test_when_the_polling_replica_is_killed_the_other_takes_over(
    cluster: dict[str, Any], redis_server: RedisServer
) -> None:
    upstream = cluster["upstream"]
    (process_a, a), (_, b) = cluster["a"], cluster["b"]
    budgets = {"budgets": [{"max_limit": 10, "reset_duration": "1d"}]}
    async with httpx.AsyncClient(base_url=upstream, timeout=10) as bifrost:
        made = await bifrost.post("/api/governance/teams", json={"name": "live", **budgets})
    team_id = made.json()["team"]["id"]
    sync = redis_server.client()

    def leases(count: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return len(sync.keys("gateway:live:lease:*")) == count

        return check

    on_a = await subscribe(a, team_id)
    await limit_pushed(on_a, 10)
    await until(leases(1), "A holds the lease")
    (lease,) = sync.keys("gateway:live:lease:*")
    holder = sync.get(lease)
    on_b = await subscribe(b, team_id)
    await limit_pushed(on_b, 10)  # from A's snapshot
    start = await polls(a)

    async def a_polled_again() -> bool:
        return await polls(a) >= start + 3

    await until(a_polled_again, "A polls interval after interval")
    assert await polls(b) == 0, "B listens to A's polls instead of polling"

    process_a.kill()  # no goodbye: the lease lapses
    process_a.wait(10)
    updated = {"budgets": [{"max_limit": 20, "reset_duration": "1d"}]}
    async with httpx.AsyncClient(base_url=upstream, timeout=10) as bifrost:
        assert (await bifrost.put(f"/api/governance/teams/{team_id}", json=updated)).status_code == 200
    await limit_pushed(on_b, 20)
    assert await polls(b) > 0
    assert sync.get(lease) not in {None, holder}, "B holds the lease now"
    await on_b.close()
    await until(leases(0), "nobody polls once nobody listens")
    await on_a.close()
