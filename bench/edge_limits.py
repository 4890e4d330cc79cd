"""A/B: the gateway with the HTTP server's limits (HTTP_EDGE_LIMITS=true) and with uvicorn's protocol as is.

Loads ``lookup`` (one team with its customer and budgets) and ``create`` (createTeam) with wrk, the two
variants alternated round by round, pinned like ``bench/run.py --modes pinned`` (gateway on core 0;
upstream and wrk on core 1). Prints req/s, p50/p99 and the gateway's CPU time per request (from
``/proc/<pid>/stat``, which holds still when other work shares the machine), median over the rounds.

    python bench/edge_limits.py                 # 3 rounds x 5 s per variant and scenario, about 2 minutes
    python bench/edge_limits.py --rounds 5 --duration 10 --connections 50
"""

from __future__ import annotations

import argparse
import json
import os
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

LOOKUP = "query Team($id: ID!) { team(id: $id) { id name customer { id name } budgets { id maxLimit } } }"
CREATE = (
    "mutation CreateTeam($input: CreateTeamInput!) { createTeam(input: $input) "
    "{ team { id name } userErrors { field message code } } }"
)
VARIANTS = {"limits": "true", "uvicorn": "false"}


def start_gateway(upstream: str, edge_limits: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "BIFROST_URL": upstream,
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "GATEWAY_ENV": "production",
        "LOG_LEVEL": "WARNING",
        "HTTP_EDGE_LIMITS": edge_limits,
    }
    process = subprocess.Popen(
        pinned("0", [PYTHON, "-m", "app"]), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_until_up(f"http://127.0.0.1:{port}/healthz")
    return process, f"http://127.0.0.1:{port}/graphql"


def wrk(url: str, scenario: str, body_file: Path, args: argparse.Namespace, pid: int) -> dict[str, Any]:
    script, extra = ("graphql_create.lua", [str(body_file), f"ab-{uuid.uuid4().hex[:8]}"])
    if scenario == "lookup":
        script, extra = "graphql.lua", [str(body_file)]
    cmd = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", "-s", str(BENCH / "wrk" / script), url, "--"]
    cpu_before = cpu_seconds(pid)
    out = subprocess.run(pinned("1", cmd + extra), capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - cpu_before
    line = next(line for line in out.splitlines() if line.startswith("WRKJSON "))
    result: dict[str, Any] = json.loads(line.removeprefix("WRKJSON "))
    result["cpu_ms_per_request"] = cpu * 1000 / max(result["requests"], 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=20)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")

    up_port = free_port()
    upstream_cmd = [PYTHON, "-m", "app.embedded_bifrost", "--port", str(up_port), "--generation", "current"]
    upstream = subprocess.Popen(pinned("1", upstream_cmd), cwd=ROOT, stdout=subprocess.DEVNULL)
    upstream_url = f"http://127.0.0.1:{up_port}"
    gateways: dict[str, subprocess.Popen[bytes]] = {}
    try:
        wait_until_up(upstream_url + "/health")
        customer = post(upstream_url + "/api/governance/customers", {"name": "ab-customer"})["customer"]["id"]
        budget = {"max_limit": 100, "reset_duration": "1M"}
        team = post(
            upstream_url + "/api/governance/teams",
            {"name": "ab-team", "customer_id": customer, "budgets": [budget], "budget": budget},
        )["team"]["id"]
        work = Path(tempfile.mkdtemp(prefix="edge-ab-"))
        bodies = {
            "lookup": {"query": LOOKUP, "variables": {"id": team}},
            "create": {"query": CREATE, "variables": {"input": {"name": "__NAME__"}}},
        }
        files = {}
        for scenario, body in bodies.items():
            files[scenario] = work / f"{scenario}.json"
            files[scenario].write_text(json.dumps(body))
        urls = {}
        for name, flag in VARIANTS.items():
            gateways[name], urls[name] = start_gateway(upstream_url, flag)
        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for scenario in bodies:
            for name in VARIANTS:  # warm-up, not counted
                warm_up = argparse.Namespace(**{**vars(args), "duration": 2})
                wrk(urls[name], scenario, files[scenario], warm_up, gateways[name].pid)
            for round_ in range(args.rounds):
                order = list(VARIANTS) if round_ % 2 == 0 else list(reversed(VARIANTS))
                for name in order:
                    run = wrk(urls[name], scenario, files[scenario], args, gateways[name].pid)
                    results.setdefault((scenario, name), []).append(run)
        print(f"{args.rounds} rounds x {args.duration} s, {args.connections} connections, pinned; median (min-max)")
        columns = f"{'req/s':>22} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/req':>11} {'errors':>6}"
        print(f"{'scenario':8} {'variant':8} {columns}")
        for (scenario, name), runs in results.items():
            rps = [run["rps"] for run in runs]
            errors = sum(sum(run["errors"].values()) for run in runs)
            p50 = statistics.median(run["p50_ms"] for run in runs)
            p99 = statistics.median(run["p99_ms"] for run in runs)
            cpu = statistics.median(run["cpu_ms_per_request"] for run in runs)
            spread = f"{statistics.median(rps):.0f} ({min(rps):.0f}-{max(rps):.0f})"
            print(f"{scenario:8} {name:8} {spread:>22} {p50:7.2f} {p99:7.2f} {cpu:11.3f} {errors:6d}")
    finally:
        for process in [*gateways.values(), upstream]:
            process.terminate()
        for process in [*gateways.values(), upstream]:
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
