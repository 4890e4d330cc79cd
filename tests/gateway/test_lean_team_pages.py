"""Team pages whose document reads little are parsed lean (``models.LeanTeamList``), with the same answers.

The differential half runs each document through two gateways over one embedded server, one with
``LEAN_TEAM_PAGES`` on and one with it off, and asks for equal answers; the other half holds which documents
are parsed lean, that lean teams never answer another field's read of a team (loaders, parse memo, shared
reads), and what a lean page does with a field it skips.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from app.bifrost import client as bifrost_client
from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.settings import Settings
from app.web import create_app

GENERATIONS = ["seed", "current", "v2"]

# Read only what a lean team keeps: these documents are parsed lean.
LEAN_DOCUMENTS = {
    "dashboard": """{ teams(first: 50) { totalCount edges { cursor node {
        id name customer { id name } budgets { id maxLimit currentUsage resetDuration calendarAligned }
        virtualKeys { id name } } } } }""",
    "owner ids and counts": """{ teams(first: 50) { edges { node {
        __typename id name customerId budgetId virtualKeyCount calendarAligned budget { id maxLimit } } } } }""",
    "fragments": """
        query Page { teams(first: 50) { edges { node { ...Row customer { ... on Customer { __typename id } } } } } }
        fragment Row on Team { id ... on Team { name budgets { id } } }""",
    "nodes": "{ teams(first: 50) { nodes { id name customer { name } } pageInfo { hasNextPage endCursor } } }",
    "keys and their customers": """{ teams(first: 50) { edges { node {
        id virtualKeys { id name customer { id name createdAt } budgets { id } } } } } }""",
    "two pages and __typename": """{ __typename a: teams(first: 4) { nodes { id name } }
        b: teams(first: 4, after: "b2Zmc2V0OjM=") { nodes { id customer { id } } } }""",
    "a window": """{ teams(first: 3, after: "b2Zmc2V0OjE=") { edges { cursor node { id name budgets { id } } } } }""",
}

# Read more: these are parsed whole.
WHOLE_DOCUMENTS = {
    "createdAt": "{ teams(first: 50) { edges { node { id createdAt } } } }",
    "rateLimit": "{ teams(first: 50) { edges { node { id rateLimit { id } } } } }",
    "profile": "{ teams(first: 50) { nodes { id profile config claims configHash updatedAt rateLimitId } } }",
    "the customer's other fields": "{ teams(first: 50) { nodes { id customer { id createdAt } } } }",
    "the customer's budgets": "{ teams(first: 50) { nodes { id customer { id budgets { id } } } } }",
    "a skipped field still counts": "{ teams(first: 50) { nodes { id createdAt @include(if: false) } } }",
    "keys and their teams": "{ teams(first: 50) { nodes { id virtualKeys { id team { id name } } } } }",
    "another root field": "{ teams(first: 50) { nodes { id name } } budgets { id } }",
    "a fragment reaching further": """
        query Page { teams(first: 50) { nodes { ...Row } } }
        fragment Row on Team { id customer { virtualKeyCount } }""",
}


async def _seed(upstream: Any, generation: str) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream), base_url="http://bifrost") as up:
        customers = []
        for c in range(3):
            body: dict[str, Any] = {"name": f"customer-{c}", "budget": {"max_limit": 1000 + c, "reset_duration": "1M"}}
            customers.append((await up.post("/api/governance/customers", json=body)).json()["customer"]["id"])
        for t in range(12):
            team: dict[str, Any] = {"name": f"team-{t}"}
            if t % 4:  # every fourth team has no customer
                team["customer_id"] = customers[t % 3]
            if t % 3:  # every third team has no budget
                budget = {"max_limit": 10 + t, "reset_duration": "1d"}
                team["budgets" if generation != "seed" else "budget"] = [budget] if generation != "seed" else budget
            if generation == "v2" and t % 5 == 0:
                team["calendar_aligned"] = True
            response = await up.post("/api/governance/teams", json=team)
            assert response.status_code == 200, response.text
            team_id = response.json()["team"]["id"]
            for k in range(t % 3):
                key = {"name": f"key-{t}-{k}", "team_id": team_id}
                assert (await up.post("/api/governance/virtual-keys", json=key)).status_code == 200


def _gateway(upstream: Any, generation: str, transport: httpx.AsyncBaseTransport | None = None, **settings: Any) -> Any:
    return create_app(
        Settings(bifrost_url="http://bifrost.internal:8080", bifrost_api_generation=generation, **settings),
        transport=transport or httpx.ASGITransport(app=upstream),
    )


async def _ask(app: Any, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def parsed_models(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the models the Bifrost client parses answers into, in order."""
    seen: list[str] = []
    parse = bifrost_client._parse_settled

    def recording(model: Any, content: bytes) -> Any:
        seen.append(model.__name__)
        return parse(model, content)

    monkeypatch.setattr(bifrost_client, "_parse_settled", recording)
    yield seen


