#!/usr/bin/env python3
"""How connections opened at once are spread over the gateway's workers (``WORKER_REUSE_PORT`` on and off).

Starts ``python -m app`` with ``--workers`` workers (upstream unset: the embedded server; nothing is called
upstream), then ``--trials`` times opens ``--connections`` keep-alive connections at once (as wrk, a pool of
clients or a load balancer does), has each answered once, and counts which worker holds each (from ``/proc``).
Prints each trial's split, largest first.

    python bench/worker_balance.py                          # both settings, 2 workers, 20 connections, 10 trials
    python bench/worker_balance.py --connections 64 --workers 4
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_workers import holders, open_connections, serving_workers  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_UNSET = ("BIFROST_URL", "PROMETHEUS_MULTIPROC_DIR")


def splits(reuse_port: bool, workers: int, connections: int, trials: int) -> list[list[int]]:
    port = free_port()
    env = {
        **{
            name: value for name, value in os.environ.items() if name not in ("BIFROST_URL", "PROMETHEUS_MULTIPROC_DIR")
        },
        "GATEWAY_PORT": str(port),
        "GATEWAY_HOST": "127.0.0.1",
        "WEB_CONCURRENCY": str(workers),
        "WORKER_REUSE_PORT": "true" if reuse_port else "false",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        pids = serving_workers(process, port, workers)
        found = []
        for _ in range(trials):
            clients = open_connections(port, connections)
            held = holders(port, clients, pids)
            found.append(sorted(held.values(), reverse=True))
            for client in clients:
                client.close()
            time.sleep(0.2)  # let the workers see the connections close before the next burst
        return found
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    for reuse_port in (False, True):
        found = splits(reuse_port, args.workers, args.connections, args.trials)
        worst = max(split[0] for split in found)
        label = "own sockets (WORKER_REUSE_PORT=true)" if reuse_port else "one shared socket (uvicorn's)"
        shown = " ".join("/".join(map(str, split)) for split in found)
        print(f"{label:38} splits {shown}  busiest worker at most {worst}")


if __name__ == "__main__":
    main()
