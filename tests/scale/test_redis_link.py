"""The Redis link: one warning per outage, a metric per failure, and sharing again once Redis is back."""

from __future__ import annotations

import hashlib
import logging

import pytest
from prometheus_client import REGISTRY
from redis.exceptions import ConnectionError as RedisConnectionError

from app.shared_state import ClaimState, RedisIdempotencyStore, RedisLink
from tests.scale.conftest import Cluster, RedisServer


def errors(operation: str) -> float:
    return REGISTRY.get_sample_value("gateway_redis_errors_total", {"operation": operation}) or 0.0


async def test_an_outage_warns_once_counts_every_failure_and_says_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="app.redis")
    link = RedisLink.from_url("redis://user:hunter2@127.0.0.1:1/0", timeout=0.1, cool_down=3600)
    before = errors("unit_test")
    assert link.usable() and not link.degraded
    for _ in range(3):
        link.failed("unit_test", RedisConnectionError("Error connecting to redis://user:hunter2@127.0.0.1:1"))
    assert errors("unit_test") == before + 3
    assert link.degraded and not link.usable()  # Redis is left alone during the cool-down
    link.succeeded()
    link.failed("unit_test", RedisConnectionError("again"))
    levels = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "app.redis"]
    assert [level for level, _ in levels] == ["WARNING", "INFO", "WARNING"]
    assert "hunter2" not in caplog.text and "redis://" not in caplog.text
    await link.aclose()


async def test_documents_are_shared_again_once_redis_is_back(cluster: Cluster, redis_server: RedisServer) -> None:
    for node in (cluster.a, cluster.b):
        node.app.state.shared.redis.cool_down = 0.0  # try Redis again at once
    redis_server.kill()
    during = "query DuringTheOutage { __typename }"
    body = {"query": during, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(during)}}}
    assert (await cluster.a.http.post("/graphql", json=body)).json() == {"data": {"__typename": "Query"}}

    redis_server.start()  # the same port, empty
    after = "query AfterTheOutage { __typename }"
    body = {"query": after, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(after)}}}
    assert (await cluster.a.http.post("/graphql", json=body)).json() == {"data": {"__typename": "Query"}}
    served = await cluster.b.http.post("/graphql", json={"extensions": body["extensions"]})
    assert served.json() == {"data": {"__typename": "Query"}}
    assert not cluster.a.app.state.shared.redis.degraded


def sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


async def test_keys_are_claimed_in_redis_again_after_a_restart(cluster: Cluster, redis_server: RedisServer) -> None:
    # A restarted Redis has forgotten the claim scripts too: they are loaded again, not failed over.
    cluster.a.app.state.shared.redis.cool_down = 0.0
    mutation = "mutation M($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }"
    first = await cluster.a.post(mutation, {"input": {"name": "before"}}, headers={"idempotency-key": "r-1"})
    assert first.status_code == 200
    redis_server.kill()
    redis_server.start()
    again = await cluster.a.post(mutation, {"input": {"name": "after"}}, headers={"idempotency-key": "r-2"})
    replay = await cluster.b.post(mutation, {"input": {"name": "after"}}, headers={"idempotency-key": "r-2"})
    assert replay.headers["idempotent-replayed"] == "true" and replay.content == again.content
    assert len(redis_server.client().keys("gateway:idempotency:*")) == 1


async def test_a_claim_sent_twice_gets_the_same_answer(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After a connection error the client sends the claim once more; if the first one did run, the second
    # must not read it as somebody else's claim still running.
    link = RedisLink.from_url(redis_server.url, timeout=1)
    store = RedisIdempotencyStore(link.client, ttl=60, lease=60)
    monkeypatch.setattr("app.shared_state.idempotency.new_token", lambda: "same-token")
    try:
        first = await store.claim("k", "fp")
        assert first.state is ClaimState.NEW
        assert (await store.claim("k", "fp")).state is ClaimState.NEW
        await store.unsure("k", first)
        check = await store.claim("k", "fp")
        again = await store.claim("k", "fp")
        assert check.state is again.state is ClaimState.CHECK
        assert check.attempted_at == again.attempted_at is not None
        monkeypatch.setattr("app.shared_state.idempotency.new_token", lambda: "other-token")
        assert (await store.claim("k", "fp")).state is ClaimState.RUNNING  # anybody else waits
    finally:
        await link.aclose()
