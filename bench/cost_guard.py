#!/usr/bin/env python3
"""Cost guard: how long a one-team lookup waits while 20 clients loop on the most expensive document.

    python bench/cost_guard.py                          # heavy = the most expensive document allowed
    python bench/cost_guard.py --heavy worst            # heavy = the issue's worst case (refused by the limit)
    python bench/cost_guard.py --root ../old-checkout   # run another checkout's gateway (a "before" figure)

Starts the embedded Bifrost-compatible server (``python -m app.embedded_bifrost``) and the gateway
(``python -m app``, uvicorn, BIFROST_URL pointing at it), both on 127.0.0.1 and both from ``--root``, and
seeds the upstream with 100 teams under 10 customers, each team with two virtual keys (one provider
config each). It then measures a single client looking teams up one after another, first alone (the
baseline), then for ``--duration`` seconds while ``--clients`` clients each loop on the heavy document.
Prints lookup p50/p99/max, the heavy documents answered (and how: data, a code), their size, and the
gateway's peak RSS; writes the same to bench/results/cost-guard-<timestamp>.json. Bounded in time: heavy
clients stop at the end of the window and the processes are stopped, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

LOOKUP = "query Team($id: ID!) { team(id: $id) { id name customer { id name } budgets { id maxLimit } } }"

# Every scalar of each type: scalars are free in the cost model, so an expensive document asks for all of them.
FRAGMENTS = """
fragment TeamAll on Team { id name customerId budgetId rateLimitId virtualKeyCount profile config claims
  configHash createdAt updatedAt }
fragment CustomerAll on Customer { id name budgetId rateLimitId configHash createdAt updatedAt }
fragment KeyAll on VirtualKey { id name description isActive teamId customerId budgetId rateLimitId configHash
  createdAt updatedAt value }
fragment ConfigAll on ProviderConfig { id virtualKeyId provider weight allowedModels budgetId rateLimitId }
"""

# About the most expensive document the default limits allow (priced in the run's output, just under
# 50,000): every team of a page with its customer, the customer's teams and their keys with provider
# configs; a page of keys with their configs, teams, customers and budgets; every customer with its teams.
ALLOWED = (
    """
