"""End to end: chat completions through the embedded v2 server, then spend through the gateway.

Requests go to the embedded server's ``POST /v1/chat/completions`` with each key's value, at times the test
sets on the server's clock, so each lands in a bucket the test chose. What each request was charged (its
``usage.cost``, and the budgets it moved) must be what ``spend`` answers, bucket by bucket, for every grouping.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.gateway.arrange import upstream_get, upstream_post
from tests.gateway.conftest import Gateway, make_gateway, upstream_http
from tests.gateway.test_spend import KEY_SPEND, ROOT_SPEND, analytics_calls, nonzero

DAY = datetime(2026, 3, 1, tzinfo=UTC)
WINDOW = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}
ALL_OF = [{"provider": provider, "allowed_models": ["*"], "key_ids": ["*"]} for provider in ("openai", "anthropic")]
MODELS = ("openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-haiku-4-5")
BIG_BUDGET = [{"max_limit": 1000.0, "reset_duration": "1M"}]

OWNERS_SPEND = """
query Owners($from: DateTime!, $to: DateTime!) {
  teams(first: 100) {
    nodes { id spend(from: $from, to: $to) { total buckets { start totalCost byModel { model cost } } } }
  }
  customers(first: 100) { nodes { id spend(from: $from, to: $to) { total buckets { start totalCost } } } }
}
"""


@dataclass(frozen=True)
class Charge:
    """One successful chat completion: who sent it, when, and what it cost."""

    key: str
    team: str | None
    customer: str | None
    provider: str
    model: str
    bucket: str
    cost: float


@pytest.fixture
async def v2() -> AsyncIterator[Gateway]:
    gw = await make_gateway("v2")
    yield gw
    await gw.http.aclose()


async def traffic(gw: Gateway) -> tuple[list[Charge], dict[str, str]]:
    """Owners, keys and a day of chat completions; the charges and each team's budget id."""
    acme = (await upstream_post(gw, "customers", {"name": "Acme"}))["id"]
    red = await upstream_post(gw, "teams", {"name": "Red", "customer_id": acme, "budgets": BIG_BUDGET})
    blue = await upstream_post(gw, "teams", {"name": "Blue", "budgets": BIG_BUDGET})
    keys = [
        (await upstream_post(gw, "virtual-keys", {"name": name, "provider_configs": ALL_OF, **owner}), team, customer)
        for name, owner, team, customer in (
            ("red-1", {"team_id": red["id"]}, red["id"], acme),
            ("red-2", {"team_id": red["id"]}, red["id"], acme),
            ("blue-1", {"team_id": blue["id"]}, blue["id"], None),
            ("acme-direct", {"customer_id": acme}, None, acme),
            ("loose", {}, None, None),
        )
    ]
    context = gw.upstream.state.context
    charges = []
    async with upstream_http(gw) as up:
        for n in range(40):
            key, team, customer = keys[n % len(keys)]
            at = DAY + timedelta(minutes=35 * n + 1)  # 40 requests within the day
            context.clock = lambda at=at: int(at.timestamp()) * 10**9
            model = MODELS[n % len(MODELS)]
            content = "spend " * (n + 1)
            response = await up.post(
                "/v1/chat/completions",
                json={"model": model, "messages": [{"role": "user", "content": content}]},
                headers={"authorization": f"Bearer {key['value']}"},
            )
            assert response.status_code == 200, response.text
            provider, _, name = model.partition("/")
            bucket = at.replace(minute=0, second=0).strftime("%Y-%m-%dT%H:%M:%SZ")
            cost = response.json()["usage"]["cost"]
            assert cost > 0
            charges.append(Charge(key["id"], team, customer, provider, name, bucket, cost))
    gw.upstream.state.request_log.clear()  # only what the gateway sends from here on
    return charges, {red["id"]: red["budgets"][0]["id"], blue["id"]: blue["budgets"][0]["id"]}


def per_bucket(charges: list[Charge], group: Any) -> dict[Any, dict[str, float]]:
    found: dict[Any, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for charge in charges:
        key = group(charge)
        if key is not None:
            found[key][charge.bucket] += charge.cost
    return found


def assert_same(answered: dict[str, float], expected: dict[str, float]) -> None:
    assert answered.keys() == expected.keys()
    for start, cost in expected.items():
        assert answered[start] == pytest.approx(cost, rel=1e-9, abs=1e-12), start


async def test_owner_spend_equals_what_the_completions_were_charged(v2: Gateway) -> None:
    charges, team_budgets = await traffic(v2)

    body = await v2.graphql(OWNERS_SPEND, WINDOW)

    assert "errors" not in body, body
    teams = {node["id"]: node["spend"] for node in body["data"]["teams"]["nodes"]}
    by_team = per_bucket(charges, lambda c: c.team)
    by_team_model = per_bucket(charges, lambda c: (c.team, c.model))
    for team_id, series in teams.items():
        assert_same(nonzero(series["buckets"]), by_team[team_id])
        for bucket in series["buckets"]:
            start = bucket["start"].replace("+00:00", "Z")
            for cost in bucket["byModel"]:
                assert cost["cost"] == pytest.approx(by_team_model[(team_id, cost["model"])][start])
        # The team's budget was charged the same amount, request by request.
        stored = await upstream_get(v2, "teams", team_id)
        assert stored is not None
        [budget] = [b for b in stored["budgets"] if b["id"] == team_budgets[team_id]]
        assert series["total"] == pytest.approx(budget["current_usage"])
    by_customer = per_bucket(charges, lambda c: c.customer)
    for node in body["data"]["customers"]["nodes"]:
        assert_same(nonzero(node["spend"]["buckets"]), by_customer[node["id"]])


async def test_key_spend_equals_each_keys_charges(v2: Gateway) -> None:
    charges, _ = await traffic(v2)

    body = await v2.graphql(KEY_SPEND, WINDOW)

    assert "errors" not in body, body
    by_key = per_bucket(charges, lambda c: c.key)
    by_key_model = per_bucket(charges, lambda c: (c.key, c.model))
    for node in body["data"]["virtualKeys"]["nodes"]:
        assert_same(nonzero(node["spend"]["buckets"]), by_key[node["id"]])
        for bucket in node["spend"]["buckets"]:
            start = bucket["start"].replace("+00:00", "Z")
            for cost in bucket["byModel"]:
                assert cost["cost"] == pytest.approx(by_key_model[(node["id"], cost["model"])][start])
    assert len(analytics_calls(v2)) == len(body["data"]["virtualKeys"]["nodes"])


@pytest.mark.parametrize(
    ("group_by", "group"),
    [
        ("TEAM", lambda c: c.team),
        ("CUSTOMER", lambda c: c.customer),
        ("PROVIDER", lambda c: c.provider),
        ("MODEL", lambda c: c.model),
    ],
)
async def test_root_spend_equals_the_charges_for_every_grouping(v2: Gateway, group_by: str, group: Any) -> None:
    charges, _ = await traffic(v2)

    body = await v2.graphql(ROOT_SPEND, {"groupBy": group_by, **WINDOW})

    assert "errors" not in body, body
    answer = body["data"]["spend"]
    assert answer["total"] == pytest.approx(sum(charge.cost for charge in charges))
    expected = per_bucket(charges, group)
    assert {found["key"] for found in answer["groups"]} == set(expected)
    for found in answer["groups"]:
        assert_same(nonzero(found["buckets"], "cost"), expected[found["key"]])
    assert len(analytics_calls(v2)) == 1
