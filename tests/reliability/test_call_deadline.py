"""``CallDeadline`` behaves as ``asyncio.timeout`` around one call: the same outcome and the same cancellation
count in every case (answered in time, expired, cancelled from outside, both), and through ``BifrostClient``.
So does each call on the timer ``CallDeadlines`` shares between calls, alone or among many calls in flight of
which some answer, some expire and some are cancelled, over one loop and then another."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from app.bifrost import BifrostClient
from app.bifrost.deadline import CallDeadline, CallDeadlines
from app.bifrost.errors import UpstreamTimeout
from app.bifrost.wire import UpstreamResponse

Bounded = Callable[[float, Callable[[], Awaitable[str]]], Awaitable[str]]


async def with_asyncio_timeout(delay: float, call: Callable[[], Awaitable[str]]) -> str:
    async with asyncio.timeout(delay):
        return await call()


async def with_call_deadline(delay: float, call: Callable[[], Awaitable[str]]) -> str:
    deadline = CallDeadline(asyncio.get_running_loop(), delay)
    try:
        answer = await call()
    except BaseException as error:
        deadline.close(error)
        raise
    deadline.close(None)
    return answer


SHARED = CallDeadlines()  # one timer for every test's calls: each test's loop takes it over


async def with_shared_deadline(delay: float, call: Callable[[], Awaitable[str]]) -> str:
    deadline = SHARED.start(asyncio.get_running_loop(), delay)
    try:
        answer = await call()
    except BaseException as error:
        deadline.close(error)
        raise
    deadline.close(None)
    return answer


BOUNDS = {"own-timer": with_call_deadline, "shared-timer": with_shared_deadline}


async def outcome(
    bound: Bounded, delay: float, call: Callable[[], Awaitable[str]], cancel_after: int | None
) -> tuple[Any, ...]:
    """What the bounded call gave (or raised), and its task's cancellation count after it; ``cancel_after``:
    turns of the loop after which the task is cancelled from outside."""

    async def run() -> tuple[str, int]:
        task = asyncio.current_task()
        assert task is not None
        try:
            answer = await bound(delay, call)
        except (TimeoutError, asyncio.CancelledError) as error:
            return type(error).__name__, task.cancelling()
        return answer, task.cancelling()

    task = asyncio.ensure_future(run())
    if cancel_after is not None:
        for _ in range(cancel_after):
            await asyncio.sleep(0)
        task.cancel()
    try:
        return await task
    except asyncio.CancelledError:
        return ("task cancelled",)


async def never() -> str:
    await asyncio.Event().wait()
    return "never"


async def at_once() -> str:
    return "answer"


async def after_a_turn() -> str:
    await asyncio.sleep(0)
    return "answer"


CASES = {
    "answered-at-once": (10.0, at_once, None),
    "answered-after-a-turn": (10.0, after_a_turn, None),
    "answered-before-a-zero-deadline-fires": (0.0, at_once, None),
    "expired": (0.0, never, None),
    # Cancelled from outside after some turns of the loop: before, as, or after the deadline fires.
    **{f"cancelled-after-{turns}-turns": (10.0, never, turns) for turns in range(4)},
    **{f"due-at-once-and-cancelled-after-{turns}-turns": (0.0, never, turns) for turns in range(4)},
}


@pytest.mark.parametrize("bound", list(BOUNDS))
@pytest.mark.parametrize("case", list(CASES))
async def test_the_same_outcome_as_asyncio_timeout(case: str, bound: str) -> None:
    delay, call, cancel_after = CASES[case]
    expected = await outcome(with_asyncio_timeout, delay, call, cancel_after)
    assert await outcome(BOUNDS[bound], delay, call, cancel_after) == expected


@pytest.mark.parametrize("bound", list(BOUNDS))
async def test_many_calls_in_flight_each_end_as_under_asyncio_timeout(bound: str) -> None:
    # Every case at once, three times over, interleaved with long calls that answer: on one shared timer, a call
    # that ends must not take another's deadline with it, and one that expires must not end another early.
    cases = [CASES[case] for case in CASES for _ in range(3)] + [(10.0, after_a_turn, None)] * 20
    expected = await asyncio.gather(*(outcome(with_asyncio_timeout, *case) for case in cases))
    assert await asyncio.gather(*(outcome(BOUNDS[bound], *case) for case in cases)) == expected


async def test_the_shared_timer_is_set_again_for_calls_still_in_flight() -> None:
    deadlines = CallDeadlines()
    loop = asyncio.get_running_loop()
    gate = asyncio.Event()

    async def gated() -> str:
        await gate.wait()
        return "answer"

    async def bounded(delay: float, call: Callable[[], Awaitable[str]]) -> str:
        deadline = deadlines.start(loop, delay)
        try:
            answer = await call()
        except BaseException as error:
            deadline.close(error)
            raise
        deadline.close(None)
        return answer

    # The first call's timer is set; it answers and leaves; a later one, due at once, is still ended in time,
    # and a long one beside it is not.
    first = await bounded(10.0, at_once)
    long_one = asyncio.ensure_future(outcome(bounded, 10.0, gated, None))
    expired = await outcome(bounded, 0.0, never, None)
    gate.set()
    assert (first, expired, await long_one) == ("answer", ("TimeoutError", 0), ("answer", 0))


@pytest.mark.parametrize("bound", list(BOUNDS))
async def test_a_deadline_closed_in_time_never_cancels_the_task_later(bound: str) -> None:
    answer = await BOUNDS[bound](0.0, at_once)  # due at once, closed before the loop ran it
    for _ in range(5):
        await asyncio.sleep(0)  # turns of the loop in which a forgotten timer would have fired
    task = asyncio.current_task()
    assert answer == "answer" and task is not None and task.cancelling() == 0


def test_outside_a_task_it_is_refused() -> None:
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(RuntimeError, match="inside a task"):
            CallDeadline(loop, 1.0)
        with pytest.raises(RuntimeError, match="inside a task"):
            CallDeadlines().start(loop, 1.0)
    finally:
        loop.close()


class SilentWire:
    """Never answers; reports whether its call was cancelled."""

    def __init__(self) -> None:
        self.cancelled = False

    async def send(
        self, method: str, path: str, headers: Mapping[str, str], content: bytes | None, params: Any, max_bytes: int
    ) -> UpstreamResponse:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        return None


async def test_the_client_total_timeout_ends_a_silent_call_as_upstream_timeout() -> None:
    wire = SilentWire()
    client = BifrostClient(wire, total_timeout=0.01, read_retries=0)  # type: ignore[arg-type]
    with pytest.raises(UpstreamTimeout):
        await client.request("GET", "/api/governance/teams", headers={})
    task = asyncio.current_task()
    assert wire.cancelled and task is not None and task.cancelling() == 0


async def test_a_caller_cancelled_during_the_call_stays_cancelled() -> None:
    wire = SilentWire()
    client = BifrostClient(wire, total_timeout=10.0, read_retries=0)  # type: ignore[arg-type]
    call = asyncio.ensure_future(client.request("GET", "/api/governance/teams", headers={}))
    for _ in range(3):
        await asyncio.sleep(0)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert wire.cancelled
