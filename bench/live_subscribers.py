#!/usr/bin/env python3
"""Live usage at scale: many ``budgetUsage`` subscribers on one gateway worker, one watched set.

Starts the embedded Bifrost-compatible server (``python -m app.embedded_bifrost``, v2) and one gateway process
(``python -m app``), opens ``--subscribers`` graphql-transport-ws subscriptions (``--per-connection`` on each
socket) to the same team, then reports:

* the gateway's RSS before and after they subscribed, and per subscriber;
* the upstream calls per poll interval while they listen (one watched set: 1 expected, whatever the count);
* the delay from a change of the team's budget upstream to its push reaching each subscriber (p50, p99, max):
  the poll interval bounds it from above (a change waits for the next poll), the fan-out adds the rest.

A change is a chat completion through the upstream's ``/v1/chat/completions`` with a key of the team, which Bifrost
charges to the team's budget (``--change charge``, the default), or a budget update (``--change budget``).

    python bench/live_subscribers.py                       # 1000 subscribers, 10 per socket, 2 s interval, 5 changes
    python bench/live_subscribers.py --subscribers 200 --changes 3 --interval 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from local_processes import free_port, post, wait_until_up

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
OPENAI = {"provider": "openai", "allowed_models": ["*"], "key_ids": ["*"]}
USAGE = 'subscription { budgetUsage(teamIds: ["%s"]) { initial counters { budget { maxLimit currentUsage } } } }'


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def request(method: str, url: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.loads(response.read() or b"null")


def charge(upstream: str, key_value: str) -> None:
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "How much is left?"}]}
    req = urllib.request.Request(
        f"{upstream}/v1/chat/completions",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json", "x-bf-vk": key_value},
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        response.read()


def upstream_count(gateway: str) -> int:
    """Calls the gateway sent upstream so far, from its own metrics (``gateway_upstream_requests_total``)."""
    with urllib.request.urlopen(f"{gateway}/metrics", timeout=10) as response:
        text = response.read().decode()
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("gateway_upstream_requests_total{")
        )
    )


class Subscriber:
    """One subscription; remembers when each push arrived."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.first = asyncio.Event()
        self.pushed = asyncio.Event()  # cleared before each change


async def run_socket(url: str, team_id: str, subscribers: list[Subscriber], stop: asyncio.Event) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, subprotocols=["graphql-transport-ws"], max_queue=None) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        for n in range(len(subscribers)):
            await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": {"query": USAGE % team_id}}))
        reader = asyncio.create_task(_read(ws, subscribers))
        await stop.wait()
        reader.cancel()


async def _read(ws: Any, subscribers: list[Subscriber]) -> None:
    async for raw in ws:
        now = time.perf_counter()
        message = json.loads(raw)
        if message.get("type") == "ping":
            await ws.send('{"type":"pong"}')
        if message.get("type") != "next":
            continue
        subscriber = subscribers[int(message["id"])]
        if subscriber.first.is_set():
            subscriber.arrivals.append(now)
            subscriber.pushed.set()
        else:
            subscriber.first.set()


