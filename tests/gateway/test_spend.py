"""Spend in the graph: series per team, customer and key, and the root breakdown, read from the request log.

Rows are written straight into the embedded v2 server's ``logs`` table (``request_logs.record``), so every
figure is checked against rows the test chose: each bucket's cost equals the sum of that bucket's rows. The
upstream's request log shows how many analytics calls a document cost.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.embedded_bifrost.request_logs import LogRow, record
from tests.gateway.arrange import upstream_post
from tests.gateway.conftest import Gateway, make_gateway

DAY = datetime(2026, 3, 1, tzinfo=UTC)
WINDOW = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}  # a day: hourly buckets
HOUR = 3600
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-haiku")
PROVIDERS = {"gpt-4o-mini": "openai", "gpt-4o": "openai", "claude-3-haiku": "anthropic"}

TEAM_SPEND = """
query TeamSpend($from: DateTime!, $to: DateTime!, $first: Int = 100) {
  teams(first: $first) {
    nodes { id spend(from: $from, to: $to) { total bucketSeconds buckets { start totalCost } } }
  }
}
"""
TEAM_SPEND_BY_MODEL = """
query TeamSpendByModel($from: DateTime!, $to: DateTime!) {
  teams(first: 100) {
    nodes {
      id
      spend(from: $from, to: $to) { total buckets { start totalCost ...Models } }
    }
  }
}
fragment Models on SpendBucket { byModel { model cost } }
"""
CUSTOMER_SPEND = """
query CustomerSpend($from: DateTime!, $to: DateTime!) {
  customers(first: 100) {
    nodes { id spend(from: $from, to: $to) { total buckets { start totalCost byModel { model cost } } } }
  }
}
"""
KEY_SPEND = """
query KeySpend($from: DateTime!, $to: DateTime!) {
  virtualKeys(first: 100) {
    nodes { id spend(from: $from, to: $to) { total bucketSeconds buckets { start totalCost byModel { model cost } } } }
  }
}
"""
ROOT_SPEND = """
query Spend($groupBy: SpendGroupBy!, $from: DateTime!, $to: DateTime!, $filter: SpendFilter) {
  spend(groupBy: $groupBy, from: $from, to: $to, filter: $filter) {
    groupBy bucketSeconds total
    buckets { start cost }
    groups { key total buckets { start cost } }
  }
}
"""
ONE_TEAM = """
query OneTeam($id: ID!, $from: DateTime!, $to: DateTime!) {
  team(id: $id) { spend(from: $from, to: $to) { total bucketSeconds } }
}
"""


@pytest.fixture
async def v2() -> AsyncIterator[Gateway]:
    gw = await make_gateway("v2")
    yield gw
    await gw.http.aclose()


def nanos(moment: datetime) -> int:
    return int(moment.timestamp()) * 10**9 + moment.microsecond * 1000


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bucket_of(row: LogRow, size: int = HOUR) -> str:
    return iso(row.timestamp // 10**9 // size * size)


_ids = itertools.count()


def row(at: datetime, cost: float, model: str = "gpt-4o-mini", **owners: str | None) -> LogRow:
    return LogRow(
        id=f"req-{next(_ids)}",
        timestamp=nanos(at),
        provider=PROVIDERS.get(model, "openai"),
        model=model,
        status="success",
        cost=cost,
        prompt_tokens=10,
        completion_tokens=5,
        total_tokens=15,
        **owners,
    )


def seed(gw: Gateway, rows: Iterable[LogRow]) -> list[LogRow]:
    kept = list(rows)
    for one in kept:
        record(gw.upstream.state.store.db, one)
    return kept


def sums(rows: Iterable[LogRow], group: Callable[[LogRow], Any]) -> dict[Any, dict[str, float]]:
    """Expected cost per group per (non-empty) bucket."""
    found: dict[Any, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for one in rows:
        found[group(one)][bucket_of(one)] += one.cost or 0.0
    return found


def nonzero(buckets: list[dict[str, Any]], field: str = "totalCost") -> dict[str, float]:
    return {bucket["start"].replace("+00:00", "Z"): bucket[field] for bucket in buckets if bucket[field]}


def assert_costs(answered: dict[str, float], expected: dict[str, float]) -> None:
    assert answered.keys() == expected.keys()
    for start, cost in expected.items():
        assert answered[start] == pytest.approx(cost), start


def analytics_calls(gw: Gateway) -> list[str]:
    return [f"{record.path}?{record.query}" for record in gw.upstream_calls("GET", "/api/logs")]


async def teams(gw: Gateway, count: int) -> list[str]:
    return [(await upstream_post(gw, "teams", {"name": f"team-{n:03d}"}))["id"] for n in range(count)]


def spread(owners: dict[str, str], rows_each: int = 6) -> Iterable[LogRow]:
    """Rows for each owner (``{"team_id": id}`` ...), over the day and the models, with costs that add up exactly."""
    for n in range(rows_each):
        yield row(DAY + timedelta(minutes=47 * n + 5), 0.25 * (n + 1), MODELS[n % len(MODELS)], **owners)


# Teams ---------------------------------------------------------------------------------------------------------


async def test_a_page_of_100_teams_costs_one_histogram_call(v2: Gateway) -> None:
    ids = await teams(v2, 100)
    rows = seed(v2, (one for team_id in ids[::7] for one in spread({"team_id": team_id})))
    # Noise the series must leave out: another day, a request without a team, one still in flight.
    in_flight = replace(row(DAY + timedelta(hours=1), 9.0, team_id=ids[0]), status="processing")
    seed(v2, [row(DAY - timedelta(minutes=1), 5.0, team_id=ids[0]), row(DAY + timedelta(hours=3), 7.0), in_flight])

    body = await v2.graphql(TEAM_SPEND, WINDOW)

    assert "errors" not in body, body
    expected = sums(rows, lambda one: one.team_id)
    nodes = body["data"]["teams"]["nodes"]
    assert len(nodes) == 100
    for node in nodes:
        series = node["spend"]
        assert series["bucketSeconds"] == HOUR
        assert_costs(nonzero(series["buckets"]), expected.get(node["id"], {}))
        assert series["total"] == pytest.approx(sum(expected.get(node["id"], {}).values()))
    [call] = analytics_calls(v2)
    assert call.startswith("/api/logs/histogram/cost/by-dimension?")
    assert "dimension=team_id" in call


async def test_team_spend_by_model_matches_the_rows_of_each_model(v2: Gateway) -> None:
    ids = await teams(v2, 6)
    rows = seed(v2, (one for team_id in ids for one in spread({"team_id": team_id}, rows_each=9)))

    body = await v2.graphql(TEAM_SPEND_BY_MODEL, WINDOW)

    assert "errors" not in body, body
    totals = sums(rows, lambda one: one.team_id)
    per_model = sums(rows, lambda one: (one.team_id, one.model))
    for node in body["data"]["teams"]["nodes"]:
        buckets = node["spend"]["buckets"]
        assert_costs(nonzero(buckets), totals[node["id"]])
        for model in MODELS:
            answered = {
                bucket["start"].replace("+00:00", "Z"): cost["cost"]
                for bucket in buckets
                for cost in bucket["byModel"]
                if cost["model"] == model
            }
            assert_costs(answered, per_model.get((node["id"], model), {}))
    # Six teams, three models: the call naming the models, the totals, then one per model (4 < 6 teams).
    calls = analytics_calls(v2)
    assert len(calls) == 1 + 1 + len(MODELS), calls


async def test_a_few_teams_by_model_are_read_team_by_team(v2: Gateway) -> None:
    ids = await teams(v2, 2)
    rows = seed(v2, (one for team_id in ids for one in spread({"team_id": team_id})))

    body = await v2.graphql(TEAM_SPEND_BY_MODEL, WINDOW)

    per_model = sums(rows, lambda one: (one.team_id, one.model))
    for node in body["data"]["teams"]["nodes"]:
        for bucket in node["spend"]["buckets"]:
            for cost in bucket["byModel"]:
                start = bucket["start"].replace("+00:00", "Z")
                assert cost["cost"] == pytest.approx(per_model[(node["id"], cost["model"])][start])
    # The models call, then one per team (2 teams < 1 + 3 models).
    assert len(analytics_calls(v2)) == 1 + 2


async def test_one_team_by_id_costs_one_call_and_is_filtered_to_it(v2: Gateway) -> None:
    [team_id, other] = await teams(v2, 2)
    rows = seed(v2, spread({"team_id": team_id}))
    seed(v2, spread({"team_id": other}))

    body = await v2.graphql(ONE_TEAM, {"id": team_id, **WINDOW})

    assert body["data"]["team"]["spend"]["total"] == pytest.approx(sum(one.cost or 0 for one in rows))
    [call] = analytics_calls(v2)
    assert f"team_ids={team_id}" in call and other not in call


async def test_the_range_includes_both_ends_and_nothing_outside(v2: Gateway) -> None:
    [team_id] = await teams(v2, 1)
    inside = seed(v2, [row(DAY, 1.0, team_id=team_id), row(DAY + timedelta(days=1), 2.0, team_id=team_id)])
    seed(v2, [row(DAY - timedelta(microseconds=1), 4.0, team_id=team_id)])
    seed(v2, [row(DAY + timedelta(days=1, microseconds=1), 8.0, team_id=team_id)])

    body = await v2.graphql(ONE_TEAM, {"id": team_id, **WINDOW})

    assert body["data"]["team"]["spend"]["total"] == pytest.approx(sum(one.cost or 0 for one in inside))


async def test_offsets_are_sent_as_the_same_instant_in_utc(v2: Gateway) -> None:
    [team_id] = await teams(v2, 1)
    seed(v2, [row(DAY + timedelta(hours=1), 1.0, team_id=team_id)])

    body = await v2.graphql(
        ONE_TEAM, {"id": team_id, "from": "2026-03-01T02:00:00+02:00", "to": "2026-03-01T21:00:00-03:00"}
    )

    assert body["data"]["team"]["spend"] == {"total": 1.0, "bucketSeconds": HOUR}
    [call] = analytics_calls(v2)
    assert "start_time=2026-03-01T00%3A00%3A00Z" in call and "end_time=2026-03-02T00%3A00%3A00Z" in call


# Customers and keys ----------------------------------------------------------------------------------------------


async def test_customer_spend_with_models_equals_their_rows(v2: Gateway) -> None:
    ids = [(await upstream_post(v2, "customers", {"name": f"customer-{n}"}))["id"] for n in range(5)]
    rows = seed(v2, (one for customer_id in ids for one in spread({"customer_id": customer_id}, rows_each=4)))

    body = await v2.graphql(CUSTOMER_SPEND, WINDOW)

    assert "errors" not in body, body
    totals = sums(rows, lambda one: one.customer_id)
    per_model = sums(rows, lambda one: (one.customer_id, one.model))
    for node in body["data"]["customers"]["nodes"]:
        assert_costs(nonzero(node["spend"]["buckets"]), totals[node["id"]])
        for bucket in node["spend"]["buckets"]:
            start = bucket["start"].replace("+00:00", "Z")
            for cost in bucket["byModel"]:
                assert cost["cost"] == pytest.approx(per_model[(node["id"], cost["model"])][start])
    # Five customers, three models: models call, totals, one per model (4 < 5).
    assert all("dimension=customer_id" in call for call in analytics_calls(v2)[1:])
    assert len(analytics_calls(v2)) == 5


async def test_a_page_of_keys_costs_one_call_per_key(v2: Gateway) -> None:
    keys = [(await upstream_post(v2, "virtual-keys", {"name": f"key-{n}"}))["id"] for n in range(4)]
    rows = seed(v2, (one for key_id in keys for one in spread({"virtual_key_id": key_id})))

    body = await v2.graphql(KEY_SPEND, WINDOW)

    assert "errors" not in body, body
    totals = sums(rows, lambda one: one.virtual_key_id)
    per_model = sums(rows, lambda one: (one.virtual_key_id, one.model))
    for node in body["data"]["virtualKeys"]["nodes"]:
        assert_costs(nonzero(node["spend"]["buckets"]), totals[node["id"]])
        for bucket in node["spend"]["buckets"]:
            start = bucket["start"].replace("+00:00", "Z")
            for cost in bucket["byModel"]:
                assert cost["cost"] == pytest.approx(per_model[(node["id"], cost["model"])][start])
    calls = analytics_calls(v2)
    assert len(calls) == len(keys)
    assert sorted(call.split("virtual_key_ids=")[1].split("&")[0] for call in calls) == sorted(keys)


# The root breakdown -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group_by", "group"),
    [
        ("TEAM", lambda one: one.team_id),
        ("CUSTOMER", lambda one: one.customer_id),
        ("PROVIDER", lambda one: one.provider),
        ("MODEL", lambda one: one.model),
    ],
)
async def test_root_spend_answers_one_series_per_group_from_one_call(
    v2: Gateway, group_by: str, group: Callable[[LogRow], str | None]
) -> None:
    rows = seed(
        v2,
        [
            *spread({"team_id": "team-a", "customer_id": "cust-1"}),
            *spread({"team_id": "team-b", "customer_id": "cust-1"}, rows_each=3),
            *spread({"customer_id": "cust-2"}, rows_each=5),
        ],
    )

    body = await v2.graphql(ROOT_SPEND, {"groupBy": group_by, **WINDOW})

    assert "errors" not in body, body
    answer = body["data"]["spend"]
    assert (answer["groupBy"], answer["bucketSeconds"]) == (group_by, HOUR)
    assert answer["total"] == pytest.approx(sum(one.cost or 0 for one in rows))
    assert_costs(nonzero(answer["buckets"], "cost"), sums(rows, lambda _: "all")["all"])
    expected = {key: costs for key, costs in sums(rows, group).items() if key is not None}
    assert {g["key"] for g in answer["groups"]} == set(expected)
    for found in answer["groups"]:
        assert_costs(nonzero(found["buckets"], "cost"), expected[found["key"]])
        assert found["total"] == pytest.approx(sum(expected[found["key"]].values()))
    totals = [found["total"] for found in answer["groups"]]
    assert totals == sorted(totals, reverse=True)
    assert len(analytics_calls(v2)) == 1


async def test_root_spend_filter_selects_the_rows(v2: Gateway) -> None:
    rows = seed(v2, [*spread({"team_id": "team-a", "virtual_key_id": "key-1"}), *spread({"team_id": "team-b"})])
    wanted = [one for one in rows if one.team_id == "team-a" and one.model in ("gpt-4o", "gpt-4o-mini")]

    body = await v2.graphql(
        ROOT_SPEND,
        {
            "groupBy": "MODEL",
            **WINDOW,
            "filter": {
                "teamIds": ["team-a", "team-a"],
                "virtualKeyIds": ["key-1"],
                "models": ["gpt-4o", "gpt-4o-mini"],
            },
        },
    )

    answer = body["data"]["spend"]
    assert answer["total"] == pytest.approx(sum(one.cost or 0 for one in wanted))
    assert {g["key"] for g in answer["groups"]} == {"gpt-4o", "gpt-4o-mini"}
    [call] = analytics_calls(v2)
    assert "team_ids=team-a&" in call + "&"  # a value given twice is sent once


# Refused before anything is sent -----------------------------------------------------------------------------------

BAD_WINDOWS = [
    ({"from": "2026-03-01T00:00:00", "to": "2026-03-02T00:00:00Z"}, "from", "UTC offset"),
    ({"from": "2026-03-01T00:00:00Z", "to": "2026-03-02"}, "to", "UTC offset"),
    ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to", "later than from"),
    ({"from": "2026-03-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to", "later than from"),
    ({"from": "2025-01-01T00:00:00Z", "to": "2026-01-03T00:00:00Z"}, "to", "366 days"),
    ({"from": "1969-12-31T23:59:59Z", "to": "1970-01-02T00:00:00Z"}, "from", "between 1970"),
    ({"from": "9999-12-31T00:00:00-14:00", "to": "9999-12-31T23:59:59+14:00"}, "from", "between 1970"),
    ({"from": "2262-06-01T00:00:00Z", "to": "2262-06-02T00:00:00Z"}, "from", "between 1970"),
]


@pytest.mark.parametrize(("window", "argument", "words"), BAD_WINDOWS)
async def test_bad_ranges_are_refused_by_argument_with_nothing_sent(
    v2: Gateway, window: dict[str, str], argument: str, words: str
) -> None:
    await teams(v2, 2)
    for document, variables in ((TEAM_SPEND, window), (ROOT_SPEND, {"groupBy": "TEAM", **window})):
        body = await v2.graphql(document, variables)
        assert body["errors"], body
        for error in body["errors"]:
            assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}, error
            assert words in error["message"]
    assert analytics_calls(v2) == []


@pytest.mark.parametrize("value", ["yesterday", "", "2026-13-01T00:00:00Z", 1700000000, None, "2026-03-01T25:00:00Z"])
async def test_values_that_are_no_datetime_are_refused(v2: Gateway, value: Any) -> None:
    body = await v2.graphql(ROOT_SPEND, {"groupBy": "TEAM", "from": value, "to": WINDOW["to"]})
    assert body.get("data") is None and "$from" in body["errors"][0]["message"], body
    assert analytics_calls(v2) == []


BAD_FILTERS = [
    ({"teamIds": []}, "filter.teamIds", "at least one"),
    ({"customerIds": ["../customers"]}, "filter.customerIds", "not a valid id"),
    ({"virtualKeyIds": ["a,b"]}, "filter.virtualKeyIds", "not a valid id"),
    ({"models": ["gpt-4o,claude-3-haiku"]}, "filter.models", "comma"),
    ({"providers": [" "]}, "filter.providers", "visible character"),
    ({"providers": ["open\x00ai"]}, "filter.providers", "control characters"),
    ({"models": ["x" * 256]}, "filter.models", "at most 255"),
    ({"teamIds": [f"t{n}" for n in range(101)]}, "filter.teamIds", "at most 100"),
]


@pytest.mark.parametrize(("spend_filter", "argument", "words"), BAD_FILTERS)
async def test_bad_filters_are_refused_by_argument_with_nothing_sent(
    v2: Gateway, spend_filter: dict[str, Any], argument: str, words: str
) -> None:
    body = await v2.graphql(ROOT_SPEND, {"groupBy": "MODEL", **WINDOW, "filter": spend_filter})
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}, error
    assert words in error["message"]
    assert analytics_calls(v2) == []


# Older generations -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("generation", ["seed", "current"])
async def test_older_generations_answer_null_and_send_nothing(generation: str) -> None:
    gw = await make_gateway(generation)
    try:
        await upstream_post(gw, "teams", {"name": "old"})
        key = await upstream_post(gw, "virtual-keys", {"name": "old-key"})
        body = await gw.graphql(TEAM_SPEND, WINDOW)
        assert "errors" not in body, body
        assert [node["spend"] for node in body["data"]["teams"]["nodes"]] == [None]
        keys = await gw.graphql(KEY_SPEND, WINDOW)
        assert [node["spend"] for node in keys["data"]["virtualKeys"]["nodes"]] == [None], key
        root = await gw.graphql(ROOT_SPEND, {"groupBy": "PROVIDER", **WINDOW})
        assert root == {"data": {"spend": None}}
        # Still checked there: a bad range is refused the same way.
        bad = await gw.graphql(ROOT_SPEND, {"groupBy": "PROVIDER", "from": WINDOW["to"], "to": WINDOW["from"]})
        assert bad["errors"][0]["extensions"]["argument"] == "to"
        assert [r.path for r in gw.upstream.state.request_log if r.path.startswith("/api/logs")] == []
    finally:
        await gw.http.aclose()
