"""The Redis hub on its own: two replicas' hubs over one real Redis share one poll per interval, hand over, degrade.

Each hub has its own Redis link, as two processes would; both wait for the test's ``SteppedClock`` between polls,
and every wait for something Redis carries has a deadline instead of a sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from typing import Any, TypeVar

import pytest
from prometheus_client import REGISTRY

from app.live import SubscriberDropped, WatchKey
from app.live.redis_hub import RedisHub, Role, hub_for
from app.settings import Settings
from app.shared_state import RedisLink
from tests.gateway.live import SteppedClock
from tests.scale.conftest import RedisServer

KEY = WatchKey("budgetUsage", "digest", ("team:t1",))
T = TypeVar("T")


class Counter:
    """A poll that returns {"n": <value>} and counts its calls; ``value`` is what the next poll reads."""

    def __init__(self, value: Any = 0) -> None:
        self.calls = 0
        self.value = value
        self.error: Exception | None = None

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return {"n": self.value}


async def within(awaitable: Awaitable[T], what: str, seconds: float = 10) -> T:
    """``awaitable``'s result; fails the test when it takes longer than ``seconds`` (a deadline, not a pace)."""
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


async def eventually(condition: Any, what: str, seconds: float = 10) -> None:
    """Wait until ``condition()`` holds, checking as the event loop turns, for at most ``seconds``."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.005)


def errors(operation: str) -> float:
    return REGISTRY.get_sample_value("gateway_redis_errors_total", {"operation": operation}) or 0.0


class Blip(Exception):
    """An upstream failure that passes (the gateway tolerates Bifrost unavailable for a moment)."""


def _is_blip(error: BaseException) -> bool:
    return isinstance(error, Blip)


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
async def hubs(redis_server: RedisServer, clock: SteppedClock) -> AsyncIterator[tuple[RedisHub, RedisHub]]:
    """Replica A's hub and replica B's, each with a link of its own."""
    links = [RedisLink.from_url(redis_server.url, timeout=5, cool_down=0.0) for _ in range(2)]
    a, b = (
        RedisHub(link, 2.0, queue_size=2, sleep=clock.sleep, timeout=5, tolerate=_is_blip, max_failures=2)
        for link in links
    )
    yield a, b
    for hub, link in zip((a, b), links, strict=True):
        await hub.aclose()
        await link.aclose()


async def holder_and_follower(
    hubs: tuple[RedisHub, RedisHub], poll_a: Counter, poll_b: Counter, clock: SteppedClock
) -> tuple[AsyncGenerator[Any, None], AsyncGenerator[Any, None]]:
    """A stream on A (which polls first: the holder) and one on B (a follower), both past their first snapshot."""
    a, b = hubs
    on_a, on_b = a.watch(KEY, poll_a), b.watch(KEY, poll_b)
    assert await within(anext(on_a), "A's first snapshot") == {"n": poll_a.value}
    assert await within(anext(on_b), "B's first snapshot") == {"n": poll_a.value}
    await within(clock.until_waiting(2), "both replicas wait for the next interval")
    assert (a.role(KEY), b.role(KEY)) == (Role.HOLDER, Role.FOLLOWER)
    return on_a, on_b


async def test_replicas_watching_one_key_share_one_poll_per_interval(
    hubs: tuple[RedisHub, RedisHub], clock: SteppedClock
) -> None:
    _, b = hubs
    poll_a, poll_b = Counter(), Counter()
    on_a, on_b = await holder_and_follower(hubs, poll_a, poll_b, clock)
    more_on_b = b.watch(KEY, Counter())
    assert await within(anext(more_on_b), "a second subscriber on B gets the latest at once") == {"n": 0}
    assert (poll_a.calls, poll_b.calls) == (1, 0)
    for interval in range(1, 4):
        poll_a.value = poll_b.value = interval
        clock.step()
        for stream in (on_a, on_b, more_on_b):
            assert await within(anext(stream), f"interval {interval}'s snapshot") == {"n": interval}
        await within(clock.until_waiting(2), "both replicas wait again")
        assert (poll_a.calls, poll_b.calls) == (1 + interval, 0), "one poll per interval, by the holder alone"
    for stream in (on_a, on_b, more_on_b):
        await stream.aclose()


async def test_an_unchanged_snapshot_is_not_pushed_again_on_either_replica(
    hubs: tuple[RedisHub, RedisHub], clock: SteppedClock
) -> None:
    poll_a = Counter()
    on_a, on_b = await holder_and_follower(hubs, poll_a, Counter(), clock)
    clock.step()  # the same value again: published (for late joiners) but not pushed
    await within(clock.until_waiting(2), "the next interval")
    poll_a.value = 7
    clock.step()
    assert await within(anext(on_b), "the change") == {"n": 7}
    assert await within(anext(on_a), "the change") == {"n": 7}
    await on_a.aclose()
    await on_b.aclose()


async def test_when_the_holders_last_subscriber_leaves_a_follower_takes_over_at_once(
    hubs: tuple[RedisHub, RedisHub], clock: SteppedClock, redis_server: RedisServer
) -> None:
    a, b = hubs
    poll_a, poll_b = Counter(), Counter()
    on_a, on_b = await holder_and_follower(hubs, poll_a, poll_b, clock)
    poll_b.value = 5
    await on_a.aclose()
    assert a.active_keys() == 0
    # No interval passes: the holder said it left, and B polls at once.
    assert await within(anext(on_b), "B's own first poll") == {"n": 5}
    assert b.role(KEY) is Role.HOLDER and poll_b.calls == 1
    await within(clock.until_waiting(1), "B waits for its next interval")
    poll_b.value = 6
    clock.step()
    assert await within(anext(on_b), "B's next poll") == {"n": 6}
    assert poll_a.calls == 1, "A polls no more"
    await on_b.aclose()
    await eventually(lambda: not redis_server.client().keys("gateway:live:lease:*"), "B gave the lease up too")


async def test_a_lease_that_lapses_is_taken_over_by_a_replica_still_watching(
    hubs: tuple[RedisHub, RedisHub], clock: SteppedClock, redis_server: RedisServer
) -> None:
    a, b = hubs
    poll_a, poll_b = Counter(), Counter()
    on_a, on_b = await holder_and_follower(hubs, poll_a, poll_b, clock)
    sync = redis_server.client()
    (lease,) = sync.keys("gateway:live:lease:*")
    assert 0 < sync.pttl(lease) <= 6000, "the lease expires unless renewed (three intervals)"
    # A hangs (its poller stops without a word), and its lease runs out as it would after three intervals.
    a._watches[KEY].task.cancel()  # type: ignore[union-attr]
    sync.delete(lease)
    poll_b.value = 9
    clock.step()
    assert await within(anext(on_b), "B polls once the lease is free") == {"n": 9}
    assert b.role(KEY) is Role.HOLDER and poll_b.calls == 1
    await on_a.aclose()
    await on_b.aclose()


async def test_a_poll_that_fails_ends_the_subscribers_of_every_replica_with_their_own_error(
    hubs: tuple[RedisHub, RedisHub], clock: SteppedClock
) -> None:
    a, b = hubs
    poll_a, poll_b = Counter(), Counter()
    on_a, on_b = await holder_and_follower(hubs, poll_a, poll_b, clock)
    poll_a.error = PermissionError("A's credentials were revoked")
    poll_b.error = PermissionError("B's credentials were revoked")
    clock.step()
    with pytest.raises(PermissionError, match="A's credentials"):
        await within(anext(on_a), "A's subscriber ends")
    # B is told the holder left, polls for itself and meets its own answer, without waiting for an interval.
    with pytest.raises(PermissionError, match="B's credentials"):
        await within(anext(on_b), "B's subscriber ends")
    assert (poll_a.calls, poll_b.calls) == (2, 1)
    assert a.active_keys() == b.active_keys() == 0


async def test_a_passing_failure_of_the_holders_poll_skips_an_interval_and_too_many_end_the_watch(
    hubs: tuple[RedisHub, RedisHub], clock: SteppedClock
) -> None:
    a, b = hubs
    poll_a, poll_b = Counter(), Counter()
    on_a, on_b = await holder_and_follower(hubs, poll_a, poll_b, clock)
    poll_a.error = Blip("Bifrost answered 503")
    clock.step()
    await within(clock.until_waiting(2), "the failed interval passed")
    assert a.role(KEY) is Role.HOLDER and b.role(KEY) is Role.FOLLOWER, "a blip keeps the lease where it is"
    poll_a.error, poll_a.value = None, 1
    clock.step()
    assert await within(anext(on_a), "A after the blip") == {"n": 1}
    assert await within(anext(on_b), "B after the blip") == {"n": 1}
    assert poll_b.calls == 0

    await within(clock.until_waiting(2), "the next interval")
    poll_a.error = Blip("Bifrost answered 503 again")
    poll_b.value = 2
    clock.step()
    await within(clock.until_waiting(2), "one failure")
    clock.step()  # max_failures (2) in a row: A's watch ends, and B polls for itself
    with pytest.raises(Blip):
        await within(anext(on_a), "A's subscriber ends")
    assert await within(anext(on_b), "B's own poll") == {"n": 2}
    assert b.role(KEY) is Role.HOLDER
    await on_a.aclose()
    await on_b.aclose()


async def test_a_follower_subscriber_that_falls_behind_is_dropped(
    hubs: tuple[RedisHub, RedisHub], clock: SteppedClock
) -> None:
    poll_a = Counter()
    on_a, on_b = await holder_and_follower(hubs, poll_a, Counter(), clock)
    _, b = hubs
    keeps_up = b.watch(KEY, Counter())
    assert await within(anext(keeps_up), "the latest") == {"n": 0}
    for value in range(1, 4):  # queue_size is 2: the third unread snapshot drops on_b
        poll_a.value = value
        await within(clock.until_waiting(2), "the next interval")
        clock.step()
        assert await within(anext(on_a), "A's push") == {"n": value}
        assert await within(anext(keeps_up), "B's other subscriber's push") == {"n": value}
    with pytest.raises(SubscriberDropped):
        await within(anext(on_b), "the slow subscriber's end")
    for stream in (on_a, keeps_up):
        await stream.aclose()


async def test_when_redis_dies_each_replica_polls_for_itself_and_shares_again_once_it_is_back(
    hubs: tuple[RedisHub, RedisHub], clock: SteppedClock, redis_server: RedisServer
) -> None:
    a, b = hubs
    poll_a, poll_b = Counter(), Counter()
    on_a, on_b = await holder_and_follower(hubs, poll_a, poll_b, clock)
    before = errors("live_lease")
    redis_server.kill()
    poll_a.value = poll_b.value = 1
    clock.step()
    assert await within(anext(on_a), "A still serves") == {"n": 1}
    assert await within(anext(on_b), "B still serves, from its own poll") == {"n": 1}
    assert (a.role(KEY), b.role(KEY)) == (Role.LOCAL, Role.LOCAL)
    assert (poll_a.calls, poll_b.calls) == (2, 1)
    assert errors("live_lease") >= before + 2
    assert a.link.degraded and b.link.degraded

    redis_server.start()  # the same port, empty
    await within(clock.until_waiting(2), "both wait for the next interval")
    poll_a.value = poll_b.value = 2
    clock.step()
    assert await within(anext(on_a), "A after the outage") == {"n": 2}
    assert await within(anext(on_b), "B after the outage") == {"n": 2}
    await within(clock.until_waiting(2), "both wait again")
    roles = {a.role(KEY), b.role(KEY)}
    assert roles == {Role.HOLDER, Role.FOLLOWER}, "one of them holds the lease again"
    calls = poll_a.calls + poll_b.calls
    poll_a.value = poll_b.value = 3
    clock.step()
    assert await within(anext(on_a), "A") == {"n": 3}
    assert await within(anext(on_b), "B") == {"n": 3}
    assert poll_a.calls + poll_b.calls == calls + 1, "one poll per interval again"
    await on_a.aclose()
    await on_b.aclose()


async def test_nothing_polls_or_stays_in_redis_once_nobody_listens(
    hubs: tuple[RedisHub, RedisHub], clock: SteppedClock, redis_server: RedisServer
) -> None:
    a, b = hubs
    poll_a, poll_b = Counter(), Counter()
    on_a, on_b = await holder_and_follower(hubs, poll_a, poll_b, clock)
    await on_b.aclose()
    await on_a.aclose()
    assert a.active_keys() == b.active_keys() == 0
    await eventually(lambda: clock.waiting == 0, "no poller waits for a next interval")
    sync = redis_server.client()
    await eventually(lambda: not sync.keys("gateway:live:lease:*"), "the lease was given up")
    await eventually(lambda: not sync.pubsub_channels("gateway:live:*"), "nobody listens to the channel")
    clock.step()
    assert (poll_a.calls, poll_b.calls) == (1, 0)


async def test_an_old_or_garbled_message_on_the_channel_is_ignored(
    hubs: tuple[RedisHub, RedisHub], clock: SteppedClock, redis_server: RedisServer
) -> None:
    poll_a = Counter()
    on_a, on_b = await holder_and_follower(hubs, poll_a, Counter(), clock)
    sync = redis_server.client()
    (channel,) = sync.pubsub_channels("gateway:live:*")
    sync.publish(channel, b"not a message")
    sync.publish(channel, b"1 " + b'{"n": "from the past"}')  # older than what B has seen
    sync.publish(channel, b"99999999999999999 {not json")
    poll_a.value = 4
    clock.step()
    assert await within(anext(on_b), "the next real snapshot") == {"n": 4}
    await on_a.aclose()
    await on_b.aclose()


def test_the_lease_must_outlast_the_interval(redis_server: RedisServer) -> None:
    link = RedisLink.from_url(redis_server.url, timeout=1)
    with pytest.raises(ValueError, match="lease longer"):
        RedisHub(link, 2.0, lease=2.0)
    assert RedisHub(link, 2.0).lease == 6.0


@pytest.mark.parametrize("lease", ["2", "1.5", "0", "-1", "3601", "soon"])
def test_a_lease_setting_that_cannot_work_is_refused_at_start(lease: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVE_POLL_INTERVAL", "2")
    monkeypatch.setenv("LIVE_POLL_LEASE", lease)
    with pytest.raises(ValueError, match=r"(?i)live_poll_lease"):
        Settings()


def test_the_lease_setting_reaches_the_hub(redis_server: RedisServer) -> None:
    settings = Settings(redis_url=redis_server.url, live_poll_interval=1, live_poll_lease=4)
    hub = hub_for(settings, RedisLink.from_url(redis_server.url, timeout=1), tolerate=_is_blip)
    assert isinstance(hub, RedisHub) and (hub.interval, hub.lease, hub.tolerate) == (1, 4, _is_blip)
    assert type(hub_for(settings, None)).__name__ == "LocalHub"