@pytest.fixture(params=GENERATIONS)
async def seeded(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Any, str]]:
    upstream = create_embedded_bifrost(database=":memory:", generation=request.param)
    await _seed(upstream, request.param)
    yield upstream, request.param


@pytest.mark.parametrize("name", sorted(LEAN_DOCUMENTS))
async def test_a_lean_page_answers_as_a_whole_one(seeded: tuple[Any, str], name: str, parsed_models: list[str]) -> None:
    upstream, generation = seeded
    lean = await _ask(_gateway(upstream, generation), LEAN_DOCUMENTS[name])
    assert "LeanTeamList" in parsed_models and "TeamList" not in parsed_models
    parsed_models.clear()
    whole = await _ask(_gateway(upstream, generation, lean_team_pages=False), LEAN_DOCUMENTS[name])
    assert "TeamList" in parsed_models and "LeanTeamList" not in parsed_models
    assert "errors" not in lean, lean
    assert lean == whole
    assert all(page["nodes" if "nodes" in page else "edges"] for page in lean["data"].values() if page != "Query")


@pytest.mark.parametrize("name", sorted(WHOLE_DOCUMENTS))
async def test_a_document_that_reads_more_parses_whole_teams(
    seeded: tuple[Any, str], name: str, parsed_models: list[str]
) -> None:
    upstream, generation = seeded
    body = await _ask(_gateway(upstream, generation), WHOLE_DOCUMENTS[name])
    assert "errors" not in body, body
    assert "TeamList" in parsed_models and "LeanTeamList" not in parsed_models


async def test_the_dashboard_reads_the_same_data_lean(seeded: tuple[Any, str]) -> None:
    # What the lean dashboard answers, against what the upstream holds: names, customers, budgets and keys.
    upstream, generation = seeded
    body = await _ask(_gateway(upstream, generation), LEAN_DOCUMENTS["dashboard"])
    nodes = {edge["node"]["name"]: edge["node"] for edge in body["data"]["teams"]["edges"]}
    assert len(nodes) == 12
    for t in range(12):
        node = nodes[f"team-{t}"]
        assert node["customer"] == (None if t % 4 == 0 else {"id": node["customer"]["id"], "name": f"customer-{t % 3}"})
        assert [b["maxLimit"] for b in node["budgets"]] == ([] if t % 3 == 0 else [10 + t])
        assert sorted(k["name"] for k in node["virtualKeys"]) == [f"key-{t}-{k}" for k in range(t % 3)]
        if generation == "v2":
            assert all(b["calendarAligned"] == (t % 5 == 0) for b in node["budgets"])


