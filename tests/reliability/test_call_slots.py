"""``CallSlots``, the bound on ``H1Wire``'s calls in flight: never more holders than slots, waiters served in arrival
order, and no slot lost whichever way a waiter leaves (cancelled, timed out, or handed a slot just as it left).

The wire's own behaviour at the bound (a wait for a free connection cut short by the connect timeout or the total
deadline, cancelled callers) is tested over real sockets in ``test_h1wire_deadline.py`` and ``test_h1wire_red.py``.
"""

from __future__ import annotations

import asyncio

import pytest

from app.bifrost.slots import CallSlots


async def started(slots: CallSlots, waiters: int) -> None:
    """Let the tasks created so far run up to their wait: synchronisation on state, not on time (at most 5 s)."""
    async with asyncio.timeout(5):
        while slots.waiting() < waiters:  # noqa: ASYNC110 (the slots have no event to wait on; each turn lets them move)
            await asyncio.sleep(0)


async def holder(slots: CallSlots, order: list[str], name: str) -> None:
    if not slots.take():
        await slots.wait()
    order.append(name)


async def test_free_slots_are_taken_at_once_and_no_more_than_there_are() -> None:
    slots = CallSlots(2)
    assert slots.take() and slots.take()
    assert not slots.take()
    slots.release()
    assert slots.take() and not slots.take()


async def test_waiters_get_freed_slots_in_arrival_order_and_newcomers_never_jump_ahead() -> None:
    slots = CallSlots(1)
    assert slots.take()
    order: list[str] = []
    tasks = [asyncio.create_task(holder(slots, order, name)) for name in "abc"]
    await started(slots, 3)
    slots.release()  # to a
    assert not slots.take(), "a freed slot went to a newcomer while callers waited"
    await tasks[0]
    slots.release()  # to b
    slots.release()  # to c
    await asyncio.gather(*tasks)
    assert order == ["a", "b", "c"]
    assert not slots.take()  # c holds the only slot
    slots.release()
    assert slots.take()


async def test_a_waiter_that_leaves_is_skipped_and_keeps_no_slot() -> None:
    slots = CallSlots(1)
    assert slots.take()
    order: list[str] = []
    leaving = asyncio.create_task(holder(slots, order, "leaving"))
    staying = asyncio.create_task(holder(slots, order, "staying"))
    await started(slots, 2)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert slots.waiting() == 1
    slots.release()
    await asyncio.wait_for(staying, 10)
    assert order == ["staying"]


async def test_a_slot_handed_to_a_waiter_that_leaves_before_it_runs_goes_to_the_next() -> None:
    slots = CallSlots(1)
    assert slots.take()
    order: list[str] = []
    first = asyncio.create_task(holder(slots, order, "first"))
    second = asyncio.create_task(holder(slots, order, "second"))
    await started(slots, 2)
    slots.release()  # handed to first, which has not run since
    first.cancel()  # its caller leaves (or its timeout fires) before it takes the slot
    with pytest.raises(asyncio.CancelledError):
        await first
    done, _ = await asyncio.wait({second}, timeout=10)
    assert second in done, "the slot handed to the caller that left was lost"
    assert order == ["second"]
    assert not slots.take()
    slots.release()
    assert slots.take()


async def test_a_wait_cut_short_by_a_timeout_leaves_the_count_whole() -> None:
    slots = CallSlots(1)
    assert slots.take()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0):
            await slots.wait()
    assert slots.waiting() == 0
    slots.release()
    assert slots.take() and not slots.take()
