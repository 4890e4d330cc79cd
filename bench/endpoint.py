#!/usr/bin/env python3
"""The gateway's own CPU per request, in-process: the ASGI app from the edge to the answer, no sockets.

``run.py`` measures the gateway as users run it, where the HTTP server, the upstream client and the kernel
share the core with our code; ``execution.py`` measures execution alone. This one sits between them: each
request goes through the whole ASGI application (``create_app``: edge dispatch, caller policy, document
cache, shared queries, execution, metrics, the response), under uvloop, with the garbage collector set as
the served app sets it, while the upstream is a wire that hands back a recorded answer (``current_usage``
moving per call, so the parse memo never hits). What it leaves out is what the other two measure.

* ``lookup``: ``team(id: $id)`` with customer and budgets, ids rotating over 100 teams, one bearer token;
* ``lookup-browsers``: the same with a token per client;
* ``create``: ``createTeam(input: $input)``;
* ``dashboard``: ``run.py``'s dashboard document (100 teams with customer, budgets and virtual keys) over the
  two lists the bench upstream answers once seeded as ``run.py`` seeds it, recorded from the embedded server of
  the bench's generation at start: the team list with ``current_usage`` moving per call (the parse memo never
  hits), the virtual-key list the same every call (it hits), as ``dashboard-bff`` in ``run.py``.

    python bench/endpoint.py                                 # every load, 3 rounds of 3,000 requests
    python bench/endpoint.py --loads dashboard --number 600 --rounds 5
    python bench/endpoint.py --loads lookup --profile tottime   # and a cProfile of one more round
    python bench/endpoint.py --plain-asgi                    # as under an ASGI server without the disconnect watch

Each request's scope carries the disconnect watch the gateway's own HTTP server puts there
(``app/http_limits.py``), so no task waits on ``receive()`` for it; ``--plain-asgi`` leaves it out.

Prints the best (minimum) of ``--rounds`` per load: microseconds of CPU per request at ``--concurrency``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("GATEWAY_ENV", "production")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("BIFROST_URL", "http://127.0.0.1:9")  # never called: the wire is replaced below
os.environ.setdefault("BIFROST_API_GENERATION", "v2")

import orjson
import run  # the dashboard document and the seeding of the main harness
import uvloop

from app.bifrost.wire import UpstreamResponse
from app.embedded_bifrost import create_app as create_upstream
from app.http_limits import DISCONNECT_WATCH, DisconnectWatch
from app.settings import load_settings
from app.web.app import bifrost_client_of, create_app

_STAMP = b'"2026-11-30T04:50:03.235996994Z"'
TEAM = (
    b'{"team":{"id":"67a235df-ee93-401d-bf2b-8b6ffa601958","name":"bench-team-000",'
    b'"customer_id":"c3daff1b-f37c-4fbe-af0c-dc0f5a5edac2","customer":{"id":"c3daff1b-f37c-4fbe-af0c-dc0f5a5edac2",'
    b'"name":"bench-customer-00","budget_id":"02a66195-af66-478e-a528-40e54b7f81c7","teams":null,"virtual_keys":null,'
    b'"config_hash":"","created_at":' + _STAMP + b',"updated_at":' + _STAMP + b'},"budgets":[{'
    b'"id":"2f820697-951c-4cdc-ab81-574e493b6102","max_limit":100.0,"reset_duration":"1M","last_reset":' + _STAMP + b","
    b'"current_usage":USAGE,"calendar_aligned":false,"team_id":"67a235df-ee93-401d-bf2b-8b6ffa601958",'
    b'"config_hash":"","created_at":' + _STAMP + b',"updated_at":' + _STAMP + b'}],"profile":null,"config":null,'
    b'"claims":null,"config_hash":"","created_at":' + _STAMP + b',"updated_at":' + _STAMP + b',"virtual_key_count":2}}'
)
LOOKUP = "query Team($id: ID!) { team(id: $id) { id name customer { id name } budgets { id maxLimit } } }"
CREATE = "mutation CreateTeam($input: CreateTeamInput!) { createTeam(input: $input) { team { id name } } }"


class CannedWire:
    """Answers every call with the recorded team (a GET or the create's POST), its usage moving per call."""

    def __init__(self) -> None:
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
        await asyncio.sleep(0)  # a real wire gives the loop back at least once
        return UpstreamResponse(200, self.answer(path), [], None)

    def answer(self, path: str) -> bytes:
        return TEAM.replace(b"USAGE", b"%d.5" % self.calls)

    async def aclose(self) -> None:
        return None


DASHBOARD_GENERATION = run.UPSTREAM_CMD[run.UPSTREAM_CMD.index("--generation") + 1]
_SEEDED_USAGE = b'"current_usage":0.0'


def seeded_lists(generation: str) -> dict[str, bytes]:
    """The team list (``limit=100``) and the virtual-key list of an embedded server seeded as ``run.py`` seeds."""
    upstream = create_upstream(database=":memory:", generation=generation)

    def call(method: str, path: str, query: bytes = b"", body: Any = None) -> bytes:
        content = b"" if body is None else orjson.dumps(body)
        status, answer, _ = upstream.respond(method, path.encode(), path, query, content, [])
        if status != 200:
            raise RuntimeError(f"seeding {method} {path} answered {status}")
        return answer

    customers = [
        orjson.loads(
            call(
                "POST",
                "/api/governance/customers",
                body={"name": f"bench-customer-{i:02d}", "budget": {"max_limit": 1000 + i, "reset_duration": "1M"}},
            )
        )["customer"]["id"]
        for i in range(run.SEED_CUSTOMERS)
    ]
    for i in range(run.SEED_TEAMS):
        budget = {"max_limit": 100 + i, "reset_duration": "1M"}
        team = orjson.loads(
            call(
                "POST",
                "/api/governance/teams",
                body={
                    "name": f"bench-team-{i:03d}",
                    "customer_id": customers[i % run.SEED_CUSTOMERS],
                    "budgets": [budget],
                    "budget": budget,
                },
            )
        )["team"]
        for k in range(run.KEYS_PER_TEAM):
            call("POST", "/api/governance/virtual-keys", body={"name": f"bench-key-{i:03d}-{k}", "team_id": team["id"]})
    lists = {
        "/api/governance/teams": call("GET", "/api/governance/teams", b"limit=100"),
        "/api/governance/virtual-keys": call("GET", "/api/governance/virtual-keys"),
    }
    upstream.close()
    return lists


class DashboardWire(CannedWire):
    """Answers the dashboard's two list reads as the bench upstream does with usage moving (``run.py``)."""

    def __init__(self, lists: dict[str, bytes]) -> None:
        super().__init__()
        self.lists = lists
        # Made once, not per call: rewriting 90 KB is the upstream's work, which this bench leaves out.
        teams = lists["/api/governance/teams"]
        self.moving = [teams.replace(_SEEDED_USAGE, b'"current_usage":%d.5' % n) for n in range(1, 65)]

    def answer(self, path: str) -> bytes:
        answer = self.lists[path]  # any other read is a change in the dashboard's call plan: fail loudly
        if path.endswith("/teams"):  # never the body of the call before: the parse memo misses, as in run.py
            answer = self.moving[self.calls % len(self.moving)]
        return answer


class Load:
    """The bodies and headers one load sends, in turn."""

    def __init__(self, name: str) -> None:
        self.n = 0
        if name == "dashboard":
            self.bodies = [orjson.dumps({"query": run.OURS_DASHBOARD})]
        elif name == "create":
            self.bodies = [
                orjson.dumps({"query": CREATE, "variables": {"input": {"name": f"t-{i}"}}}) for i in range(100)
            ]
        else:
            ids = [f"67a235df-ee93-401d-bf2b-8b6ffa6{i:05d}" for i in range(100)]
            self.bodies = [orjson.dumps({"query": LOOKUP, "variables": {"id": team}}) for team in ids]
        # Browsers: a token per client, so no two requests share a read in flight (dashboard-browsers in run.py).
        tokens = {"lookup-browsers": 20, "dashboard": 64}.get(name, 1)
        self.tokens = [f"Bearer bench-token-{i}".encode() for i in range(tokens)]

    def next(self) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        self.n += 1
        body = self.bodies[self.n % len(self.bodies)]
        headers = [
            (b"host", b"127.0.0.1:8080"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", self.tokens[self.n % len(self.tokens)]),
        ]
        return body, headers


async def one(app: Any, load: Load, served: bool = True) -> bytes:
    body, headers = load.next()
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 5000),
        "scheme": "http",
        "method": "POST",
        "root_path": "",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "headers": headers,
        "state": {},
    }
    if served:  # as the gateway's HTTP server does: it tells the app when the client leaves (app/http_limits.py)
        scope["extensions"] = {DISCONNECT_WATCH: DisconnectWatch()}
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Future()  # the client stays until answered
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 200, sent
    assert b'"errors"' not in sent[1]["body"], sent[1]["body"]
    return bytes(sent[1]["body"])


