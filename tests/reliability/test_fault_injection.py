"""Each upstream fault over real sockets: a typed error, other work unaffected, then recovery.

One createTeam sent under each fault stores at most one team upstream (mutations are never retried). A write
whose answer is lost after it was sent says so (UPSTREAM_OUTCOME_UNKNOWN); one that never left keeps the read's code.

Nothing here is timed. Where the gateway's own timeout must end the wait, the proxy holds its answer until the
test releases it (after the gateway has answered), so a timeout error can only have come from the gateway; a
gateway that waited for the upstream instead never answers and fails at the hang guard. Retry-After is read from
the delays the retry policy asked its injected sleep for.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.reliability.conftest import (
    FAST,
    EmbeddedServer,
    RealGateway,
    breaker_on_clock,
    real_gateway,
    record_retry_sleeps,
)
from tests.reliability.documents import CREATE_TEAM, CUSTOMERS, LOOKUP, PING, assert_nothing_leaks, error_codes
from tests.reliability.fault_proxy import Fault, FaultProxy

UNKNOWN = "UPSTREAM_OUTCOME_UNKNOWN"
# Only a gateway still waiting for a held upstream gets here: every timeout it has is a second or two at most.
HANG_GUARD = 30.0


@dataclass(frozen=True)
class Case:
    """A fault, the code the gateway must answer with, and what the proxy must see."""

    fault: Fault
    code: str | None  # None: the request still succeeds
    options: dict[str, Any] = field(default_factory=dict)
    lookups_sent: int | None = None  # GETs the proxy must see for one lookup (retries included)
    write_code: str | None = None  # the createTeam's code when it differs from the lookup's
    retry_delays: list[float] | None = None  # seconds the lookup's retry asked to wait; None: not checked

    @property
    def create_code(self) -> str | None:
        return self.write_code or self.code

    @property
    def connection_level(self) -> bool:
        return self.fault in (Fault.REFUSED, Fault.BLACKHOLE)

    @property
    def held(self) -> bool:
        """The proxy holds the answer until released: only the gateway's own timeout can end the wait."""
        return self.fault in (Fault.STALL, Fault.HANG, Fault.DRIP) or bool(self.options.get("hold"))


CASES = {
    "latency-within-timeout": Case(Fault.LATENCY, None, {"delay": 0.1}, lookups_sent=1, retry_delays=[]),
    "latency-over-read-timeout": Case(Fault.LATENCY, "UPSTREAM_TIMEOUT", {"hold": True}, 1, write_code=UNKNOWN),
    "connection-refused": Case(Fault.REFUSED, "UPSTREAM_UNAVAILABLE"),
    "connect-timeout": Case(Fault.BLACKHOLE, "UPSTREAM_TIMEOUT"),
    "reset-mid-response": Case(Fault.RESET, "UPSTREAM_UNAVAILABLE", lookups_sent=2, write_code=UNKNOWN),
    "500": Case(Fault.STATUS, "UPSTREAM_ERROR", {"status": 500}, lookups_sent=1, retry_delays=[]),
    "500-retry-after": Case(Fault.STATUS, "UPSTREAM_ERROR", {"status": 500, "retry_after": "1"}, 1, retry_delays=[]),
    "502": Case(Fault.STATUS, "UPSTREAM_ERROR", {"status": 502}, lookups_sent=2),
    "503": Case(Fault.STATUS, "UPSTREAM_ERROR", {"status": 503}, lookups_sent=2),
    "503-retry-after": Case(
        Fault.STATUS, "UPSTREAM_ERROR", {"status": 503, "retry_after": "1"}, lookups_sent=2, retry_delays=[1.0]
    ),
    "malformed-json": Case(Fault.MALFORMED_JSON, "UPSTREAM_ERROR", lookups_sent=1),
    "wrong-shape": Case(Fault.WRONG_SHAPE, "UPSTREAM_ERROR", lookups_sent=1),
    "oversized-declared": Case(Fault.OVERSIZED, "UPSTREAM_ERROR", {"size": 2 * 1024 * 1024}, 1),
    "oversized-chunked": Case(Fault.OVERSIZED_CHUNKED, "UPSTREAM_ERROR", {"size": 2 * 1024 * 1024}, 1),
    "no-response": Case(Fault.STALL, "UPSTREAM_TIMEOUT", lookups_sent=1, write_code=UNKNOWN),
    "never-finishes": Case(Fault.HANG, "UPSTREAM_TIMEOUT", lookups_sent=1, write_code=UNKNOWN),
    "drip-past-total-timeout": Case(Fault.DRIP, "UPSTREAM_TIMEOUT", {"delay": 0.05}, 1, write_code=UNKNOWN),
}


