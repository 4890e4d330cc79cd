"""Retries, Retry-After, the circuit breaker and generation detection, over real sockets.

Nothing here is timed: the retry policy's sleep records the delays it is asked for, and the breaker runs on a
clock the test moves.
"""

from __future__ import annotations

import asyncio

from tests.reliability.conftest import (
    FAST,
    EmbeddedServer,
    RealGateway,
    breaker_on_clock,
    real_gateway,
    record_retry_sleeps,
)
from tests.reliability.documents import CREATE_TEAM, CUSTOMERS, LOOKUP, error_codes
from tests.reliability.fault_proxy import Fault, FaultProxy

CREATE_TEAM_BUDGETS = """
mutation CreateTeam($input: CreateTeamInput!) {
  createTeam(input: $input) { team { id name budgets { maxLimit resetDuration } } userErrors { code } }
}
"""


async def test_lookup_retried_once_after_a_503_succeeds(
    gateway: RealGateway, proxy: FaultProxy, upstream: EmbeddedServer
) -> None:
    team = await upstream.post("teams", {"name": "flaky"})
    await proxy.set(Fault.STATUS, status=503, times=1)
    body = await gateway.graphql(LOOKUP, {"id": team["id"]})
    assert body == {"data": {"team": {"id": team["id"], "name": "flaky"}}}
    assert [s.fault for s in proxy.requests("GET")] == [Fault.STATUS, Fault.PASS]


async def test_lookup_retried_after_a_reset_succeeds(
    gateway: RealGateway, proxy: FaultProxy, upstream: EmbeddedServer
) -> None:
    team = await upstream.post("teams", {"name": "reset-once"})
    await proxy.set(Fault.RESET, times=1)
    assert (await gateway.graphql(LOOKUP, {"id": team["id"]}))["data"]["team"]["name"] == "reset-once"


async def test_create_team_after_a_reset_is_not_resent(
    gateway: RealGateway, proxy: FaultProxy, upstream: EmbeddedServer
) -> None:
    # The write landed, the answer was lost: resending would create a duplicate or report NAME_TAKEN. The caller
    # is told the outcome is unknown, not that Bifrost was unavailable (which would mean nothing was written).
    await proxy.set(Fault.RESET, times=1)
    body = await gateway.graphql(CREATE_TEAM, {"input": {"name": "landed"}})
    assert error_codes(body) == ["UPSTREAM_OUTCOME_UNKNOWN"]
    assert len(proxy.requests("POST")) == 1
    assert await upstream.teams_named("landed") == 1


async def test_retry_after_is_capped_at_two_seconds(proxy: FaultProxy, upstream: EmbeddedServer) -> None:
    gw = real_gateway(proxy.url, **FAST | {"breaker_failure_threshold": 100})
    delays = record_retry_sleeps(gw)
    try:
        team = await upstream.post("teams", {"name": "busy"})
        await proxy.set(Fault.STATUS, status=503, retry_after="30")
        lookup, create = await asyncio.gather(
            gw.graphql(LOOKUP, {"id": team["id"]}), gw.graphql(CREATE_TEAM, {"input": {"name": "not-delayed"}})
        )
        assert error_codes(lookup) == ["UPSTREAM_ERROR"]
        assert error_codes(create) == ["UPSTREAM_ERROR"]
        assert delays == [2.0], "one wait, for the lookup's one retry: Retry-After 30 capped at 2 s"
        assert len(proxy.requests("GET")) == 2, "exactly one retry of the lookup reached the upstream"
        assert len(proxy.requests("POST")) == 1, "a mutation is never retried, whatever Retry-After says"
    finally:
        await gw.aclose()


async def test_breaker_opens_fails_fast_and_recovers(proxy: FaultProxy, upstream: EmbeddedServer) -> None:
    reset = 0.2
    gw = real_gateway(proxy.url, **FAST)
    clock = breaker_on_clock(gw, failure_threshold=2, reset_seconds=reset)  # open until the test moves it on
    try:
        team = await upstream.post("teams", {"name": "behind-a-breaker"})
        await proxy.set(Fault.STALL)  # each lookup waits out the read timeout (timeouts are not retried)
        for _ in range(2):
            assert error_codes(await gw.graphql(LOOKUP, {"id": team["id"]})) == ["UPSTREAM_TIMEOUT"]
        sent = len(proxy.seen)

        # Failing fast is shown by what happens, not by a stopwatch: the stalled upstream would have made
        # these time out, and nothing reaches it.
        open_lookup, open_other = await asyncio.gather(gw.graphql(LOOKUP, {"id": team["id"]}), gw.graphql(CUSTOMERS))
        assert error_codes(open_lookup) == ["UPSTREAM_UNAVAILABLE"]
        assert error_codes(open_other) == ["UPSTREAM_UNAVAILABLE"], "one breaker per process, for every route"
        assert len(proxy.seen) == sent, "nothing is sent while the circuit is open"

        clock.advance(reset)  # half-open: one probe goes out, fails, and the circuit opens again
        assert error_codes(await gw.graphql(LOOKUP, {"id": team["id"]})) == ["UPSTREAM_TIMEOUT"]
        assert len(proxy.seen) == sent + 1
        assert error_codes(await gw.graphql(LOOKUP, {"id": team["id"]})) == ["UPSTREAM_UNAVAILABLE"]

        await proxy.clear()
        clock.advance(reset)
        for _ in range(5):
            assert (await gw.graphql(LOOKUP, {"id": team["id"]}))["data"]["team"]["name"] == "behind-a-breaker"
    finally:
        await gw.aclose()


async def test_generation_detected_once_upstream_is_back(proxy: FaultProxy, upstream: EmbeddedServer) -> None:
    # Detection failing while Bifrost is down must not be remembered: several budgets need `current`.
    gw = real_gateway(proxy.url, **FAST | {"bifrost_api_generation": "auto"})
    budgets = [{"maxLimit": 10, "resetDuration": "1d"}, {"maxLimit": 200, "resetDuration": "1M"}]
    clock = breaker_on_clock(gw, FAST["breaker_failure_threshold"], FAST["breaker_reset_seconds"])
    try:
        await proxy.set(Fault.REFUSED)
        down = await gw.graphql(CREATE_TEAM_BUDGETS, {"input": {"name": "early", "budgets": budgets}})
        assert error_codes(down) == ["UPSTREAM_UNAVAILABLE"]
        await proxy.clear()
        clock.advance(FAST["breaker_reset_seconds"])  # whether or not the failures opened the circuit
        up = await gw.graphql(CREATE_TEAM_BUDGETS, {"input": {"name": "later", "budgets": budgets}})
        team = up["data"]["createTeam"]["team"]
        assert sorted(b["resetDuration"] for b in team["budgets"]) == ["1M", "1d"], up
        assert await upstream.teams_named("early") == 0
    finally:
        await gw.aclose()
