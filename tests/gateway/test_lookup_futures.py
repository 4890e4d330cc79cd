"""Lookups by id answer alike on both execution paths when the loader's shared future fails or is odd.

A lookup hands back its loader's future itself: two fields asking for the same id share one future, and a
failure of the batch reaches both. The compiled path and graphql-core must agree on every such answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.settings import Settings
from app.web import create_app

TEAM_ID = "3f2b8c1e-0000-4000-8000-000000000001"
OTHER_ID = "3f2b8c1e-0000-4000-8000-000000000002"
LOOKUPS = """
query Lookups($id: ID!, $other: ID!, $bad: ID!) {
  team(id: $id) { id name }
  again: team(id: $id) { id }
  other: team(id: $other) { __typename id }
  bad: team(id: $bad) { id }
  customer(id: $id) { id }
}
"""


def upstream_answering(kind: str) -> httpx.MockTransport:
    never = asyncio.Event()  # a late answer never comes: the total deadline ends the call

    async def handler(request: httpx.Request) -> httpx.Response:
        if kind == "late":
            await never.wait()
        if kind == "error":
            return httpx.Response(500, json={"error": {"message": "internal detail"}})
        if kind == "garbage":
            return httpx.Response(200, content=b"{not json", headers={"content-type": "application/json"})
        if kind == "wrong-shape":
            return httpx.Response(200, json={"team": {"id": 7, "name": None}})
        if kind == "lost":
            raise httpx.ReadError("reset", request=request)
        return httpx.Response(404, json={"error": {"message": "Team not found"}})

    return httpx.MockTransport(handler)


async def answer(kind: str, compiled: bool) -> dict[str, Any]:
    settings = Settings(
        bifrost_url="http://bifrost.internal:8080",
        gateway_compiled_execution=compiled,
        upstream_read_retries=0,
        upstream_connect_timeout=0.05,
        upstream_total_timeout=0.1,
        breaker_failure_threshold=1000,
        coalesce_queries=False,
    )
    app = create_app(settings, transport=upstream_answering(kind))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        response = await http.post(
            "/graphql",
            json={"query": LOOKUPS, "variables": {"id": TEAM_ID, "other": OTHER_ID, "bad": "../x"}},
            headers={"authorization": "Bearer caller-token"},
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("kind", ["error", "garbage", "wrong-shape", "lost", "late", "missing"])
async def test_a_failing_or_odd_lookup_answers_alike_on_both_paths(kind: str) -> None:
    compiled = await answer(kind, True)
    core = await answer(kind, False)
    assert compiled == core
    data = compiled["data"]
    assert data["bad"] is None
    if kind == "missing":
        assert "errors" not in compiled and data["team"] is None and data["again"] is None
    else:
        # Both fields of the shared future report its failure, each at its own path.
        paths = sorted(error["path"] for error in compiled["errors"])
        assert ["again"] in paths and ["team"] in paths, compiled
        assert "internal detail" not in str(compiled)
    if kind == "late":  # the deadline of a read: the same typed error as before
        assert {error["extensions"]["code"] for error in compiled["errors"]} == {"UPSTREAM_TIMEOUT"}
