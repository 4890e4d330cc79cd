"""What Redis costs on the request path: the same gateway with and without ``REDIS_URL``, side by side.

Two gateway processes (one with ``REDIS_URL``, one without) in front of one embedded Bifrost; only one is
loaded at a time, alternated round by round, pinned like ``bench/run.py --modes pinned`` (gateway on core 0;
upstream, Redis and wrk on core 1). Besides req/s and latency, it reports the gateway's own CPU time per
request (from ``/proc/<pid>/stat``), which holds still when other work shares the machine. Scenarios:

* ``apq-hit``: a persisted query sent by hash only, registered beforehand (the replica's LRU answers).
* ``apq-shared``: two persisted queries in turn with ``APQ_CACHE_SIZE=1`` on both gateways, so every request
  misses the LRU: with Redis the document comes from Redis (and is shared again); without, the client gets
  ``PERSISTED_QUERY_NOT_FOUND`` (what a replica that never saw the document answers without Redis).
* ``create-keyed``: createTeam with a new ``Idempotency-Key`` each request (claim, write, remember).
* ``create-replay``: createTeam with one key and body: every request is answered from the key's record.

    python bench/redis_cost.py                  # 3 rounds x 4 s per variant and scenario, about 2 minutes
    python bench/redis_cost.py --rounds 5 --duration 8 --connections 50
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from local_processes import cpu_seconds, free_port, pinned, post, wait_until_up

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_KEY_SECRET = secrets.token_hex(32)  # one for the run: names keyed the same in every gateway started

APQ_A = "query PersistedA { __typename }"
APQ_B = "query PersistedB { __typename }"
CREATE = (
    "mutation CreateTeam($input: CreateTeamInput!) { createTeam(input: $input) "
    "{ team { id name } userErrors { field message code } } }"
)
VARIANTS = ("in-process", "redis")
SCENARIOS = ("apq-hit", "apq-shared", "create-keyed", "create-replay")


def persisted(document: str, with_document: bool) -> dict[str, Any]:
    digest = hashlib.sha256(document.encode()).hexdigest()
    body: dict[str, Any] = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    return {**body, "query": document} if with_document else body


def start_gateway(upstream: str, redis_url: str | None, apq_cache_size: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "BIFROST_URL": upstream,
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "GATEWAY_ENV": "production",
        "LOG_LEVEL": "WARNING",
        "APQ_CACHE_SIZE": str(apq_cache_size),
    }
    env.pop("REDIS_URL", None)
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
        env["REDIS_KEY_SECRET"] = REDIS_KEY_SECRET  # production refuses REDIS_URL without it
    process = subprocess.Popen(
        pinned("0", [PYTHON, "-m", "app"]), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_until_up(f"http://127.0.0.1:{port}/healthz")
    return process, f"http://127.0.0.1:{port}/graphql"


def wrk(url: str, scenario: str, files: dict[str, Path], duration: int, connections: int) -> dict[str, Any]:
    tag = f"rc-{uuid.uuid4().hex[:8]}"
    script, extra = {
        "apq-hit": ("graphql.lua", [str(files["apq-a"])]),
        "apq-shared": ("graphql_alternate.lua", [str(files["apq-a"]), str(files["apq-b"])]),
        "create-keyed": ("graphql_idempotent.lua", [str(files["create"]), tag, "fresh"]),
        "create-replay": ("graphql_idempotent.lua", [str(files["create"]), tag, "replay"]),
    }[scenario]
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", str(BENCH / "wrk" / script), url, "--"]
    out = subprocess.run(pinned("1", cmd + extra), capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRKJSON "))
    result: dict[str, Any] = json.loads(line.removeprefix("WRKJSON "))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=20)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")

    up_port, redis_port = free_port(), free_port()
    upstream_cmd = [PYTHON, "-m", "app.embedded_bifrost", "--port", str(up_port), "--generation", "current"]
    redis_cmd = [REDIS_SERVER, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    helpers = [
        subprocess.Popen(pinned("1", upstream_cmd), cwd=ROOT, stdout=subprocess.DEVNULL),
        subprocess.Popen(pinned("1", redis_cmd), stdout=subprocess.DEVNULL),
    ]
    upstream_url, redis_url = f"http://127.0.0.1:{up_port}", f"redis://127.0.0.1:{redis_port}/0"
    gateways: list[subprocess.Popen[bytes]] = []
    try:
        wait_until_up(upstream_url + "/health")
        work = Path(tempfile.mkdtemp(prefix="redis-cost-"))
        files = {
            "apq-a": persisted(APQ_A, with_document=False),
            "apq-b": persisted(APQ_B, with_document=False),
            "create": {"query": CREATE, "variables": {"input": {"name": "__NAME__"}}},
        }
        paths = {}
        for name, body in files.items():
            paths[name] = work / f"{name}.json"
            paths[name].write_text(json.dumps(body))
        # apq-shared runs on gateways whose LRU holds one document; the others on gateways as configured.
        urls: dict[tuple[str, bool], str] = {}
        pids: dict[str, int] = {}
        for variant in VARIANTS:
            for tiny_lru in (False, True):
                process, url = start_gateway(
                    upstream_url, redis_url if variant == "redis" else None, 1 if tiny_lru else 1000
                )
                gateways.append(process)
                urls[(variant, tiny_lru)] = url
                pids[url] = process.pid
                for document in (APQ_A, APQ_B):
                    assert "data" in post(url, persisted(document, with_document=True))
        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for scenario in SCENARIOS:
            tiny = scenario == "apq-shared"
            for variant in VARIANTS:  # warm-up, not counted
                wrk(urls[(variant, tiny)], scenario, paths, 2, args.connections)
            for round_ in range(args.rounds):
                order = VARIANTS if round_ % 2 == 0 else tuple(reversed(VARIANTS))
                for variant in order:
                    url = urls[(variant, tiny)]
                    cpu = cpu_seconds(pids[url])
                    run = wrk(url, scenario, paths, args.duration, args.connections)
                    run["cpu_ms_per_request"] = (cpu_seconds(pids[url]) - cpu) * 1000 / max(run["requests"], 1)
                    results.setdefault((scenario, variant), []).append(run)
        print(f"{args.rounds} rounds x {args.duration} s, {args.connections} connections, pinned; median (min-max)")
        header = ("scenario", "variant", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "errors")
        print("{:14} {:10} {:>20} {:>8} {:>8} {:>10} {:>6}".format(*header))
        for (scenario, variant), runs in results.items():
            rps = [run["rps"] for run in runs]
            errors = sum(sum(run["errors"].values()) for run in runs)
            p50 = statistics.median(run["p50_ms"] for run in runs)
            p99 = statistics.median(run["p99_ms"] for run in runs)
            cpu = statistics.median(run["cpu_ms_per_request"] for run in runs)
            spread = f"{statistics.median(rps):.0f} ({min(rps):.0f}-{max(rps):.0f})"
            print(f"{scenario:14} {variant:10} {spread:>20} {p50:8.2f} {p99:8.2f} {cpu:10.3f} {errors:6d}")
    finally:
        for process in [*gateways, *helpers]:
            process.terminate()
        for process in [*gateways, *helpers]:
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
