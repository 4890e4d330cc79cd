#!/usr/bin/env python3
"""The embedded server's route lookup: nanoseconds per ``Router.resolve`` for each form of path.

    python bench/router_lookup.py                  # v2 routes, 200k lookups per path, best of 5
    python bench/router_lookup.py --number 50000   # shorter

The exact and ``prefix/{id}`` forms are the benchmarks' hot path (two dict probes); templates with several
parameters are tried only when both miss, and a path no route has pays for all three. In-process, one core,
a few seconds; run it on an idle machine for figures worth comparing.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.embedded_bifrost.errors import ApiError
from app.embedded_bifrost.routes import Router
from app.generations import V2

PATHS = [
    ("exact", "GET", "/api/governance/teams"),
    ("prefix/{id}", "GET", "/api/governance/teams/0b6c8e1a-2f4d-4e5b-9c7a-1d2e3f4a5b01"),
    ("template", "PUT", "/api/governance/virtual-keys/vk-1/budgets/b-1/override"),
    ("no route", "GET", "/api/governance/nothing/here/at/all"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=200_000, help="lookups per timing")
    parser.add_argument("--repeat", type=int, default=5, help="timings per path (the best is reported)")
    args = parser.parse_args()
    router = Router(V2)

    def lookup(method: str, path: str) -> None:
        try:
            router.resolve(method, path)
        except ApiError:
            pass

    for form, method, path in PATHS:
        best = min(timeit.repeat(lambda m=method, p=path: lookup(m, p), number=args.number, repeat=args.repeat))
        print(f"{form:12} {best / args.number * 1e9:7.0f} ns  {method} {path}")


if __name__ == "__main__":
    main()
