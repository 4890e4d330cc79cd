"""A lookup by id waits on its loader's future where it runs: no task of its own per lookup, same answers.

The loader still batches the keys asked for in one tick (one task per batch);
what is gone is the task that only awaited the loader's future for the resolver.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.gateway.conftest import make_gateway

MALFORMED_ID = "../budgets"
MISSING_ID = "00000000-0000-4000-8000-000000000000"
CREATE = "mutation Create($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }"
LOOKUPS = """
query Lookups($id: ID!, $missing: ID!, $malformed: ID!) {
  team(id: $id) { id name }
  again: team(id: $id) { id }
  missing: team(id: $missing) { id }
  malformed: team(id: $malformed) { id }
  customer(id: $missing) { id }
  virtualKey(id: $malformed) { id }
}
"""


@contextmanager
def tasks_started() -> Iterator[list[str]]:
    """The qualified names of the coroutines that tasks were started for, while inside."""
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()
    names: list[str] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any) -> asyncio.Future[Any]:
        names.append(getattr(coro, "__qualname__", type(coro).__name__))
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)  # type: ignore[arg-type]
    try:
        yield names
    finally:
        loop.set_task_factory(previous)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "graphql-core"])
async def test_lookups_run_no_task_of_their_own_and_answer_as_before(compiled: bool) -> None:
    gw = await make_gateway("current", gateway_compiled_execution=compiled, coalesce_queries=False)
    try:
        created = await gw.graphql(CREATE, {"input": {"name": "lookup-tasks"}})
        team_id = created["data"]["createTeam"]["team"]["id"]
        before = len(gw.upstream_calls("GET"))
        with tasks_started() as names:
            body = await gw.graphql(LOOKUPS, {"id": team_id, "missing": MISSING_ID, "malformed": MALFORMED_ID})
    finally:
        await gw.http.aclose()
    assert body == {
        "data": {
            "team": {"id": team_id, "name": "lookup-tasks"},
            "again": {"id": team_id},
            "missing": None,
            "malformed": None,
            "customer": None,
            "virtualKey": None,
        }
    }
    # One call per distinct well-formed id (the repeated one shares it; the malformed ones send nothing).
    paths = sorted(call.path for call in gw.upstream_calls("GET")[before:])
    assert paths == [
        f"/api/governance/customers/{MISSING_ID}",
        f"/api/governance/teams/{MISSING_ID}",
        f"/api/governance/teams/{team_id}",
    ]
    assert not [name for name in names if name.startswith("LookupQueries.")], names
    assert names.count("_Batch.run") == 2  # one batch of teams (two ids), one of customers


TWO_CREATES = """
mutation Two($first: CreateTeamInput!, $second: CreateTeamInput!) {
  first: createTeam(input: $first) { team { name } userErrors { field code } }
  second: createTeam(input: $second) { team { name } userErrors { field code } }
}
"""


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "graphql-core"])
async def test_mutations_run_in_the_request_task_one_after_another(compiled: bool) -> None:
    gw = await make_gateway("current", gateway_compiled_execution=compiled)
    try:
        with tasks_started() as names:
            body = await gw.graphql(TWO_CREATES, {"first": {"name": "serial-1"}, "second": {"name": "serial-1"}})
    finally:
        await gw.http.aclose()
    # The second sees what the first wrote: run one after another, as before.
    assert body == {
        "data": {
            "first": {"team": {"name": "serial-1"}, "userErrors": []},
            "second": {"team": None, "userErrors": [{"field": ["input", "name"], "code": "NAME_TAKEN"}]},
        }
    }
    if compiled:
        assert not [name for name in names if "create_team" in name], names
