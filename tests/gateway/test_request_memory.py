"""No reference cycle of a request survives it: what a request fetched is freed by reference counting.

The real gateway application is called as an ASGI server would call it (``scope``, ``receive``, ``send``;
``receive`` hands over the body, then waits until the response is sent and reports the disconnect). The
garbage collector is disabled during the requests, so anything caught in a reference cycle stays in memory;
a collection with ``DEBUG_SAVEALL`` afterwards lists what only the collector could have freed. None of it
may be the gateway's own per-request objects: upstream models, ``Loaders`` and their loaders, the
``GatewayContext``, the Bifrost session and the compiled executor's run state.

httpx's ASGI transport (the way the gateway reaches the embedded upstream in tests) makes cycles of its
own; those are not the gateway's and are not looked at. A control test removes ``Loaders.close`` and shows
that the check does see the cycle it is there to catch.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
import pytest
from graphql.language import Visitor
from strawberry.dataloader import DataLoader

from app.bifrost import BifrostSession
from app.bifrost.models import BifrostModel, Budget, Customer, Team, VirtualKey
from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.schema import compiled as compiled_module
from app.schema.batch_loader import BatchLoader
from app.schema.compiled import CompiledDocument, FieldPlan, ObjectPlan, OperationPlan, TypePlan
from app.schema.context import GatewayContext
from app.schema.loaders import Loaders
from app.settings import Settings
from app.web import create_app
from tests.gateway.arrange import FailingTransport, upstream_error

# Everything the compiled executor's module defines for one run (``_Run``, ``_Deferred`` ...), whatever its
# internals are called; not the plans, which are kept per document, nor exceptions and the directive visitor.
COMPILED_RUN_STATE = tuple(
    kind
    for kind in vars(compiled_module).values()
    if isinstance(kind, type)
    and kind.__module__ == compiled_module.__name__
    and not issubclass(kind, (BaseException, Visitor))
    and kind not in (TypePlan, FieldPlan, ObjectPlan, OperationPlan, CompiledDocument)
)
OUR_TYPES: tuple[type, ...] = (
    Team,
    Customer,
    VirtualKey,
    Budget,
    BifrostModel,
    Loaders,
    GatewayContext,
    DataLoader,
    BatchLoader,
    BifrostSession,
    *COMPILED_RUN_STATE,
)
DASHBOARD = """
query Dashboard {
  teams(first: 100) { edges { node {
    id name customer { id name } budgets { id maxLimit currentUsage } virtualKeys { id name }
  } } }
}
"""
TEAM = "query Team($id: ID!) { team(id: $id) { id name customer { id name teams { name } } budgets { id } } }"
CREATE_TEAM = """
mutation Create($name: String!) {
  createTeam(input: {name: $name, budgets: [{maxLimit: 10, resetDuration: "1d"}]}) {
    team { id name budgets { id } virtualKeys { id } } userErrors { field code }
  }
}
"""
TEAMS = 20
BROKEN_TEAM = "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"


class Served:
    """The gateway application and a way to send it one request as a server would."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = orjson.dumps({"query": query, "variables": variables})
        done = asyncio.Event()
        delivered = False
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                done.set()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"gateway"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("gateway", 80),
        }
        await self.app(scope, receive, send)
        done.set()
        await settle()
        assert sent[0]["status"] == 200, sent
        answer: dict[str, Any] = orjson.loads(b"".join(m.get("body", b"") for m in sent[1:]))
        return answer


async def settle() -> None:
    """Let the tasks a request left behind (its cancelled disconnect watcher) finish."""
    current = asyncio.current_task()
    for _ in range(100):
        if all(task is current or task.done() for task in asyncio.all_tasks()):
            return
        await asyncio.sleep(0)
    raise AssertionError(f"tasks still running: {asyncio.all_tasks()}")


def fail_broken_team(request: httpx.Request) -> httpx.Response | None:
    if request.url.path == f"/api/governance/teams/{BROKEN_TEAM}":
        return upstream_error(500, "database is locked")
    return None


async def seeded_upstream() -> Any:
    """An upstream with TEAMS teams, each with a budget and two virtual keys, some under a customer."""
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream), base_url="http://bifrost") as up:
        customers = []
        for c in range(3):
            answer = await up.post("/api/governance/customers", json={"name": f"customer-{c}"})
            customers.append(answer.json()["customer"]["id"])
        for t in range(TEAMS):
            body: dict[str, Any] = {"name": f"team-{t}", "budgets": [{"max_limit": 100 + t, "reset_duration": "1d"}]}
            if t % 2 == 0:
                body["customer_id"] = customers[t % 3]
            team_id = (await up.post("/api/governance/teams", json=body)).json()["team"]["id"]
            for k in range(2):
                key = {"name": f"key-{t}-{k}", "team_id": team_id}
                assert (await up.post("/api/governance/virtual-keys", json=key)).status_code == 200
    upstream.state.request_log.clear()
    return upstream


