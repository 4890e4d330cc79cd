"""A mutation's root fields run strictly one after another, the same on both execution paths.

The compiled path awaits a mutation's root field in the request's own task; graphql-core runs each in turn.
Both must agree on every document: fragments, aliases, ``__typename``, ``@skip``/``@include``, a first write
that fails fatally (the second is then never sent), a write whose answer is lost or late (its typed error),
and a write followed by a read of what it wrote.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.settings import Settings
from app.web import create_app
from tests.gateway.conftest import make_gateway

PATHS = [True, False]
PATH_IDS = ["compiled", "graphql-core"]

SHAPES = """
mutation Shapes($a: CreateTeamInput!, $b: CreateTeamInput!, $c: CreateTeamInput!, $skip: Boolean!) {
  __typename
  ...First
  second: createTeam(input: $b) @skip(if: $skip) { team { name } }
  third: createTeam(input: $c) @include(if: true) { __typename userErrors { field code } team { name } }
  again: __typename
}
fragment First on Mutation { first: createTeam(input: $a) { t: team { n: name name } } }
"""

WRITE_THEN_READ = """
mutation WriteThenRead($a: CreateTeamInput!, $b: CreateTeamInput!) {
  first: createTeam(input: $a) { team { name } userErrors { code } }
  second: createTeam(input: $b) { team { name } userErrors { field code } }
}
"""


async def answers(compiled: bool, document: str, variables: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    gw = await make_gateway("current", gateway_compiled_execution=compiled)
    try:
        body = await gw.graphql(document, variables)
        posted = [record.path for record in gw.upstream_calls("POST")]
    finally:
        await gw.http.aclose()
    return body, posted


@pytest.mark.parametrize("skip", [True, False])
async def test_fragments_aliases_typename_and_directives_answer_alike(skip: bool) -> None:
    variables = {"a": {"name": "one"}, "b": {"name": "two"}, "c": {"name": "one"}, "skip": skip}
    compiled, compiled_posts = await answers(True, SHAPES, variables)
    core, core_posts = await answers(False, SHAPES, variables)
    assert compiled == core
    assert compiled_posts == core_posts
    data = compiled["data"]
    assert list(data) == ["__typename", "first", *([] if skip else ["second"]), "third", "again"]
    assert data["first"] == {"t": {"n": "one", "name": "one"}}
    # The third ran after the first and saw its write.
    assert data["third"]["userErrors"] == [{"field": ["input", "name"], "code": "NAME_TAKEN"}]


class FailingUpstream:
    """Every write to teams fails as ``failure`` says; every other call answers 404."""

    def __init__(self, failure: str) -> None:
        self.failure = failure
        self.writes = 0
        self.late = asyncio.Event()  # never set: a late answer never comes

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST":
            return httpx.Response(404, json={"error": {"message": "not found"}})
        self.writes += 1
        if self.failure == "lost":
            raise httpx.ReadError("connection reset", request=request)
        if self.failure == "late":
            await self.late.wait()
        return httpx.Response(500, json={"error": {"message": "internal detail"}})


async def over(upstream: FailingUpstream, compiled: bool) -> dict[str, Any]:
    settings = Settings(
        bifrost_url="http://bifrost.internal:8080",
        gateway_compiled_execution=compiled,
        upstream_connect_timeout=0.05,
        upstream_total_timeout=0.05,
        idempotency_lease=1,
        breaker_failure_threshold=1000,
    )
    app = create_app(settings, transport=httpx.MockTransport(upstream))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        response = await http.post(
            "/graphql",
            json={"query": WRITE_THEN_READ, "variables": {"a": {"name": "x"}, "b": {"name": "y"}}},
            headers={"authorization": "Bearer caller-token"},
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("failure", "code"),
    [("lost", "UPSTREAM_OUTCOME_UNKNOWN"), ("late", "UPSTREAM_OUTCOME_UNKNOWN"), ("error", None)],
)
async def test_a_first_write_that_fails_fatally_stops_the_second_on_both_paths(failure: str, code: str | None) -> None:
    bodies = []
    for compiled in PATHS:
        upstream = FailingUpstream(failure)
        bodies.append(await over(upstream, compiled))
        assert upstream.writes == 1, (compiled, bodies[-1])  # the second write was never sent
    compiled_body, core_body = bodies
    assert compiled_body == core_body
    assert compiled_body["data"] is None
    assert [error["path"] for error in compiled_body["errors"]] == [["first"]]
    if code is not None:
        assert compiled_body["errors"][0]["extensions"]["code"] == code
    assert "internal detail" not in str(compiled_body)
