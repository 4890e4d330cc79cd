"""Two gateway replicas and one real Redis: what one replica learns, the other knows."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import httpx
import orjson
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.shared_state import RedisIdempotencyStore
from app.web.idempotency import IdempotentMutations, caller_credentials, fingerprint
from tests.gateway.lossy import LossyUpstream
from tests.scale.conftest import Cluster, RedisServer, Replica, replica

PING = "query Ping { __typename }"
CREATE_CUSTOMER = """
mutation CreateCustomer($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id name } userErrors { code } }
}
"""


def apq(document: str | None, digest: str) -> dict[str, Any]:
    body: dict[str, Any] = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    if document is not None:
        body["query"] = document
    return body


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def create(node: Replica, name: str, key: str, **headers: str) -> httpx.Response:
    return await node.post(CREATE_CUSTOMER, {"input": {"name": name}}, headers={"idempotency-key": key, **headers})


async def customers_named(cluster: Cluster, name: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=cluster.upstream), base_url="http://b") as rest:
        body = (await rest.get("/api/governance/customers", params={"search": name, "limit": 100})).json()
    return [c for c in body["customers"] if c["name"] == name]


# Persisted documents ----------------------------------------------------------------------------------------


async def test_a_document_registered_on_a_is_served_by_b(cluster: Cluster, redis_server: RedisServer) -> None:
    document = "query Shared { __typename }"
    digest = sha256(document)
    assert (await cluster.b.http.post("/graphql", json=apq(None, digest))).json()["errors"][0]["extensions"][
        "code"
    ] == "PERSISTED_QUERY_NOT_FOUND"
    registered = await cluster.a.http.post("/graphql", json=apq(document, digest))
    assert registered.json() == {"data": {"__typename": "Query"}}
    assert redis_server.client().get(f"gateway:apq:{digest}") == document.encode()

    served = await cluster.b.http.post("/graphql", json=apq(None, digest))
    assert served.json() == {"data": {"__typename": "Query"}}
    # B keeps it in its own LRU from now on: a GET by hash works too.
    params = {"extensions": orjson.dumps(apq(None, digest)["extensions"]).decode()}
    assert (await cluster.b.http.get("/graphql", params=params)).json() == {"data": {"__typename": "Query"}}
    assert len(cluster.b.app.state.persisted_queries) == 1


async def test_a_tampered_document_in_redis_is_refused(cluster: Cluster, redis_server: RedisServer) -> None:
    digest = sha256("query Honest { __typename }")
    redis_server.client().set(f"gateway:apq:{digest}", b"mutation Evil { logout { success } }")
    response = await cluster.b.http.post("/graphql", json=apq(None, digest))
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_INVALID"
    assert len(cluster.b.app.state.persisted_queries) == 0


async def test_a_refused_document_is_not_shared(cluster: Cluster, redis_server: RedisServer) -> None:
    document = "query Broken { nope }"
    await cluster.a.http.post("/graphql", json=apq(document, sha256(document)))
    assert redis_server.client().keys("gateway:apq:*") == []


# Idempotency keys -------------------------------------------------------------------------------------------


async def test_a_mutation_sent_to_a_and_retried_on_b_writes_once(cluster: Cluster) -> None:
    first = await create(cluster.a, "acme", "k-1")
    retry = await create(cluster.b, "acme", "k-1")
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == first.content
    assert cluster.posts("/api/governance/customers") == 1
    other_body = await create(cluster.b, "not-acme", "k-1")
    assert other_body.status_code == 422
    assert other_body.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_fifty_concurrent_retries_across_replicas_write_once(redis_server: RedisServer) -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    wire = LossyUpstream(upstream)
    wire.match, wire.hold = "/api/governance/customers", asyncio.Event()
    a, b = (replica(wire, redis_url=redis_server.url) for _ in range(2))
    try:
        first = asyncio.ensure_future(create(a, "crowd", "crowd-1"))
        await wire.held.wait()  # the first write is on its way; every retry must wait for it
        others = [asyncio.ensure_future(create(node, "crowd", "crowd-1")) for node in [a, b] * 24 + [b]]
        await asyncio.sleep(0)
        wire.hold.set()
        responses = [await first, *await asyncio.gather(*others)]
    finally:
        await a.aclose()
        await b.aclose()
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 49
    assert sum(r.method == "POST" and r.path == "/api/governance/customers" for r in upstream.state.request_log) == 1


async def test_a_lost_answer_on_a_is_read_back_by_the_retry_on_b(redis_server: RedisServer) -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    wire = LossyUpstream(upstream)
    wire.match, wire.lose_after = "/api/governance/customers", 1
    a, b = replica(wire, redis_url=redis_server.url), replica(upstream, redis_url=redis_server.url)
    try:
        lost = (await create(a, "lost", "lost-1")).json()
        assert lost["errors"][0]["extensions"]["code"] == "UPSTREAM_OUTCOME_UNKNOWN"
        retry = (await create(b, "lost", "lost-1")).json()
        replay = await create(a, "lost", "lost-1")
    finally:
        await a.aclose()
        await b.aclose()
    assert retry["data"]["createCustomer"]["customer"]["name"] == "lost"
    assert replay.headers["idempotent-replayed"] == "true"
    assert sum(r.method == "POST" and r.path == "/api/governance/customers" for r in upstream.state.request_log) == 1


async def test_a_claim_whose_replica_died_is_taken_over_with_a_read_back(redis_server: RedisServer) -> None:
    # A replica claimed the key, its write landed, and it died before settling: only its lease remains.
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    b = replica(
        upstream,
        redis_url=redis_server.url,
        upstream_connect_timeout=0.3,
        upstream_total_timeout=0.3,
        idempotency_lease=0.3,
    )
    dead = RedisIdempotencyStore(b.app.state.shared.redis.client, ttl=60, lease=0.3)
    variables = {"input": {"name": "orphan"}}
    keyed = IdempotentMutations(dead, names=b.app.state.shared.names, wait=1)
    name, same = keyed.stored_as(caller_credentials({}, {}), "orphan-1", fingerprint(CREATE_CUSTOMER, None, variables))
    claimed_at = time.time()
    assert (await dead.claim(name, same)).state.value == "new"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream), base_url="http://b") as rest:
        landed = (await rest.post("/api/governance/customers", json={"name": "orphan"})).json()["customer"]
    try:
        retry = await b.post(CREATE_CUSTOMER, variables, headers={"idempotency-key": "orphan-1"})
    finally:
        await b.aclose()
    assert time.time() - claimed_at >= 0.3  # it waited out the dead replica's lease
    assert retry.json()["data"]["createCustomer"]["customer"] == {"id": landed["id"], "name": "orphan"}
    assert sum(r.method == "POST" and r.path == "/api/governance/customers" for r in upstream.state.request_log) == 1


async def test_redis_holds_no_credential_and_no_raw_key(cluster: Cluster, redis_server: RedisServer) -> None:
    secret = "Bearer sk-caller-token-0123456789"
    await create(cluster.a, "kept", "client-key-42", authorization=secret)
    await create(cluster.a, "kept-too", "client-key-43", cookie="token=session-secret-abc")
    client = redis_server.client()
    stored = b"".join(
        key + b"".join(client.hgetall(key).values()) if client.type(key) == b"hash" else key + (client.get(key) or b"")
        for key in client.keys("*")
    )
    assert stored, "the keys are in Redis"
    for needle in (b"sk-caller-token", b"session-secret", b"client-key-4"):
        assert needle not in stored


# Redis failing ----------------------------------------------------------------------------------------------


async def test_requests_keep_working_when_redis_is_killed(
    cluster: Cluster, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    document = "query BeforeTheCrash { __typename }"
    assert (await cluster.a.http.post("/graphql", json=apq(document, sha256(document)))).status_code == 200
    assert (await create(cluster.a, "before", "before-1")).status_code == 200
    errors_before = _redis_errors()

    redis_server.kill()
    caplog.set_level("INFO", logger="app.redis")
    for node in (cluster.a, cluster.b):
        assert (await node.post(PING)).json() == {"data": {"__typename": "Query"}}  # no Redis needed
        fresh = f"query After{id(node)} {{ __typename }}"
        assert (await node.http.post("/graphql", json=apq(fresh, sha256(fresh)))).json()["data"]
        assert (await node.http.post("/graphql", json=apq(None, sha256(fresh)))).json()["data"]
    # A's own LRU still serves what it registered; B, which never saw it, asks the client for the document.
    assert (await cluster.a.http.post("/graphql", json=apq(None, sha256(document)))).json()["data"]
    missing = (await cluster.b.http.post("/graphql", json=apq(None, sha256(document)))).json()
    assert missing["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    # Keyed mutations fall back to each replica's own keys: still written once per replica, still replayed.
    first = await create(cluster.a, "during", "during-1")
    again = await create(cluster.a, "during", "during-1")
    assert first.json()["data"]["createCustomer"]["customer"]["name"] == "during"
    assert again.headers["idempotent-replayed"] == "true"
    assert len(await customers_named(cluster, "during")) == 1

    warnings = [r for r in caplog.records if r.name == "app.redis" and r.levelname == "WARNING"]
    assert len(warnings) == 2, "one warning per replica, not one per request"
    assert all("redis://" not in r.getMessage() and str(redis_server.port) not in str(r.__dict__) for r in warnings)
    assert _redis_errors() > errors_before


def _redis_errors() -> float:
    from prometheus_client import REGISTRY

    total = 0.0
    for metric in REGISTRY.collect():
        if metric.name == "gateway_redis_errors":
            total += sum(sample.value for sample in metric.samples if sample.name.endswith("_total"))
    return total


async def test_a_revealed_key_value_never_reaches_redis(cluster: Cluster, redis_server: RedisServer) -> None:
    mutation = """
    mutation CreateKey($input: CreateVirtualKeyInput!) {
      createVirtualKey(input: $input) { virtualKey { id value(reveal: true) } userErrors { code } }
    }
    """
    variables = {"input": {"name": "kept-out-of-redis"}}
    first = await cluster.a.post(mutation, variables, headers={"idempotency-key": "secret-1"})
    created = first.json()["data"]["createVirtualKey"]["virtualKey"]
    secret = created["value"]
    assert "…" not in secret, first.json()

    client = redis_server.client()
    stored = b"".join(
        b"".join(client.hgetall(name).values()) if client.type(name) == b"hash" else (client.get(name) or b"")
        for name in client.keys("*")
    )
    assert created["id"].encode() in stored  # the answer is there...
    assert secret.encode() not in stored  # ...without the value

    replay = (await cluster.b.post(mutation, variables, headers={"idempotency-key": "secret-1"})).json()
    assert replay["data"]["createVirtualKey"]["virtualKey"]["value"] == secret[:6] + "…" + secret[-4:]
    assert replay["extensions"] == {"idempotency": {"secretsWithheld": True}}
    assert cluster.posts("/api/governance/virtual-keys") == 1
