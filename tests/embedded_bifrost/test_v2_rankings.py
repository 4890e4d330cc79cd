"""v2 ``/api/logs/rankings`` and ``/rankings/by-dimension``: groups, order, trends against the previous period."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from bifrost_helpers import client_for, message_of
from log_rows import get, row, seed

from app.embedded_bifrost import create_app
from app.embedded_bifrost.app import BifrostApp
from app.embedded_bifrost.timestamps import format_rfc3339, parse_rfc3339

RANKINGS = "/api/logs/rankings"
BY_DIMENSION = "/api/logs/rankings/by-dimension"
RANKING_VALUES = "Valid values: team, customer, business_unit, user"
T0 = parse_rfc3339("2030-01-01T00:00:00Z") or 0
HOUR = 3600 * 10**9
NO_TREND = {
    "has_previous_period": False,
    "requests_trend": 0,
    "tokens_trend": 0,
    "cost_trend": 0,
    "latency_trend": 0,
    "throughput_trend": 0,
}


@pytest.fixture
async def served() -> AsyncIterator[tuple[BifrostApp, httpx.AsyncClient]]:
    app = create_app(generation="v2")
    async with client_for(app) as client:
        yield app, client


async def test_model_rankings_group_by_model_and_provider(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    seed(
        app,
        row("a", T0, cost=1.0, total_tokens=10, completion_tokens=6, latency=2000),
        row("b", T0, status="error", cost=0.5, total_tokens=4, latency=1000),
        row("c", T0, model="gpt-4o", cost=4.0, total_tokens=8, completion_tokens=8, latency=500),
        row("d", T0, model="gpt-4o", provider="azure", cost=2.0),
        row("e", T0, model="gpt-4o", provider="azure", cost=2.0),
        row("f", T0, model="gpt-4o", provider="azure", status="processing", cost=9.0),
    )
    body = await get(client, RANKINGS)
    assert body == {
        "rankings": [
            {
                "model": "gpt-4o",
                "provider": "azure",
                "total_requests": 2,
                "success_count": 2,
                "success_rate": 100.0,
                "total_tokens": 0,
                "total_cost": 4.0,
                "avg_latency": 0,
                "throughput": 0,
                "trend": NO_TREND,
            },
            {
                "model": "gpt-4o-mini",
                "provider": "openai",
                "total_requests": 2,
                "success_count": 1,
                "success_rate": 50.0,
                "total_tokens": 14,
                "total_cost": 1.5,
                "avg_latency": 1500.0,
                "throughput": 3.0,  # 6 completion tokens of the successful request over its 2 s
                "trend": NO_TREND,
            },
            {
                "model": "gpt-4o",
                "provider": "openai",
                "total_requests": 1,
                "success_count": 1,
                "success_rate": 100.0,
                "total_tokens": 8,
                "total_cost": 4.0,
                "avg_latency": 500.0,
                "throughput": 16.0,
                "trend": NO_TREND,
            },
        ]
    }


async def test_model_trend_compares_the_previous_period_of_equal_length(
    served: tuple[BifrostApp, httpx.AsyncClient],
) -> None:
    app, client = served
    seed(
        app,
        # Previous period: [T0 - 1h, T0 - 1ns].
        row("p1", T0 - HOUR, cost=1.0, total_tokens=10, latency=100),
        row("p2", T0 - 1, cost=1.0, total_tokens=10, latency=100),
        row("older", T0 - HOUR - 1, cost=100.0, total_tokens=1000),
        # Current period: [T0, T0 + 1h].
        row("c1", T0, cost=1.0, total_tokens=20, latency=150),
        row("c2", T0, cost=1.0, total_tokens=20, latency=150),
        row("c3", T0 + HOUR, cost=1.0, total_tokens=20, latency=150),
        row("new", T0, model="new-model", cost=1.0),
    )
    body = await get(client, RANKINGS, start_time=format_rfc3339(T0), end_time=format_rfc3339(T0 + HOUR))
    mini, new = body["rankings"]
    assert mini["model"] == "gpt-4o-mini" and mini["total_requests"] == 3
    assert mini["trend"] == {
        "has_previous_period": True,
        "requests_trend": 50.0,
        "tokens_trend": 200.0,
        "cost_trend": 50.0,
        "latency_trend": 50.0,
        "throughput_trend": 0,
    }
    assert new["model"] == "new-model" and new["trend"] == NO_TREND
    # Without a complete range there is no previous period.
    assert all(r["trend"] == NO_TREND for r in (await get(client, RANKINGS, start_time=format_rfc3339(T0)))["rankings"])


async def test_rankings_keep_at_most_100_groups(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    seed(app, *(row(f"r{n}", T0, model=f"m{n:03d}") for n in range(120)), row("extra", T0, model="m119"))
    rankings = (await get(client, RANKINGS))["rankings"]
    assert len(rankings) == 100
    assert rankings[0]["model"] == "m119" and rankings[0]["total_requests"] == 2


async def test_rankings_take_the_filters(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    seed(app, row("a", T0, team_id="t1"), row("b", T0, team_id="t2", model="other"))
    rankings = (await get(client, RANKINGS, team_ids="t2"))["rankings"]
    assert [r["model"] for r in rankings] == ["other"]


async def test_team_rankings(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    seed(
        app,
        row("p", T0 - HOUR, team_id="t1", team_name="Core", cost=2.0, total_tokens=5),
        row("a", T0, team_id="t1", team_name="Core", cost=1.0, total_tokens=5),
        row("b", T0 + 1, team_id="t1", team_name="Core", cost=2.0, total_tokens=5),
        row("c", T0, team_id="t2", cost=4.0, total_tokens=1),
        row("no-team", T0, cost=8.0),
        row("running", T0, team_id="t3", status="processing"),
    )
    body = await get(
        client, BY_DIMENSION, dimension="team", start_time=format_rfc3339(T0), end_time=format_rfc3339(T0 + HOUR)
    )
    assert body == {
        "rankings": [
            {
                "id": "t1",
                "name": "Core",
                "total_requests": 2,
                "total_tokens": 10,
                "total_cost": 3.0,
                "trend": {
                    "has_previous_period": True,
                    "requests_trend": 100.0,
                    "tokens_trend": 100.0,
                    "cost_trend": 50.0,
                },
            },
            {
                "id": "t2",
                "total_requests": 1,
                "total_tokens": 1,
                "total_cost": 4.0,
                "trend": {"has_previous_period": False, "requests_trend": 0, "tokens_trend": 0, "cost_trend": 0},
            },
        ],
        "dimension": "team",
    }


@pytest.mark.parametrize(
    ("dimension", "fields", "named"),
    [
        ("customer", {"customer_id": "c1", "customer_name": "Acme"}, "Acme"),
        ("virtual_key", {"virtual_key_id": "vk1", "virtual_key_name": "demo"}, "demo"),
        ("user", {"user_id": "u1"}, None),
        ("business_unit", {"business_unit_id": "bu1"}, None),
    ],
)
async def test_rankings_by_each_dimension(
    served: tuple[BifrostApp, httpx.AsyncClient], dimension: str, fields: dict[str, str], named: str | None
) -> None:
    app, client = served
    seed(app, row("a", T0, cost=1.0, **fields), row("b", T0, cost=2.0))
    (ranking,) = (await get(client, BY_DIMENSION, dimension=dimension))["rankings"]
    assert ranking["id"] == next(iter(fields.values())) and ranking.get("name") == named
    assert ranking["total_cost"] == 1.0


async def test_no_rankings_is_an_empty_list(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    _, client = served
    assert await get(client, BY_DIMENSION, dimension="customer") == {"rankings": [], "dimension": "customer"}
    assert await get(client, RANKINGS) == {"rankings": []}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, f"Missing required query parameter: dimension. {RANKING_VALUES}"),
        ({"dimension": ""}, f"Missing required query parameter: dimension. {RANKING_VALUES}"),
        ({"dimension": "team_id"}, f"Invalid dimension: team_id. {RANKING_VALUES}"),
        ({"dimension": "provider"}, f"Invalid dimension: provider. {RANKING_VALUES}"),
        ({"dimension": "Team"}, f"Invalid dimension: Team. {RANKING_VALUES}"),
    ],
)
async def test_rankings_refuse_a_bad_dimension(
    served: tuple[BifrostApp, httpx.AsyncClient], params: dict[str, str], message: str
) -> None:
    _, client = served
    response = await client.get(BY_DIMENSION, params=params)
    assert response.status_code == 400
    assert message_of(response) == message
