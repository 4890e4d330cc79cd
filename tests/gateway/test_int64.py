"""Int64 travels as a decimal string (no JavaScript client loses a digit) and is accepted as string or number."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.schema.scalars import parse_int64, serialize_int64
from tests.gateway.conftest import Gateway, upstream_http

ABOVE_2_53 = 2**53 + 1  # 9007199254740993: JSON.parse gives 9007199254740992

CREATE_WITH_RATE_LIMIT = """
mutation CreateTeam($input: CreateTeamInput!) {
  createTeam(input: $input) {
    team { id rateLimit { tokenMaxLimit requestMaxLimit tokenCurrentUsage requestCurrentUsage } }
    userErrors { field message code }
  }
}
"""

CREATE_WITH_LITERALS = """
mutation {
  createTeam(input: {name: "literal", rateLimit: {tokenMaxLimit: %s, tokenResetDuration: "1h"}}) {
    team { rateLimit { tokenMaxLimit } }
    userErrors { field message code }
  }
}
"""


def rate_limited(token_max: Any, request_max: Any = 100) -> dict[str, Any]:
    return {
        "input": {
            "name": "int64",
            "rateLimit": {
                "tokenMaxLimit": token_max,
                "tokenResetDuration": "1h",
                "requestMaxLimit": request_max,
                "requestResetDuration": "1m",
            },
        }
    }


async def stored_token_max_limit(gw: Gateway, team_id: str) -> int:
    async with upstream_http(gw) as up:
        response = await up.get(f"/api/governance/teams/{team_id}")
    team = json.loads(response.content)["team"]
    rate_limit = team.get("rate_limit") or {}
    if "token_max_limit" not in rate_limit:  # the rate limit is its own resource on this generation
        async with upstream_http(gw) as up:
            listed = json.loads((await up.get("/api/governance/rate-limits")).content)
        rate_limit = next(r for r in listed["rate_limits"] if r["id"] == team["rate_limit_id"])
    value: int = rate_limit["token_max_limit"]
    return value


async def test_int64_string_above_2_53_arrives_exact_and_comes_back_as_string(current_gateway: Gateway) -> None:
    response = await current_gateway.http.post(
        "/graphql", json={"query": CREATE_WITH_RATE_LIMIT, "variables": rate_limited(str(ABOVE_2_53), "100")}
    )
    body = response.json()
    assert "errors" not in body, body
    team = body["data"]["createTeam"]["team"]
    assert team["rateLimit"]["tokenMaxLimit"] == str(ABOVE_2_53)
    assert team["rateLimit"]["requestMaxLimit"] == "100"
    assert team["rateLimit"]["tokenCurrentUsage"] == "0"
    # On the wire a JSON string: JSON.parse cannot round it.
    assert f'"tokenMaxLimit":"{ABOVE_2_53}"' in response.text.replace(" ", "")
    assert await stored_token_max_limit(current_gateway, team["id"]) == ABOVE_2_53


async def test_int64_number_input_still_accepted(current_gateway: Gateway) -> None:
    body = await current_gateway.graphql(CREATE_WITH_RATE_LIMIT, rate_limited(5_000_000_000))
    assert "errors" not in body, body
    assert body["data"]["createTeam"]["team"]["rateLimit"]["tokenMaxLimit"] == "5000000000"


@pytest.mark.parametrize("literal", ["5000000000", '"5000000000"'], ids=["int-literal", "string-literal"])
async def test_int64_literals_in_the_document(current_gateway: Gateway, literal: str) -> None:
    body = await current_gateway.graphql(CREATE_WITH_LITERALS % literal)
    assert "errors" not in body, body
    assert body["data"]["createTeam"]["team"]["rateLimit"]["tokenMaxLimit"] == "5000000000"


BAD_VALUES = [
    pytest.param("1e3", id="exponent"),
    pytest.param(" 12", id="space"),
    pytest.param("+5", id="plus"),
    pytest.param("0x10", id="hex"),
    pytest.param("1_000", id="underscore"),
    pytest.param("007", id="leading-zeros"),
    pytest.param("", id="empty"),
    pytest.param("١٢٣", id="arabic-indic-digits"),  # int() would take them
    pytest.param(str(2**63), id="string-above-range"),
    pytest.param(2**63, id="number-above-range"),
    pytest.param(-(2**63) - 1, id="number-below-range"),
    pytest.param("9" * 10_000, id="huge-string"),
    pytest.param(1.5, id="fraction"),
    pytest.param(True, id="boolean"),
    pytest.param([1], id="list"),
    pytest.param({"n": 1}, id="object"),
]


@pytest.mark.parametrize("value", BAD_VALUES)
async def test_int64_bad_input_names_the_field_and_sends_nothing(current_gateway: Gateway, value: Any) -> None:
    body = await current_gateway.graphql(CREATE_WITH_RATE_LIMIT, rate_limited(value))
    assert body.get("data") is None
    [error] = body["errors"]
    assert "tokenMaxLimit" in error["message"]
    assert "Int64" in error["message"]
    assert current_gateway.upstream_calls("POST") == []


def test_int64_bounds_are_exact() -> None:
    assert parse_int64(str(2**63 - 1)) == 2**63 - 1
    assert parse_int64(str(-(2**63))) == -(2**63)
    assert parse_int64("-0") == 0
    for value in (str(2**63), str(-(2**63) - 1), "-", "--1"):
        with pytest.raises(ValueError, match="Int64"):
            parse_int64(value)
    assert serialize_int64(-(2**63)) == "-9223372036854775808"
    with pytest.raises(TypeError):
        serialize_int64(True)
