"""CPU per upstream call of the gateway's Bifrost client, alone: the transport's share of a request.

Starts the bench upstream (``bench/upstream.py``, 100 seeded teams, pinned to core 1) and, in this process
(pinned to core 0, uvloop), builds the client exactly as the gateway does (``build_bifrost_client`` with
``BIFROST_URL``: aiohttp, breaker, metrics, coalescing), then sends GETs of the 100 teams in turn from 20
concurrent callers, each with its own ``Authorization`` (nothing to share, as in the ``-browsers`` loads),
and prints this process's CPU time per call (user + system, which holds still when other work shares the
machine; wall-clock req/s does not), median over the rounds.

    python bench/client_cost.py                          # 5 rounds x 4,000 calls
    python bench/client_cost.py --root /path/to/checkout # the client of another checkout, same upstream
    python bench/client_cost.py --typed                  # each call as a lookup makes it: session.get_team

``--typed`` measures the whole read a team lookup makes (per-request session, read coalescing, parse memo,
the team's model) rather than ``BifrostClient.request`` alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from local_processes import free_port, pinned, wait_until_up

BENCH = Path(__file__).resolve().parent


async def measure(
    base_url: str, paths: list[str], calls: int, concurrency: int, rounds: int, typed: bool = False
) -> list[float]:
    from app.settings import Settings
    from app.web.upstream import build_bifrost_client

    client = build_bifrost_client(Settings(bifrost_url=base_url, gateway_env="production"))
    results = []
    try:
        for round_ in range(rounds + 1):  # the first round warms up (connections, code paths)
            remaining = calls

            async def caller(n: int) -> None:
                nonlocal remaining
                headers = {"authorization": f"Bearer caller-{n}"}
                i = n
                while remaining > 0:
                    remaining -= 1
                    i += 1
                    path = paths[i % len(paths)]
                    if typed:  # a session per call, as a request has
                        team = await client.session(headers).get_team(path.rsplit("/", 1)[1])
                        assert team.id, team
                        continue
                    response = await client.request("GET", path, headers=headers)
                    assert response.status == 200, response.status

            cpu = time.process_time()
            await asyncio.gather(*(caller(n) for n in range(concurrency)))
            if round_:
                results.append(1e6 * (time.process_time() - cpu) / calls)
    finally:
        await client.aclose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--typed", action="store_true", help="each call through session.get_team")
    parser.add_argument("--root", default=str(BENCH.parent), help="the checkout whose app/ is measured")
    args = parser.parse_args()
    sys.path.insert(0, str(BENCH))
    import run  # the seeding of the main harness

    port = free_port()
    cmd = [run.PYTHON, str(BENCH / "upstream.py"), "--host", "127.0.0.1", "--port", str(port)]
    upstream = subprocess.Popen(
        pinned("1", cmd), cwd=BENCH.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base + "/health")
        seed = run.seed_upstream(base)
        run.http("POST", base + "/__bench/usage/moving")
        paths = [f"/api/governance/teams/{tid}" for tid in seed["team_ids"]]
        sys.path.insert(0, args.root)
        os.sched_setaffinity(0, {0})
        import uvloop

        results = uvloop.run(measure(base, paths, args.calls, args.concurrency, args.rounds, args.typed))
        spread = f"{min(results):.1f}-{max(results):.1f}"
        print(
            f"{args.root}{' (typed)' if args.typed else ''}: {statistics.median(results):.1f} us CPU per call "
            f"({spread}), "
            f"{args.rounds} x {args.calls} calls at concurrency {args.concurrency}"
        )
    finally:
        upstream.terminate()
        upstream.wait(timeout=30)


if __name__ == "__main__":
    main()
