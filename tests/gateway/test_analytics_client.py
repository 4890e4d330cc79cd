"""The analytics client: the queries it sends and the shapes it reads, over a mock wire (Bifrost's own bodies).

The embedded server's analytics endpoints are exercised end to end by the spend tests; here the wire is swapped
so each test controls the exact JSON Bifrost answers (nulls, extra fields, nanosecond timestamps).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import orjson
import pytest

from app.bifrost import BifrostBadRequest, BifrostClient, BifrostSession, UpstreamProtocolError
from app.bifrost.analytics import LogQuery, format_time
from app.bifrost.wire import HttpxWire

JAN = datetime(2026, 1, 1, tzinfo=UTC)


def _session(answer: Callable[[httpx.Request], httpx.Response], sent: list[httpx.Request]) -> BifrostSession:
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answer(request)

    wire = HttpxWire(httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://bifrost"))
    return BifrostClient(wire, read_retries=0).session({"authorization": "Bearer admin"})


def _json(body: Any, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _request: httpx.Response(status, content=orjson.dumps(body))


async def test_log_stats_sends_filters_as_comma_lists_and_reads_totals() -> None:
    sent: list[httpx.Request] = []
    body = {
        "total_requests": 12,
        "success_rate": 91.5,
        "average_latency": 120.25,
        "total_tokens": 4000,
        "prompt_tokens": 3000,
        "completion_tokens": 1000,
        "total_cost": 0.125,
        "cache_hit_rate": 0.5,  # a field this client does not know is ignored
    }
    session = _session(_json(body), sent)
    query = LogQuery(
        start_time=JAN,
        end_time=JAN + timedelta(hours=1, microseconds=500),
        team_ids=("t1", "t2"),
        virtual_key_ids=("k1",),
        models=("gpt-4o-mini",),
    )

    stats = await session.log_stats(query)

    assert (stats.total_requests, stats.total_tokens, stats.total_cost) == (12, 4000, 0.125)
    assert len(sent) == 1 and sent[0].url.path == "/api/logs/stats"
    assert dict(sent[0].url.params) == {
        "start_time": "2026-01-01T00:00:00Z",
        "end_time": "2026-01-01T01:00:00.0005Z",
        "team_ids": "t1,t2",
        "virtual_key_ids": "k1",
        "models": "gpt-4o-mini",
    }
    assert sent[0].headers["authorization"] == "Bearer admin"


async def test_log_stats_takes_plain_params_too() -> None:
    sent: list[httpx.Request] = []
    session = _session(_json({"total_requests": 0, "total_cost": 0}), sent)

    stats = await session.log_stats({"virtual_key_ids": "k1"})

    assert stats.total_requests == 0 and stats.total_tokens == 0
    assert dict(sent[0].url.params) == {"virtual_key_ids": "k1"}


async def test_cost_histogram_reads_buckets_and_null_maps() -> None:
    sent: list[httpx.Request] = []
    body = {
        "buckets": [
            {"timestamp": "2026-01-01T00:00:00Z", "total_cost": 0.5, "by_model": {"gpt-4o-mini": 0.5}},
            {"timestamp": "2026-01-01T01:00:00.000000001+00:00", "total_cost": 0, "by_model": None},
        ],
        "bucket_size_seconds": 3600,
        "models": None,
    }
    session = _session(_json(body), sent)

    histogram = await session.cost_histogram(LogQuery(start_time=JAN))

    assert sent[0].url.path == "/api/logs/histogram/cost"
    assert histogram.bucket_size_seconds == 3600 and histogram.models == []
    assert [bucket.timestamp for bucket in histogram.buckets] == [JAN, JAN + timedelta(hours=1)]
    assert histogram.buckets[0].by_model == {"gpt-4o-mini": 0.5} and histogram.buckets[1].by_model == {}


async def test_cost_by_dimension_sends_the_dimension() -> None:
    sent: list[httpx.Request] = []
    body = {
        "buckets": [{"timestamp": "2026-01-01T00:00:00Z", "total_cost": 1.25, "by_dimension": {"t1": 1.25}}],
        "bucket_size_seconds": 60,
        "dimension": "team_id",
        "dimension_values": ["t1"],
    }
    session = _session(_json(body), sent)

    histogram = await session.cost_by_dimension("team_id", LogQuery(team_ids=("t1",)))

    assert sent[0].url.path == "/api/logs/histogram/cost/by-dimension"
    assert dict(sent[0].url.params) == {"team_ids": "t1", "dimension": "team_id"}
    assert histogram.buckets[0].by_dimension == {"t1": 1.25} and histogram.dimension_values == ["t1"]


async def test_rankings_read_trends() -> None:
    sent: list[httpx.Request] = []
    model_body = {
        "rankings": [
            {
                "model": "gpt-4o-mini",
                "provider": "openai",
                "total_requests": 3,
                "success_count": 3,
                "success_rate": 100,
                "total_tokens": 30,
                "total_cost": 0.03,
                "avg_latency": 10,
                "throughput": 1.5,
                "trend": {
                    "has_previous_period": True,
                    "requests_trend": 50,
                    "tokens_trend": 0,
                    "cost_trend": -10,
                    "latency_trend": 1,
                    "throughput_trend": 2,
                },
            }
        ]
    }
    session = _session(_json(model_body), sent)
    models = await session.model_rankings()
    assert models.rankings[0].model == "gpt-4o-mini" and models.rankings[0].trend.cost_trend == -10

    team_body = {
        "rankings": [
            {
                "id": "t1",
                "name": "Red",
                "total_requests": 2,
                "total_tokens": 5,
                "total_cost": 0.5,
                "trend": {"has_previous_period": False, "requests_trend": 0, "tokens_trend": 0, "cost_trend": 0},
            }
        ],
        "dimension": "team",
    }
    session = _session(_json(team_body), sent)
    teams = await session.dimension_rankings("team")
    assert sent[-1].url.path == "/api/logs/rankings/by-dimension" and sent[-1].url.params["dimension"] == "team"
    assert teams.rankings[0].name == "Red" and teams.rankings[0].trend.latency_trend is None


@pytest.mark.parametrize(
    "query",
    [
        LogQuery(team_ids=("a,b",)),  # a comma would split one value into two filters
        LogQuery(models=("",)),
        LogQuery(providers=("  ",)),
        LogQuery(start_time=datetime(2026, 1, 1)),  # naive: which instant is unknown
    ],
)
async def test_bad_query_values_are_refused_before_sending(query: LogQuery) -> None:
    sent: list[httpx.Request] = []
    session = _session(_json({}), sent)
    with pytest.raises(ValueError):
        await session.cost_histogram(query)
    assert sent == []


async def test_unknown_dimensions_are_refused_before_sending() -> None:
    sent: list[httpx.Request] = []
    session = _session(_json({}), sent)
    with pytest.raises(ValueError):
        await session.cost_by_dimension("virtual_key_id")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await session.dimension_rankings("model")  # type: ignore[arg-type]
    assert sent == []


async def test_bifrost_errors_and_odd_bodies_map_onto_the_error_family() -> None:
    refused = {"is_bifrost_error": False, "status_code": 400, "error": {"message": "Invalid dimension: x"}}
    session = _session(_json(refused, 400), [])
    with pytest.raises(BifrostBadRequest):
        await session.cost_by_dimension("provider")
    session = _session(_json({"buckets": "nope", "bucket_size_seconds": 60}), [])
    with pytest.raises(UpstreamProtocolError):
        await session.cost_histogram()


def test_times_are_sent_in_utc_with_their_fraction() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert format_time(datetime(2026, 6, 1, 2, 0, tzinfo=plus_two)) == "2026-06-01T00:00:00Z"
    assert format_time(datetime(2026, 6, 1, 0, 0, 0, 1, tzinfo=UTC)) == "2026-06-01T00:00:00.000001Z"
