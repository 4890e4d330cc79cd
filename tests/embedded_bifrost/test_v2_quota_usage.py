"""v2 quota ``per_model_usage``: a key's spend per model since its budget's window opened, from the request log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bifrost_helpers import client_for

from app.embedded_bifrost import create_app
from app.embedded_bifrost.app import BifrostApp
from app.embedded_bifrost.request_logs import LogRow, record
from app.embedded_bifrost.timestamps import NANOS_PER_SECOND, format_rfc3339, parse_rfc3339

VKS = "/api/governance/virtual-keys"
QUOTA = f"{VKS}/quota"
SECOND = NANOS_PER_SECOND


@pytest.fixture
async def served() -> AsyncIterator[tuple[BifrostApp, httpx.AsyncClient]]:
    app = create_app(generation="v2")
    async with client_for(app) as client:
        yield app, client


async def _key(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    body = {"name": name, "budgets": [{"max_limit": 10, "reset_duration": "1d"}]}
    response = await client.post(VKS, json=body)
    assert response.status_code == 200, response.text
    key: dict[str, Any] = response.json()["virtual_key"]
    return key


def _row(name: str, vk_id: str, when: int, **fields: Any) -> LogRow:
    values: dict[str, Any] = {"provider": "openai", "model": "gpt-4o-mini", "status": "success", **fields}
    return LogRow(id=name, timestamp=when, virtual_key_id=vk_id, **values)


async def _usage(client: httpx.AsyncClient, key: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.get(QUOTA, headers={"x-bf-vk": key["value"]})
    assert response.status_code == 200, response.text
    (budget,) = response.json()["budgets"]
    usage: list[dict[str, Any]] = budget["per_model_usage"]
    return usage


async def test_per_model_usage_sums_the_keys_requests_since_the_budget_opened(
    served: tuple[BifrostApp, httpx.AsyncClient],
) -> None:
    app, client = served
    key, other = await _key(client, "mine"), await _key(client, "theirs")
    opened = parse_rfc3339(key["budgets"][0]["created_at"]) or 0
    db = app.state.store.db
    for row in (
        _row("a", key["id"], opened, cost=0.25, total_tokens=10),
        _row("b", key["id"], opened + SECOND, cost=0.5, total_tokens=20),
        _row("c", key["id"], opened + 2 * SECOND, model="gpt-4o", cost=1.0, total_tokens=5),
        _row("d", key["id"], opened + 3 * SECOND, model="gpt-4o", provider="azure", cost=2.0, total_tokens=1),
        # A failed call: charged for what the provider billed, without a request.
        _row("e", key["id"], opened + 4 * SECOND, status="error", cost=0.125, total_tokens=2),
        # Not counted: before the window, still running, another key's.
        _row("f", key["id"], opened - 1, cost=64.0, total_tokens=100),
        _row("g", key["id"], opened + 5 * SECOND, status="processing", cost=64.0),
        _row("h", other["id"], opened + SECOND, cost=64.0, total_tokens=100),
    ):
        record(db, row)
    assert await _usage(client, key) == [
        {"model": "gpt-4o", "provider": "azure", "total_requests": 1, "total_tokens": 1, "total_cost": 2.0},
        {"model": "gpt-4o", "provider": "openai", "total_requests": 1, "total_tokens": 5, "total_cost": 1.0},
        {"model": "gpt-4o-mini", "provider": "openai", "total_requests": 2, "total_tokens": 32, "total_cost": 0.875},
    ]
    assert await _usage(client, other) == [
        {"model": "gpt-4o-mini", "provider": "openai", "total_requests": 1, "total_tokens": 100, "total_cost": 64.0}
    ]


async def test_per_model_usage_starts_again_at_a_reset(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    key = await _key(client, "resetting")
    opened = parse_rfc3339(key["budgets"][0]["created_at"]) or 0
    db = app.state.store.db
    record(db, _row("before", key["id"], opened + 5 * SECOND, cost=1.0, total_tokens=1))
    record(db, _row("after", key["id"], opened + 15 * SECOND, cost=2.0, total_tokens=2))
    # The window rolls over (what the reset worker does when it expires).
    reset = format_rfc3339(opened + 10 * SECOND)
    db.execute("UPDATE budgets SET last_reset = ? WHERE id = ?", (reset, key["budgets"][0]["id"]))
    assert await _usage(client, key) == [
        {"model": "gpt-4o-mini", "provider": "openai", "total_requests": 1, "total_tokens": 2, "total_cost": 2.0}
    ]
    # A last_reset earlier than the budget's creation counts from the creation.
    db.execute("UPDATE budgets SET last_reset = ? WHERE id = ?", (format_rfc3339(0), key["budgets"][0]["id"]))
    assert [u["total_cost"] for u in await _usage(client, key)] == [3.0]


async def test_per_model_usage_is_empty_without_requests(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    _, client = served
    assert await _usage(client, await _key(client, "idle")) == []
