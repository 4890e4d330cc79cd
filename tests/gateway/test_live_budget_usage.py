"""``budgetUsage`` over graphql-transport-ws against the embedded server: counters, changes, shared polls, auth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.gateway.conftest import Gateway, upstream_http
from tests.gateway.live import AsgiWebSocket, SteppedClock, make_live_gateway, until

USAGE = """
subscription Usage($teams: [ID!], $customers: [ID!], $keys: [ID!]) {
  budgetUsage(teamIds: $teams, customerIds: $customers, virtualKeyIds: $keys) {
    initial
    counters {
      owner { kind id name provider }
      budget { id currentUsage maxLimit resetDuration }
      rateLimit { id tokenCurrentUsage tokenMaxLimit requestCurrentUsage requestMaxLimit }
    }
  }
}
"""
HOURLY_2 = {"max_limit": 2, "reset_duration": "1h"}
TEAM_QUERY = 'query { team(id: "%s") { id name } }'


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
async def gw(clock: SteppedClock) -> AsyncIterator[Gateway]:
    gateway = await make_live_gateway("v2", clock=clock)
    yield gateway
    await gateway.http.aclose()


async def arrange(gw: Gateway) -> dict[str, Any]:
    """A team (budget and rate limit) and a key of it (budget, rate limit, a provider config with a budget)."""
    async with upstream_http(gw) as bifrost:
        team = (
            await bifrost.post(
                "/api/governance/teams",
                json={
                    "name": "platform",
                    "budgets": [{"max_limit": 10, "reset_duration": "1d"}],
                    "rate_limit": {"token_max_limit": 1000, "token_reset_duration": "1h"},
                },
            )
        ).json()["team"]
        key = (
            await bifrost.post(
                "/api/governance/virtual-keys",
                json={
                    "name": "checkout",
                    "team_id": team["id"],
                    "budgets": [{"max_limit": 5, "reset_duration": "1h"}],
                    "rate_limit": {"request_max_limit": 100, "request_reset_duration": "1m"},
                    "provider_configs": [{"provider": "openai", "allowed_models": ["*"], "budgets": [HOURLY_2]}],
                },
            )
        ).json()["virtual_key"]
    return {"team": team, "key": key}


async def set_team_budget(gw: Gateway, team_id: str, max_limit: float) -> None:
    async with upstream_http(gw) as bifrost:
        response = await bifrost.put(
            f"/api/governance/teams/{team_id}", json={"budgets": [{"max_limit": max_limit, "reset_duration": "1d"}]}
        )
        assert response.status_code == 200, response.text


def team_reads(gw: Gateway, team_id: str) -> int:
    return len([call for call in gw.upstream_calls("GET") if call.path == f"/api/governance/teams/{team_id}"])


async def start(ws: AsgiWebSocket, operation_id: str, variables: dict[str, Any]) -> dict[str, Any]:
    await ws.subscribe(operation_id, USAGE, variables)
    message = await ws.receive_except_pings()
    assert message["type"] == "next", message
    assert message["id"] == operation_id
    return message["payload"]


async def test_first_push_carries_every_counter_of_the_watched_set(gw: Gateway) -> None:
    made = await arrange(gw)
    team, key = made["team"], made["key"]
    async with AsgiWebSocket(gw.app) as ws:
        assert (await ws.init())["type"] == "connection_ack"
        payload = await start(ws, "1", {"teams": [team["id"]], "keys": [key["id"]]})
    update = payload["data"]["budgetUsage"]
    assert update["initial"] is True
    seen = {
        (c["owner"]["kind"], c["owner"]["name"], c["owner"]["provider"], "budget" if c["budget"] else "rateLimit"): (
            c["budget"] or c["rateLimit"]
        )
        for c in update["counters"]
    }
    assert seen[("TEAM", "platform", None, "budget")]["maxLimit"] == 10
    assert seen[("TEAM", "platform", None, "budget")]["currentUsage"] == 0
    assert seen[("TEAM", "platform", None, "rateLimit")]["tokenMaxLimit"] == "1000"  # Int64 travels as a string
    assert seen[("VIRTUAL_KEY", "checkout", None, "budget")]["maxLimit"] == 5
    assert seen[("VIRTUAL_KEY", "checkout", None, "rateLimit")]["requestMaxLimit"] == "100"
    assert seen[("PROVIDER_CONFIG", "checkout", "openai", "budget")]["maxLimit"] == 2
    assert len(update["counters"]) == 5


async def test_a_change_pushes_only_the_counter_that_changed(gw: Gateway, clock: SteppedClock) -> None:
    made = await arrange(gw)
    team_id = made["team"]["id"]
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await start(ws, "1", {"teams": [team_id]})
        await clock.until_waiting()
        clock.step()  # nothing changed: no push
        await clock.until_waiting()
        await set_team_budget(gw, team_id, 25)
        clock.step()
        message = await ws.receive_except_pings()
    update = message["payload"]["data"]["budgetUsage"]
    assert update["initial"] is False
    assert [(c["owner"]["kind"], c["budget"]["maxLimit"]) for c in update["counters"]] == [("TEAM", 25)]


async def test_a_hundred_subscribers_of_one_watched_set_cost_one_poll_per_interval(
    gw: Gateway, clock: SteppedClock
) -> None:
    team_id = (await arrange(gw))["team"]["id"]
    sockets = [AsgiWebSocket(gw.app, client=("10.0.0.1", 40000 + n)) for n in range(10)]
    for ws in sockets:
        await ws.connect()
        await ws.init()
    for n, ws in enumerate(sockets):
        for m in range(10):
            await start(ws, f"{n}-{m}", {"teams": [team_id]})
    hub = gw.app.state.live.hub
    assert hub.active_keys() == 1
    assert team_reads(gw, team_id) == 1, "one poll served all 100 subscribers"
    for interval in range(1, 4):
        await clock.until_waiting()
        clock.step()
        await clock.until_waiting()
        assert team_reads(gw, team_id) == 1 + interval
    await set_team_budget(gw, team_id, 30)
    clock.step()
    pushes = [await ws.receive_except_pings() for ws in sockets for _ in range(10)]
    assert all(p["payload"]["data"]["budgetUsage"]["counters"][0]["budget"]["maxLimit"] == 30 for p in pushes)
    assert team_reads(gw, team_id) == 5
    for ws in sockets:
        await ws.disconnect()
    assert hub.active_keys() == 0


async def test_nothing_is_polled_once_nobody_listens(gw: Gateway, clock: SteppedClock) -> None:
    team_id = (await arrange(gw))["team"]["id"]
    hub = gw.app.state.live.hub
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await start(ws, "a", {"teams": [team_id]})
        await start(ws, "b", {"teams": [team_id]})
        await ws.send_json({"id": "a", "type": "complete"})
        await until(lambda: hub.subscribers(next(iter(hub._pollers))) == 1, "the first subscriber left")
        assert hub.active_keys() == 1
        await ws.send_json({"id": "b", "type": "complete"})
        await until(lambda: hub.active_keys() == 0, "the last subscriber left")
        reads = team_reads(gw, team_id)
        assert clock.waiting == 0, "no poller waits for a next interval"
        clock.step()
        # The connection is still open and answers: nothing was polled meanwhile.
        await ws.send_json({"type": "ping"})
        assert (await ws.receive_json())["type"] == "pong"
        assert team_reads(gw, team_id) == reads


async def test_watching_different_sets_or_as_different_callers_polls_separately(gw: Gateway) -> None:
    made = await arrange(gw)
    team_id, key_id = made["team"]["id"], made["key"]["id"]
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        await start(ws, "team", {"teams": [team_id]})
        await start(ws, "both", {"teams": [team_id], "keys": [key_id]})
        await start(ws, "same-set-other-order", {"keys": [key_id], "teams": [team_id, team_id]})
        assert gw.app.state.live.hub.active_keys() == 2, "a set written in another order or with repeats is the same"
    async with AsgiWebSocket(gw.app, headers=[("authorization", "Bearer someone-else")]) as ws:
        await ws.init()
        await start(ws, "team", {"teams": [team_id]})
        assert gw.app.state.live.hub.active_keys() == 1, "another caller's credentials get a poller of their own"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({}, "name at least one id in teamIds, customerIds or virtualKeyIds"),
        ({"teams": []}, "name at least one id in teamIds, customerIds or virtualKeyIds"),
        ({"teams": ["../budgets"]}, "teamIds[0] is not a valid id"),
        ({"keys": ["ok", "a b"]}, "virtualKeyIds[1] is not a valid id"),
        ({"customers": ["x" * 129]}, "customerIds[0] is not a valid id"),
        ({"teams": [f"t{n}" for n in range(51)]}, "a subscription may watch at most 50 ids; this one names 51"),
    ],
)
async def test_bad_arguments_are_refused_naming_them_and_nothing_is_polled(
    gw: Gateway, variables: dict[str, Any], message: str
) -> None:
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        payload = await start(ws, "1", variables)
        assert (await ws.receive_json()) == {"id": "1", "type": "complete"}
    assert payload["data"] is None
    assert payload["errors"][0]["message"] == message
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert payload["errors"][0]["path"] == ["budgetUsage"]
    assert gw.upstream_calls() == []
    assert gw.app.state.live.hub.active_keys() == 0


async def test_an_id_that_names_nothing_adds_no_counter(gw: Gateway) -> None:
    team_id = (await arrange(gw))["team"]["id"]
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        payload = await start(ws, "1", {"teams": [team_id, "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"]})
    assert {c["owner"]["id"] for c in payload["data"]["budgetUsage"]["counters"]} == {team_id}


async def test_a_subscriber_that_cannot_keep_up_is_dropped_with_a_clear_error(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, live_subscriber_queue=2)
    team_id = (await arrange(gw))["team"]["id"]
    slow = AsgiWebSocket(gw.app, client=("10.0.0.2", 1))
    fast = AsgiWebSocket(gw.app, client=("10.0.0.3", 1))
    for ws in (slow, fast):
        await ws.connect()
        await ws.init()
        await start(ws, "1", {"teams": [team_id]})
    slow.pause()
    for limit in range(11, 16):
        await clock.until_waiting()
        await set_team_budget(gw, team_id, limit)
        clock.step()
        message = await fast.receive_except_pings()
        assert message["payload"]["data"]["budgetUsage"]["counters"][0]["budget"]["maxLimit"] == limit
    slow.resume()
    messages = []
    while not messages or messages[-1]["type"] != "complete":
        messages.append(await slow.receive_except_pings())
    dropped = messages[-2]["payload"]
    assert dropped["errors"][0]["extensions"]["code"] == "SUBSCRIBER_TOO_SLOW"
    assert "did not keep up" in dropped["errors"][0]["message"]
    assert len(messages) < 6, "the slow subscriber was not buffered every update"
    assert gw.app.state.live.hub.subscribers(next(iter(gw.app.state.live.hub._pollers))) == 1
    await slow.disconnect()
    await fast.disconnect()
    await gw.http.aclose()


async def test_a_subscription_without_credentials_gets_the_answer_a_query_gets(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, auth=("admin", "s3cret"))
    team_id = "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"
    query = await gw.graphql(TEAM_QUERY % team_id)
    async with AsgiWebSocket(gw.app) as ws:
        assert (await ws.init())["type"] == "connection_ack", "no credentials is not refused at the door"
        payload = await start(ws, "1", {"teams": [team_id]})
        assert (await ws.receive_json())["type"] == "complete"
    (query_error,) = query["errors"]
    (error,) = payload["errors"]
    assert error["extensions"] == query_error["extensions"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["message"] == query_error["message"]
    await gw.http.aclose()


async def test_logout_ends_the_stream_with_an_error(clock: SteppedClock) -> None:
    gw = await make_live_gateway("v2", clock=clock, auth=("admin", "s3cret"))
    async with upstream_http(gw) as bifrost:
        login = await bifrost.post("/api/session/login", json={"username": "admin", "password": "s3cret"})
        token = login.cookies["token"]
        team = await bifrost.post(
            "/api/governance/teams",
            json={"name": "t", "budgets": [{"max_limit": 1, "reset_duration": "1d"}]},
            headers={"authorization": f"Bearer {token}"},
        )
        team_id = team.json()["team"]["id"]
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init({"authorization": f"Bearer {token}"})
        first = await start(ws, "1", {"teams": [team_id]})
        assert first["data"]["budgetUsage"]["counters"][0]["budget"]["maxLimit"] == 1
        async with upstream_http(gw) as bifrost:
            out = await bifrost.post("/api/session/logout", headers={"authorization": f"Bearer {token}"})
            assert out.status_code == 200
        await clock.until_waiting()
        clock.step()
        ended = await ws.receive_except_pings()
        assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert ended["payload"]["errors"][0]["path"] == ["budgetUsage"]
        assert (await ws.receive_json()) == {"id": "1", "type": "complete"}
    assert gw.app.state.live.hub.active_keys() == 0
    await gw.http.aclose()


@pytest.mark.parametrize("generation", ["seed", "current"])
async def test_older_generations_push_their_counters_too(clock: SteppedClock, generation: str) -> None:
    gw = await make_live_gateway(generation, clock=clock)
    budget = {"budget": {"max_limit": 7, "reset_duration": "1d"}}
    if generation != "seed":
        budget = {"budgets": [{"max_limit": 7, "reset_duration": "1d"}]}
    async with upstream_http(gw) as bifrost:
        team_id = (await bifrost.post("/api/governance/teams", json={"name": "t", **budget})).json()["team"]["id"]
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        payload = await start(ws, "1", {"teams": [team_id]})
    assert [c["budget"]["maxLimit"] for c in payload["data"]["budgetUsage"]["counters"]] == [7]
    await gw.http.aclose()


async def test_subscription_operations_over_http_post_without_a_streaming_accept_get_a_clear_error(
    gw: Gateway,
) -> None:
    # Over HTTP a subscription streams (SSE or multipart, tests/gateway/test_live_http.py); a JSON-only client is
    # told how to ask for a stream.
    response = await gw.http.post("/graphql", json={"query": USAGE, "variables": {"teams": ["t1"]}})
    assert response.status_code == 406
    assert "text/event-stream" in response.json()["errors"][0]["message"]
    assert gw.upstream_calls() == []


async def test_the_stream_stops_polling_when_the_socket_drops_mid_stream(gw: Gateway, clock: SteppedClock) -> None:
    team_id = (await arrange(gw))["team"]["id"]
    ws = AsgiWebSocket(gw.app)
    await ws.connect()
    await ws.init()
    await start(ws, "1", {"teams": [team_id]})
    await ws.disconnect()
    assert gw.app.state.live.hub.active_keys() == 0
    assert clock.waiting == 0


HELLO = [{"role": "user", "content": "Hello there"}]  # 3 prompt tokens, 8 completion tokens from the mock provider
HELLO_MINI_COST = (3 * 0.15 + 8 * 0.60) / 1_000_000  # gpt-4o-mini's price in the embedded server's table


async def test_chat_completions_through_the_embedded_server_are_pushed_as_they_are_charged(
    gw: Gateway, clock: SteppedClock
) -> None:
    made = await arrange(gw)
    team_id, key = made["team"]["id"], made["key"]
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        first = await start(ws, "1", {"teams": [team_id], "keys": [key["id"]]})
        assert all(c["budget"]["currentUsage"] == 0 for c in first["data"]["budgetUsage"]["counters"] if c["budget"])
        async with upstream_http(gw) as bifrost:
            for _ in range(2):
                answer = await bifrost.post(
                    "/v1/chat/completions",
                    json={"model": "openai/gpt-4o-mini", "messages": HELLO},
                    headers={"x-bf-vk": key["value"]},
                )
                assert answer.status_code == 200, answer.text
        await clock.until_waiting()
        clock.step()
        pushed = (await ws.receive_except_pings())["payload"]["data"]["budgetUsage"]
    assert pushed["initial"] is False
    budgets = {(c["owner"]["kind"], c["owner"]["provider"]): c["budget"] for c in pushed["counters"] if c["budget"]}
    for owner in (("TEAM", None), ("VIRTUAL_KEY", None), ("PROVIDER_CONFIG", "openai")):
        assert budgets[owner]["currentUsage"] == pytest.approx(2 * HELLO_MINI_COST), owner
    limits = {c["owner"]["kind"]: c["rateLimit"] for c in pushed["counters"] if c["rateLimit"]}
    assert limits["TEAM"]["tokenCurrentUsage"] == "22"  # 2 x 11 tokens, Int64 as a string
    assert limits["VIRTUAL_KEY"]["requestCurrentUsage"] == "2"


LIMITS_ONLY = 'subscription { budgetUsage(teamIds: ["%s"]) { counters { rateLimit { tokenMaxLimit } } } }'


async def test_a_push_runs_once_per_document_and_each_subscriber_gets_its_own_selection(
    gw: Gateway, clock: SteppedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    team_id = (await arrange(gw))["team"]["id"]
    executor = gw.app.state.executor
    runs: list[object] = []
    original = executor._run_event

    def counted(event: Any) -> Any:
        runs.append(event)
        return original(event)

    monkeypatch.setattr(executor, "_run_event", counted)
    async with AsgiWebSocket(gw.app) as ws:
        await ws.init()
        for n in range(10):
            await start(ws, f"full-{n}", {"teams": [team_id]})
        await ws.subscribe("limits", LIMITS_ONLY % team_id)
        limits = await ws.receive_except_pings()
        assert limits["payload"] == {
            "data": {"budgetUsage": {"counters": [{"rateLimit": None}, {"rateLimit": {"tokenMaxLimit": "1000"}}]}}
        }
        assert len(runs) == 2, "ten subscribers of one document and one of another: two runs"
        await clock.until_waiting()
        await set_team_budget(gw, team_id, 12)
        clock.step()
        pushes = [await ws.receive_except_pings() for _ in range(11)]
    by_id = {push["id"]: push["payload"]["data"]["budgetUsage"] for push in pushes}
    assert by_id["limits"] == {"counters": [{"rateLimit": None}]}
    assert {by_id[f"full-{n}"]["counters"][0]["budget"]["maxLimit"] for n in range(10)} == {12}
    assert len(runs) == 4
