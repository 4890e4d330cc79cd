"""Login attempts are counted across replicas through Redis, and per replica while Redis is down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from tests.scale.conftest import RedisServer, Replica, replica

LOGIN = "mutation Login($u: String!, $p: String!) { login(username: $u, password: $p) { success } }"
LIMITS = {"login_rate_limit_per_address": "100/minute", "login_rate_limit_per_username": "3/minute"}


@pytest.fixture
async def replicas(redis_server: RedisServer) -> AsyncIterator[tuple[Replica, Replica]]:
    upstream = create_embedded_bifrost(database=":memory:", generation="current", auth=("admin", "pw"))
    a = replica(upstream, redis_url=redis_server.url, **LIMITS)
    b = replica(upstream, redis_url=redis_server.url, **LIMITS)
    yield a, b
    await a.aclose()
    await b.aclose()


async def login(node: Replica, username: str) -> dict[str, Any]:
    body: dict[str, Any] = (await node.post(LOGIN, {"u": username, "p": "wrong"})).json()
    return body


def refused(body: dict[str, Any]) -> bool:
    return bool(body.get("errors")) and body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_attempts_on_two_replicas_meet_one_limit(replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    bodies = [await login(node, "admin") for node in (a, b, a)]
    assert not any(refused(body) for body in bodies)
    assert refused(await login(b, "admin")), "the fourth attempt is refused wherever it lands"
    assert refused(await login(a, "ADMIN "))  # the same username, case-folded
    assert not refused(await login(b, "someone-else"))


async def test_attempts_are_still_limited_per_replica_when_redis_is_down(
    replicas: tuple[Replica, Replica], redis_server: RedisServer
) -> None:
    a, b = replicas
    redis_server.kill()
    assert not any([refused(await login(a, "admin")) for _ in range(3)])
    assert refused(await login(a, "admin"))
    assert not refused(await login(b, "admin")), "B counts on its own while Redis is down"
