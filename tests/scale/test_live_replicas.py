"""``budgetUsage`` on two gateway replicas sharing one Redis: one upstream poll per interval for both, nothing secret
in Redis, and both still serving when Redis dies.

    test --WebSocket over ASGI--> gateway A --+                        +--> Redis (lease, latest snapshot, channel)
                                              +--> embedded Bifrost    |
    test --WebSocket over ASGI--> gateway B --+                        +--  (both gateways)

Both replicas' hubs wait for the test's ``SteppedClock`` between polls; waits for what crosses Redis have deadlines.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.live import credentials_digest
from app.live.redis_hub import RedisHub, Role
from app.settings import Settings
from app.shared_state import RedisLink
from app.web import create_app
from app.web.app import bifrost_client_of
from app.web.edge import GatewayASGI
from tests.gateway.live import AsgiWebSocket, SteppedClock
from tests.scale.conftest import RedisServer
from tests.scale.redis_watch import unkeyed_digests
from tests.scale.test_redis_live_hub import eventually, within

PASSWORD = "correct-horse-battery-staple"
BASIC = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
USAGE = """
subscription Usage($teams: [ID!]) {
  budgetUsage(teamIds: $teams) { initial counters { owner { name } budget { currentUsage maxLimit } } }
}
"""


@dataclass
class Replicas:
    a: GatewayASGI
    b: GatewayASGI
    upstream: Any
    clock: SteppedClock
    links: list[RedisLink]

    def team_reads(self, team_id: str) -> int:
        return sum(
            r.method == "GET" and r.path == f"/api/governance/teams/{team_id}"
            for r in list(self.upstream.state.request_log)
        )

    def hub(self, app: GatewayASGI) -> RedisHub:
        hub = app.state.live.hub
        assert isinstance(hub, RedisHub)
        return hub

    async def set_budget(self, team_id: str, max_limit: float) -> None:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.upstream),
            base_url="http://bifrost",
            headers={"authorization": BASIC},
        ) as bifrost:
            answer = await bifrost.put(
                f"/api/governance/teams/{team_id}", json={"budgets": [{"max_limit": max_limit, "reset_duration": "1d"}]}
            )
            assert answer.status_code == 200, answer.text


@pytest.fixture
async def replicas(redis_server: RedisServer) -> AsyncIterator[Replicas]:
    upstream = create_embedded_bifrost(database=":memory:", generation="v2", auth=("admin", PASSWORD))
    clock = SteppedClock()
    apps, links = [], []
    for _ in range(2):
        link = RedisLink.from_url(redis_server.url, timeout=5, cool_down=0.0)
        settings = Settings(bifrost_url="http://bifrost.internal:8080", redis_url=redis_server.url)
        hub = RedisHub(link, settings.live_poll_interval, sleep=clock.sleep, timeout=5)
        apps.append(create_app(settings, transport=httpx.ASGITransport(app=upstream), live_hub=hub))
        links.append(link)
    yield Replicas(apps[0], apps[1], upstream, clock, links)
    for app, link in zip(apps, links, strict=True):
        await app.state.live.hub.aclose()
        await link.aclose()
        await bifrost_client_of(app).aclose()
        await app.state.shared.aclose()


async def a_team(replicas: Replicas) -> str:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=replicas.upstream),
        base_url="http://bifrost",
        headers={"authorization": BASIC},
    ) as bifrost:
        answer = await bifrost.post(
            "/api/governance/teams", json={"name": "platform", "budgets": [{"max_limit": 10, "reset_duration": "1d"}]}
        )
    team_id: str = answer.json()["team"]["id"]
    return team_id


async def subscribed(app: GatewayASGI, team_id: str, port: int, authorization: str = BASIC) -> AsgiWebSocket:
    ws = AsgiWebSocket(app, client=("127.0.0.1", port))
    await ws.connect()
    assert (await ws.init({"authorization": authorization}))["type"] == "connection_ack"
    await ws.subscribe("1", USAGE, {"teams": [team_id]})
    return ws


async def next_limit(ws: AsgiWebSocket) -> float:
    message = await within(ws.receive_except_pings(), "a push")
    assert message["type"] == "next", message
    (counter,) = message["payload"]["data"]["budgetUsage"]["counters"]
    limit: float = counter["budget"]["maxLimit"]
    return limit


async def test_a_replica_with_redis_shares_its_pollers() -> None:
    settings = Settings(bifrost_url="http://bifrost.internal:8080", redis_url="redis://127.0.0.1:1/0")
    app = create_app(settings, transport=httpx.MockTransport(lambda request: httpx.Response(404)))
    hub = app.state.live.hub
    assert isinstance(hub, RedisHub) and hub.lease == 3 * settings.live_poll_interval
    await bifrost_client_of(app).aclose()
    await app.state.shared.aclose()


async def test_subscribers_on_two_replicas_cost_one_upstream_poll_per_interval(replicas: Replicas) -> None:
    team_id = await a_team(replicas)
    on_a = [await subscribed(replicas.a, team_id, 40000 + n) for n in range(3)]
    for ws in on_a:
        assert await next_limit(ws) == 10
    on_b = [await subscribed(replicas.b, team_id, 41000 + n) for n in range(3)]
    for ws in on_b:
        assert await next_limit(ws) == 10
    assert replicas.team_reads(team_id) == 1, "B's subscribers got A's snapshot"
    hub_a, hub_b = replicas.hub(replicas.a), replicas.hub(replicas.b)
    for interval in range(1, 4):
        await within(replicas.clock.until_waiting(2), "both replicas wait for the next interval")
        await replicas.set_budget(team_id, 10 + interval)
        replicas.clock.step()
        for ws in on_a + on_b:
            assert await next_limit(ws) == 10 + interval
        assert replicas.team_reads(team_id) == 1 + interval, "one poll per interval for both replicas"
    assert sum(hub.polls(key) for hub in (hub_a, hub_b) for key in hub._watches) == 4
    for ws in on_a + on_b:
        await ws.disconnect()
    assert hub_a.active_keys() == hub_b.active_keys() == 0


async def test_redis_holds_no_credential_of_the_subscribers(replicas: Replicas, redis_server: RedisServer) -> None:
    team_id = await a_team(replicas)
    sync = redis_server.client()
    monitor = sync.pubsub()
    monitor.psubscribe("*")
    on_a = await subscribed(replicas.a, team_id, 40000)
    on_b = await subscribed(replicas.b, team_id, 41000)
    assert await next_limit(on_a) == 10 and await next_limit(on_b) == 10
    await within(replicas.clock.until_waiting(2), "both replicas wait")
    await replicas.set_budget(team_id, 12)
    replicas.clock.step()
    assert await next_limit(on_b) == 12

    names = [*sync.keys("*"), *sync.pubsub_channels()]
    assert not [name for name in names if team_id.encode() in name], "names carry no id of the watched set either"
    stored = list(names)
    for name in sync.keys("*"):
        if sync.type(name) == b"string":
            stored.append(sync.get(name) or b"")
    while (message := monitor.get_message(timeout=0.01)) is not None:
        stored += [message["channel"] or b"", message["data"] if isinstance(message["data"], bytes) else b""]
    assert any(name.startswith(b"gateway:live:lease:") for name in stored), "the hubs did use Redis"
    keyed = credentials_digest(replicas.a.state.shared.names, {"authorization": BASIC})
    plain = unkeyed_digests([{"authorization": BASIC}], [], [], [("budgetUsage", f"team:{team_id}")])
    secrets = [PASSWORD, BASIC, BASIC.split()[1], keyed, "admin:", *plain]
    everything = b"\n".join(stored).decode(errors="replace")
    for secret in secrets:
        assert secret not in everything
    monitor.close()
    await on_a.disconnect()
    await on_b.disconnect()


async def test_a_session_on_the_same_set_gets_a_poller_of_its_own_and_its_logout_ends_only_it(
    replicas: Replicas, redis_server: RedisServer
) -> None:
    team_id = await a_team(replicas)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=replicas.upstream), base_url="http://b") as bifrost:
        login = await bifrost.post("/api/session/login", json={"username": "admin", "password": PASSWORD})
        session = login.cookies["token"]
    with_basic = [await subscribed(replicas.a, team_id, 40000), await subscribed(replicas.b, team_id, 41000)]
    with_session = [
        await subscribed(replicas.a, team_id, 40001, f"Bearer {session}"),
        await subscribed(replicas.b, team_id, 41001, f"Bearer {session}"),
    ]
    for ws in with_basic + with_session:
        assert await next_limit(ws) == 10
    sync = redis_server.client()
    assert len(sync.keys("gateway:live:lease:*")) == 2, "one lease per credentials, shared by both replicas"
    assert not [k for k in sync.keys("*") if session.encode() in k or session.encode() in (sync.get(k) or b"")]

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=replicas.upstream), base_url="http://b") as bifrost:
        await bifrost.post("/api/session/logout", headers={"authorization": f"Bearer {session}"})
    await within(replicas.clock.until_waiting(4), "every watch waits for the next interval")
    await replicas.set_budget(team_id, 11)
    replicas.clock.step()
    for ws in with_basic:
        assert await next_limit(ws) == 11
    for ws in with_session:  # on both replicas: the holder's poll was refused, then the other's own
        ended = await within(ws.receive_except_pings(), "the logged-out stream ends")
        assert ended["type"] == "next" and ended["payload"]["errors"], ended
        assert (await within(ws.receive_except_pings(), "complete"))["type"] == "complete"
    await eventually(lambda: len(sync.keys("gateway:live:lease:*")) == 1, "the session's lease was given up")
    for ws in with_basic + with_session:
        await ws.disconnect()


async def test_both_replicas_keep_serving_while_redis_is_down(replicas: Replicas, redis_server: RedisServer) -> None:
    team_id = await a_team(replicas)
    on_a = await subscribed(replicas.a, team_id, 40000)
    on_b = await subscribed(replicas.b, team_id, 41000)
    assert await next_limit(on_a) == 10 and await next_limit(on_b) == 10
    await within(replicas.clock.until_waiting(2), "both replicas wait")
    redis_server.kill()
    await replicas.set_budget(team_id, 20)
    reads = replicas.team_reads(team_id)
    replicas.clock.step()
    assert await next_limit(on_a) == 20
    assert await next_limit(on_b) == 20
    assert replicas.team_reads(team_id) == reads + 2, "each replica polled for itself"
    hub_a, hub_b = replicas.hub(replicas.a), replicas.hub(replicas.b)
    assert {hub.role(key) for hub in (hub_a, hub_b) for key in hub._watches} == {Role.LOCAL}
    # A query on either replica is answered too.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=replicas.b), base_url="http://gateway") as http:
        answer = await http.post(
            "/graphql",
            json={"query": "query($id: ID!) { team(id: $id) { name } }", "variables": {"id": team_id}},
            headers={"authorization": BASIC},
        )
    assert answer.json() == {"data": {"team": {"name": "platform"}}}
    await on_a.disconnect()
    await on_b.disconnect()
    await eventually(lambda: hub_a.active_keys() == hub_b.active_keys() == 0, "the watches ended")
    await asyncio.sleep(0)
