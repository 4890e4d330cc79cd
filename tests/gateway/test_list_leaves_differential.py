"""Lists of objects selected down to plain leaves answer alike on both execution paths, whatever Bifrost sends.

A team page with odd but valid items (no budgets at all, empty names, unicode, zero, negative zero, huge and
integral amounts, a hundred teams) is read through selections with aliases, repeated fields, ``__typename``,
fragments and ``@skip``/``@include``: the compiled path and graphql-core must give the same bytes.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from app.settings import Settings
from app.web import create_app

STAMP = "2026-11-30T10:00:00Z"


def budget(index: int, amount: float) -> dict[str, Any]:
    return {
        "id": f"b-{index}",
        "max_limit": amount,
        "reset_duration": "1M",
        "last_reset": STAMP if index % 2 else None,
        "current_usage": -0.0 if index % 3 == 0 else amount / 3,
        "calendar_aligned": bool(index % 2),
        "created_at": STAMP,
        "updated_at": STAMP,
    }


AMOUNTS = [0.0, 1e308, 5, 2.5, 1e-300, 7]
NAMES = ["", "ünïcödé ✓", 'q"uote\\', "line\nbreak", "a" * 300]


def team(index: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "id": f"3f2b8c1e-0000-4000-8000-{index:012d}",
        "name": NAMES[index % len(NAMES)] + str(index),
        "customer_id": None if index % 4 else f"c-{index}",
        "created_at": STAMP,
        "updated_at": STAMP,
        "virtual_key_count": index,
    }
    if index % 7:  # some teams without budgets at all: settled as an empty list
        answer["budgets"] = [budget(index * 10 + n, AMOUNTS[(index + n) % len(AMOUNTS)]) for n in range(index % 3)]
    return answer


PAGE = orjson.dumps({"teams": [team(index) for index in range(100)], "count": 100})

DOCUMENTS = {
    "leaves": "{ teams(first: 100) { nodes { id name } } }",
    "aliases-and-repeats": "{ teams(first: 100) { nodes { a: id id name b: name id } } }",
    "typename": "{ teams(first: 100) { nodes { __typename id name } edges { node { id __typename } } } }",
    "budgets": "{ teams(first: 100) { nodes { id budgets { id maxLimit currentUsage resetDuration lastReset } } } }",
    "fragments": """
        query { teams(first: 100) { nodes { ...T budgets { ...B } } } }
        fragment T on Team { id name customerId virtualKeyCount }
        fragment B on Budget { id maxLimit currentUsage }
    """,
    "directives": """
        query D($yes: Boolean!, $no: Boolean!) {
          teams(first: 100) {
            nodes { id name @skip(if: $yes) customerId @include(if: $yes) budgets @include(if: $no) { id } }
          }
        }
    """,
}


async def answer(document: str, compiled: bool) -> bytes:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/teams"):
            return httpx.Response(200, content=PAGE, headers={"content-type": "application/json"})
        return httpx.Response(404, json={"error": {"message": "not found"}})

    settings = Settings(
        bifrost_url="http://bifrost.internal:8080",
        bifrost_api_generation="current",
        gateway_compiled_execution=compiled,
        coalesce_queries=False,
    )
    app = create_app(settings, transport=httpx.MockTransport(handler))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        response = await http.post(
            "/graphql",
            json={"query": document, "variables": {"yes": True, "no": False}},
            headers={"authorization": "Bearer caller-token"},
        )
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize("name", list(DOCUMENTS))
async def test_odd_team_pages_answer_alike_on_both_paths(name: str) -> None:
    compiled = await answer(DOCUMENTS[name], True)
    core = await answer(DOCUMENTS[name], False)
    assert orjson.loads(compiled) == orjson.loads(core)
    assert compiled == core
    body = orjson.loads(compiled)
    assert "errors" not in body, body
    assert len(body["data"]["teams"]["nodes"]) == 100
