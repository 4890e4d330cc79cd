"""Redis names derived from credentials are keyed with ``REDIS_KEY_SECRET``: nothing a reader of Redis can test a
guessed credential against, and replicas share exactly when they share the secret.

    test --HTTP / WebSocket over ASGI--> gateway A --+                       +--> Redis (MONITOR-ed, then dumped)
                                                     +--> embedded Bifrost   |
    test --HTTP / WebSocket over ASGI--> gateway B --+                       +--  (both gateways)

Each gateway's own hub polls at once for its first subscriber; a waiting hub is never stepped here.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.live.redis_hub import RedisHub
from app.settings import Settings
from app.web import create_app
from app.web.app import bifrost_client_of
from app.web.edge import GatewayASGI
from tests.gateway.live import AsgiWebSocket
from tests.scale.conftest import RedisServer
from tests.scale.redis_watch import RedisWatch, unkeyed_digests
from tests.scale.test_redis_live_hub import within

SECRET = "the-deployment-secret-of-these-replicas-0001"
OTHER_SECRET = "another-deployment-with-its-own-secret-0002"
PASSWORD = "correct-horse-battery-staple"
BASIC = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
GUESSED_USERNAME = "Carol.Finance@example.com"
LOGIN = "mutation Login($u: String!, $p: String!) { login(username: $u, password: $p) { success } }"
CREATE_TEAM = """
mutation CreateTeam($input: CreateTeamInput!) { createTeam(input: $input) { team { id name } userErrors { code } } }
"""
USAGE = """
subscription Usage($teams: [ID!]) { budgetUsage(teamIds: $teams) { counters { budget { maxLimit } } } }
"""
LIMITS = {"login_rate_limit_per_address": "100/minute", "login_rate_limit_per_username": "3/minute"}


class Pair:
    """Two replicas over one embedded upstream (which takes ``admin`` and ``PASSWORD``) and one Redis."""

    def __init__(self, redis_server: RedisServer, secret_a: str | None, secret_b: str | None) -> None:
        self.upstream = create_embedded_bifrost(database=":memory:", generation="v2", auth=("admin", PASSWORD))
        self.apps = [self._replica(redis_server, secret) for secret in (secret_a, secret_b)]
        self.https = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=30)
            for app in self.apps
        ]

    def _replica(self, redis_server: RedisServer, secret: str | None) -> GatewayASGI:
        settings = Settings(
            bifrost_url="http://bifrost.internal:8080", redis_url=redis_server.url, redis_key_secret=secret, **LIMITS
        )
        return create_app(settings, transport=httpx.ASGITransport(app=self.upstream))

    def posts(self, path: str) -> int:
        return sum(r.method == "POST" and r.path == path for r in list(self.upstream.state.request_log))

    def reads(self, path: str) -> int:
        return sum(r.method == "GET" and r.path == path for r in list(self.upstream.state.request_log))

    async def post(self, replica: int, query: str, variables: dict[str, Any], **headers: str) -> httpx.Response:
        http = self.https[replica]
        response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        http.cookies.clear()  # a login's cookie is sent only where a test says so
        return response

    async def a_team(self, name: str) -> str:
        created = await self.post(0, CREATE_TEAM, {"input": {"name": name}}, authorization=BASIC)
        team_id: str = created.json()["data"]["createTeam"]["team"]["id"]
        return team_id

    async def subscribed(self, replica: int, team_id: str, authorization: str, port: int) -> AsgiWebSocket:
        ws = AsgiWebSocket(self.apps[replica], client=("127.0.0.1", port))
        await ws.connect()
        assert (await ws.init({"authorization": authorization}))["type"] == "connection_ack"
        await ws.subscribe("1", USAGE, {"teams": [team_id]})
        message = await within(ws.receive_except_pings(), "the first push")
        assert message["type"] == "next", message
        return ws

    async def aclose(self) -> None:
        for app, http in zip(self.apps, self.https, strict=True):
            await http.aclose()
            hub = app.state.live.hub
            if isinstance(hub, RedisHub):
                await hub.aclose()
            await bifrost_client_of(app).aclose()
            await app.state.shared.aclose()


@pytest.fixture
async def pair_of(redis_server: RedisServer) -> AsyncIterator[Callable[[str | None, str | None], Pair]]:
    made: list[Pair] = []

    def make(secret_a: str | None, secret_b: str | None) -> Pair:
        made.append(Pair(redis_server, secret_a, secret_b))
        return made[-1]

    yield make
    for pair in made:
        await pair.aclose()


def refused(response: httpx.Response) -> bool:
    errors = response.json().get("errors") or []
    return bool(errors) and errors[0]["extensions"]["code"] == "RATE_LIMITED"


async def test_redis_holds_no_credential_and_no_plain_digest_of_one(
    pair_of: Callable[[str | None, str | None], Pair], redis_server: RedisServer
) -> None:
    pair = pair_of(SECRET, SECRET)
    watch = RedisWatch(redis_server)
    # Login attempts: a wrong password for a guessed username, then the right one (its cookie is a credential).
    assert not refused(await pair.post(0, LOGIN, {"u": GUESSED_USERNAME, "p": "wrong-password"}))
    login = await pair.post(1, LOGIN, {"u": "admin", "p": PASSWORD})
    assert login.json()["data"]["login"]["success"] is True
    session = login.cookies["token"]
    # Idempotent mutations with a Basic credential and with the session cookie, each replayed by the other replica.
    basic = {"authorization": BASIC}
    cookie = {"cookie": f"token={session}"}
    for n, (headers, key) in enumerate([(basic, "order-basic-1"), (cookie, "order-cookie-1")]):
        variables = {"input": {"name": f"team-{n}"}}
        first = await pair.post(0, CREATE_TEAM, variables, **headers, **{"idempotency-key": key})
        again = await pair.post(1, CREATE_TEAM, variables, **headers, **{"idempotency-key": key})
        assert again.headers.get("idempotent-replayed") == "true" and again.content == first.content
    team_id = first.json()["data"]["createTeam"]["team"]["id"]
    # Live subscriptions with both credentials on both replicas.
    sockets = [
        await pair.subscribed(replica, team_id, authorization, 40000 + 10 * replica + n)
        for n, authorization in enumerate([BASIC, f"Bearer {session}"])
        for replica in (0, 1)
    ]
    for ws in sockets:
        await ws.disconnect()

    everything = watch.everything()
    assert "gateway:idempotency:" in everything and "gateway:live:lease:" in everything
    assert "gateway:login" in everything, "the login windows were in Redis"
    for credential in [PASSWORD, BASIC, BASIC.split()[1], session, GUESSED_USERNAME, GUESSED_USERNAME.casefold()]:
        assert credential not in everything
    digests = unkeyed_digests(
        [basic, cookie, {"authorization": f"Bearer {session}"}],
        ["order-basic-1", "order-cookie-1"],
        ["admin", GUESSED_USERNAME],
        [("budgetUsage", f"team:{team_id}")],
    )
    assert len(digests) > 20
    assert [digest for digest in digests if digest in everything] == []


async def test_replicas_with_the_same_secret_share_keys_pollers_and_login_counts(
    pair_of: Callable[[str | None, str | None], Pair], redis_server: RedisServer
) -> None:
    pair = pair_of(SECRET, SECRET)
    variables = {"input": {"name": "shared"}}
    first = await pair.post(0, CREATE_TEAM, variables, authorization=BASIC, **{"idempotency-key": "k-1"})
    again = await pair.post(1, CREATE_TEAM, variables, authorization=BASIC, **{"idempotency-key": "k-1"})
    assert again.headers.get("idempotent-replayed") == "true" and again.content == first.content
    assert pair.posts("/api/governance/teams") == 1, "one upstream write for both replicas"

    team_id = first.json()["data"]["createTeam"]["team"]["id"]
    sockets = [await pair.subscribed(replica, team_id, BASIC, 40000 + replica) for replica in (0, 1)]
    assert len(redis_server.client().keys("gateway:live:lease:*")) == 1, "one lease for both replicas"
    assert pair.reads(f"/api/governance/teams/{team_id}") == 1, "B got A's snapshot"
    for ws in sockets:
        await ws.disconnect()

    for replica in (0, 1, 0):
        assert not refused(await pair.post(replica, LOGIN, {"u": "carol", "p": "wrong"}))
    assert refused(await pair.post(1, LOGIN, {"u": "carol", "p": "wrong"})), "the fourth attempt, on either replica"


async def test_replicas_with_different_secrets_share_nothing(
    pair_of: Callable[[str | None, str | None], Pair], redis_server: RedisServer
) -> None:
    pair = pair_of(SECRET, OTHER_SECRET)
    variables = {"input": {"name": "apart"}}
    await pair.post(0, CREATE_TEAM, variables, authorization=BASIC, **{"idempotency-key": "k-1"})
    other = await pair.post(1, CREATE_TEAM, variables, authorization=BASIC, **{"idempotency-key": "k-1"})
    assert "idempotent-replayed" not in other.headers
    assert other.json()["data"]["createTeam"]["userErrors"] == [{"code": "NAME_TAKEN"}], "B ran it again"
    assert pair.posts("/api/governance/teams") == 2

    team_id = await pair.a_team("watched")
    sockets = [await pair.subscribed(replica, team_id, BASIC, 40000 + replica) for replica in (0, 1)]
    assert len(redis_server.client().keys("gateway:live:lease:*")) == 2, "a lease of each replica's own"
    assert pair.reads(f"/api/governance/teams/{team_id}") == 2, "each replica polled for itself"
    for ws in sockets:
        await ws.disconnect()

    for replica in (0, 1, 0, 1):
        assert not refused(await pair.post(replica, LOGIN, {"u": "carol", "p": "wrong"})), "two counts of two"


async def test_without_a_secret_replicas_in_one_process_share_its_own(
    pair_of: Callable[[str | None, str | None], Pair],
) -> None:
    pair = pair_of(None, None)
    variables = {"input": {"name": "dev"}}
    first = await pair.post(0, CREATE_TEAM, variables, authorization=BASIC, **{"idempotency-key": "k-1"})
    again = await pair.post(1, CREATE_TEAM, variables, authorization=BASIC, **{"idempotency-key": "k-1"})
    assert again.headers.get("idempotent-replayed") == "true" and again.content == first.content