async def measure(args: argparse.Namespace, upstream: str, gateway_pid: int, gateway_port: int) -> dict[str, Any]:
    team = post(
        f"{upstream}/api/governance/teams",
        {"name": f"live-bench-{os.getpid()}", "budgets": [{"max_limit": 100, "reset_duration": "1d"}]},
    )["team"]
    key = post(
        f"{upstream}/api/governance/virtual-keys",
        {"name": f"live-bench-{os.getpid()}", "team_id": team["id"], "provider_configs": [OPENAI]},
    )["virtual_key"]
    rss_before = rss_kb(gateway_pid)
    sockets = max(1, args.subscribers // args.per_connection)
    groups = [[Subscriber() for _ in range(args.per_connection)] for _ in range(sockets)]
    stop = asyncio.Event()
    url = f"ws://127.0.0.1:{gateway_port}/graphql"
    tasks = []
    for group in groups:
        tasks.append(asyncio.create_task(run_socket(url, team["id"], group, stop)))
        await asyncio.sleep(0)
    everyone = [s for group in groups for s in group]
    await asyncio.wait_for(asyncio.gather(*(s.first.wait() for s in everyone)), 120)
    rss_after = rss_kb(gateway_pid)

    # Polls per interval while everybody listens and nothing changes.
    gateway = f"http://127.0.0.1:{gateway_port}"
    start_count, started = await asyncio.to_thread(upstream_count, gateway), time.monotonic()
    await asyncio.sleep(args.interval * args.quiet_intervals)
    calls = await asyncio.to_thread(upstream_count, gateway) - start_count
    polls = calls / ((time.monotonic() - started) / args.interval)

    delays: list[float] = []
    for change in range(args.changes):
        await asyncio.sleep(args.interval * 0.37)  # land at a different phase of the poll each time
        before = [len(s.arrivals) for s in everyone]
        for subscriber in everyone:
            subscriber.pushed.clear()
        changed_at = time.perf_counter()
        if args.change == "charge":
            await asyncio.to_thread(charge, upstream, key["value"])
        else:
            body = {"budgets": [{"max_limit": 101 + change, "reset_duration": "1d"}]}
            await asyncio.to_thread(request, "PUT", f"{upstream}/api/governance/teams/{team['id']}", body)
        try:
            await asyncio.wait_for(asyncio.gather(*(s.pushed.wait() for s in everyone)), args.interval * 5)
        except TimeoutError:
            pass  # counted as missed below
        delays += [s.arrivals[b] - changed_at for s, b in zip(everyone, before, strict=True) if len(s.arrivals) > b]
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    delays.sort()
    missed = args.changes * len(everyone) - len(delays)
    return {
        "subscribers": len(everyone),
        "sockets": sockets,
        "interval_s": args.interval,
        "upstream_calls_per_interval": round(polls, 2),
        "rss_before_mb": round(rss_before / 1024, 1),
        "rss_after_mb": round(rss_after / 1024, 1),
        "rss_per_subscriber_kb": round((rss_after - rss_before) / len(everyone), 1),
        "push_delay_p50_ms": round(statistics.median(delays) * 1000, 1) if delays else None,
        "push_delay_p99_ms": round(delays[int(len(delays) * 0.99) - 1] * 1000, 1) if delays else None,
        "push_delay_max_ms": round(delays[-1] * 1000, 1) if delays else None,
        "pushes_missed": missed,
        "change": args.change,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--per-connection", type=int, default=10)
    ap.add_argument("--interval", type=float, default=2.0, help="LIVE_POLL_INTERVAL of the gateway")
    ap.add_argument("--changes", type=int, default=5)
    ap.add_argument("--quiet-intervals", type=int, default=3)
    ap.add_argument("--change", choices=["charge", "budget"], default="charge")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    upstream_port, gateway_port = free_port(), free_port()
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen(
            [PYTHON, "-m", "app.embedded_bifrost", "--port", str(upstream_port), "--generation", "v2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        wait_until_up(f"{upstream_url}/health")
        gateway_env = {
            **env,
            "BIFROST_URL": upstream_url,
            "GATEWAY_PORT": str(gateway_port),
            "LOG_LEVEL": "WARNING",
            "LIVE_POLL_INTERVAL": str(args.interval),
            "LIVE_MAX_CONNECTIONS_PER_CLIENT": str(args.subscribers + 10),
            "LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION": str(max(args.per_connection, 1)),
        }
        gateway = subprocess.Popen(
            [PYTHON, "-m", "app"], cwd=ROOT, env=gateway_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        processes.append(gateway)
        wait_until_up(f"http://127.0.0.1:{gateway_port}/healthz")
        result = asyncio.run(measure(args, upstream_url, gateway.pid, gateway_port))
        print(json.dumps(result, indent=2))
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