@pytest.fixture
async def upstream() -> Any:
    return await seeded_upstream()


def gateway_over(upstream: Any, *, compiled: bool = True) -> tuple[Served, Callable[[], Awaitable[None]]]:
    settings = Settings(bifrost_url="http://bifrost.internal:8080", gateway_compiled_execution=compiled)
    app = create_app(settings, transport=FailingTransport(upstream, fail_broken_team))
    return Served(app), app.state.bifrost.aclose


async def requests_of_every_kind(served: Served, upstream: Any) -> None:
    team_id = upstream.state.store.db.execute("SELECT id FROM teams ORDER BY name LIMIT 1").fetchone()[0]
    dashboard = await served.post(DASHBOARD)
    assert "errors" not in dashboard and len(dashboard["data"]["teams"]["edges"]) == TEAMS
    assert all(len(edge["node"]["virtualKeys"]) == 2 for edge in dashboard["data"]["teams"]["edges"])
    team = await served.post(TEAM, {"id": team_id})
    assert "errors" not in team and team["data"]["team"]["id"] == team_id
    created = await served.post(CREATE_TEAM, {"name": "brand-new"})
    assert created["data"]["createTeam"]["team"]["name"] == "brand-new"
    taken = await served.post(CREATE_TEAM, {"name": "team-3"})
    assert taken["data"]["createTeam"]["userErrors"] == [{"field": ["input", "name"], "code": "NAME_TAKEN"}]
    broken = await served.post(TEAM, {"id": BROKEN_TEAM})
    assert broken["data"] == {"team": None}
    assert [error["extensions"]["code"] for error in broken["errors"]] == ["UPSTREAM_ERROR"]


async def cyclic_garbage_of(work: Callable[[], Awaitable[Any]]) -> set[type]:
    """Run ``work`` with the collector off; the types of our objects that only the collector would free."""
    gc.collect()
    gc.disable()
    try:
        await work()
    finally:
        gc.enable()
    try:
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        return {type(found) for found in gc.garbage if isinstance(found, OUR_TYPES)}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_the_compiled_run_state_is_looked_for() -> None:
    assert compiled_module._Run in COMPILED_RUN_STATE
    assert all(not issubclass(kind, BaseException) for kind in COMPILED_RUN_STATE)


def names(types: set[type]) -> list[str]:
    return sorted(kind.__qualname__ for kind in types)


async def test_requests_leave_no_cycles_of_request_objects(upstream: Any) -> None:
    served, close = gateway_over(upstream)
    try:
        assert names(await cyclic_garbage_of(lambda: requests_of_every_kind(served, upstream))) == []
    finally:
        await close()


def first_team(upstream: Any) -> dict[str, Any]:
    return {"id": upstream.state.store.db.execute("SELECT id FROM teams LIMIT 1").fetchone()[0]}


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        pytest.param(DASHBOARD, lambda upstream: None, id="dashboard"),
        pytest.param(TEAM, first_team, id="team-lookup"),
        pytest.param(CREATE_TEAM, lambda upstream: {"name": "another"}, id="create-team"),
        pytest.param(CREATE_TEAM, lambda upstream: {"name": "team-5"}, id="create-team-name-taken"),
        pytest.param(TEAM, lambda upstream: {"id": BROKEN_TEAM}, id="lookup-upstream-500"),
    ],
)
async def test_each_request_kind_alone_leaves_no_cycles(
    upstream: Any, query: str, variables: Callable[[Any], dict[str, Any] | None]
) -> None:
    served, close = gateway_over(upstream)
    try:
        assert names(await cyclic_garbage_of(lambda: served.post(query, variables(upstream)))) == []
    finally:
        await close()


async def test_graphql_core_path_frees_what_the_request_fetched(upstream: Any) -> None:
    """The same requests on graphql-core's executor: no upstream model and no loader is left in a cycle.

    (graphql-core's execution context and its resolve-info helpers refer to each other, so the context
    object itself is freed by the collector there; that cycle is graphql-core's, and ``Loaders.close``
    is what keeps everything the request fetched out of it.)
    """
    served, close = gateway_over(upstream, compiled=False)
    try:
        garbage = await cyclic_garbage_of(lambda: requests_of_every_kind(served, upstream))
    finally:
        await close()
    assert names({kind for kind in garbage if issubclass(kind, (BifrostModel, DataLoader, BatchLoader))}) == []


async def test_the_check_sees_the_loader_cycle_when_loaders_are_not_closed(
    upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Control: without ``Loaders.close`` the loaders are only freed by the collector, and the check says so."""
    monkeypatch.setattr(Loaders, "close", lambda self: None)
    served, close = gateway_over(upstream)
    try:
        garbage = await cyclic_garbage_of(lambda: served.post(DASHBOARD))
    finally:
        await close()
    assert Loaders in garbage
    assert any(issubclass(kind, BatchLoader) for kind in garbage)
