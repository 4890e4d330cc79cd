"""What read coalescing costs when nothing is shared: the client's read path with it on and off, measured.

Lookups that rotate over many ids (a dashboard per user, 100 teams) almost never find an identical read in
flight, so every one of them takes the coalescer's miss path: build the key, register the flight, send,
land it. This measures that path alone, in one process, without sockets: the real ``BifrostClient`` and
``BifrostSession.get_team`` over a wire that answers at once (after yielding to the event loop once, as a
socket read does), so the difference between the modes is the coalescer's own CPU, not noise from a server.
Times are the process's CPU time, so that other work on a shared machine does not count.

Loads, each in rounds alternating the modes (off, on, off, on ...), medians of microseconds per read:
- ``rotating``: batches of ``--concurrency`` concurrent lookups of different ids (100 ids in turn): all misses;
- ``same``: batches of concurrent lookups of one id: one call per batch, the rest shared (for contrast).

Usage: ``.venv/bin/python bench/coalesce_miss.py [--rounds 7] [--reads 20000] [--concurrency 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.bifrost import BifrostClient
from app.bifrost.wire import UpstreamResponse

TEAM_IDS = [str(uuid.UUID(int=i + 1)) for i in range(100)]
HEADERS = {"authorization": "Bearer bench-token"}


def team_answer(team_id: str) -> bytes:
    team = {
        "id": team_id,
        "name": f"team-{team_id[-3:]}",
        "customer_id": None,
        "budget_id": None,
        "rate_limit_id": None,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    return orjson.dumps({"team": team})


class InstantWire:
    """Answers every GET of a team at once, after one trip through the event loop (as a socket read yields)."""

    def __init__(self) -> None:
        self.answers = {f"/api/governance/teams/{team_id}": team_answer(team_id) for team_id in TEAM_IDS}
        self.sent = 0

    async def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, str | int] | None,
        max_bytes: int,
    ) -> UpstreamResponse:
        self.sent += 1
        await asyncio.sleep(0)
        return UpstreamResponse(200, self.answers[path], [], None)

    async def aclose(self) -> None:
        return None


async def per_read(coalesce: bool, rotating: bool, reads: int, concurrency: int) -> tuple[float, float]:
    """Microseconds per read, and upstream calls per read."""
    wire = InstantWire()
    client = BifrostClient(wire, coalesce_reads=coalesce)
    session = client.session(HEADERS)
    batches = reads // concurrency
    ids = TEAM_IDS
    started = time.process_time()
    for batch in range(batches):
        if rotating:
            first = batch * concurrency
            lookups = [session.get_team(ids[(first + i) % len(ids)]) for i in range(concurrency)]
        else:
            lookups = [session.get_team(ids[batch % len(ids)]) for _ in range(concurrency)]
        await asyncio.gather(*lookups)
    elapsed = time.process_time() - started
    done = batches * concurrency
    return elapsed / done * 1e6, wire.sent / done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--reads", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    try:
        import uvloop

        run = uvloop.run
    except ImportError:  # pragma: no cover - the bench runs where the gateway runs
        run = asyncio.run
    print(f"{args.reads} reads per round, batches of {args.concurrency} concurrent lookups, {args.rounds} rounds")
    print(f"{'load':<10} {'coalescing':<11} {'us/read (median)':>17} {'min-max':>14} {'calls/read':>11}")
    for load, rotating in (("rotating", True), ("same", False)):
        timings: dict[bool, list[float]] = {False: [], True: []}
        calls: dict[bool, float] = {}
        run(per_read(True, rotating, args.reads // 10, args.concurrency))  # warm-up: imports, parse memo
        for _ in range(args.rounds):
            for coalesce in (False, True):
                micros, calls[coalesce] = run(per_read(coalesce, rotating, args.reads, args.concurrency))
                timings[coalesce].append(micros)
        for coalesce in (False, True):
            values = timings[coalesce]
            print(
                f"{load:<10} {'on' if coalesce else 'off':<11} {statistics.median(values):>17.2f} "
                f"{min(values):>6.2f}-{max(values):<7.2f} {calls[coalesce]:>11.2f}"
            )
        off, on = statistics.median(timings[False]), statistics.median(timings[True])
        print(f"{load:<10} on - off: {on - off:+.2f} us per read ({(on / off - 1) * 100:+.1f}%)")


if __name__ == "__main__":
    main()
