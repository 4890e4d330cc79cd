"""The poller hub on its own: shared polls, nothing polled without listeners, slow subscribers dropped, errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.live import LocalHub, SubscriberDropped, WatchKey
from tests.gateway.live import SteppedClock

KEY = WatchKey("budgetUsage", "digest", ("team:t1",))


class Counter:
    """A poll that returns {"n": <value>} and counts its calls; ``value`` is what the next poll reads."""

    def __init__(self) -> None:
        self.calls = 0
        self.value = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return {"n": self.value}


async def test_subscribers_of_one_key_share_one_poll_per_interval() -> None:
    clock, poll = SteppedClock(), Counter()
    hub = LocalHub(2.0, sleep=clock.sleep)
    streams = [hub.watch(KEY, poll) for _ in range(100)]
    firsts = await asyncio.gather(*(anext(stream) for stream in streams))
    assert firsts == [{"n": 0}] * 100
    assert poll.calls == 1
    for interval in range(1, 4):
        poll.value = interval
        clock.step()
        assert await asyncio.gather(*(anext(stream) for stream in streams)) == [{"n": interval}] * 100
        assert poll.calls == 1 + interval
    assert hub.active_keys() == 1 and hub.subscribers(KEY) == 100
    for stream in streams:
        await stream.aclose()


async def test_nothing_polls_once_the_last_subscriber_leaves() -> None:
    clock, poll = SteppedClock(), Counter()
    hub = LocalHub(2.0, sleep=clock.sleep)
    first, second = hub.watch(KEY, poll), hub.watch(KEY, poll)
    await anext(first)
    await anext(second)
    await clock.until_waiting()
    await first.aclose()
    assert hub.active_keys() == 1, "one subscriber still listens"
    await second.aclose()
    assert hub.active_keys() == 0
    assert clock.waiting == 0, "the poller was cancelled, not left waiting for its next interval"
    clock.step()
    fresh = hub.watch(KEY, Counter())
    await anext(fresh)  # a new poller of the same key ran a poll of its own: the old one did not
    await fresh.aclose()
    assert poll.calls == 1


async def test_unchanged_snapshots_are_not_published_and_a_late_joiner_gets_the_latest_at_once() -> None:
    clock, poll = SteppedClock(), Counter()
    hub = LocalHub(2.0, sleep=clock.sleep)
    early = hub.watch(KEY, poll)
    assert await anext(early) == {"n": 0}
    for _ in range(3):  # three polls read the same thing: nothing is pushed
        clock.step()
        await clock.until_waiting()
    assert poll.calls == 4
    late = hub.watch(KEY, poll)
    assert await anext(late) == {"n": 0}, "the latest snapshot, without a poll of its own"
    assert poll.calls == 4
    poll.value = 7
    clock.step()
    assert await anext(early) == {"n": 7}
    assert await anext(late) == {"n": 7}
    await early.aclose()
    await late.aclose()


async def test_a_subscriber_that_falls_behind_is_dropped_and_the_others_go_on() -> None:
    clock, poll = SteppedClock(), Counter()
    hub = LocalHub(2.0, queue_size=2, sleep=clock.sleep)
    slow, fast = hub.watch(KEY, poll), hub.watch(KEY, poll)
    await anext(slow)
    await anext(fast)
    for value in range(1, 5):  # the slow one reads nothing: its queue of 2 overflows at the third change
        poll.value = value
        clock.step()
        assert await anext(fast) == {"n": value}
    with pytest.raises(SubscriberDropped, match="did not keep up"):
        await anext(slow)
    assert hub.subscribers(KEY) == 1
    poll.value = 9
    clock.step()
    assert await anext(fast) == {"n": 9}
    await fast.aclose()
    await slow.aclose()
    assert hub.active_keys() == 0


async def test_a_poll_that_fails_ends_every_subscriber_and_the_next_one_starts_afresh() -> None:
    clock = SteppedClock()
    hub = LocalHub(2.0, sleep=clock.sleep)
    failing = True

    async def poll() -> dict[str, Any]:
        if failing:
            raise PermissionError("credentials expired")
        return {"ok": True}

    streams = [hub.watch(KEY, poll) for _ in range(3)]
    for stream in streams:
        with pytest.raises(PermissionError, match="credentials expired"):
            await anext(stream)
    assert hub.active_keys() == 0
    failing = False
    again = hub.watch(KEY, poll)
    assert await anext(again) == {"ok": True}
    await again.aclose()


async def test_different_keys_have_their_own_pollers() -> None:
    clock, poll_a, poll_b = SteppedClock(), Counter(), Counter()
    hub = LocalHub(2.0, sleep=clock.sleep)
    a = hub.watch(KEY, poll_a)
    b = hub.watch(WatchKey("budgetUsage", "another-caller", ("team:t1",)), poll_b)
    await anext(a)
    await anext(b)
    assert (poll_a.calls, poll_b.calls, hub.active_keys()) == (1, 1, 2)
    await a.aclose()
    await b.aclose()


def test_settings_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError):
        LocalHub(0)
    with pytest.raises(ValueError):
        LocalHub(1.0, queue_size=0)


async def test_polls_and_drops_are_reported_for_metrics() -> None:
    clock, poll, seen = SteppedClock(), Counter(), []
    hub = LocalHub(2.0, queue_size=1, sleep=clock.sleep, observe=lambda topic, what: seen.append((topic, what)))
    slow, fast = hub.watch(KEY, poll), hub.watch(KEY, poll)
    await anext(slow)
    await anext(fast)
    for value in (1, 2):
        poll.value = value
        clock.step()
        await anext(fast)
    await fast.aclose()
    await slow.aclose()
    assert seen == [("budgetUsage", "ok")] * 3 + [("budgetUsage", "dropped")]


async def test_a_tolerated_failure_skips_an_interval_and_too_many_in_a_row_end_the_watch() -> None:
    clock, outcomes = SteppedClock(), ["ok", "blip", "blip", "ok", "blip", "blip", "blip"]
    calls = 0

    async def poll() -> dict[str, Any]:
        nonlocal calls
        outcome = outcomes[calls]
        calls += 1
        if outcome == "blip":
            raise TimeoutError("slow for a moment")
        return {"n": calls}

    hub = LocalHub(2.0, sleep=clock.sleep, tolerate=lambda error: isinstance(error, TimeoutError), max_failures=3)
    stream = hub.watch(KEY, poll)
    assert await anext(stream) == {"n": 1}
    for _ in range(3):  # two blips pass unseen, then a poll succeeds
        await clock.until_waiting()
        clock.step()
    assert await anext(stream) == {"n": 4}
    for _ in range(3):  # the third blip in a row ends the watch
        await clock.until_waiting()
        clock.step()
    with pytest.raises(TimeoutError):
        await anext(stream)
    assert hub.active_keys() == 0


async def test_an_error_not_tolerated_ends_the_watch_at_once() -> None:
    clock = SteppedClock()

    async def poll() -> dict[str, Any]:
        raise PermissionError("logged out")

    hub = LocalHub(2.0, sleep=clock.sleep, tolerate=lambda error: isinstance(error, TimeoutError))
    with pytest.raises(PermissionError):
        await anext(hub.watch(KEY, poll))
