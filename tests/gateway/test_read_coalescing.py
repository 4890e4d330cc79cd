"""Identical reads in flight at once share one upstream call, and never across credentials or writes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from app.bifrost.coalesce import ReadCoalescer
from app.bifrost.errors import BifrostServerError
from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.settings import Settings
from app.web import create_app
from app.web.app import bifrost_client_of
from tests.gateway.arrange import upstream_error
from tests.gateway.test_dashboard_calls import seed_data

TEAMS = "/api/governance/teams"
KEYS = "/api/governance/virtual-keys"
LIST_TEAMS = f"GET {TEAMS}"
LIST_KEYS = f"GET {KEYS}"
CREATE_TEAM = f"POST {TEAMS}"
DASHBOARD = """
query Dashboard {
  teams(first: 100) {
    totalCount
    edges { node { id name customer { id name } budgets { id maxLimit } virtualKeys { id name } } }
  }
}
"""
TEAM_NAMES = "{ teams(first: 100) { totalCount edges { node { name } } } }"
CREATE = """
mutation Create($name: String!) {
  createTeam(input: {name: $name}) { team { id name } userErrors { field message code } }
}
"""


class Gate(httpx.AsyncBaseTransport):
    """The embedded upstream through ASGI; requests for which ``hold`` is true wait until released.

    Held requests are counted and released by ``"METHOD /path"``.
    """

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.hold: Callable[[httpx.Request], bool] = lambda request: False
        self.opened: dict[str, asyncio.Event] = {}
        self.held: dict[str, int] = {}
        self.changed = asyncio.Event()
        self.sent: list[tuple[str, str, str | None]] = []
        self.answer: Callable[[httpx.Request], httpx.Response | None] = lambda request: None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path, request.headers.get("authorization")))
        if self.hold(request):
            key = f"{request.method} {request.url.path}"
            self.held[key] = self.held.get(key, 0) + 1
            self.changed.set()
            await self.opened.setdefault(key, asyncio.Event()).wait()
        answer = self.answer(request)
        if answer is not None:
            return answer
        return await self.inner.handle_async_request(request)

    def release(self, *keys: str) -> None:
        for key in keys or (LIST_TEAMS, LIST_KEYS, CREATE_TEAM):
            self.opened.setdefault(key, asyncio.Event()).set()

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p, _ in self.sent if m == method and p == path)

    async def until_held(self, n: int, key: str = LIST_TEAMS) -> None:
        async with asyncio.timeout(5):
            while self.held.get(key, 0) < n:
                self.changed.clear()
                await self.changed.wait()


async def until(condition: Callable[[], bool]) -> None:
    """Yield to the loop until ``condition`` holds (at most 5 s): synchronisation on state, not on time."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 (the coalescer has no event to wait on; each turn lets it move)
            await asyncio.sleep(0)


class Setup:
    def __init__(self, gate: Gate, http: httpx.AsyncClient, reads: ReadCoalescer | None = None) -> None:
        self.gate = gate
        self.http = http
        self.reads = reads

    async def until_waiting(self, n: int) -> None:
        """Until ``n`` callers wait for a read another caller sent."""
        reads = self.reads
        assert reads is not None, "coalescing is off"
        await until(lambda: reads.waiting() == n)

    async def graphql(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables}, **kwargs)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def spawn(self, query: str, n: int, **kwargs: Any) -> list[asyncio.Task[dict[str, Any]]]:
        return [asyncio.create_task(self.graphql(query, **kwargs)) for _ in range(n)]


