"""Two builds (or two settings) of our gateway under one load of ``run.py``, side by side: A B A B ...

Each variant is a checkout (``--a``/``--b``, default this one) plus settings (``--env-a``/``--env-b``). Both
gateways run at once on core 0 (one worker each, production profile), the upstream and wrk on core 1, as in
``run.py --modes pinned``; the rounds alternate between them, so drift of a shared machine touches both alike.
Per round: requests per second and the gateway's own CPU time per request (user + system of its process,
every thread included). The summary gives medians and the B/A ratios.

    python bench/ab.py --load lookup-bff --a ../other-checkout            # another build against this one
    python bench/ab.py --load create --env-b UPSTREAM_COALESCE_READS=false   # one setting, same build
    python bench/ab.py --load dashboard-browsers --rounds 7 --duration 4 --connections 64
    python bench/ab.py --load lookup-browsers --python-b <venv of another interpreter>/bin/python
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

from local_processes import cpu_seconds, free_port, pinned, wait_until_up

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
import run  # noqa: E402  (the documents, loads and seeding of the main harness)


def _pairs(values: list[str]) -> dict[str, str]:
    return dict(value.split("=", 1) for value in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--load", choices=list(run.LOADS), default="lookup-bff")
    parser.add_argument("--a", type=Path, default=ROOT, help="checkout of variant A (default: this one)")
    parser.add_argument("--b", type=Path, default=ROOT, help="checkout of variant B (default: this one)")
    parser.add_argument("--env-a", action="append", default=[], help="NAME=VALUE for A's gateway (repeatable)")
    parser.add_argument("--env-b", action="append", default=[], help="NAME=VALUE for B's gateway (repeatable)")
    parser.add_argument("--python-a", default=run.PYTHON, help="A's interpreter (default: run.py's)")
    parser.add_argument("--python-b", default=run.PYTHON, help="B's interpreter (default: run.py's)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=20)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    load = run.LOADS[args.load]
    for name, root, python in (("A", args.a, args.python_a), ("B", args.b, args.python_b)):
        print(f"{name}: compiled modules {run.ensure_native(python, root.resolve())}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="ab-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        up_port = free_port()
        upstream_cmd = [run.PYTHON, str(BENCH / "upstream.py"), "--host", "127.0.0.1", "--port", str(up_port)]
        procs.append(subprocess.Popen(pinned("1", upstream_cmd), cwd=ROOT, stdout=subprocess.DEVNULL))
        upstream = f"http://127.0.0.1:{up_port}"
        wait_until_up(upstream + "/health")
        seed = run.seed_upstream(upstream)
        can_trim = run.http("POST", f"{upstream}/__bench/mark")[0] == 200  # create runs start from the seed
        run.http("POST", f"{upstream}/__bench/usage/{'moving' if load['usage'] == 'moving' else 'static'}")
        gateways: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
        variants = (("A", args.a, args.env_a, args.python_a), ("B", args.b, args.env_b, args.python_b))
        for name, root, extra, python in variants:
            port = free_port()
            env = {
                **os.environ,
                "BIFROST_URL": upstream,
                "GATEWAY_HOST": "127.0.0.1",
                "GATEWAY_PORT": str(port),
                "GATEWAY_ENV": "production",
                "LOG_LEVEL": "WARNING",
                "WEB_CONCURRENCY": "1",
                **_pairs(extra),
            }
            gateway = subprocess.Popen(
                pinned("0", [python, "-m", "app"]), cwd=root.resolve(), env=env, stdout=subprocess.DEVNULL
            )
            procs.append(gateway)
            wait_until_up(f"http://127.0.0.1:{port}/healthz")
            gateways[name] = (gateway, f"http://127.0.0.1:{port}/graphql")
        body = work / "body.json"
        doc = json.dumps(run.GATEWAYS["ours"]["documents"][load["doc"]])
        body.write_text(doc if load["ids"] == "rotating" else doc.replace("__TEAM_ID__", seed["team_id"]))
        ids = work / "ids.txt"
        ids.write_text("\n".join(seed["team_ids"]) + "\n")
        threads = 1 if args.connections == 1 else 2
        script = "graphql_create.lua" if load["doc"] == "create" else "graphql_load.lua"

        def wrk(url: str, seconds: float) -> dict[str, float]:
            prefix = f"ab{uuid.uuid4().hex[:6]}"
            if load["doc"] == "create":
                if can_trim:
                    run.http("POST", f"{upstream}/__bench/trim", timeout=120)
                extra = [str(body), prefix]
            else:
                ids_arg = str(ids) if load["ids"] == "rotating" else "-"
                extra = [str(body), ids_arg, load["auth"], prefix, str(max(1, args.connections // threads))]
            cmd = ["wrk", f"-t{threads}", f"-c{args.connections}", f"-d{seconds:g}s", "-s"]
            cmd += [str(BENCH / "wrk" / script), url, "--", *extra]
            out = subprocess.run(pinned("1", cmd), capture_output=True, text=True, check=True).stdout
            line = next(ln for ln in out.splitlines() if ln.startswith("WRKJSON "))
            result: dict[str, float] = json.loads(line.removeprefix("WRKJSON "))
            return result

        for _, url in gateways.values():
            wrk(url, 2)  # warm-up
        rows: dict[str, list[tuple[float, float]]] = {"A": [], "B": []}
        for round_ in range(args.rounds):
            for name, (gateway, url) in gateways.items():
                before = cpu_seconds(gateway.pid)
                result = wrk(url, args.duration)
                used = cpu_seconds(gateway.pid) - before
                requests = result["requests"]
                rows[name].append((result["rps"], 1000 * used / max(requests, 1)))
                print(
                    f"round {round_ + 1} {name}: {result['rps']:8.1f} req/s  "
                    f"{1000 * used / max(requests, 1):.3f} ms CPU/req  p50 {result['p50_ms']:.2f} ms",
                    flush=True,
                )
        rps = {name: statistics.median(r for r, _ in values) for name, values in rows.items()}
        cpu = {name: statistics.median(c for _, c in values) for name, values in rows.items()}
        print(f"load {args.load}, c={args.connections}, {args.rounds} rounds of {args.duration:g} s, medians:")
        for name in ("A", "B"):
            print(f"  {name}: {rps[name]:8.1f} req/s  {cpu[name]:.3f} ms CPU/req")
        print(f"  B/A: req/s x{rps['B'] / rps['A']:.3f}, CPU per request x{cpu['B'] / cpu['A']:.3f}")
    finally:
        for process in reversed(procs):
            process.terminate()
        for process in reversed(procs):
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