async def test_a_page_beside_another_read_of_a_team_is_whole_and_serves_that_read(parsed_models: list[str]) -> None:
    # Lean teams are never primed into the team loader, so a document that reads a team elsewhere gets a whole
    # page, which is: the lookup of a team on the page sends no call of its own, as before lean pages.
    upstream = create_embedded_bifrost(database=":memory:", generation="v2")
    await _seed(upstream, "v2")
    app = _gateway(upstream, "v2")
    first = (await _ask(app, "{ teams(first: 1) { nodes { id } } }"))["data"]["teams"]["nodes"][0]["id"]
    parsed_models.clear()
    calls = len(upstream.state.request_log)
    query = """query Q($id: ID!) { teams(first: 20) { nodes { id name } }
                                   team(id: $id) { id name createdAt updatedAt configHash } }"""
    body = await _ask(app, query, {"id": first})
    assert "errors" not in body, body
    assert body["data"]["team"]["createdAt"] and body["data"]["team"]["id"] == first
    assert parsed_models == ["TeamList"]
    assert [record.path for record in list(upstream.state.request_log)[calls:]] == ["/api/governance/teams"]


async def test_the_parse_memo_and_shared_reads_keep_lean_and_whole_pages_apart(parsed_models: list[str]) -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="v2")
    await _seed(upstream, "v2")
    app = _gateway(upstream, "v2")
    lean, whole = LEAN_DOCUMENTS["dashboard"], WHOLE_DOCUMENTS["createdAt"]
    # One after the other: the memo holds the lean page of this body; the whole read parses its own.
    assert "errors" not in await _ask(app, lean)
    body = await _ask(app, whole)
    assert "errors" not in body, body
    assert all(edge["node"]["createdAt"] for edge in body["data"]["teams"]["edges"])
    # At once, with one credential: the two reads of one path are not shared (the model is in their key).
    parsed_models.clear()
    answers = await asyncio.gather(*(_ask(app, document) for document in (lean, whole, lean, whole)))
    assert all("errors" not in answer for answer in answers), answers
    assert answers[0] == answers[2] and answers[1] == answers[3]
    assert all(edge["node"]["createdAt"] for edge in answers[1]["data"]["teams"]["edges"])


class RewrittenTeamList(httpx.AsyncBaseTransport):
    """The upstream, except that its team lists have ``old`` replaced by ``new`` (every team's field)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, old: bytes, new: bytes) -> None:
        self.inner = inner
        self.old = old
        self.new = new

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        if request.method == "GET" and request.url.path == "/api/governance/teams":
            assert self.old in content  # the rewrite does happen
            content = content.replace(self.old, self.new)
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, content=content)


LEAN_ROWS = "{ teams(first: 50) { nodes { id name customer { id name } budgets { id } virtualKeyCount } } }"


async def test_a_lean_page_skips_a_malformed_field_it_does_not_read() -> None:
    # Chosen behaviour: a page read lean validates what it keeps; a malformed field no one asked for does not
    # fail it. The same page read whole fails as before, with the typed error and nothing of the body.
    upstream = create_embedded_bifrost(database=":memory:", generation="v2")
    await _seed(upstream, "v2")
    broken = RewrittenTeamList(httpx.ASGITransport(app=upstream), b'"profile":null', b'"profile":"not an object"')
    app = _gateway(upstream, "v2", transport=broken)
    lean = await _ask(app, LEAN_ROWS)
    assert "errors" not in lean, lean
    assert len(lean["data"]["teams"]["nodes"]) == 12
    whole = await _ask(app, WHOLE_DOCUMENTS["profile"])
    assert whole["data"] is None
    [error] = whole["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_ERROR", error
    assert "not an object" not in str(whole)


async def test_a_lean_page_still_fails_on_a_malformed_field_it_keeps() -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="v2")
    await _seed(upstream, "v2")
    broken = RewrittenTeamList(
        httpx.ASGITransport(app=upstream), b'"virtual_key_count":', b'"virtual_key_count":"n","x":'
    )
    app = _gateway(upstream, "v2", transport=broken)
    for document in (LEAN_ROWS, WHOLE_DOCUMENTS["createdAt"]):
        body = await _ask(app, document)
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"]["code"] == "UPSTREAM_ERROR", error
