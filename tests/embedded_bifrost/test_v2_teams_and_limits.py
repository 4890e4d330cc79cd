"""Teams, budgets and rate limits on Bifrost v2: ``calendar_aligned``, duplicate names, the new JSON fields."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from bifrost_helpers import message_of

GOVERNANCE = "/api/governance"
TEAMS = f"{GOVERNANCE}/teams"
DAY = {"max_limit": 5.0, "reset_duration": "1d"}
MONTH = {"max_limit": 50.0, "reset_duration": "1M"}
HOUR = {"max_limit": 1.0, "reset_duration": "1h"}
MONTH_START = "-01T00:00:00.000000000Z"


async def _team(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(TEAMS, json=body)
    assert response.status_code == 200, response.text
    team: dict[str, Any] = response.json()["team"]
    return team


async def test_team_answers_calendar_aligned_and_its_budgets_start_at_the_period(v2: httpx.AsyncClient) -> None:
    plain = await _team(v2, {"name": "plain"})
    assert plain["calendar_aligned"] is False and plain["virtual_key_count"] == 0
    aligned = await _team(v2, {"name": "aligned", "calendar_aligned": True, "budgets": [MONTH, HOUR]})
    assert aligned["calendar_aligned"] is True
    month, hour = aligned["budgets"]
    assert month["last_reset"].endswith(MONTH_START)
    assert hour["last_reset"] == hour["created_at"]  # an hour has no calendar boundary
    assert (await v2.get(f"{TEAMS}/{aligned['id']}")).json()["team"] == aligned


async def test_turning_calendar_alignment_on_snaps_windows_and_zeroes_usage(
    v2: httpx.AsyncClient, v2_app_db: Any
) -> None:
    rate_limit = {"token_max_limit": 100, "token_reset_duration": "1M", "request_max_limit": 5,
                  "request_reset_duration": "1m"}  # fmt: skip
    team = await _team(v2, {"name": "t", "budgets": [MONTH, HOUR], "rate_limit": rate_limit})
    v2_app_db.execute("UPDATE budgets SET current_usage = 2")
    v2_app_db.execute("UPDATE rate_limits SET token_current_usage = 7, request_current_usage = 3")
    body = {"calendar_aligned": True, "budgets": [MONTH, HOUR, DAY]}
    updated = (await v2.put(f"{TEAMS}/{team['id']}", json=body)).json()["team"]
    budgets = {budget["reset_duration"]: budget for budget in updated["budgets"]}
    assert budgets["1M"]["current_usage"] == 0 and budgets["1M"]["last_reset"].endswith(MONTH_START)
    assert budgets["1d"]["last_reset"].endswith("T00:00:00.000000000Z")  # created in the same request: snapped too
    assert budgets["1h"]["current_usage"] == 2 and budgets["1h"]["last_reset"] == team["budgets"][1]["last_reset"]
    limit = updated["rate_limit"]
    assert limit["token_current_usage"] == 0 and limit["token_last_reset"].endswith(MONTH_START)
    assert (
        limit["request_current_usage"] == 3 and limit["request_last_reset"] == team["rate_limit"]["request_last_reset"]
    )
    v2_app_db.execute("UPDATE budgets SET current_usage = 4")
    again = (await v2.put(f"{TEAMS}/{team['id']}", json={"calendar_aligned": True})).json()["team"]
    assert {budget["current_usage"] for budget in again["budgets"]} == {4}  # already aligned: nothing snaps
    off = (await v2.put(f"{TEAMS}/{team['id']}", json={"calendar_aligned": False})).json()["team"]
    assert off["calendar_aligned"] is False and {budget["current_usage"] for budget in off["budgets"]} == {4}


async def test_team_budgets_are_matched_by_duration_only(v2: httpx.AsyncClient) -> None:
    team = await _team(v2, {"name": "t", "budgets": [DAY]})
    day = team["budgets"][0]["id"]
    body = {"budgets": [{"id": day, "max_limit": 7.0, "reset_duration": "1w"}]}
    updated = (await v2.put(f"{TEAMS}/{team['id']}", json=body)).json()["team"]
    assert [(budget["reset_duration"], budget["id"] == day) for budget in updated["budgets"]] == [("1w", False)]


async def test_a_taken_team_name_is_409_at_create_and_500_at_rename(v2: httpx.AsyncClient) -> None:
    await _team(v2, {"name": "alpha"})
    beta = await _team(v2, {"name": "beta"})
    again = await v2.post(TEAMS, json={"name": "alpha", "calendar_aligned": True})
    assert again.status_code == 409 and message_of(again) == "A team with this name already exists"
    rename = await v2.put(f"{TEAMS}/{beta['id']}", json={"name": "alpha"})
    assert rename.status_code == 500 and message_of(rename) == "Failed to update team"
    assert (await v2.get(TEAMS)).json()["count"] == 2


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "t", "budgets": [{"max_limit": 1, "reset_duration": "2x"}]}, 400,
         "invalid reset duration (must be a positive duration): 2x"),
        ({"name": "t", "rate_limit": {"request_max_limit": 3, "request_reset_duration": "-1h"}}, 400,
         "Invalid rate limit: invalid rate limit request reset duration (must be a positive duration): -1h"),
        ({"name": "t", "budgets": [{"max_limit": 0, "reset_duration": "1d"}]}, 500, "failed to create team"),
    ],
)  # fmt: skip
async def test_team_create_refusals(v2: httpx.AsyncClient, body: dict[str, Any], status: int, message: str) -> None:
    response = await v2.post(TEAMS, json=body)
    assert (response.status_code, message_of(response)) == (status, message)
    assert (await v2.get(TEAMS)).json()["count"] == 0


async def test_an_invalid_rate_limit_on_update_is_the_generic_500_on_v2_only(
    v2: httpx.AsyncClient, current: httpx.AsyncClient
) -> None:
    body = {"rate_limit": {"token_max_limit": 0, "token_reset_duration": "1h"}}
    team = await _team(v2, {"name": "t"})
    response = await v2.put(f"{TEAMS}/{team['id']}", json=body)
    assert response.status_code == 500 and message_of(response) == "Failed to update team"
    assert (await v2.get(f"{TEAMS}/{team['id']}")).json()["team"] == team
    older = await _team(current, {"name": "t"})
    response = await current.put(f"{TEAMS}/{older['id']}", json=body)
    assert response.status_code == 400
    assert message_of(response) == "Invalid rate limit: rate limit token max limit cannot be negative or zero: 0"


async def test_older_generations_ignore_calendar_aligned_on_teams(current: httpx.AsyncClient) -> None:
    team = await _team(current, {"name": "t", "calendar_aligned": True, "budgets": [MONTH]})
    assert "calendar_aligned" not in team and team["budgets"][0]["calendar_aligned"] is False


@pytest.mark.parametrize("path", ["teams", "customers", "virtual-keys"])
async def test_unpaged_lists_answer_totals_on_v2_only(
    v2: httpx.AsyncClient, current: httpx.AsyncClient, path: str
) -> None:
    body = {"name": "one"}
    for client in (v2, current):
        assert (await client.post(f"{GOVERNANCE}/{path}", json=body)).status_code == 200
    listed = (await v2.get(f"{GOVERNANCE}/{path}")).json()
    assert (listed["count"], listed["total_count"], listed["limit"], listed["offset"]) == (1, 1, 1, 0)
    older = (await current.get(f"{GOVERNANCE}/{path}")).json()
    assert "total_count" not in older and older["count"] == 1


async def test_budget_json_on_v2(v2: httpx.AsyncClient, v2_app_db: Any) -> None:
    team = await _team(v2, {"name": "t", "budgets": [DAY, MONTH]})
    day, month = team["budgets"]
    assert list(day) == ["id", "max_limit", "reset_duration", "last_reset", "current_usage", "team_id",
                         "config_hash", "created_at", "updated_at"]  # fmt: skip
    v2_app_db.execute(
        "UPDATE budgets SET override_amount = 10, override_mode = 'cycles', override_cycles_remaining = 2,"
        " override_cycles_total = 3, override_anchor_reset = ? WHERE id = ?",
        (day["last_reset"], day["id"]),
    )
    v2_app_db.execute("UPDATE budgets SET override_amount = 5, override_mode = 'forever' WHERE id = ?", (month["id"],))
    listed = {budget["id"]: budget for budget in (await v2.get(f"{GOVERNANCE}/budgets")).json()["budgets"]}
    assert {key: value for key, value in listed[day["id"]].items() if key.startswith("override_")} == {
        "override_amount": 10.0,
        "override_mode": "cycles",
        "override_cycles_remaining": 2,
        "override_cycles_total": 3,
        "override_anchor_reset": day["last_reset"],
    }
    assert list(listed[day["id"]])[5:10] == [
        "override_amount", "override_mode", "override_cycles_remaining", "override_cycles_total",
        "override_anchor_reset",
    ]  # fmt: skip
    assert {key for key in listed[month["id"]] if key.startswith("override_")} == {"override_amount", "override_mode"}


async def test_budget_json_before_v2_has_no_override_fields(current: httpx.AsyncClient) -> None:
    team = await _team(current, {"name": "t", "budgets": [DAY]})
    assert "calendar_aligned" in team["budgets"][0]
    assert not any(key.startswith("override_") for key in team["budgets"][0])


async def test_rate_limit_metric_only_when_set(v2: httpx.AsyncClient, v2_app_db: Any) -> None:
    team = await _team(v2, {"name": "t", "rate_limit": {"request_max_limit": 5, "request_reset_duration": "1m"}})
    assert "metric" not in team["rate_limit"]
    v2_app_db.execute("UPDATE rate_limits SET metric = 'requests'")
    listed = (await v2.get(f"{GOVERNANCE}/rate-limits")).json()["rate_limits"]
    assert list(listed[0])[:2] == ["id", "metric"] and listed[0]["metric"] == "requests"


async def test_version_is_v2(v2: httpx.AsyncClient) -> None:
    assert (await v2.get("/api/version")).json() == "v2.2.5"
