"""Bodies Go's decoder rejects answer 400 ``Invalid JSON`` and write nothing; unknown fields are ignored."""

from __future__ import annotations

import httpx
import pytest
from bifrost_helpers import message_of

TEAMS = "/api/governance/teams"

BAD_TEAM_BODIES = [
    b"",
    b"{",
    b"not json",
    b"[]",
    b'"name"',
    b'{"name": 1}',
    b'{"name": "t", "customer_id": 5}',
    b'{"name": "t", "budgets": "x"}',
    b'{"name": "t", "budgets": [{"max_limit": "5", "reset_duration": "1d"}]}',
    b'{"name": "t", "budgets": [{"max_limit": 5, "reset_duration": 1}]}',
    b'{"name": "t", "rate_limit": {"token_max_limit": 1.5, "token_reset_duration": "1h"}}',
    b'{"name": "t", "rate_limit": {"token_max_limit": true}}',
    b'{"name": "t", "rate_limit": []}',
]


@pytest.mark.parametrize("body", BAD_TEAM_BODIES)
async def test_create_team_invalid_json_writes_nothing(current: httpx.AsyncClient, body: bytes) -> None:
    response = await current.post(TEAMS, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert message_of(response) == "Invalid JSON"
    assert (await current.get(TEAMS)).json()["count"] == 0
    assert (await current.get("/api/governance/budgets")).json()["count"] == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/governance/customers", b'{"name": ["c"]}'),
        ("/api/governance/customers", b'{"name": "c", "budget": {"max_limit": "5"}}'),
        ("/api/governance/virtual-keys", b'{"name": "k", "is_active": "yes"}'),
        ("/api/governance/virtual-keys", b'{"name": "k", "provider_configs": [{"provider": "openai", "weight": "1"}]}'),
        ("/api/governance/virtual-keys", b'{"name": "k", "mcp_configs": {"mcp_client_name": "github"}}'),
    ],
)
async def test_create_other_resources_invalid_json(any_generation: httpx.AsyncClient, path: str, body: bytes) -> None:
    response = await any_generation.post(path, content=body)
    assert response.status_code == 400
    assert message_of(response) == "Invalid JSON"
    assert (await any_generation.get(path)).json()["count"] == 0


async def test_update_team_invalid_json_leaves_team_unchanged(any_generation: httpx.AsyncClient) -> None:
    team = (await any_generation.post(TEAMS, json={"name": "t"})).json()["team"]
    response = await any_generation.put(f"{TEAMS}/{team['id']}", content=b'{"name": 2}')
    assert response.status_code == 400
    assert message_of(response) == "Invalid JSON"
    assert (await any_generation.get(f"{TEAMS}/{team['id']}")).json()["team"]["name"] == "t"


async def test_unknown_fields_and_nulls_ignored(current: httpx.AsyncClient) -> None:
    body = {"name": "t", "colour": "blue", "customer_id": None, "budgets": None, "id": 5}
    response = await current.post(TEAMS, json=body)
    assert response.status_code == 200
    team = response.json()["team"]
    assert "customer_id" not in team and "colour" not in team and team["id"] != 5


async def test_field_names_match_case_insensitively_like_go(current: httpx.AsyncClient) -> None:
    response = await current.post(TEAMS, json={"NAME": "upper"})
    assert response.status_code == 200
    assert response.json()["team"]["name"] == "upper"


async def test_null_body_decodes_to_empty_request(current: httpx.AsyncClient) -> None:
    response = await current.post(TEAMS, content=b"null")
    assert response.status_code == 400
    assert message_of(response) == "Team name is required"