async def answers(gateway: RealGateway, proxy: FaultProxy, *calls: tuple[str, Any]) -> list[dict[str, Any]]:
    """The gateway's answers to ``calls`` sent at once; fails (rather than hangs) if one never comes."""

    async def answer(query: str, variables: Any) -> dict[str, Any]:
        response = await gateway.post(query, variables)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    tasks = [asyncio.ensure_future(answer(query, variables)) for query, variables in calls]
    _, pending = await asyncio.wait(tasks, timeout=HANG_GUARD)
    if pending:
        proxy.release()
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        pytest.fail("the gateway was still waiting for a held upstream: its own timeout never ended the wait")
    return [task.result() for task in tasks]


@pytest.mark.parametrize("name", list(CASES))
async def test_fault_is_typed_error_and_recovers(
    name: str, gateway: RealGateway, proxy: FaultProxy, upstream: EmbeddedServer
) -> None:
    case = CASES[name]
    team = await upstream.post("teams", {"name": "existing"})
    assert (await gateway.graphql(LOOKUP, {"id": team["id"]}))["data"]["team"]["name"] == "existing"
    delays = record_retry_sleeps(gateway)
    clock = breaker_on_clock(gateway, FAST["breaker_failure_threshold"], FAST["breaker_reset_seconds"])
    await proxy.set(case.fault, **case.options)
    proxy.seen.clear()

    lookup, create, ping, others = await answers(
        gateway,
        proxy,
        (LOOKUP, {"id": team["id"]}),
        (CREATE_TEAM, {"input": {"name": f"under-{name}"}}),
        (PING, None),
        (CUSTOMERS, None),
    )

    # The faulty route: the documented code, with nothing internal in the text. A held upstream is released only
    # below, so these answers came while it still held its own: the gateway's timeout ended the wait.
    assert not proxy.released
    for body, failed_data, code in ((lookup, {"team": None}, case.code), (create, None, case.create_code)):
        if code is None:
            assert "errors" not in body, body
        else:
            assert body["data"] == failed_data, body
            assert error_codes(body) == [code], body
        assert_nothing_leaks(str(body), upstream.url, proxy.url)
    if case.fault is Fault.DRIP:
        # The answer was still arriving, a byte at a time, when the gateway gave up: the total timeout did it.
        assert proxy.dripped >= 2, proxy.dripped
    if case.lookups_sent is not None:
        assert len(proxy.requests("GET", f"/api/governance/teams/{team['id']}")) == case.lookups_sent
    if case.retry_delays is not None:
        assert delays == case.retry_delays, "the retry must wait what Retry-After asks, and only when retried"
    elif case.lookups_sent == 2:
        # No Retry-After: a short jittered backoff before the one retry.
        assert len(delays) == 1 and 0 <= delays[0] <= 0.05, delays

    # Meanwhile the gateway kept serving: no upstream at all, and a route the fault does not touch.
    assert ping == {"data": {"__typename": "Query"}}
    if not case.connection_level:
        assert "errors" not in others, others

    # At most one write: the mutation reached the proxy at most once, and at most one team exists.
    proxy.release()
    assert len(proxy.requests("POST")) == (0 if case.connection_level else 1)
    assert await upstream.teams_named(f"under-{name}") <= 1

    # The fault is gone: after the breaker's reset time everything succeeds again.
    await proxy.clear()
    clock.advance(FAST["breaker_reset_seconds"])
    assert (await gateway.graphql(LOOKUP, {"id": team["id"]}))["data"]["team"]["name"] == "existing"
    created = await gateway.graphql(CREATE_TEAM, {"input": {"name": f"after-{name}"}})
    assert created["data"]["createTeam"]["team"]["name"] == f"after-{name}", created
    assert "errors" not in await gateway.graphql(CUSTOMERS)
    assert await upstream.teams_named(f"after-{name}") == 1


async def test_held_upstream_call_does_not_hold_up_other_requests(proxy: FaultProxy, upstream: EmbeddedServer) -> None:
    # Timeouts far above the test: the lookup stays in flight until the test releases it, whatever the load.
    gw = real_gateway(proxy.url, **FAST | {"upstream_read_timeout": 30.0, "upstream_total_timeout": 60.0})
    try:
        team = await upstream.post("teams", {"name": "held"})
        await proxy.set(Fault.LATENCY, hold=True)
        lookup = asyncio.create_task(gw.graphql(LOOKUP, {"id": team["id"]}))
        await proxy.arrived("GET", f"/api/governance/teams/{team['id']}")

        ping, others = await asyncio.gather(gw.graphql(PING), gw.graphql(CUSTOMERS))
        assert ping == {"data": {"__typename": "Query"}}
        assert "errors" not in others, others
        assert not lookup.done(), "the other requests were answered while the held call was still waiting"

        proxy.release()
        assert (await lookup)["data"]["team"]["name"] == "held"
    finally:
        await gw.aclose()