async def make_setup(teams: int = 10, **settings: Any) -> Setup:
    # Read coalescing alone: identical queries would otherwise share their whole execution
    # (tests/gateway/test_shared_queries.py), and never get as far as the reads.
    settings.setdefault("coalesce_queries", False)
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    await seed_data(upstream, teams)
    gate = Gate(upstream)
    app = create_app(
        Settings(bifrost_url="http://bifrost.internal", bifrost_api_generation="current", **settings), transport=gate
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
    return Setup(gate, http, bifrost_client_of(app).reads)


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    s = await make_setup()
    yield s
    await s.http.aclose()


def hold_lists(request: httpx.Request) -> bool:
    return request.method == "GET" and request.url.path in (TEAMS, KEYS)


def shared_reads(metrics: str, route: str) -> float:
    pattern = rf'^gateway_upstream_shared_reads_total\{{route="{re.escape(route)}"\}} (\S+)$'
    match = re.search(pattern, metrics, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def test_identical_dashboards_in_flight_share_the_two_list_calls(setup: Setup) -> None:
    reference = await setup.graphql(DASHBOARD)  # alone: what each of the concurrent ones must get
    assert "errors" not in reference and reference["data"]["teams"]["totalCount"] == 10
    before = shared_reads((await setup.http.get("/metrics")).text, TEAMS)
    setup.gate.sent.clear()

    setup.gate.hold = hold_lists
    tasks = setup.spawn(DASHBOARD, 12)
    await setup.gate.until_held(1)  # the first dashboard's team page is on its way
    await setup.until_waiting(11)  # every other dashboard waits for it
    setup.gate.release(LIST_TEAMS)
    await setup.gate.until_held(1, LIST_KEYS)  # then the key list, for all the teams of the page
    await setup.until_waiting(11)
    setup.gate.release(LIST_KEYS)
    answers = await asyncio.gather(*tasks)

    assert all(answer == reference for answer in answers)
    assert setup.gate.count("GET", TEAMS) == 1
    assert setup.gate.count("GET", KEYS) == 1
    # Customers come embedded in the team page: nothing else went upstream.
    assert len(setup.gate.sent) == 2
    assert shared_reads((await setup.http.get("/metrics")).text, TEAMS) == before + 11


async def test_callers_with_different_credentials_never_share(setup: Setup) -> None:
    await setup.graphql(TEAM_NAMES)
    setup.gate.sent.clear()
    setup.gate.hold = hold_lists
    tasks = [
        *setup.spawn(TEAM_NAMES, 2, headers={"authorization": "Bearer alice"}),
        *setup.spawn(TEAM_NAMES, 2, headers={"authorization": "Bearer bob"}),
        *setup.spawn(TEAM_NAMES, 2, headers={"cookie": "token=carol-session"}),
    ]
    await setup.gate.until_held(3)
    await setup.until_waiting(3)  # the second caller of each credential waits for the first one's call
    setup.gate.release()
    answers = await asyncio.gather(*tasks)

    assert all("errors" not in answer for answer in answers)
    sent = [auth for method, path, auth in setup.gate.sent if (method, path) == ("GET", TEAMS)]
    assert sorted(map(str, sent)) == ["Bearer alice", "Bearer bob", "None"]  # carol: her cookie, no header


async def test_a_read_after_a_write_never_joins_a_read_sent_before_it(setup: Setup) -> None:
    await setup.graphql(TEAM_NAMES)
    setup.gate.sent.clear()
    setup.gate.hold = lambda request: request.method == "GET" and request.url.path == TEAMS
    [before_write] = setup.spawn(TEAM_NAMES, 1)
    await setup.gate.until_held(1)

    created = await setup.graphql(CREATE, {"name": "written-meanwhile"})
    assert created["data"]["createTeam"]["userErrors"] == []
    [after_write] = setup.spawn(TEAM_NAMES, 1)
    await setup.gate.until_held(2)  # its own call: it did not join the one sent before the write
    setup.gate.release()

    names = [edge["node"]["name"] for edge in (await after_write)["data"]["teams"]["edges"]]
    assert "written-meanwhile" in names
    assert (await before_write)["data"]["teams"]["totalCount"] in (10, 11)
    assert setup.gate.count("GET", TEAMS) == 2


async def test_a_read_that_starts_during_a_write_does_not_join_a_read_sent_before_it(setup: Setup) -> None:
    await setup.graphql(TEAM_NAMES)
    setup.gate.sent.clear()
    setup.gate.hold = lambda request: request.url.path == TEAMS  # reads and the write wait
    [before_write] = setup.spawn(TEAM_NAMES, 1)
    await setup.gate.until_held(1)
    write = asyncio.create_task(setup.graphql(CREATE, {"name": "slow-write"}))
    await setup.gate.until_held(1, CREATE_TEAM)
    [during_write] = setup.spawn(TEAM_NAMES, 1)
    await setup.gate.until_held(2)  # its own call
    setup.gate.release()

    assert (await write)["data"]["createTeam"]["userErrors"] == []
    for read in (before_write, during_write):
        assert (await read)["data"]["teams"]["totalCount"] in (10, 11)
    assert setup.gate.count("GET", TEAMS) == 2


async def test_a_read_after_a_write_never_joins_a_read_sent_while_it_was_on_its_way(setup: Setup) -> None:
    await setup.graphql(TEAM_NAMES)
    setup.gate.sent.clear()
    setup.gate.hold = lambda request: request.url.path == TEAMS
    write = asyncio.create_task(setup.graphql(CREATE, {"name": "slow-write"}))
    await setup.gate.until_held(1, CREATE_TEAM)
    [during_write] = setup.spawn(TEAM_NAMES, 1)
    await setup.gate.until_held(1)
    setup.gate.release(CREATE_TEAM)  # the write lands; the read sent during it is still on its way
    assert (await write)["data"]["createTeam"]["userErrors"] == []
    [after_write] = setup.spawn(TEAM_NAMES, 1)
    await setup.gate.until_held(2)  # its own call
    setup.gate.release()

    assert "slow-write" in [edge["node"]["name"] for edge in (await after_write)["data"]["teams"]["edges"]]
    assert (await during_write)["data"]["teams"]["totalCount"] == 11
    assert setup.gate.count("GET", TEAMS) == 2


async def test_a_shared_failure_reaches_every_caller_as_its_own_typed_error(setup: Setup) -> None:
    await setup.graphql(TEAM_NAMES)
    setup.gate.sent.clear()
    setup.gate.hold = hold_lists
    setup.gate.answer = lambda request: upstream_error(500, "database is locked") if request.url.path == TEAMS else None
    tasks = setup.spawn(TEAM_NAMES, 5)
    await setup.gate.until_held(1)
    await setup.until_waiting(4)
    setup.gate.release()
    answers = await asyncio.gather(*tasks)

    assert setup.gate.count("GET", TEAMS) == 1
    for answer in answers:
        assert answer["data"] is None
        [error] = answer["errors"]
        assert error["extensions"]["code"] == "UPSTREAM_ERROR"
        assert error["path"] == ["teams"]
        assert "traceback" not in str(answer).lower() and "bifrost.internal" not in str(answer)
    setup.gate.answer = lambda request: None
    assert (await setup.graphql(TEAM_NAMES))["data"]["teams"]["totalCount"] == 10  # and it keeps serving


async def test_a_client_that_leaves_does_not_fail_the_ones_that_share_its_call(setup: Setup) -> None:
    await setup.graphql(TEAM_NAMES)
    setup.gate.sent.clear()
    setup.gate.hold = hold_lists
    [leader] = setup.spawn(TEAM_NAMES, 1)
    await setup.gate.until_held(1)
    followers = setup.spawn(TEAM_NAMES, 3)
    await setup.until_waiting(3)
    leader.cancel()  # the first caller's client went away
    await setup.gate.until_held(2)  # one follower sends the call again, and the other two wait for it
    await setup.until_waiting(2)
    setup.gate.release()
    answers = await asyncio.gather(*followers)

    assert all(answer["data"]["teams"]["totalCount"] == 10 for answer in answers)
    assert setup.gate.count("GET", TEAMS) == 2  # the abandoned call, and one sent again for the others


async def test_coalescing_can_be_switched_off() -> None:
    s = await make_setup(upstream_coalesce_reads=False)
    try:
        await s.graphql(TEAM_NAMES)
        s.gate.sent.clear()
        s.gate.hold = hold_lists
        tasks = s.spawn(TEAM_NAMES, 4)
        await s.gate.until_held(4)
        s.gate.release()
        assert all("errors" not in answer for answer in await asyncio.gather(*tasks))
        assert s.gate.count("GET", TEAMS) == 4
    finally:
        await s.http.aclose()


# The coalescer alone ---------------------------------------------------------------------------------


async def test_waiters_get_their_own_copy_of_a_failure() -> None:
    reads = ReadCoalescer()
    started = asyncio.Event()
    gate = asyncio.Event()

    async def fail() -> str:
        started.set()
        await gate.wait()
        raise BifrostServerError(500, "boom")

    leader = asyncio.create_task(reads.run("k", fail))
    await started.wait()
    waiters = [asyncio.create_task(reads.run("k", fail)) for _ in range(3)]
    await until(lambda: reads.waiting() == 3)
    gate.set()
    results = await asyncio.gather(leader, *waiters, return_exceptions=True)

    assert all(isinstance(r, BifrostServerError) and r.status == 500 and r.message == "boom" for r in results)
    assert len({id(r) for r in results}) == 4
    assert all(r.__traceback__ is not None for r in results)  # raised in each task, from its own frames
    assert len(reads) == 0


class GatedFetch:
    """A fetch for the coalescer: counts its calls, waits for ``gate``, answers ``answer(call number)``."""

    def __init__(self, answer: Callable[[int], Any] = lambda n: "answer") -> None:
        self.gate = asyncio.Event()
        self.sent = 0
        self.answer = answer

    async def __call__(self) -> Any:
        self.sent += 1
        n = self.sent
        await self.gate.wait()
        return self.answer(n)


async def test_a_cancelled_waiter_leaves_the_others_alone() -> None:
    reads = ReadCoalescer()
    fetch = GatedFetch()

    tasks = [asyncio.create_task(reads.run("k", fetch)) for _ in range(4)]
    await until(lambda: reads.waiting() == 3)
    tasks[2].cancel()
    await until(lambda: reads.waiting() == 2)
    fetch.gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)

    assert results[:2] == ["answer", "answer"] and results[3] == "answer"
    assert isinstance(results[2], asyncio.CancelledError)
    assert fetch.sent == 1 and reads.shared == 2 and len(reads) == 0


async def test_a_new_period_starts_new_calls_and_the_old_one_still_lands() -> None:
    reads = ReadCoalescer()
    fetch = GatedFetch(lambda n: n - 1)

    first = [asyncio.create_task(reads.run("k", fetch)) for _ in range(2)]
    await until(lambda: fetch.sent == 1 and reads.waiting() == 1)
    reads.new_period()
    second = [asyncio.create_task(reads.run("k", fetch)) for _ in range(2)]
    await until(lambda: fetch.sent == 2 and reads.waiting() == 1)
    fetch.gate.set()

    assert await asyncio.gather(*first) == [0, 0]
    assert await asyncio.gather(*second) == [1, 1]
    assert len(reads) == 0


async def test_different_keys_never_share() -> None:
    reads = ReadCoalescer()
    gate = asyncio.Event()

    async def echo(value: str) -> str:
        await gate.wait()
        return value

    tasks = [asyncio.create_task(reads.run(k, lambda k=k: echo(k))) for k in ("a", "b", "a", "c")]
    await until(lambda: len(reads) == 3 and reads.waiting() == 1)  # all four in flight: one per key, one joined
    gate.set()
    results = await asyncio.gather(*tasks)
    assert results == ["a", "b", "a", "c"]
    assert reads.shared == 1


class _Stopping(BaseException):
    """Like KeyboardInterrupt or SystemExit: not an Exception, not a cancellation."""


def _stop_first(n: int) -> str:
    if n == 1:
        raise _Stopping
    return "answer"


async def test_a_call_stopped_by_a_base_exception_leaves_nothing_behind() -> None:
    reads = ReadCoalescer()
    fetch = GatedFetch(_stop_first)

    leader = asyncio.create_task(reads.run("k", fetch))
    await until(lambda: fetch.sent == 1)
    waiter = asyncio.create_task(reads.run("k", fetch))
    await until(lambda: reads.waiting() == 1)
    fetch.gate.set()
    with pytest.raises(_Stopping):
        await leader
    assert await waiter == "answer"  # it sent the call again instead of waiting forever
    assert fetch.sent == 2 and len(reads) == 0


async def test_a_read_with_nothing_in_flight_gets_its_arguments_and_leaves_nothing_behind() -> None:
    """The miss path (every read of a load rotating over ids): the fetch called with its own arguments."""
    reads = ReadCoalescer()

    async def fetch(path: str, attempt: int) -> tuple[str, int]:
        return path, attempt

    assert await reads.run(("GET", "/teams/1"), fetch, "/teams/1", 2) == ("/teams/1", 2)
    assert await reads.run(("GET", "/teams/2"), fetch, "/teams/2", 3) == ("/teams/2", 3)
    assert len(reads) == 0 and reads.shared == 0 and reads.waiting() == 0


async def test_a_call_landing_after_a_new_period_leaves_the_newer_call_to_be_joined() -> None:
    reads = ReadCoalescer()
    gates = [asyncio.Event(), asyncio.Event()]
    sent: list[int] = []

    async def fetch(call: int) -> str:
        sent.append(call)
        await gates[call].wait()
        return f"answer {call}"

    old = asyncio.create_task(reads.run("k", fetch, 0))
    await until(lambda: sent == [0])
    reads.new_period()
    new = asyncio.create_task(reads.run("k", fetch, 1))
    await until(lambda: sent == [0, 1])
    gates[0].set()
    assert await old == "answer 0"
    joined = asyncio.create_task(reads.run("k", fetch, 2))  # the newer call is still in flight: joined, not sent
    await until(lambda: reads.waiting() == 1)
    gates[1].set()
    assert await asyncio.gather(new, joined) == ["answer 1", "answer 1"]
    assert sent == [0, 1] and reads.shared == 1 and len(reads) == 0
