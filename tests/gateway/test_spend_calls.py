"""What spend costs: its price before running, the calls it makes in odd documents, and upstream failures.

Also the GraphiQL example "Spend per team", run as GraphiQL sends it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from graphql import get_operation_ast, parse, validate

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.generations import generation_named
from app.schema.cost import OperationCost
from app.schema.cost_model import SPEND_MODELS, UPSTREAM_CALL_COST, list_size
from app.schema.schema import build_schema
from app.settings import Settings
from app.web import create_app
from app.web.graphiql_examples import SPEND_PER_TEAM, this_week
from tests.gateway.arrange import FailingTransport, upstream_error, upstream_post
from tests.gateway.conftest import Gateway, make_gateway
from tests.gateway.test_spend import WINDOW, analytics_calls, row, seed, spread, teams

SCHEMA = build_schema()._schema
BUCKETS = list_size("SpendSeries", "buckets")
MODELS_EACH = list_size("SpendBucket", "byModel")


@pytest.fixture
async def v2() -> AsyncIterator[Gateway]:
    gw = await make_gateway("v2")
    yield gw
    await gw.http.aclose()


def price(document: str) -> int:
    parsed = parse(document)
    assert validate(SCHEMA, parsed) == [], document
    operation = get_operation_ast(parsed, None)
    assert operation is not None
    return OperationCost.of(SCHEMA, parsed, operation).for_variables({})


SPEND = 'spend(from: "2026-03-01T00:00:00Z", to: "2026-03-02T00:00:00Z")'


# Priced before running --------------------------------------------------------------------------------------------


def test_a_page_of_teams_pays_one_call_for_their_spend_and_one_per_model_for_the_split() -> None:
    bare = price("{ teams(first: 100) { nodes { id } } }")
    totals = price(f"{{ teams(first: 100) {{ nodes {{ id {SPEND} {{ total buckets {{ totalCost }} }} }} }} }}")
    split = price(f"{{ teams(first: 100) {{ nodes {{ id {SPEND} {{ buckets {{ byModel {{ model cost }} }} }} }} }} }}")
    # Each team: the series and its buckets; once: one by-dimension call.
    assert totals - bare == 100 * (1 + BUCKETS) + UPSTREAM_CALL_COST
    # The split adds its objects and, once, the models call plus one per model.
    assert split - bare == 100 * (1 + BUCKETS * (1 + MODELS_EACH)) + UPSTREAM_CALL_COST * (2 + SPEND_MODELS)


def test_a_page_of_keys_pays_one_call_per_key() -> None:
    bare = price("{ virtualKeys(first: 100) { nodes { id } } }")
    totals = price(f"{{ virtualKeys(first: 100) {{ nodes {{ id {SPEND} {{ total }} }} }} }}")
    assert totals - bare == 100 * (1 + UPSTREAM_CALL_COST)


def test_the_root_spend_is_one_call() -> None:
    document = f"{{ {SPEND.replace('spend(', 'spend(groupBy: TEAM, ')} {{ total groups {{ key total }} }} }}"
    assert price(document) == UPSTREAM_CALL_COST + 1 + list_size("SpendBreakdown", "groups")


# Calls in odd documents ---------------------------------------------------------------------------------------------


async def test_aliases_over_one_range_share_the_call_and_other_ranges_get_theirs(v2: Gateway) -> None:
    ids = await teams(v2, 5)
    seed(v2, (one for team_id in ids for one in spread({"team_id": team_id})))
    document = """
    query($from: DateTime!, $to: DateTime!, $later: DateTime!) {
      teams(first: 10) { nodes {
        a: spend(from: $from, to: $to) { total }
        b: spend(from: $from, to: $to) { total bucketSeconds }
        c: spend(from: $from, to: $later) { total bucketSeconds }
      } }
    }
    """
    later = {"later": "2026-03-08T00:00:00Z"}

    body = await v2.graphql(document, {**WINDOW, **later})

    assert "errors" not in body, body
    for node in body["data"]["teams"]["nodes"]:
        assert node["a"]["total"] == node["b"]["total"] == node["c"]["total"]
        assert (node["b"]["bucketSeconds"], node["c"]["bucketSeconds"]) == (3600, 86400)
    assert len(analytics_calls(v2)) == 2


async def test_teams_under_a_page_of_customers_are_one_batch(v2: Gateway) -> None:
    customers = [(await upstream_post(v2, "customers", {"name": f"c{n}"}))["id"] for n in range(3)]
    for n, customer_id in enumerate(customers * 2):
        team = await upstream_post(v2, "teams", {"name": f"t{n}", "customer_id": customer_id})
        seed(v2, spread({"team_id": team["id"], "customer_id": customer_id}, rows_each=2))
    document = """
    query($from: DateTime!, $to: DateTime!) {
      customers(first: 10) { nodes {
        spend(from: $from, to: $to) { total }
        teams { spend(from: $from, to: $to) { total } }
      } }
    }
    """

    body = await v2.graphql(document, WINDOW)

    assert "errors" not in body, body
    for node in body["data"]["customers"]["nodes"]:
        assert node["spend"]["total"] == pytest.approx(sum(team["spend"]["total"] for team in node["teams"]))
    calls = analytics_calls(v2)
    assert sorted("dimension=team_id" in call for call in calls) == [False, True]  # customers' and teams'


async def test_spend_of_an_owner_without_requests_is_zero_in_every_bucket(v2: Gateway) -> None:
    await teams(v2, 1)
    body = await v2.graphql(
        "query($from: DateTime!, $to: DateTime!) { teams { nodes { spend(from: $from, to: $to) "
        "{ total buckets { totalCost byModel { model } } } } } }",
        WINDOW,
    )
    [node] = body["data"]["teams"]["nodes"]
    assert node["spend"]["total"] == 0
    assert node["spend"]["buckets"] and all(b == {"totalCost": 0, "byModel": []} for b in node["spend"]["buckets"])


async def test_a_page_of_keys_stops_at_the_request_ceiling(v2: Gateway) -> None:
    gw = await make_gateway("v2", max_upstream_calls_per_request=5)
    try:
        for n in range(8):
            await upstream_post(gw, "virtual-keys", {"name": f"k{n}"})
        body = await gw.graphql(
            "query($from: DateTime!, $to: DateTime!) { virtualKeys(first: 8) { nodes { spend(from: $from, to: $to) "
            "{ total } } } }",
            WINDOW,
        )
        codes = {error["extensions"]["code"] for error in body["errors"]}
        assert codes == {"TOO_MANY_UPSTREAM_CALLS"}, body
        assert len(gw.upstream_calls("GET", "/api/")) <= 5
    finally:
        await gw.http.aclose()


# Upstream failures --------------------------------------------------------------------------------------------------


async def _failing(answer: httpx.Response, prefix: str = "/api/logs") -> Gateway:
    upstream = create_embedded_bifrost(database=":memory:", generation="v2")

    def fail(request: httpx.Request) -> httpx.Response | None:
        return answer if request.url.path.startswith(prefix) else None

    app = create_app(Settings(bifrost_url="http://bifrost.internal:8080"), transport=FailingTransport(upstream, fail))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
    return Gateway(app=app, http=http, upstream=upstream, generation=generation_named("v2"))


@pytest.mark.parametrize(
    "answer",
    [
        upstream_error(500, "Stats calculation failed: pq: password authentication failed for postgres://u:s3cret@db"),
        httpx.Response(200, content=b'{"buckets": [{"timestamp": "not a time"}], "bucket_size_seconds": 60}'),
        httpx.Response(200, content=b"<html>proxy</html>"),
    ],
    ids=["bifrost-500", "odd-shape", "not-json"],
)
async def test_analytics_failures_answer_an_upstream_error_without_internals(answer: httpx.Response) -> None:
    gw = await _failing(answer)
    try:
        await upstream_post(gw, "teams", {"name": "t"})
        for document, variables in (
            (
                "query($from: DateTime!, $to: DateTime!) { teams { nodes { name spend(from: $from, to: $to) "
                "{ total } } } }",
                WINDOW,
            ),
            (
                "query($from: DateTime!, $to: DateTime!) { spend(groupBy: MODEL, from: $from, to: $to) { total } }",
                WINDOW,
            ),
        ):
            body = await gw.graphql(document, variables)
            text = json.dumps(body)
            assert [error["extensions"]["code"] for error in body["errors"]] == ["UPSTREAM_ERROR"], body
            assert "s3cret" not in text and "postgres" not in text and "bifrost.internal" not in text
        assert body["data"] == {"spend": None}
    finally:
        await gw.http.aclose()


async def test_an_owner_id_that_is_no_id_is_never_put_in_a_filter() -> None:
    stamp = "2026-03-01T00:00:00Z"
    lying = {
        "teams": [{"id": id_, "name": id_, "created_at": stamp, "updated_at": stamp} for id_ in ("a,b", "ok-team")],
        "count": 2,
        "total_count": 2,
    }
    gw = await _failing(httpx.Response(200, json=lying), prefix="/api/governance/teams")
    try:
        body = await gw.graphql(
            "query($from: DateTime!, $to: DateTime!) { teams { nodes { id spend(from: $from, to: $to) { total } } } }",
            WINDOW,
        )
        assert body["data"]["teams"]["nodes"] == [
            {"id": "a,b", "spend": None},
            {"id": "ok-team", "spend": {"total": 0}},
        ], body
        [call] = [f"{r.path}?{r.query}" for r in gw.upstream.state.request_log if r.path.startswith("/api/logs")]
        assert "team_ids=ok-team&" in call + "&"
    finally:
        await gw.http.aclose()


# The GraphiQL example --------------------------------------------------------------------------------------------


def test_the_example_range_is_this_week_in_daily_buckets() -> None:
    week = this_week(datetime(2026, 3, 10, 23, 59, tzinfo=UTC))
    assert week == {"from": "2026-03-04T00:00:00Z", "to": "2026-03-11T00:00:00Z"}


async def test_the_spend_example_shows_what_each_team_spent_this_week(v2: Gateway) -> None:
    [team_id, idle] = await teams(v2, 2)
    start = datetime.fromisoformat(str(SPEND_PER_TEAM.variables["from"]))
    rows = [row(start + timedelta(days=day, hours=3), 0.5 * (day + 1), team_id=team_id) for day in range(7)]
    seed(v2, rows)
    tab = SPEND_PER_TEAM.as_tab()

    body = await v2.graphql(tab["query"], json.loads(tab["variables"]), headers=json.loads(tab["headers"]))

    assert "errors" not in body, body
    spent = {node["id"]: node["spend"] for node in body["data"]["teams"]["nodes"]}
    assert spent[team_id]["bucketSeconds"] == 86400
    assert [bucket["totalCost"] for bucket in spent[team_id]["buckets"]][:7] == [r.cost for r in rows]
    assert spent[team_id]["buckets"][0]["byModel"] == [{"model": "gpt-4o-mini", "cost": 0.5}]
    assert spent[idle]["total"] == 0
