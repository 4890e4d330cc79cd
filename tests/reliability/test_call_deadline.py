"""``CallDeadline`` behaves as ``asyncio.timeout`` around one call: the same outcome and the same cancellation
count in every case (answered in time, expired, cancelled from outside, both), and through ``BifrostClient``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from app.bifrost import BifrostClient
from app.bifrost.deadline import CallDeadline
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


@pytest.mark.parametrize("case", list(CASES))
async def test_the_same_outcome_as_asyncio_timeout(case: str) -> None:
    delay, call, cancel_after = CASES[case]
    expected = await outcome(with_asyncio_timeout, delay, call, cancel_after)
    assert await outcome(with_call_deadline, delay, call, cancel_after) == expected


async def test_a_deadline_closed_in_time_never_cancels_the_task_later() -> None:
    answer = await with_call_deadline(0.0, at_once)  # due at once, closed before the loop ran it
    for _ in range(5):
        await asyncio.sleep(0)  # turns of the loop in which a forgotten timer would have fired
    task = asyncio.current_task()
    assert answer == "answer" and task is not None and task.cancelling() == 0


def test_outside_a_task_it_is_refused() -> None:
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(RuntimeError, match="inside a task"):
            CallDeadline(loop, 1.0)
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