async def rounds(app: Any, load: Load, number: int, concurrency: int, served: bool) -> float:
    async def client(count: int) -> None:
        for _ in range(count):
            await one(app, load, served)

    started = time.process_time()
    await asyncio.gather(*(client(number // concurrency) for _ in range(concurrency)))
    return (time.process_time() - started) / (number // concurrency * concurrency)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", default="lookup,lookup-browsers,create,dashboard")
    parser.add_argument("--number", type=int, default=3000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--plain-asgi",
        action="store_true",
        help="no disconnect watch in the scope, as under another ASGI server (a task per request waits on receive)",
    )
    parser.add_argument("--profile", metavar="SORT", help="cProfile one more round, sorted by SORT (tottime ...)")
    args = parser.parse_args()

    apps: dict[bool, tuple[Any, CannedWire | DashboardWire]] = {}
    for name in args.loads.split(","):
        dashboard = name == "dashboard"
        if dashboard not in apps:  # the dashboard's gateway speaks the bench upstream's generation, as in run.py
            settings = load_settings(bifrost_api_generation=DASHBOARD_GENERATION) if dashboard else load_settings()
            wire: CannedWire | DashboardWire = (
                DashboardWire(seeded_lists(DASHBOARD_GENERATION)) if dashboard else CannedWire()
            )
            apps[dashboard] = (create_app(settings), wire)
            bifrost_client_of(apps[dashboard][0]).wire = wire
        app, wire = apps[dashboard]
        load = Load(name)
        for _ in range(200):
            answer = await one(app, load, not args.plain_asgi)  # warm: documents prepared, metric series made
        if dashboard:  # the whole graph came back, or the load measures less than the bench asks for
            edges = orjson.loads(answer)["data"]["teams"]["edges"]
            keys = sum(len(edge["node"]["virtualKeys"]) for edge in edges)
            assert (len(edges), keys) == (run.SEED_TEAMS, run.SEED_TEAMS * run.KEYS_PER_TEAM), (len(edges), keys)
        # As the served app does (app/web/asgi.py): start-up objects frozen, young collections every 200k objects.
        gc.collect()
        gc.freeze()
        gc.set_threshold(200_000, 10, 10)
        calls = wire.calls
        best = min(
            [await rounds(app, load, args.number, args.concurrency, not args.plain_asgi) for _ in range(args.rounds)]
        )
        per = (wire.calls - calls) / (args.rounds * (args.number // args.concurrency * args.concurrency))
        print(f"{name:16s} {best * 1e6:7.1f} us CPU per request (best of {args.rounds}; {per:.2f} upstream calls each)")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            await rounds(app, load, args.number, args.concurrency, not args.plain_asgi)
            profile.disable()
            pstats.Stats(profile).sort_stats(args.profile).print_stats(int(os.environ.get("PROFILE_LINES", "40")))


if __name__ == "__main__":
    uvloop.run(main())
