"""Targeted hostile inputs: wrong types, huge and odd strings, deep nesting, nulls, broken bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.reliability.documents import CREATE_TEAM
from tests.reliability.inprocess import check, demo_gateway


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    client, _ = demo_gateway()
    yield client
    await client.aclose()


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"maxLimit": 1, "resetDuration": "1d"}
    for _ in range(depth):
        value = {"maxLimit": value, "resetDuration": "1d"}
    return value


HOSTILE = {
    "wrong-type-name": {"input": {"name": 12}},
    "wrong-type-input": {"input": "not an object"},
    "wrong-type-budgets": {"input": {"name": "x", "budgets": {"maxLimit": "ten"}}},
    "huge-limit": {"input": {"name": "x", "budgets": [{"maxLimit": 1.7e308, "resetDuration": "1d"}]}},
    "null-name": {"input": {"name": None}},
    "null-input": {"input": None},
    "missing-input": {},
    "null-list-item": {"input": {"name": "x", "budgets": [None]}},
    "unknown-field": {"input": {"name": "x", "admin": True}},
    "nested-input-objects": {"input": {"name": "x", "budget": nested(500)}},
    "name-1mb": {"input": {"name": "n" * 1_000_000}},
    "name-300kb": {"input": {"name": "n" * 300_000}},
    "rtl-and-emoji": {
        "input": {"name": "\u202e\u05e6\u05d5\u05d5\u05ea \U0001f680\U0001f469\U0001f3fd\u200d\U0001f4bb\u200f"}
    },
    "nul-byte": {"input": {"name": "a\x00b"}},
    "only-whitespace": {"input": {"name": " \t\u3000"}},
    "huge-int64": {"input": {"name": "x", "rateLimit": {"tokenMaxLimit": 2**80, "tokenResetDuration": "1d"}}},
}


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_create_team_input(name: str, http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"query": CREATE_TEAM, "variables": HOSTILE[name]})
    check(response, CREATE_TEAM)
    assert response.status_code in (200, 400, 413), response.text
    body = response.json()
    if response.status_code == 200 and body.get("data"):
        payload = body["data"]["createTeam"]
        created = payload["team"]
        if created is not None:  # accepted: stored exactly as sent
            assert created["name"] == HOSTILE[name]["input"]["name"]
        else:
            assert payload["userErrors"], body


@pytest.mark.parametrize(
    "raw",
    [
        b'{"query": "mutation { createTeam(input: {name: \\"x\\", '
        b'budgets: [{maxLimit: 1e309, resetDuration: \\"1d\\"}]}) '
        b'{ userErrors { code } } }"}',
        b'{"query": "mutation($i: CreateTeamInput!) { createTeam(input: $i) { userErrors { code } } }", '
        b'"variables": {"i": {"name": "x", "budgets": [{"maxLimit": 1e309, "resetDuration": "1d"}]}}}',
        b'{"query": "mutation($i: CreateTeamInput!) { createTeam(input: $i) { userErrors { code } } }", '
        b'"variables": {"i": {"name": "x", "budgets": [{"maxLimit": NaN, "resetDuration": "1d"}]}}}',
        b'{"query": "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { name } } }", '
        b'"variables": {"i": {"name": "\\ud800 lone surrogate"}}}',
        b'{"query": "{ __typename }", "variables": [1, 2]}',
        b'{"query": 5}',
        b'{"query": "{ team(id: \\"\\u0000\\") { id } }"}',
        b'{"query": "' + b"{ a: __typename " * 5000 + b'"}',
        b'{"query": "' + b"{" * 10_000 + b'"}',
        b"\xff\xfe not utf-8",
        b"[" * 100_000,
        b'{"query": "{ __typename }", "variables": {"v": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001,
        b'{"query": "{ __typename }"' + b" " * 2_000_000 + b"}",
    ],
    ids=[
        "infinite-literal",
        "infinite-variable",
        "nan-variable",
        "lone-surrogate",
        "variables-list",
        "query-number",
        "nul-id",
        "many-aliases",
        "deep-braces",
        "not-utf8",
        "deep-json",
        "deep-variables",
        "2mb",
    ],
)
async def test_hostile_request_body(raw: bytes, http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", content=raw, headers={"content-type": "application/json"})
    check(response, "")
    assert 400 <= response.status_code < 500 or response.status_code == 200, response.text
