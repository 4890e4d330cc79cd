#!/usr/bin/env python3
"""Soak: a steady mixed load on the gateway as a real process, watching errors, latency and memory.

    python bench/soak.py                                  # 10 minutes at 200 req/s
    python bench/soak.py --duration 30 --bucket 10        # smoke run
    python bench/soak.py --help                           # every option

Starts ``python -m app.embedded_bifrost`` and ``python -m app`` (BIFROST_URL pointing at it), both on
127.0.0.1, then sends createTeam, the dashboard query and single team lookups at a fixed rate (open loop:
a slow answer does not slow the schedule). Prints errors and p50/p99 per bucket (a minute by default), the
gateway's RSS sampled every 10 s from /proc/<pid>/status and its growth after warm-up, and writes the same
to bench/results/soak-<timestamp>.json. Stops every process it started, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
_venv_python = ROOT / ".venv" / "bin" / "python"
PYTHON = os.environ.get("BENCH_PYTHON") or (str(_venv_python) if _venv_python.exists() else sys.executable)

CREATE = (
    "mutation CreateTeam($input: CreateTeamInput!) { createTeam(input: $input) "
    "{ team { id name } userErrors { field message code } } }"
)
DASHBOARD = (
    "query Dashboard { teams(first: 100) { edges { node { id name customer { id name } "
    "budgets { id maxLimit } virtualKeys { id name } } } } }"
)
LOOKUP = "query Team($id: ID!) { team(id: $id) { id name customer { id name } budgets { id maxLimit } } }"
SEED_TEAMS = 50
MAX_IN_FLIGHT = 2000


@dataclass
class Sample:
    """One request: when it was due (seconds from start), its kind, latency and outcome."""

    at: float
    kind: str
    seconds: float
    ok: bool
    problem: str = ""


@dataclass
class Run:
    """Everything measured, as written to the JSON file."""

    options: dict[str, Any]
    samples: list[Sample] = field(default_factory=list)
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds from start, RSS in KiB)
    skipped: int = 0  # requests not sent because MAX_IN_FLIGHT were still waiting


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
    raise RuntimeError("no VmRSS")


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


async def graphql(
    http: aiohttp.ClientSession, url: str, query: str, variables: dict[str, Any] | None
) -> tuple[bool, str, dict[str, Any] | None]:
    try:
        async with http.post(url, json={"query": query, "variables": variables}) as response:
            raw = await response.read()
            if response.status != 200:
                return False, f"HTTP {response.status}", None
        body: dict[str, Any] = json.loads(raw)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return False, type(exc).__name__, None
    if body.get("errors"):
        return False, str(body["errors"][0].get("extensions", {}).get("code")), body
    payload = (body.get("data") or {}).get("createTeam")
    if payload is not None and payload.get("userErrors"):
        return False, payload["userErrors"][0]["code"], body
    return True, "", body


async def load(args: argparse.Namespace, url: str, gateway_pid: int, run: Run) -> None:
    kinds, weights = ["create", "dashboard", "lookup"], [args.create, args.dashboard, args.lookup]
    rng = random.Random(args.seed)
    connector = aiohttp.TCPConnector(limit=args.connections)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        team_ids: list[str] = []
        for i in range(SEED_TEAMS):  # some teams to look up before the load starts
            ok, problem, body = await graphql(http, url, CREATE, {"input": {"name": f"soak-seed-{i}"}})
            if not ok or body is None:
                raise SystemExit(f"seeding failed: {problem}")
            team_ids.append(body["data"]["createTeam"]["team"]["id"])

        in_flight: set[asyncio.Task[None]] = set()
        started = time.perf_counter()
        next_rss = 0.0

        async def one(n: int, due: float, kind: str) -> None:
            if kind == "create":
                query, variables = CREATE, {"input": {"name": f"soak-{n}"}}
            elif kind == "dashboard":
                query, variables = DASHBOARD, None
            else:
                query, variables = LOOKUP, {"id": rng.choice(team_ids)}
            t0 = time.perf_counter()
            ok, problem, body = await graphql(http, url, query, variables)
            run.samples.append(Sample(due, kind, time.perf_counter() - t0, ok, problem))
            if ok and kind == "create" and body is not None:
                team_ids.append(body["data"]["createTeam"]["team"]["id"])

        total = int(args.duration * args.rate)
        for n in range(total):
            due = n / args.rate
            now = time.perf_counter() - started
            if now >= next_rss:
                run.rss.append((round(now, 1), rss_kib(gateway_pid)))
                next_rss += args.rss_every
            if due > now:
                await asyncio.sleep(due - now)
            if len(in_flight) >= MAX_IN_FLIGHT:
                run.skipped += 1
                run.samples.append(Sample(due, "skipped", 0.0, False, "overload"))
                continue
            task = asyncio.create_task(one(n, due, rng.choices(kinds, weights)[0]))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.wait(in_flight)
        run.rss.append((round(time.perf_counter() - started, 1), rss_kib(gateway_pid)))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def report(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    buckets = []
    count = max(1, int(-(-args.duration // args.bucket)))
    for b in range(count):
        rows = [s for s in run.samples if b * args.bucket <= s.at < (b + 1) * args.bucket]
        latencies = [s.seconds * 1000 for s in rows if s.kind != "skipped"]
        problems: dict[str, int] = {}
        for s in rows:
            if not s.ok:
                problems[s.problem] = problems.get(s.problem, 0) + 1
        buckets.append(
            {
                "from_s": b * args.bucket,
                "requests": len(rows),
                "errors": sum(not s.ok for s in rows),
                "p50_ms": round(percentile(latencies, 50), 2),
                "p99_ms": round(percentile(latencies, 99), 2),
                "problems": problems,
            }
        )
    after_warmup = [kib for at, kib in run.rss if at >= args.warmup]
    growth = after_warmup[-1] - after_warmup[0] if len(after_warmup) >= 2 else None
    by_kind = {}
    for kind in ("create", "dashboard", "lookup"):
        latencies = [s.seconds * 1000 for s in run.samples if s.kind == kind]
        by_kind[kind] = {
            "requests": len(latencies),
            "errors": sum(not s.ok for s in run.samples if s.kind == kind),
            "p50_ms": round(percentile(latencies, 50), 2),
            "p99_ms": round(percentile(latencies, 99), 2),
        }
    return {
        "requests": len(run.samples),
        "errors": sum(not s.ok for s in run.samples),
        "skipped_overload": run.skipped,
        "buckets": buckets,
        "by_kind": by_kind,
        "rss_kib": run.rss,
        "rss_growth_after_warmup_kib": growth,
    }


def print_table(summary: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\nsoak: {args.duration:.0f} s at {args.rate:.0f} req/s, buckets of {args.bucket:.0f} s")
    print(f"{'from s':>7} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8}  problems")
    for b in summary["buckets"]:
        problems = ", ".join(f"{k} x{v}" for k, v in b["problems"].items())
        print(f"{b['from_s']:>7.0f} {b['requests']:>9} {b['errors']:>7} {b['p50_ms']:>8} {b['p99_ms']:>8}  {problems}")
    print(f"\n{'kind':>10} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, row in summary["by_kind"].items():
        print(f"{kind:>10} {row['requests']:>9} {row['errors']:>7} {row['p50_ms']:>8} {row['p99_ms']:>8}")
    print(f"\n{'at s':>7} {'RSS MiB':>8}")
    for at, kib in summary["rss_kib"]:
        print(f"{at:>7.1f} {kib / 1024:>8.1f}")
    growth = summary["rss_growth_after_warmup_kib"]
    growth_text = "n/a (run shorter than warm-up)" if growth is None else f"{growth / 1024:+.1f} MiB"
    print(f"\nerrors: {summary['errors']} of {summary['requests']}")
    print(f"RSS growth after the {args.warmup:.0f} s warm-up: {growth_text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=float(os.environ.get("SOAK_DURATION", 600)), help="seconds")
    parser.add_argument("--rate", type=float, default=float(os.environ.get("SOAK_RATE", 200)), help="requests/s")
    parser.add_argument("--warmup", type=float, default=None, help="seconds before RSS growth counts (60, or 1/3)")
    parser.add_argument("--bucket", type=float, default=60, help="seconds per row of the latency table")
    parser.add_argument("--rss-every", type=float, default=10, help="seconds between RSS samples")
    parser.add_argument("--create", type=float, default=1, help="weight of createTeam in the mix")
    parser.add_argument("--dashboard", type=float, default=1, help="weight of the dashboard query in the mix")
    parser.add_argument("--lookup", type=float, default=8, help="weight of single team lookups in the mix")
    parser.add_argument("--connections", type=int, default=256, help="client connections to the gateway")
    parser.add_argument("--timeout", type=float, default=30, help="client timeout per request, seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    args = parser.parse_args()
    if args.warmup is None:
        args.warmup = min(60.0, args.duration / 3)

    upstream_port, gateway_port = free_port(), free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
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
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    run = Run(options={k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()})
    try:
        # v1.5 pinned: the recorded numbers were measured on it, and the embedded server's default is now v2
        upstream_command = [PYTHON, "-m", "app.embedded_bifrost", "--host", "127.0.0.1", "--port", str(upstream_port)]
        upstream = start([*upstream_command, "--generation", "current"], env)
        processes.append(upstream)
        wait_http(f"http://127.0.0.1:{upstream_port}/health")
        gateway = start([PYTHON, "-m", "app"], gateway_env)
        processes.append(gateway)
        wait_http(f"http://127.0.0.1:{gateway_port}/healthz")
        asyncio.run(load(args, f"http://127.0.0.1:{gateway_port}/graphql", gateway.pid, run))
        for process in processes:
            if process.poll() is not None:
                raise SystemExit(f"a process exited during the run: {process.args}")
    except KeyboardInterrupt:
        print("interrupted: reporting what was measured", file=sys.stderr)
    finally:
        for process in reversed(processes):
            stop(process)
    summary = report(run, args)
    print_table(summary, args)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"soak-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"options": run.options, "summary": summary}, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()
