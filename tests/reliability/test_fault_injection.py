"""Each upstream fault over real sockets: a typed error in time, other work unaffected, then recovery.

One createTeam sent under each fault stores at most one team upstream (mutations are never retried). A write
whose answer is lost after it was sent says so (UPSTREAM_OUTCOME_UNKNOWN); one that never left keeps the read's code.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.reliability.conftest import FAST, EmbeddedServer, RealGateway
from tests.reliability.documents import CREATE_TEAM, CUSTOMERS, LOOKUP, PING, assert_nothing_leaks, error_codes
from tests.reliability.fault_proxy import Fault, FaultProxy

READ = FAST["upstream_read_timeout"]
TOTAL = FAST["upstream_total_timeout"]
UNKNOWN = "UPSTREAM_OUTCOME_UNKNOWN"
SLACK = 1.5  # scheduling slack on a loaded 2-core machine: bounds prove "answers", not speed


@dataclass(frozen=True)
class Case:
    """A fault, the code the gateway must answer with, and how long it may take at most."""

    fault: Fault
    code: str | None  # None: the request still succeeds
    within: float
    options: dict[str, Any] = field(default_factory=dict)
    lookups_sent: int | None = None  # GETs the proxy must see for one lookup (retries included)
    at_least: float = 0.0  # the lookup must take this long (Retry-After honoured)
    write_code: str | None = None  # the createTeam's code when it differs from the lookup's

    @property
    def create_code(self) -> str | None:
        return self.write_code or self.code

    @property
    def connection_level(self) -> bool:
        return self.fault in (Fault.REFUSED, Fault.BLACKHOLE)


CASES = {
    "latency-within-timeout": Case(Fault.LATENCY, None, 0.1 + SLACK, {"delay": 0.1}, lookups_sent=1, at_least=0.1),
    "latency-over-read-timeout": Case(
        Fault.LATENCY, "UPSTREAM_TIMEOUT", READ + SLACK, {"delay": READ + 0.6}, 1, write_code=UNKNOWN
    ),
    "connection-refused": Case(Fault.REFUSED, "UPSTREAM_UNAVAILABLE", SLACK),
    "connect-timeout": Case(Fault.BLACKHOLE, "UPSTREAM_TIMEOUT", FAST["upstream_connect_timeout"] * 2 + SLACK),
    "reset-mid-response": Case(Fault.RESET, "UPSTREAM_UNAVAILABLE", SLACK, lookups_sent=2, write_code=UNKNOWN),
    "500": Case(Fault.STATUS, "UPSTREAM_ERROR", SLACK, {"status": 500}, lookups_sent=1),
    "500-retry-after": Case(Fault.STATUS, "UPSTREAM_ERROR", SLACK, {"status": 500, "retry_after": "1"}, 1),
    "502": Case(Fault.STATUS, "UPSTREAM_ERROR", SLACK, {"status": 502}, lookups_sent=2),
    "503": Case(Fault.STATUS, "UPSTREAM_ERROR", SLACK, {"status": 503}, lookups_sent=2),
    "503-retry-after": Case(
        Fault.STATUS, "UPSTREAM_ERROR", 1 + SLACK, {"status": 503, "retry_after": "1"}, lookups_sent=2, at_least=1
    ),
    "malformed-json": Case(Fault.MALFORMED_JSON, "UPSTREAM_ERROR", SLACK, lookups_sent=1),
    "wrong-shape": Case(Fault.WRONG_SHAPE, "UPSTREAM_ERROR", SLACK, lookups_sent=1),
    "oversized-declared": Case(Fault.OVERSIZED, "UPSTREAM_ERROR", SLACK, {"size": 2 * 1024 * 1024}, 1),
    "oversized-chunked": Case(Fault.OVERSIZED_CHUNKED, "UPSTREAM_ERROR", SLACK, {"size": 2 * 1024 * 1024}, 1),
    "no-response": Case(Fault.STALL, "UPSTREAM_TIMEOUT", READ + SLACK, lookups_sent=1, write_code=UNKNOWN),
    "never-finishes": Case(Fault.HANG, "UPSTREAM_TIMEOUT", READ + SLACK, lookups_sent=1, write_code=UNKNOWN),
    "drip-past-total-timeout": Case(
        Fault.DRIP, "UPSTREAM_TIMEOUT", TOTAL + SLACK, {"delay": 0.05}, 1, at_least=TOTAL, write_code=UNKNOWN
    ),
}


async def timed(coroutine: Any) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    response = await coroutine
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    return response.json(), elapsed


@pytest.mark.parametrize("name", list(CASES))
async def test_fault_is_typed_error_in_time_and_recovers(
    name: str, gateway: RealGateway, proxy: FaultProxy, upstream: EmbeddedServer
) -> None:
    case = CASES[name]
    team = await upstream.post("teams", {"name": "existing"})
    assert (await gateway.graphql(LOOKUP, {"id": team["id"]}))["data"]["team"]["name"] == "existing"
    await proxy.set(case.fault, **case.options)
    proxy.seen.clear()

    lookup, create, ping, others = await asyncio.gather(
        timed(gateway.post(LOOKUP, {"id": team["id"]})),
        timed(gateway.post(CREATE_TEAM, {"input": {"name": f"under-{name}"}})),
        timed(gateway.post(PING)),
        timed(gateway.post(CUSTOMERS)),
    )

    # The faulty route: the documented code, within the timeouts, with nothing internal in the text.
    for (body, elapsed), failed_data, code in ((lookup, {"team": None}, case.code), (create, None, case.create_code)):
        assert elapsed < case.within, f"answered after {elapsed:.2f}s: {body}"
        if code is None:
            assert "errors" not in body, body
        else:
            assert body["data"] == failed_data, body
            assert error_codes(body) == [code], body
        assert_nothing_leaks(str(body), upstream.url, proxy.url)
    assert lookup[1] >= case.at_least, f"lookup answered after {lookup[1]:.2f}s, before the fault allowed"
    if case.lookups_sent is not None:
        assert len(proxy.requests("GET", f"/api/governance/teams/{team['id']}")) == case.lookups_sent

    # Meanwhile the gateway kept serving: no upstream at all, and a route the fault does not touch.
    assert ping[0] == {"data": {"__typename": "Query"}}
    assert ping[1] < READ + SLACK, f"__typename took {ping[1]:.2f}s"
    if lookup[1] >= READ:
        assert ping[1] < lookup[1], "a slow upstream must not hold up requests that do not need it"
    if not case.connection_level:
        assert "errors" not in others[0], others[0]
        assert others[1] < READ + SLACK, f"a healthy route took {others[1]:.2f}s"

    # At most one write: the mutation reached the proxy at most once, and at most one team exists.
    assert len(proxy.requests("POST")) == (0 if case.connection_level else 1)
    assert await upstream.teams_named(f"under-{name}") <= 1

    # The fault is gone: after the breaker's reset time everything succeeds again.
    await proxy.clear()
    await asyncio.sleep(FAST["breaker_reset_seconds"] + 0.05)
    assert (await gateway.graphql(LOOKUP, {"id": team["id"]}))["data"]["team"]["name"] == "existing"
    created = await gateway.graphql(CREATE_TEAM, {"input": {"name": f"after-{name}"}})
    assert created["data"]["createTeam"]["team"]["name"] == f"after-{name}", created
    assert "errors" not in await gateway.graphql(CUSTOMERS)
    assert await upstream.teams_named(f"after-{name}") == 1
