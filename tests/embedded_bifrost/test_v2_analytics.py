"""v2 ``/api/logs/stats`` and the cost histograms: sums per bucket, filters, ranges, bucket sizes, errors.

Rows are seeded with ``request_logs.record()`` into the server's own store, as the inference endpoint writes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from bifrost_helpers import client_for, message_of
from log_rows import get, row, seed

from app.embedded_bifrost import create_app
from app.embedded_bifrost.app import BifrostApp
from app.embedded_bifrost.request_logs import record
from app.embedded_bifrost.timestamps import NANOS_PER_SECOND, format_rfc3339, parse_rfc3339

STATS = "/api/logs/stats"
COST = "/api/logs/histogram/cost"
BY_DIMENSION = "/api/logs/histogram/cost/by-dimension"
HISTOGRAM_VALUES = "Valid values: provider, team_id, customer_id, user_id, business_unit_id"

T0 = parse_rfc3339("2030-01-01T00:00:00Z") or 0  # a midnight: a multiple of every bucket size but 3 and 7 days
MINUTE = 60 * NANOS_PER_SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def at(nanos: int) -> str:
    """RFC 3339 of an instant, as a client sends it."""
    return format_rfc3339(nanos)


@pytest.fixture
async def served() -> AsyncIterator[tuple[BifrostApp, httpx.AsyncClient]]:
    app = create_app(generation="v2")
    async with client_for(app) as client:
        yield app, client


# --- stats -----------------------------------------------------------------------------------------------------


async def test_stats_of_no_rows_are_zero(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    _, client = served
    assert await get(client, STATS) == {
        "total_requests": 0,
        "success_rate": 0,
        "user_facing_success_rate": 0,
        "user_facing_total_requests": 0,
        "average_latency": 0,
        "total_tokens": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_cost": 0,
    }


async def test_stats_sum_finished_rows_and_count_every_row(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    seed(
        app,
        row("a", T0, cost=0.25, prompt_tokens=3, completion_tokens=5, total_tokens=8, latency=100),
        row("b", T0 + 1, status="error", cost=0.5, prompt_tokens=1, completion_tokens=0, total_tokens=1, latency=300),
        # A failed request rescued by its fallback: one user-facing request, a success.
        row("c", T0 + 2, status="error", latency=200),
        row("c-fallback", T0 + 3, fallback_index=1, parent_request_id="c", cost=0.125, total_tokens=4, latency=50),
        # Still running: counted in total_requests only.
        row("d", T0 + 4, status="processing", cost=8.0, total_tokens=1000, latency=9000),
    )
    stats = await get(client, STATS)
    assert stats == {
        "total_requests": 5,
        "success_rate": 50.0,
        "user_facing_success_rate": pytest.approx(200 / 3),
        "user_facing_total_requests": 3,
        "average_latency": 162.5,
        "total_tokens": 13,
        "prompt_tokens": 4,
        "completion_tokens": 5,
        "total_cost": 0.875,
        "cache_hit_rate_total_requests": 4,
    }


async def test_stats_of_one_chain_use_the_attempt_success_rate(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    seed(
        app,
        row("root", T0, status="error"),
        row("f1", T0 + 1, status="error", parent_request_id="root", fallback_index=1),
        row("f2", T0 + 2, parent_request_id="root", fallback_index=2),
    )
    stats = await get(client, STATS, parent_request_id="root")
    assert stats["total_requests"] == 2
    assert stats["success_rate"] == 50.0 and stats["user_facing_success_rate"] == 50.0
    assert stats["user_facing_total_requests"] == 0


LIST_FILTERS = [
    ("virtual_key_ids", "virtual_key_id"),
    ("team_ids", "team_id"),
    ("customer_ids", "customer_id"),
    ("user_ids", "user_id"),
    ("business_unit_ids", "business_unit_id"),
    ("selected_key_ids", "selected_key_id"),
    ("providers", "provider"),
    ("models", "model"),
    ("status", "status"),
    ("objects", "object_type"),
]


@pytest.mark.parametrize(("parameter", "column"), LIST_FILTERS)
async def test_each_list_filter_keeps_the_rows_it_names(
    served: tuple[BifrostApp, httpx.AsyncClient], parameter: str, column: str
) -> None:
    app, client = served
    seed(
        app,
        row("one", T0, cost=1.0, **{column: "x-1"}),
        row("two", T0, cost=2.0, **{column: "x-2"}),
        row("three", T0, cost=4.0, **{column: "x-3"}),
    )
    # Items are trimmed, empty items dropped; the first value of a repeated parameter wins.
    response = await client.get(STATS, params=[(parameter, " x-1, ,x-3 ,"), (parameter, "x-2")])
    assert response.json()["total_requests"] == 2
    if column != "status":  # made-up statuses are not finished requests, whose cost the stats sum
        assert response.json()["total_cost"] == 5.0
    # A list left empty filters nothing.
    assert (await get(client, STATS, **{parameter: " , "}))["total_requests"] == 3


async def test_status_filter(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    seed(app, row("a", T0, cost=1.0), row("b", T0, status="error", cost=2.0), row("c", T0, status="processing"))
    stats = await get(client, STATS, status="error,processing")
    assert stats["total_requests"] == 2 and stats["total_cost"] == 2.0 and stats["success_rate"] == 0


async def test_filters_combine(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    seed(
        app,
        row("a", T0, team_id="t1", model="m1", cost=1.0),
        row("b", T0, team_id="t1", model="m2", cost=2.0),
        row("c", T0, team_id="t2", model="m1", cost=4.0),
    )
    assert (await get(client, STATS, team_ids="t1", models="m1"))["total_cost"] == 1.0


async def test_a_long_id_list_is_one_filter(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    seed(app, row("a", T0, virtual_key_id="vk-4999", cost=1.0), row("b", T0, virtual_key_id="other", cost=2.0))
    ids = ",".join(f"vk-{n}" for n in range(5000))
    assert (await get(client, STATS, virtual_key_ids=ids))["total_cost"] == 1.0


@pytest.mark.parametrize(
    ("params", "kept"),
    [
        ({"min_cost": "2"}, {"b", "c"}),
        ({"max_cost": "2.0"}, {"a", "b"}),
        ({"min_tokens": "20", "max_tokens": "+20"}, {"b"}),
        ({"min_latency": "250"}, {"c"}),
        ({"max_latency": "1e2"}, {"a"}),
        # Values Go does not parse are ignored, never refused.
        ({"min_cost": "1_0"}, {"a", "b", "c"}),
        ({"min_cost": "1e400"}, {"a", "b", "c"}),
        ({"min_tokens": "2.5"}, {"a", "b", "c"}),
        ({"max_tokens": "99999999999999999999"}, {"a", "b", "c"}),
        ({"min_tokens": " 20"}, {"a", "b", "c"}),
        ({"missing_cost_only": "maybe"}, {"a", "b", "c"}),
        # Filters on values the server never records leave nothing.
        ({"aliases": "fast"}, set()),
        ({"stop_reasons": "stop"}, set()),
        ({"metadata_env": "prod"}, set()),
    ],
)
async def test_range_filters(
    served: tuple[BifrostApp, httpx.AsyncClient], params: dict[str, str], kept: set[str]
) -> None:
    app, client = served
    seed(
        app,
        row("a", T0, cost=1.0, total_tokens=10, latency=100),
        row("b", T0, cost=2.0, total_tokens=20, latency=200),
        row("c", T0, cost=4.0, total_tokens=30, latency=300),
    )
    stats = await get(client, STATS, **params)
    costs = {"a": 1.0, "b": 2.0, "c": 4.0}
    assert stats["total_requests"] == len(kept)
    assert stats["total_cost"] == sum(costs[name] for name in kept)


async def test_missing_cost_only(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    seed(app, row("priced", T0, cost=1.0), row("free", T0), row("failed", T0, status="error"))
    assert (await get(client, STATS, missing_cost_only="true"))["total_requests"] == 1


async def test_time_bounds_are_inclusive(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    seed(
        app,
        row("before", T0 - 1, cost=1.0),
        row("start", T0, cost=2.0),
        row("end", T0 + HOUR, cost=4.0),
        row("after", T0 + HOUR + 1, cost=8.0),
    )
    stats = await get(client, STATS, start_time=at(T0), end_time=at(T0 + HOUR))
    assert stats["total_cost"] == 6.0
    # An offset is an instant like any other.
    stats = await get(
        client, STATS, start_time="2030-01-01T01:00:00+01:00", end_time="2029-12-31T19:00:00.000000001-05:00"
    )
    assert stats["total_cost"] == 2.0


@pytest.mark.parametrize(
    "bad", ["yesterday", "2030-02-30T00:00:00Z", "2030-01-01 00:00:00Z", "2030-01-01T00:00:00", "1893456000"]
)
async def test_an_invalid_time_is_ignored(served: tuple[BifrostApp, httpx.AsyncClient], bad: str) -> None:
    app, client = served
    seed(app, row("old", T0 - 365 * DAY, cost=1.0), row("new", T0, cost=2.0))
    # Bifrost ignores what it cannot parse: all history.
    assert (await get(client, STATS, start_time=bad))["total_cost"] == 3.0
    assert (await get(client, STATS, start_time=at(T0), end_time=bad))["total_cost"] == 2.0


async def test_times_at_the_ends_of_rfc3339(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    seed(app, row("a", T0, cost=1.0))
    stats = await get(client, STATS, start_time="0000-01-01T00:00:00Z", end_time="9999-12-31T23:59:59.999999999Z")
    assert stats["total_cost"] == 1.0
    assert (await get(client, STATS, start_time="9999-12-31T23:59:59Z"))["total_requests"] == 0


# --- cost histogram ---------------------------------------------------------------------------------------------


async def test_cost_histogram_sums_per_bucket_and_model(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    seed(
        app,
        row("a", T0 + 5 * MINUTE, cost=0.25),
        row("b", T0 + 5 * MINUTE + 59 * NANOS_PER_SECOND, cost=0.5, model="gpt-4o"),
        row("c", T0 + 6 * MINUTE, cost=0.125),
        row("d", T0 + 6 * MINUTE, cost=1.0, status="error", model="gpt-4o"),
        # Not counted: no cost, a zero cost, still processing.
        row("e", T0 + 5 * MINUTE),
        row("f", T0 + 5 * MINUTE, cost=0.0),
        row("g", T0 + 5 * MINUTE, cost=64.0, status="processing"),
    )
    body = await get(client, COST, start_time=at(T0 + 4 * MINUTE + 30 * NANOS_PER_SECOND), end_time=at(T0 + 7 * MINUTE))
    assert body == {
        "buckets": [
            {"timestamp": "2030-01-01T00:04:00Z", "total_cost": 0, "by_model": {}},
            {"timestamp": "2030-01-01T00:05:00Z", "total_cost": 0.75, "by_model": {"gpt-4o": 0.5, "gpt-4o-mini": 0.25}},
            {
                "timestamp": "2030-01-01T00:06:00Z",
                "total_cost": 1.125,
                "by_model": {"gpt-4o": 1.0, "gpt-4o-mini": 0.125},
            },
            {"timestamp": "2030-01-01T00:07:00Z", "total_cost": 0, "by_model": {}},
        ],
        "bucket_size_seconds": 60,
        "models": ["gpt-4o", "gpt-4o-mini"],
    }


async def test_cost_histogram_without_a_range_answers_the_buckets_with_rows(
    served: tuple[BifrostApp, httpx.AsyncClient],
) -> None:
    app, client = served
    seed(app, row("late", T0 + 5 * HOUR + 1, cost=2.0), row("early", T0 + 30 * MINUTE, cost=1.0))
    for params in ({}, {"start_time": at(T0)}, {"end_time": at(T0 + DAY)}):
        body = await get(client, COST, **params)
        assert body["bucket_size_seconds"] == 3600
        assert [(b["timestamp"], b["total_cost"]) for b in body["buckets"]] == [
            ("2030-01-01T00:00:00Z", 1.0),
            ("2030-01-01T05:00:00Z", 2.0),
        ]


async def test_cost_histogram_buckets_align_to_the_epoch(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    # 3-day buckets: 2030-01-01 is day 21915 since the epoch, so its bucket began on day 21915 - 21915 % 3 = 21915.
    seed(app, row("a", T0 + 2 * DAY + 23 * HOUR, cost=1.0), row("b", T0 + 3 * DAY, cost=2.0))
    body = await get(client, COST, start_time=at(T0), end_time=at(T0 + 40 * DAY))
    assert body["bucket_size_seconds"] == 3 * 86_400
    buckets = body["buckets"]
    assert buckets[0] == {"timestamp": "2030-01-01T00:00:00Z", "total_cost": 1.0, "by_model": {"gpt-4o-mini": 1.0}}
    assert buckets[1] == {"timestamp": "2030-01-04T00:00:00Z", "total_cost": 2.0, "by_model": {"gpt-4o-mini": 2.0}}
    assert len(buckets) == 14  # 2030-01-01 ... 2030-02-09, the bucket holding the end included
    assert sum(b["total_cost"] for b in buckets) == 3.0


@pytest.mark.parametrize(
    ("span", "size"),
    [
        (2 * HOUR - 1, 60),
        (2 * HOUR, 600),
        (DAY - 1, 600),
        (DAY, 3600),
        (3 * DAY, 8 * 3600),
        (7 * DAY, 86_400),
        (31 * DAY, 86_400),
        (31 * DAY + 1, 3 * 86_400),
        (90 * DAY, 7 * 86_400),
        (365 * DAY - 1, 7 * 86_400),
        (365 * DAY, 30 * 86_400),
        (-HOUR, 60),
    ],
)
async def test_bucket_size_follows_the_range(
    served: tuple[BifrostApp, httpx.AsyncClient], span: int, size: int
) -> None:
    _, client = served
    body = await get(client, COST, start_time=at(T0), end_time=at(T0 + span))
    assert body["bucket_size_seconds"] == size
    if span < 0:
        assert body["buckets"] == []


async def test_the_widest_range_is_answered(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    seed(app, row("a", T0, cost=1.0))
    body = await get(client, COST, start_time="1970-01-01T00:00:00Z", end_time="2100-01-01T00:00:00Z")
    assert body["bucket_size_seconds"] == 30 * 86_400
    assert sum(b["total_cost"] for b in body["buckets"]) == 1.0
    assert body["buckets"][0]["timestamp"] == "1970-01-01T00:00:00Z"


# --- by dimension -----------------------------------------------------------------------------------------------


async def test_cost_by_team(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    seed(
        app,
        row("a", T0, cost=1.0, team_id="t1"),
        row("b", T0 + 1, cost=2.0, team_id="t2"),
        row("c", T0 + HOUR, cost=4.0, team_id="t1"),
        row("no-team", T0 + HOUR, cost=8.0),
    )
    body = await get(client, BY_DIMENSION, dimension="team_id", start_time=at(T0), end_time=at(T0 + 2 * HOUR))
    # 10-minute buckets over two hours: 13 of them, two with rows.
    assert body["bucket_size_seconds"] == 600 and len(body["buckets"]) == 13
    assert body["dimension"] == "team_id" and body["dimension_values"] == ["", "t1", "t2"]
    non_empty = [(b["timestamp"], b["total_cost"], b["by_dimension"]) for b in body["buckets"] if b["by_dimension"]]
    assert non_empty == [
        ("2030-01-01T00:00:00Z", 3.0, {"t1": 1.0, "t2": 2.0}),
        ("2030-01-01T01:00:00Z", 12.0, {"": 8.0, "t1": 4.0}),
    ]


@pytest.mark.parametrize(
    ("dimension", "column"),
    [
        ("provider", "provider"),
        ("customer_id", "customer_id"),
        ("user_id", "user_id"),
        ("business_unit_id", "business_unit_id"),
    ],
)
async def test_cost_by_each_dimension(
    served: tuple[BifrostApp, httpx.AsyncClient], dimension: str, column: str
) -> None:
    app, client = served
    seed(app, row("a", T0, cost=1.0, **{column: "v1"}), row("b", T0, cost=2.0, **{column: "v2"}))
    body = await get(client, BY_DIMENSION, dimension=dimension, team_ids=" ")
    assert body["dimension_values"] == ["v1", "v2"]
    assert body["buckets"] == [
        {"timestamp": "2030-01-01T00:00:00Z", "total_cost": 3.0, "by_dimension": {"v1": 1.0, "v2": 2.0}}
    ]


async def test_cost_by_dimension_takes_the_filters(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    app, client = served
    seed(app, *(row(f"r{n}", T0, cost=float(n + 1), team_id=f"t{n}") for n in range(4)))
    body = await get(client, BY_DIMENSION, dimension="team_id", team_ids="t1,t3")
    assert body["buckets"][0]["by_dimension"] == {"t1": 2.0, "t3": 4.0}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, f"Missing required query parameter: dimension. {HISTOGRAM_VALUES}"),
        ({"dimension": ""}, f"Missing required query parameter: dimension. {HISTOGRAM_VALUES}"),
        ({"dimension": "virtual_key_id"}, f"Invalid dimension: virtual_key_id. {HISTOGRAM_VALUES}"),
        ({"dimension": "team"}, f"Invalid dimension: team. {HISTOGRAM_VALUES}"),
        ({"dimension": "TEAM_ID"}, f"Invalid dimension: TEAM_ID. {HISTOGRAM_VALUES}"),
        ({"dimension": " provider"}, f"Invalid dimension:  provider. {HISTOGRAM_VALUES}"),
        ({"dimension": "provider;DROP TABLE logs"}, f"Invalid dimension: provider;DROP TABLE logs. {HISTOGRAM_VALUES}"),
    ],
)
async def test_cost_by_dimension_refuses_a_bad_dimension(
    served: tuple[BifrostApp, httpx.AsyncClient], params: dict[str, str], message: str
) -> None:
    app, client = served
    seed(app, row("a", T0, cost=1.0))
    response = await client.get(BY_DIMENSION, params={**params, "start_time": "not a time"})
    assert response.status_code == 400
    assert message_of(response) == message
    assert (await get(client, STATS))["total_requests"] == 1  # the table survived


# --- generations and auth --------------------------------------------------------------------------------------


@pytest.mark.parametrize("generation", ["seed", "v1.5"])
@pytest.mark.parametrize("path", [STATS, COST, BY_DIMENSION, "/api/logs/rankings", "/api/logs/rankings/by-dimension"])
async def test_older_generations_have_no_analytics(generation: str, path: str) -> None:
    async with client_for(create_app(generation=generation)) as client:
        response = await client.get(path, params={"dimension": "team_id"})
    assert response.status_code == 404
    assert message_of(response) == "Not found"


@pytest.mark.parametrize("path", [STATS, COST, BY_DIMENSION, "/api/logs/rankings", "/api/logs/rankings/by-dimension"])
async def test_analytics_need_dashboard_auth(path: str) -> None:
    app = create_app(generation="v2", auth=("admin", "secret"))
    seed(app, row("a", T0, cost=1.0, team_id="t1"))
    async with client_for(app) as client:
        refused = await client.get(path, params={"dimension": "team"})
        assert refused.status_code == 401 and message_of(refused) == "Unauthorized"
        key = await client.get(path, params={"dimension": "team"}, headers={"x-bf-vk": "sk-bf-anything"})
        assert key.status_code == 401
        allowed = await client.get(
            path, params={"dimension": "team_id" if "histogram" in path else "team"}, auth=("admin", "secret")
        )
        assert allowed.status_code == 200, allowed.text


async def test_stats_work_grows_linearly_with_failed_requests(served: tuple[BifrostApp, httpx.AsyncClient]) -> None:
    # Each failed root request looks for a successful fallback; without an index on parent_request_id that is
    # a scan of the table per failure. Work is counted in SQLite VM steps (deterministic), not time.
    app, client = served
    db = app.state.store.db

    async def steps_for(rows: int) -> int:
        db.execute("DELETE FROM logs")
        db.execute("BEGIN")
        for n in range(rows):
            record(db, row(f"r{n}", T0 + n, status="error", cost=0.001))
        db.execute("COMMIT")
        counted = [0]

        def step() -> int:
            counted[0] += 1
            return 0

        db.set_progress_handler(step, 100)
        try:
            assert (await get(client, STATS))["total_requests"] == rows
        finally:
            db.set_progress_handler(None, 0)
        return counted[0]

    small, large = await steps_for(500), await steps_for(2000)
    assert large < 6 * small  # four times the rows: linear work (a scan per failure would be sixteen times)
