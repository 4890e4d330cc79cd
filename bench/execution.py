#!/usr/bin/env python3
"""Execution and parsing in-process: microseconds of CPU from a prepared document to the result dict.

The upstream is out of the measurement: its answers are recorded once from an embedded server seeded like
``run.py`` (10 customers, 100 teams with a budget, 2 virtual keys each), then handed back by a wire that
only looks them up. Each answer's ``current_usage`` is rewritten per request, as ``run.py``'s "moving"
usage does, so no two answers are alike and the parse memo never hits. The loads follow ``run.py``'s:

* ``lookup``: ``team(id: $id)`` with customer and budgets, rotating over the 100 teams;
* ``create``: ``createTeam(input: $input)`` (the wire answers the POST with a recorded team);
* ``dashboard``: ``teams(first: 100)`` with customer, budgets and virtual keys.

    python bench/execution.py                          # every load, both execution modes
    python bench/execution.py --loads lookup --number 2000 --repeat 7

Prints the best (minimum) of ``--repeat`` rounds of ``--number`` requests each, per load and mode. One
core, a few seconds; run it on an idle machine (or alternate two checkouts) for figures worth comparing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import re
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.bifrost import BifrostClient
from app.bifrost.wire import HttpxWire, UpstreamResponse
from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.generations import generation_named
from app.schema.context import GatewayContext
from app.schema.executor import Executor
from app.schema.limits import Limits
from app.schema.loaders import Loaders
from app.schema.schema import build_schema

LOOKUP = "query Team($id: ID!) { team(id: $id) { id name customer { id name } budgets { id maxLimit } } }"
CREATE = (
    "mutation CreateTeam($input: CreateTeamInput!) { createTeam(input: $input) "
    "{ team { id name } userErrors { field message code } } }"
)
DASHBOARD = (
    "query Dashboard { teams(first: 100) { edges { node { id name customer { id name } "
    "budgets { id maxLimit currentUsage } virtualKeys { id name } } } } }"
)
_USAGE = re.compile(rb'"current_usage":\s*[0-9.eE+-]+')


class CannedWire:
    """Answers every call from ``answers`` (``(method, path, query) -> (status, body)``); usage moves per call."""

    def __init__(self, answers: Mapping[tuple[str, str, tuple[Any, ...]], tuple[int, bytes]]) -> None:
        self.answers = answers
        self.calls = 0

    async def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, str | int] | None,
        max_bytes: int,
    ) -> UpstreamResponse:
        self.calls += 1
        query = tuple(sorted((params or {}).items()))
        status, body = self.answers[(method, path, query)]
        usage = b'"current_usage":%d.%d' % (self.calls % 1000, self.calls % 7)
        return UpstreamResponse(status, _USAGE.sub(usage, body), [], None)

    async def aclose(self) -> None:
        return None


class RecordingWire(HttpxWire):
    """An ``HttpxWire`` that keeps every answer it reads, keyed as ``CannedWire`` looks them up."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        super().__init__(client)
        self.answers: dict[tuple[str, str, tuple[Any, ...]], tuple[int, bytes]] = {}

    async def send(self, method: str, path: str, headers: Any, content: Any, params: Any, max_bytes: int) -> Any:
        response = await super().send(method, path, headers, content, params, max_bytes)
        self.answers[(method, path, tuple(sorted((params or {}).items())))] = (response.status, response.content)
        return response


async def seed(http: httpx.AsyncClient) -> list[str]:
    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await http.post(path, json=body)
        response.raise_for_status()
        return dict(response.json())

    customers = [
        (
            await post(
                "/api/governance/customers",
                {"name": f"c-{i:02d}", "budget": {"max_limit": 1000 + i, "reset_duration": "1M"}},
            )
        )["customer"]["id"]
        for i in range(10)
    ]
    teams = []
    for i in range(100):
        budget = {"max_limit": 100 + i, "reset_duration": "1M"}
        body = {"name": f"bench-team-{i:03d}", "customer_id": customers[i % 10], "budgets": [budget], "budget": budget}
        team = (await post("/api/governance/teams", body))["team"]
        teams.append(team["id"])
        for k in range(2):
            await post("/api/governance/virtual-keys", {"name": f"bench-key-{i:03d}-{k}", "team_id": team["id"]})
    return teams


def request(executor: Executor, client: BifrostClient, document: str, variables: dict[str, Any] | None) -> Any:
    prepared = executor.prepare(document, None)
    assert not prepared.errors, prepared.errors
    session = client.session({"authorization": "Bearer bench"}, max_calls=200, max_bytes=64 * 1024 * 1024)
    context = GatewayContext(bifrost=session, loaders=Loaders(session, 10))
    return executor.execute(prepared, variables=variables, context=context, operation_name=None)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", default="lookup,create,dashboard")
    parser.add_argument("--modes", default="compiled,graphql-core")
    parser.add_argument("--number", type=int, default=1000, help="requests per round (dashboard: a tenth)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (the best is reported)")
    args = parser.parse_args()

    generation = generation_named("current")
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    raw = httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream), base_url="http://bifrost")
    teams = await seed(raw)
    recorder = RecordingWire(raw)
    recording = BifrostClient(recorder, generation=generation)
    schema = build_schema()
    limits = Limits(introspection=False)
    executors = {
        "compiled": Executor(schema, limits, hide_suggestions=True, compiled=True),
        "graphql-core": Executor(schema, limits, hide_suggestions=True, compiled=False),
    }
    loads: dict[str, tuple[str, Any]] = {
        "lookup": (LOOKUP, lambda n: {"id": teams[n % len(teams)]}),
        "create": (CREATE, lambda n: {"input": {"name": f"bench-new-{n}"}}),
        "dashboard": (DASHBOARD, lambda n: None),
    }
    # Record: every team once, one create, one dashboard.
    for n in range(len(teams)):
        await request(executors["compiled"], recording, LOOKUP, {"id": teams[n]})
    await request(executors["compiled"], recording, CREATE, {"input": {"name": "bench-new-recorded"}})
    await request(executors["compiled"], recording, DASHBOARD, None)
    answers = dict(recorder.answers)
    canned = CannedWire(answers)
    client = BifrostClient(canned, generation=generation)

    # As the served app does (app/web/asgi.py): start-up objects frozen, young collections every 200k objects.
    gc.collect()
    gc.freeze()
    gc.set_threshold(200_000, 10, 10)
    for load in args.loads.split(","):
        document, variables = loads[load]
        number = max(1, args.number // 10) if load == "dashboard" else args.number
        for mode in args.modes.split(","):
            executor = executors[mode]
            first = await request(executor, client, document, variables(0))
            assert not first.errors, first.errors
            best = float("inf")
            for _ in range(args.repeat):
                started = time.process_time()
                for n in range(number):
                    await request(executor, client, document, variables(n))
                best = min(best, (time.process_time() - started) / number)
            print(f"{load:10s} {mode:13s} {best * 1e6:8.1f} us CPU per request (best of {args.repeat} x {number})")


if __name__ == "__main__":
    asyncio.run(main())
