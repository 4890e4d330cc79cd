"""Where our gateway's CPU goes under load, per layer: py-spy samples summed by the code they were in.

Starts the bench upstream (``bench/upstream.py``, seeded with the 100 teams of ``run.py``) and our gateway
(one worker, production profile), pinned like ``run.py --modes pinned`` (gateway on core 0; upstream and
wrk on core 1), loads it with wrk as ``run.py`` does for one load, and records the gateway with py-spy
meanwhile (on-CPU samples only). Each sample is charged to the layer of its innermost frame (self time),
and, in a second column, to every layer it passes through (inclusive time).

    pip install py-spy   # not a project dependency
    python bench/profile_layers.py --load create
    python bench/profile_layers.py --load lookup-browsers --duration 8 --connections 64
    python bench/profile_layers.py --load lookup-bff --env UPSTREAM_COALESCE_READS=false

The raw stacks stay in ``bench/results/profile-<load>-<timestamp>.txt`` (collapsed format: open them
with any flame-graph viewer).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from local_processes import free_port, pinned, wait_until_up

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
import run  # noqa: E402  (the documents, loads and seeding of the main harness)

# First match wins. py-spy names a frame "function (file:line)", the file relative to its sys.path entry.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("HTTP edge limits (app/http_limits.py)", ("app/http_limits.py",)),
    ("edge and endpoint (app/web)", ("app/web/",)),
    ("upstream client (app/bifrost)", ("app/bifrost/",)),
    ("our GraphQL work (app/schema)", ("app/schema/",)),
    ("rest of app/", ("app/",)),
    ("graphql-core", ("graphql/",)),
    ("strawberry", ("strawberry/",)),
    ("pydantic (parsing)", ("pydantic/", "pydantic_core/")),
    ("aiohttp client", ("aiohttp/", "yarl/", "multidict/", "aiohappyeyeballs/", "aiosignal/")),
    ("uvicorn", ("uvicorn/",)),
    ("starlette", ("starlette/",)),
    ("metrics (prometheus_client)", ("prometheus_client/",)),
    ("logging", ("logging/",)),
    ("event loop (asyncio, uvloop)", ("asyncio/", "uvloop/", "selectors.py")),
]
OTHER = "other"


def layer_of(frame: str) -> str:
    """The layer of one py-spy frame, e.g. ``parse (app/bifrost/client.py:524)`` -> the upstream client."""
    where = frame[frame.rfind("(") + 1 :]
    for name, prefixes in LAYERS:
        if where.startswith(prefixes):
            return name
    return OTHER


def summarize(stacks: Path) -> tuple[Counter[str], Counter[str], int]:
    """Self and inclusive samples per layer from py-spy's raw (collapsed) output."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in stacks.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")[1:]  # the first names the process
        if not frames:
            continue
        # outermost frame first: the innermost frame is the last
        own[layer_of(frames[-1])] += count
        for name in {layer_of(frame) for frame in frames}:
            inclusive[name] += count
        total += count
    return own, inclusive, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--load", choices=list(run.LOADS), default="create")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds of load recorded")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the gateway (repeatable)")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy", help="the py-spy executable")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    if shutil.which(args.py_spy) is None and not Path(args.py_spy).exists():
        raise SystemExit("py-spy is not installed (pip install py-spy)")
    load = run.LOADS[args.load]
    work = Path(tempfile.mkdtemp(prefix="profile-"))
    up_port, gw_port = free_port(), free_port()
    upstream_cmd = [run.PYTHON, str(BENCH / "upstream.py"), "--host", "127.0.0.1", "--port", str(up_port)]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen(pinned("1", upstream_cmd), cwd=ROOT, stdout=subprocess.DEVNULL))
        upstream = f"http://127.0.0.1:{up_port}"
        wait_until_up(upstream + "/health")
        seed = run.seed_upstream(upstream)
        mode = "moving" if load["usage"] == "moving" else "static"
        run.http("POST", f"{upstream}/__bench/usage/{mode}")
        env = {
            **os.environ,
            "BIFROST_URL": upstream,
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(gw_port),
            "GATEWAY_ENV": "production",
            "LOG_LEVEL": "WARNING",
            "WEB_CONCURRENCY": "1",
            **dict(pair.split("=", 1) for pair in args.env),
        }
        gateway = subprocess.Popen(pinned("0", [run.PYTHON, "-m", "app"]), cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        procs.append(gateway)
        wait_until_up(f"http://127.0.0.1:{gw_port}/healthz")
        url = f"http://127.0.0.1:{gw_port}/graphql"
        body = work / "body.json"
        doc = json.dumps(run.GATEWAYS["ours"]["documents"][load["doc"]])
        ids = work / "ids.txt"
        ids.write_text("\n".join(seed["team_ids"]) + "\n")
        if load["ids"] == "rotating":
            body.write_text(doc)
        else:
            body.write_text(doc.replace("__TEAM_ID__", seed["team_id"]))
        threads = 1 if args.connections == 1 else 2
        script = "graphql_create.lua" if load["doc"] == "create" else "graphql_load.lua"
        ids_arg = str(ids) if load["ids"] == "rotating" else "-"

        def wrk(seconds: float) -> dict:
            prefix = f"prof{uuid.uuid4().hex[:6]}"  # every run its own names and tokens
            if load["doc"] == "create":
                extra = [str(body), prefix]
            else:
                extra = [str(body), ids_arg, load["auth"], prefix, str(max(1, args.connections // threads))]
            cmd = [
                "wrk",
                f"-t{threads}",
                f"-c{args.connections}",
                f"-d{seconds:g}s",
                "-s",
                str(BENCH / "wrk" / script),
                url,
                "--",
                *extra,
            ]
            out = subprocess.run(pinned("1", cmd), capture_output=True, text=True, check=True).stdout
            line = next(ln for ln in out.splitlines() if ln.startswith("WRKJSON "))
            return json.loads(line.removeprefix("WRKJSON "))

        wrk(2)  # warm-up
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (BENCH / "results").mkdir(exist_ok=True)
        stacks = BENCH / "results" / f"profile-{args.load}-{stamp}.txt"
        spy = subprocess.Popen(
            [
                args.py_spy,
                "record",
                "--pid",
                str(gateway.pid),
                "--rate",
                str(args.rate),
                "--duration",
                str(int(args.duration)),
                "--format",
                "raw",
                "--output",
                str(stacks),
                "--nonblocking",
                "--subprocesses",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        result = wrk(args.duration)
        spy.wait(timeout=args.duration + 60)
        own, inclusive, total = summarize(stacks)
        print(
            f"load {args.load}, c={args.connections}, {args.duration:g} s: {result['rps']:.0f} req/s, "
            f"p50 {result['p50_ms']:.2f} ms; {total} samples at {args.rate}/s"
        )
        print(f"{'layer':42} {'self %':>7} {'inclusive %':>12}")
        for name, count in own.most_common():
            print(f"{name:42} {100 * count / total:7.1f} {100 * inclusive[name] / total:12.1f}")
        print(f"raw stacks: {stacks.relative_to(ROOT)}")
    finally:
        for process in reversed(procs):
            process.terminate()
        for process in reversed(procs):
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
