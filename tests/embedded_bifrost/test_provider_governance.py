"""Provider governance (v2): the answers' shapes, Bifrost's messages, storage as a model config, older generations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from bifrost_helpers import client_for, message_of

from app.embedded_bifrost import create_app

PROVIDERS = "/api/governance/providers"
MODEL_CONFIGS = "/api/governance/model-configs"
UPDATED = "Provider governance updated successfully"
DELETED = {"message": "Provider governance deleted successfully"}


@pytest.fixture
async def v2() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(generation="v2")) as client:
        yield client


async def _put(client: httpx.AsyncClient, provider: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.put(f"{PROVIDERS}/{provider}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["message"] == UPDATED
    assert list(answer) == ["message", "provider"]
    entry: dict[str, Any] = answer["provider"]
    return entry


async def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, message_of(response)


async def test_list_is_null_until_a_provider_has_governance(v2: httpx.AsyncClient) -> None:
    assert (await v2.get(PROVIDERS)).json() == {"providers": None, "count": 0}


async def test_put_answers_the_provider_entry_and_lists_it(v2: httpx.AsyncClient) -> None:
    entry = await _put(
        v2,
        "openai",
        {
            "budgets": [{"max_limit": 100, "reset_duration": "1M"}, {"max_limit": 10, "reset_duration": "1d"}],
            "rate_limit": {"token_max_limit": 5000, "token_reset_duration": "1h"},
        },
    )
    assert list(entry) == ["provider", "budget", "budgets", "rate_limit", "calendar_aligned"]
    assert entry["provider"] == "openai"
    assert entry["calendar_aligned"] is False
    assert entry["budget"] == entry["budgets"][0]
    assert [(b["max_limit"], b["reset_duration"]) for b in entry["budgets"]] == [(100.0, "1M"), (10.0, "1d")]
    assert (entry["rate_limit"]["token_max_limit"], entry["rate_limit"]["token_reset_duration"]) == (5000, "1h")
    assert (await v2.get(PROVIDERS)).json() == {"providers": [entry], "count": 1}
    # Stored as Bifrost stores it: a global model config for every model of the provider.
    (config,) = (await v2.get(MODEL_CONFIGS)).json()["model_configs"]
    assert (config["model_name"], config["provider"], config["scope"]) == ("*", "openai", "global")
    assert config["budgets"] == entry["budgets"]
    assert config["rate_limit"] == entry["rate_limit"]


async def test_put_changes_keep_budget_usage_and_calendar_alignment(v2: httpx.AsyncClient) -> None:
    first = await _put(v2, "anthropic", {"budgets": [{"max_limit": 5, "reset_duration": "1d"}]})
    second = await _put(
        v2, "anthropic", {"budgets": [{"max_limit": 7, "reset_duration": "1d"}], "calendar_aligned": True}
    )
    assert second["budgets"][0]["id"] == first["budgets"][0]["id"]
    assert (second["budgets"][0]["max_limit"], second["calendar_aligned"]) == (7.0, True)
    # Only what is sent changes.
    third = await _put(v2, "anthropic", {"rate_limit": {"request_max_limit": 3, "request_reset_duration": "1m"}})
    assert (third["budgets"], third["calendar_aligned"]) == (second["budgets"], True)
    assert third["rate_limit"]["request_max_limit"] == 3


async def test_deprecated_single_budget_field(v2: httpx.AsyncClient) -> None:
    entry = await _put(v2, "azure", {"budget": {"max_limit": 20, "reset_duration": "1w"}})
    budget_id = entry["budget"]["id"]
    # A partial budget edits the one there is.
    entry = await _put(v2, "azure", {"budget": {"max_limit": 30}})
    assert (entry["budget"]["id"], entry["budget"]["max_limit"], entry["budget"]["reset_duration"]) == (
        budget_id,
        30.0,
        "1w",
    )
    # An empty budget removes it; with nothing else left, the provider has no governance any more.
    entry = await _put(v2, "azure", {"budget": {}})
    assert entry == {"provider": "azure", "calendar_aligned": False}
    assert (await v2.get(PROVIDERS)).json() == {"providers": None, "count": 0}
    assert (await v2.get(MODEL_CONFIGS)).json()["count"] == 0


async def test_removing_every_limit_deletes_the_backing_config(v2: httpx.AsyncClient) -> None:
    await _put(
        v2,
        "openai",
        {
            "budgets": [{"max_limit": 1, "reset_duration": "1d"}],
            "rate_limit": {"request_max_limit": 1, "request_reset_duration": "1m"},
        },
    )
    entry = await _put(v2, "openai", {"budgets": []})
    assert "budgets" not in entry and "budget" not in entry and entry["rate_limit"]["request_max_limit"] == 1
    entry = await _put(v2, "openai", {"rate_limit": {}})
    assert entry == {"provider": "openai", "calendar_aligned": False}
    assert (await v2.get(MODEL_CONFIGS)).json()["count"] == 0
    assert (await v2.get("/api/governance/rate-limits")).json()["count"] == 0
    assert (await v2.get("/api/governance/budgets")).json()["count"] == 0


async def test_put_without_limits_on_a_provider_without_governance_stores_nothing(v2: httpx.AsyncClient) -> None:
    assert await _put(v2, "openai", {}) == {"provider": "openai", "calendar_aligned": False}
    assert await _put(v2, "openai", {"calendar_aligned": True, "budgets": []}) == {
        "provider": "openai",
        "calendar_aligned": False,
    }
    assert (await v2.get(MODEL_CONFIGS)).json()["count"] == 0


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            {"budget": {"max_limit": 1, "reset_duration": "1d"}, "budgets": []},
            400,
            "only one of 'budget' or 'budgets' may be set",
        ),
        (
            {"budget": {"max_limit": 5}},
            400,
            "both max_limit and reset_duration are required when creating a new budget",
        ),
        ({"budgets": [{"max_limit": -1, "reset_duration": "1d"}]}, 400, "budget max_limit cannot be negative: -1.00"),
        (
            {"budgets": [{"max_limit": 1, "reset_duration": "soon"}]},
            400,
            "invalid reset duration (must be a positive duration): soon",
        ),
        (
            {"budgets": [{"id": "x", "max_limit": 1, "reset_duration": "1d"}]},
            400,
            "budget x does not belong to this entity",
        ),
        (
            {"budgets": [{"max_limit": 0, "reset_duration": "1d"}]},
            500,
            "Failed to update provider governance: budget max limit cannot be negative or zero: 0.00",
        ),
        ({"budgets": "x"}, 400, "Invalid JSON"),
        ({"calendar_aligned": "yes"}, 400, "Invalid JSON"),
    ],
)
async def test_put_refusals(v2: httpx.AsyncClient, body: dict[str, Any], status: int, message: str) -> None:
    assert await _error(await v2.put(f"{PROVIDERS}/openai", json=body)) == (status, message)
    assert (await v2.get(PROVIDERS)).json() == {"providers": None, "count": 0}


async def test_deprecated_budget_is_refused_while_several_exist(v2: httpx.AsyncClient) -> None:
    several = [{"max_limit": 1, "reset_duration": "1d"}, {"max_limit": 5, "reset_duration": "1w"}]
    entry = await _put(v2, "openai", {"budgets": several})
    response = await v2.put(f"{PROVIDERS}/openai", json={"budget": {"max_limit": 9}})
    assert await _error(response) == (
        400,
        "deprecated 'budget' field cannot be used when multiple budgets already exist; use 'budgets'",
    )
    assert (await v2.get(PROVIDERS)).json()["providers"] == [entry]


@pytest.mark.parametrize("provider", ["mistral", "OpenAI", "nope", "open%20ai"])
async def test_unknown_provider_is_404(v2: httpx.AsyncClient, provider: str) -> None:
    # Only the providers configured on this Bifrost (openai, anthropic, azure) have governance.
    body = {"budgets": [{"max_limit": 1, "reset_duration": "1d"}]}
    assert await _error(await v2.put(f"{PROVIDERS}/{provider}", json=body)) == (404, "Provider not found")


async def test_bad_escape_in_the_provider_name_is_400(v2: httpx.AsyncClient) -> None:
    for method in ("PUT", "DELETE"):
        response = await v2.request(method, f"{PROVIDERS}/open%25zz", json={})
        assert await _error(response) == (400, "Invalid provider name encoding")
        response = await v2.request(method, f"{PROVIDERS}/%25", json={})
        assert await _error(response) == (400, "Invalid provider name encoding")


async def test_delete_is_idempotent(v2: httpx.AsyncClient) -> None:
    await _put(v2, "openai", {"budgets": [{"max_limit": 1, "reset_duration": "1d"}]})
    for provider in ("openai", "openai", "never-configured"):
        response = await v2.delete(f"{PROVIDERS}/{provider}")
        assert (response.status_code, response.json()) == (200, DELETED)
    assert (await v2.get(PROVIDERS)).json() == {"providers": None, "count": 0}
    assert (await v2.get("/api/governance/budgets")).json()["count"] == 0


async def test_provider_routes_have_no_get_by_name(v2: httpx.AsyncClient) -> None:
    assert await _error(await v2.get(f"{PROVIDERS}/openai")) == (405, "Method not allowed")
    assert await _error(await v2.post(PROVIDERS, json={})) == (405, "Method not allowed")


@pytest.mark.parametrize("generation", ["seed", "current"])
async def test_older_generations_have_no_provider_governance(generation: str) -> None:
    async with client_for(create_app(generation=generation)) as client:
        for method, path in [("GET", PROVIDERS), ("PUT", f"{PROVIDERS}/openai"), ("DELETE", f"{PROVIDERS}/openai")]:
            response = await client.request(method, path, json={})
            assert await _error(response) == (404, "Not found")


async def test_calendar_alignment_starts_windows_at_the_calendar_period() -> None:
    app = create_app(generation="v2")
    async with client_for(app) as v2:
        entry = await _put(v2, "openai", {"budgets": [{"max_limit": 1, "reset_duration": "1M"}]})
        budget_id = entry["budgets"][0]["id"]
        with app.state.store.transaction() as db:
            db.execute("UPDATE budgets SET current_usage = 0.75 WHERE id = ?", (budget_id,))
        month_start = datetime.now(UTC).strftime("%Y-%m-01T00:00:00.000000000Z")
        # Turning it on zeroes the usage and snaps the window to the 1st of the month.
        entry = await _put(v2, "openai", {"calendar_aligned": True})
        (budget,) = entry["budgets"]
        assert (budget["id"], budget["current_usage"], budget["last_reset"]) == (budget_id, 0.0, month_start)
        # A budget added while aligned starts at its period too; an hourly one has no calendar period.
        entry = await _put(
            v2,
            "openai",
            {"budgets": [{"max_limit": 1, "reset_duration": "1M"}, {"max_limit": 1, "reset_duration": "1h"}]},
        )
        monthly, hourly = entry["budgets"]
        assert monthly["last_reset"] == month_start
        assert hourly["last_reset"] != month_start