query Allowed {
  teams(first: 100) { nodes { ...TeamAll customer { ...CustomerAll teams { ...TeamAll
    virtualKeys { ...KeyAll providerConfigs { ...ConfigAll } } } } } }
  virtualKeys(first: 100) { nodes { ...KeyAll providerConfigs { ...ConfigAll } team { ...TeamAll }
    customer { ...CustomerAll } budgets { id maxLimit currentUsage } } }
  customers(first: 100) { nodes { ...CustomerAll budget { id maxLimit } teams { ...TeamAll } } }
  budgets { id maxLimit currentUsage }
  rateLimits { id }
}
"""
    + FRAGMENTS
)

# The worst case, as the issue describes it: eight team pages of 100 and seven key pages of 100
# through one deep fragment, inside the depth, alias and token limits (refused by the cost limit now).
WORST = (
    "query Worst { "
    + " ".join(f"t{i}: teams(first: 100) {{ nodes {{ ...Deep }} }}" for i in range(8))
    + " "
    + " ".join(f"k{i}: virtualKeys(first: 100) {{ nodes {{ id team {{ ...Deep }} }} }}" for i in range(7))
    + " } fragment Deep on Team { id name customer { id name teams { id name virtualKeys { id name"
    " team { id name customer { id name teams { id } } } } } } }"
)

HEAVY = {"allowed": ALLOWED, "worst": WORST}
TEAMS, CUSTOMERS, KEYS_PER_TEAM = 100, 10, 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"no answer from {url} within {seconds:.0f} s")
        time.sleep(0.1)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


async def seed(http: aiohttp.ClientSession, upstream: str) -> list[str]:
    """Customers, teams and keys straight on the upstream; returns the team ids."""

    async def post(collection: str, body: dict[str, Any]) -> dict[str, Any]:
        async with http.post(f"{upstream}/api/governance/{collection}", json=body) as response:
            payload: dict[str, Any] = await response.json()
            if response.status != 200:
                raise SystemExit(f"seeding {collection} failed: {response.status}")
            return next(value for key, value in payload.items() if key != "message")

    customers = [
        (await post("customers", {"name": f"customer-{c}", "budget": {"max_limit": 1000, "reset_duration": "1M"}}))[
            "id"
        ]
        for c in range(CUSTOMERS)
    ]
    team_ids = []
    for t in range(TEAMS):
        body = {
            "name": f"team-{t}",
            "customer_id": customers[t % CUSTOMERS],
            "budgets": [{"max_limit": 100, "reset_duration": "1d"}],
        }
        team_id = (await post("teams", body))["id"]
        team_ids.append(team_id)
        for k in range(KEYS_PER_TEAM):
            key = {
                "name": f"key-{t}-{k}",
                "description": "a virtual key of the cost guard benchmark",
                "team_id": team_id,
                "provider_configs": [{"provider": "openai", "weight": 1, "allowed_models": ["*"], "key_ids": ["*"]}],
            }
            await post("virtual-keys", key)
    return team_ids


async def lookups(http: aiohttp.ClientSession, url: str, team_ids: list[str], until: float) -> list[float]:
    """One client, one lookup after another, until ``until``; milliseconds per lookup."""
    latencies: list[float] = []
    n = 0
    while time.perf_counter() < until:
        started = time.perf_counter()
        async with http.post(url, json={"query": LOOKUP, "variables": {"id": team_ids[n % len(team_ids)]}}) as r:
            body = await r.json()
        latencies.append((time.perf_counter() - started) * 1000)
        if body.get("errors") or not body["data"]["team"]:
            raise SystemExit(f"lookup failed: {body}")
        n += 1
    return latencies


async def heavy_client(http: aiohttp.ClientSession, url: str, query: str, until: float, seen: dict[str, Any]) -> None:
    while time.perf_counter() < until:
        started = time.perf_counter()
        async with http.post(url, json={"query": query}, headers={"x-query-cost": "1"}) as response:
            raw = await response.read()
        seen["seconds"].append(time.perf_counter() - started)
        seen["bytes"] = max(seen["bytes"], len(raw))
        # Only the head and the tail are parsed: decoding megabytes here would slow this process, not the gateway.
        code = "data"
        if raw.startswith(b'{"errors"'):
            code = raw.split(b'"code":"', 1)[1].split(b'"', 1)[0].decode() if b'"code":"' in raw else "errors"
        seen["outcomes"][code] = seen["outcomes"].get(code, 0) + 1
        for marker in (b'"requestedQueryCost":', b'"cost":'):
            at = raw.rfind(marker)
            if at >= 0:
                seen["cost"] = int(raw[at + len(marker) :].split(b",", 1)[0].split(b"}", 1)[0])
                break


def heavy_load(url: str, query: str, clients: int, seconds: float, timeout: float, out: Any) -> None:
    """In its own process, so that reading the heavy answers does not delay the lookups being measured."""

    async def run() -> dict[str, Any]:
        seen: dict[str, Any] = {"seconds": [], "bytes": 0, "outcomes": {}, "cost": None}
        until = time.perf_counter() + seconds
        client_timeout = aiohttp.ClientTimeout(total=timeout)
        async with aiohttp.ClientSession(timeout=client_timeout, connector=aiohttp.TCPConnector(limit=0)) as http:
            tasks = [asyncio.ensure_future(heavy_client(http, url, query, until, seen)) for _ in range(clients)]
            await asyncio.wait(tasks, timeout=seconds)
            for task in tasks:
                task.cancel()  # the window is over: what is still running is abandoned
            await asyncio.gather(*tasks, return_exceptions=True)
        return seen

    out.put(asyncio.run(run()))


def summary(latencies: list[float]) -> dict[str, Any]:
    if not latencies:
        return {"lookups": 0}
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "lookups": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(ordered[-1], 2),
    }


async def measure(args: argparse.Namespace, upstream: str, url: str, gateway_pid: int) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as http:
        team_ids = await seed(http, upstream)
        await lookups(http, url, team_ids, time.perf_counter() + 1)  # warm-up
        alone = await lookups(http, url, team_ids, time.perf_counter() + args.baseline)

        peak = rss_kib(gateway_pid)
        results: Any = multiprocessing.Queue()
        load = multiprocessing.Process(
            target=heavy_load, args=(url, HEAVY[args.heavy], args.clients, args.duration, args.timeout, results)
        )
        load.start()
        until = time.perf_counter() + args.duration
        probe = asyncio.ensure_future(lookups(http, url, team_ids, until))
        while not probe.done():
            peak = max(peak, rss_kib(gateway_pid))
            await asyncio.wait([probe], timeout=0.25)
        loaded = probe.result()
        seen = await asyncio.get_running_loop().run_in_executor(None, results.get)
        load.join()
    heavy_seconds = seen["seconds"]
    return {
        "baseline": summary(alone),
        "under_load": summary(loaded),
        "heavy": {
            "document": args.heavy,
            "price": seen["cost"],
            "answered": len(heavy_seconds),
            "outcomes": seen["outcomes"],
            "mean_s": round(statistics.mean(heavy_seconds), 3) if heavy_seconds else None,
            "largest_response_bytes": seen["bytes"],
        },
        "gateway_peak_rss_mib": round(peak / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heavy", choices=sorted(HEAVY), default="allowed", help="the document the 20 clients loop on")
    parser.add_argument("--clients", type=int, default=20, help="clients looping on the heavy document")
    parser.add_argument("--duration", type=float, default=20, help="seconds of load")
    parser.add_argument("--baseline", type=float, default=3, help="seconds of lookups alone, before the load")
    parser.add_argument("--timeout", type=float, default=120, help="client timeout per request, seconds")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose gateway and upstream run")
    parser.add_argument("--python", default=None, help="interpreter (default: ROOT/.venv/bin/python, else this one)")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    args = parser.parse_args()
    venv_python = ROOT / ".venv" / "bin" / "python"
    python = args.python or (str(venv_python) if venv_python.exists() else sys.executable)

    upstream_port, gateway_port = free_port(), free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(args.root.resolve())}
    gateway_env = {
        **env,
        "BIFROST_URL": f"http://127.0.0.1:{upstream_port}",
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(gateway_port),
        "GATEWAY_ENV": "production",
        "LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": "1",
    }
    processes: list[subprocess.Popen[bytes]] = []
    result: dict[str, Any] = {}
    try:
        # v1.5 pinned: the recorded numbers were measured on it, and the embedded server's default is now v2
        command = [python, "-m", "app.embedded_bifrost", "--host", "127.0.0.1", "--port", str(upstream_port)]
        command += ["--generation", "current"]
        processes.append(subprocess.Popen(command, cwd=args.root, env=env, stdout=subprocess.DEVNULL))
        wait_http(f"http://127.0.0.1:{upstream_port}/health")
        gateway = subprocess.Popen([python, "-m", "app"], cwd=args.root, env=gateway_env, stdout=subprocess.DEVNULL)
        processes.append(gateway)
        wait_http(f"http://127.0.0.1:{gateway_port}/healthz")
        result = asyncio.run(
            measure(args, f"http://127.0.0.1:{upstream_port}", f"http://127.0.0.1:{gateway_port}/graphql", gateway.pid)
        )
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        for process in reversed(processes):
            stop(process)
    if not result:
        raise SystemExit(1)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=args.root, capture_output=True, text=True, check=False
    ).stdout.strip()
    result = {"commit": commit, "clients": args.clients, "duration_s": args.duration, **result}
    print(json.dumps(result, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"cost-guard-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()
