"""Which HTTP client should the gateway use to call Bifrost? Measured, side by side.

Starts the embedded Bifrost-compatible server standalone on 127.0.0.1, then loads
``GET /api/governance/teams/{id}`` at a fixed concurrency with each client in turn (A B C A B C ...),
in one process, for a fixed number of requests per round, and prints req/s medians (min-max), the
ratio to httpx's own pool, and this process's CPU time per request (user + system of all its threads,
which holds still when other work shares the machine). Beside the bare clients, the gateway's two wires
(``AiohttpWire`` and ``ReqwestWire`` in ``app/bifrost/wire.py``, ``H1Wire`` in ``app/bifrost/h1wire.py``, with
their limits and error mapping) are measured as the Bifrost client calls them (with its total timeout: handed
down to a wire that enforces it itself, ``asyncio.timeout`` around the others).
Usage: ``.venv/bin/python bench/upstream_clients.py [--rounds 3] [--requests 4000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from pyreqwest.client import ClientBuilder

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's app, wherever it is run from

from app.bifrost.h1wire import H1Wire
from app.bifrost.wire import AiohttpWire, DeadlineWire, ReqwestWire, Wire

Fetch = Callable[[str], Awaitable[int]]
LIMIT = 16 * 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_upstream(port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "app.embedded_bifrost", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the embedded server did not start")


async def load(fetch: Fetch, path: str, requests: int, concurrency: int) -> tuple[float, float]:
    """req/s and CPU microseconds per request."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            status = await fetch(path)
            assert status == 200, status

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started), 1e6 * (time.process_time() - cpu) / requests


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()

    port = free_port()
    upstream = start_upstream(port)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as setup:
            team = (await setup.post("/api/governance/teams", json={"name": "bench"})).json()["team"]
        path = f"/api/governance/teams/{team['id']}"
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        default_pool = httpx.AsyncClient(base_url=base, limits=limits)
        aiohttp_backed = httpx.AsyncClient(base_url=base, transport=AiohttpTransport(limits=limits))
        session = aiohttp.ClientSession(base)

        async def with_httpx(client: httpx.AsyncClient, p: str) -> int:
            response = await client.get(p)
            return response.status_code

        async def with_aiohttp(p: str) -> int:
            async with session.get(p) as response:
                await response.read()
                return response.status

        clients: dict[str, Fetch] = {
            "httpx (default pool)": lambda p: with_httpx(default_pool, p),
            "httpx + AiohttpTransport": lambda p: with_httpx(aiohttp_backed, p),
            "aiohttp (direct)": with_aiohttp,
        }
        reqwest = ClientBuilder().base_url(base).max_connections(100).build()

        async def with_reqwest(p: str) -> int:
            response = await reqwest.get(p).build().send()
            await response.bytes()
            return int(response.status)

        clients["pyreqwest (Rust)"] = with_reqwest
        wires: list[Wire] = []
        headers = {"accept": "application/json", "authorization": "Bearer bench"}
        gateway_wires: tuple[tuple[str, type[AiohttpWire | ReqwestWire | H1Wire]], ...] = (
            ("AiohttpWire (gateway)", AiohttpWire),
            ("ReqwestWire (gateway)", ReqwestWire),
            ("H1Wire (gateway)", H1Wire),
        )
        for name, kind in gateway_wires:
            wire = kind(base, max_connections=100, connect_timeout=2.0, read_timeout=10.0)
            wires.append(wire)

            async def with_wire(p: str, wire: Wire = wire) -> int:
                # As BifrostClient calls it: the total timeout handed to a wire that enforces it, else around it.
                if getattr(wire, "enforces_total_timeout", False):
                    deadline = asyncio.get_running_loop().time() + 15.0
                    return (
                        await cast(DeadlineWire, wire).send("GET", p, headers, None, None, LIMIT, deadline=deadline)
                    ).status
                async with asyncio.timeout(15.0):
                    return (await wire.send("GET", p, headers, None, None, LIMIT)).status

            clients[name] = with_wire
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
        for fetch in clients.values():  # warm-up: connections open, code paths hot
            await load(fetch, path, 500, args.concurrency)
        for _ in range(args.rounds):
            for name, fetch in clients.items():
                results[name].append(await load(fetch, path, args.requests, args.concurrency))
        baseline = statistics.median(rps for rps, _ in results["httpx (default pool)"])
        print(f"GET team at concurrency {args.concurrency}, {args.requests} requests x {args.rounds} rounds")
        print(f"{'client':<28}{'req/s median':>14}{'min-max':>20}{'vs httpx pool':>16}{'CPU us/req':>12}")
        for name, values in results.items():
            rates = [rps for rps, _ in values]
            median = statistics.median(rates)
            spread = f"{min(rates):.0f}-{max(rates):.0f}"
            cpu = statistics.median(us for _, us in values)
            print(f"{name:<28}{median:>14.0f}{spread:>20}{median / baseline:>15.2f}x{cpu:>12.1f}")
        await default_pool.aclose()
        await aiohttp_backed.aclose()
        await session.close()
        await reqwest.close()
        for wire in wires:
            await wire.aclose()
    finally:
        os.killpg(upstream.pid, signal.SIGTERM)
        upstream.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
