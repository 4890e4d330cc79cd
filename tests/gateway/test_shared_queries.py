"""Identical queries in flight share one execution and its answer; nothing else ever does."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import httpx
import orjson
import pytest

from app.bifrost.coalesce import ReadCoalescer
from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.schema.caller import Caller, CallerKind
from app.settings import Settings
from app.web import create_app
from app.web.app import bifrost_client_of
from app.web.shared_queries import query_key
from tests.gateway.guarded import ADMIN_KEY, BFF_KEY, KEYS
from tests.gateway.raw_asgi import LeavingClient, graphql_scope
from tests.gateway.test_dashboard_calls import seed_data
from tests.gateway.test_read_coalescing import (
    CREATE,
    DASHBOARD,
    LIST_KEYS,
    LIST_TEAMS,
    TEAMS,
    Gate,
    hold_lists,
    until,
)
from tests.gateway.test_read_coalescing import (
    KEYS as KEYS_PATH,
)

TEAM = "query Team($id: ID!) { team(id: $id) { id name } }"


class Shared:
    """A gateway over a gated embedded upstream, with its query and read coalescers at hand."""

    def __init__(self, gate: Gate, app: Any, http: httpx.AsyncClient) -> None:
        self.gate = gate
        self.app = app
        self.http = http
        client = bifrost_client_of(app)
        self.reads = client.reads
        others = [coalescer for coalescer in client.periods if coalescer is not client.reads]
        self.queries: ReadCoalescer | None = others[0] if others else None

    async def post(self, query: str, variables: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.http.post("/graphql", json={"query": query, "variables": variables}, **kwargs)

    def spawn(self, query: str, n: int, variables: Any = None, **kwargs: Any) -> list[asyncio.Task[httpx.Response]]:
        return [asyncio.create_task(self.post(query, variables, **kwargs)) for _ in range(n)]

    async def until_following(self, n: int) -> None:
        queries = self.queries
        assert queries is not None
        await until(lambda: queries.waiting() == n)

    def shared_total(self, metrics: str) -> float:
        match = re.search(r"^gateway_shared_queries_total (\S+)$", metrics, re.MULTILINE)
        return float(match.group(1)) if match else 0.0


async def make_shared(**settings: Any) -> Shared:
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    await seed_data(upstream, 10)
    gate = Gate(upstream)
    app = create_app(
        Settings(bifrost_url="http://bifrost.internal", bifrost_api_generation="current", **settings), transport=gate
    )
    return Shared(gate, app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw"))


@pytest.fixture
async def shared() -> Any:
    s = await make_shared()
    yield s
    await s.http.aclose()


async def test_identical_dashboards_in_flight_run_once_and_get_the_same_answer(
    shared: Shared, caplog: pytest.LogCaptureFixture
) -> None:
    reference = (await shared.post(DASHBOARD)).json()
    assert "errors" not in reference and reference["data"]["teams"]["totalCount"] == 10
    before = shared.shared_total((await shared.http.get("/metrics")).text)
    shared.gate.sent.clear()
    shared.gate.hold = hold_lists

    caplog.set_level(logging.INFO, "app.request")
    tasks = shared.spawn(DASHBOARD, 12)
    await shared.gate.until_held(1)
    await shared.until_following(11)  # the others wait for the first one's answer, not for its reads
    assert shared.reads is not None and shared.reads.waiting() == 0
    shared.gate.release(LIST_TEAMS, LIST_KEYS)
    responses = await asyncio.gather(*tasks)

    assert [r.status_code for r in responses] == [200] * 12
    assert all(r.json() == reference for r in responses)
    assert len({r.headers["x-request-id"] for r in responses}) == 12  # each answer is its own request's
    assert shared.gate.count("GET", TEAMS) == 1 and shared.gate.count("GET", KEYS_PATH) == 1
    assert shared.shared_total((await shared.http.get("/metrics")).text) == before + 11
    lines = [r for r in caplog.records if r.getMessage() == "request"]
    assert sorted((r.shared, r.upstream_calls) for r in lines) == [(False, 2)] + [(True, 0)] * 11  # type: ignore[attr-defined]
    assert len(shared.queries or []) == 0  # nothing kept once answered


async def test_different_credentials_variables_media_or_cost_never_share(shared: Shared) -> None:
    await shared.post(DASHBOARD)
    shared.gate.hold = hold_lists
    graphql_response = {"accept": "application/graphql-response+json"}
    tasks = [
        *shared.spawn(DASHBOARD, 1, headers={"authorization": "Bearer alice"}),
        *shared.spawn(DASHBOARD, 1, headers={"authorization": "Bearer bob"}),
        *shared.spawn(DASHBOARD, 1, headers={"cookie": "token=carol-session"}),
        *shared.spawn(DASHBOARD, 1, headers=graphql_response),
        *shared.spawn(DASHBOARD, 1, headers={"x-query-cost": "1"}),
        *shared.spawn(DASHBOARD, 1),
    ]
    # Six executions: four team pages on their way (three credentials, and no credentials), the last three
    # executions share the uncredentialed read; none waits for another's answer.
    await shared.gate.until_held(4)
    await until(lambda: shared.reads is not None and shared.reads.waiting() == 2)
    assert shared.queries is not None and shared.queries.waiting() == 0
    shared.gate.release()
    responses = await asyncio.gather(*tasks)
    assert all(r.status_code == 200 and "errors" not in r.json() for r in responses)
    assert "extensions" in responses[4].json() and "extensions" not in responses[5].json()
    assert responses[3].headers["content-type"].startswith("application/graphql-response+json")
    sent = sorted(str(auth) for method, path, auth in shared.gate.sent if (method, path) == ("GET", TEAMS))
    assert sent.count("Bearer alice") == 1 and sent.count("Bearer bob") == 1


async def test_the_same_variables_in_another_order_share_and_other_values_do_not(shared: Shared) -> None:
    ids = [edge["node"]["id"] for edge in (await shared.post(DASHBOARD)).json()["data"]["teams"]["edges"]]
    shared.gate.hold = lambda request: request.method == "GET" and request.url.path.startswith(TEAMS + "/")
    one = orjson.loads(b'{"id": "%s", "unused": {"a": 1, "b": 2}}' % ids[0].encode())
    same = orjson.loads(b'{"unused": {"b": 2, "a": 1}, "id": "%s"}' % ids[0].encode())
    other = {"id": ids[1]}
    tasks = [*shared.spawn(TEAM, 1, one), *shared.spawn(TEAM, 1, same), *shared.spawn(TEAM, 1, other)]
    await shared.until_following(1)
    await until(lambda: sum(1 for m, p, _ in shared.gate.sent if m == "GET" and p.startswith(TEAMS + "/")) == 2)
    shared.gate.release(f"GET {TEAMS}/{ids[0]}", f"GET {TEAMS}/{ids[1]}")
    responses = await asyncio.gather(*tasks)
    names = [r.json()["data"]["team"]["id"] for r in responses]
    assert names == [ids[0], ids[0], ids[1]]


async def test_two_gateway_keys_never_share_an_answer_even_with_one_service_credential() -> None:
    shared = await make_shared(gateway_api_keys=KEYS, bifrost_api_token="service-token-0123456789")
    try:
        shared.gate.hold = hold_lists
        tasks = [
            *shared.spawn(DASHBOARD, 1, headers={"x-gateway-key": BFF_KEY}),
            *shared.spawn(DASHBOARD, 1, headers={"x-gateway-key": ADMIN_KEY}),
        ]
        await shared.gate.until_held(1)
        assert shared.reads is not None
        await until(lambda: shared.reads is not None and shared.reads.waiting() == 1)  # the same upstream read
        assert shared.queries is not None and shared.queries.waiting() == 0  # but two executions
        shared.gate.release()
        responses = await asyncio.gather(*tasks)
        assert [r.status_code for r in responses] == [200, 200]
    finally:
        await shared.http.aclose()


def test_key_holders_with_different_keys_have_different_query_keys() -> None:
    one = Caller(CallerKind.VIRTUAL_KEY, virtual_key="sk-bf-one")
    two = Caller(CallerKind.VIRTUAL_KEY, virtual_key="sk-bf-two")
    assert one == two  # the caller's equality leaves the key out ...
    key = ("{ myVirtualKey { name } }", None, None)
    assert query_key(*key, one, {}, "application/json", False) != query_key(*key, two, {}, "application/json", False)
    assert query_key(*key, one, {}, "application/json", False) == query_key(
        *key, Caller(CallerKind.VIRTUAL_KEY, virtual_key="sk-bf-one"), {}, "application/json", False
    )


async def test_a_query_that_starts_after_a_write_does_not_join_one_sent_before_it(shared: Shared) -> None:
    shared.gate.hold = hold_lists
    early = shared.spawn(DASHBOARD, 1)
    await shared.gate.until_held(1)
    created = await shared.post(CREATE, {"name": "written-while-reading"})
    assert created.json()["data"]["createTeam"]["team"]["name"] == "written-while-reading"
    late = shared.spawn(DASHBOARD, 1)
    await shared.gate.until_held(2)  # its own team page: it did not join the earlier execution
    assert shared.queries is not None and shared.queries.waiting() == 0
    shared.gate.release()
    early_answer, late_answer = await asyncio.gather(*early, *late)
    late_names = [e["node"]["name"] for e in late_answer.json()["data"]["teams"]["edges"]]
    assert "written-while-reading" in late_names
    assert early_answer.status_code == 200


async def test_mutations_are_never_shared(shared: Shared) -> None:
    shared.gate.hold = lambda request: request.method == "POST"
    tasks = shared.spawn(CREATE, 2, {"name": "twice"})
    await shared.gate.until_held(2, f"POST {TEAMS}")
    shared.gate.release()
    responses = await asyncio.gather(*tasks)
    assert shared.gate.count("POST", TEAMS) == 2  # each sent its own write
    answers = [r.json()["data"]["createTeam"] for r in responses]
    assert sum(answer["team"] is not None for answer in answers) == 1  # Bifrost took the first ...
    assert sum(bool(answer["userErrors"]) for answer in answers) == 1  # ... and refused the second name


async def test_an_upstream_failure_is_shared_as_the_same_typed_error(shared: Shared) -> None:
    shared.gate.hold = hold_lists
    shared.gate.answer = lambda request: (
        httpx.Response(500, json={"error": {"message": "db at 10.0.0.7 down"}}) if request.method == "GET" else None
    )
    tasks = shared.spawn(DASHBOARD, 4)
    await shared.gate.until_held(1)
    await shared.until_following(3)
    shared.gate.release()
    responses = await asyncio.gather(*tasks)
    bodies = [r.json() for r in responses]
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["errors"][0]["extensions"]["code"] == "UPSTREAM_ERROR"
    assert "10.0.0.7" not in responses[0].text


async def test_when_the_leading_client_leaves_the_others_still_get_their_answer(shared: Shared) -> None:
    reference = (await shared.post(DASHBOARD)).json()
    shared.gate.hold = hold_lists
    client = LeavingClient(orjson.dumps({"query": DASHBOARD}))
    leader = asyncio.create_task(shared.app(graphql_scope(), client.receive, client.send))
    await shared.gate.until_held(1)
    followers = shared.spawn(DASHBOARD, 3)
    await shared.until_following(3)
    client.leave.set()
    await asyncio.wait_for(leader, 5)
    assert client.messages[0]["status"] == 499
    await shared.gate.until_held(2)  # one of the followers runs it again
    shared.gate.release()
    responses = await asyncio.gather(*followers)
    assert all(r.status_code == 200 and r.json() == reference for r in responses)


async def test_with_coalesce_queries_off_each_query_runs_and_only_reads_are_shared() -> None:
    shared = await make_shared(coalesce_queries=False)
    try:
        assert shared.queries is None
        before = shared.shared_total((await shared.http.get("/metrics")).text)
        shared.gate.hold = hold_lists
        tasks = shared.spawn(DASHBOARD, 3)
        await shared.gate.until_held(1)
        await until(lambda: shared.reads is not None and shared.reads.waiting() == 2)
        shared.gate.release()
        responses = await asyncio.gather(*tasks)
        assert all(r.status_code == 200 for r in responses)
        assert shared.shared_total((await shared.http.get("/metrics")).text) == before
    finally:
        await shared.http.aclose()
