"""``CallSlots``: at most so many upstream calls in flight, and the wait for a free slot in arrival order.

``asyncio.Semaphore`` makes a coroutine (``acquire``) and scans its waiters (``locked``) on every call, even
when a slot is free, which is nearly always; the wire pays that on each of its calls. Here taking a free slot is
a counter, and only a caller that finds none waits, on a future of its own, first come first served. A freed
slot goes to the first waiter still waiting (never to a newcomer ahead of it); one handed to a waiter whose
caller leaves before it runs is passed on, so no slot is ever lost.

Example:
    >>> slots = CallSlots(1)
    >>> slots.take(), slots.take()
    (True, False)
    >>> slots.release()
    >>> slots.take()
    True
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

__all__ = ["CallSlots"]


class CallSlots:
    """``size`` slots: ``take`` one at once when one is free, else ``wait`` for one; ``release`` it after the call.

    Belongs to one event loop (the futures of its waiters do).
    """

    __slots__ = ("_free", "_waiters")

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    def take(self) -> bool:
        """Take a free slot, if there is one. A slot is free only while nobody waits (``release`` hands it on)."""
        if self._free:
            self._free -= 1
            return True
        return False

    async def wait(self) -> None:
        """Wait for a slot, after ``take`` found none: the caller holds one when this returns."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot just as its caller left (cancelled, timed out): the next one's
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Give a slot back: to the first caller still waiting, else to the free ones."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():  # a waiter whose caller left is done (cancelled) already
                waiter.set_result(None)
                return
        self._free += 1

    def waiting(self) -> int:
        """How many callers wait for a slot (tests wait on this, not on time)."""
        return sum(not waiter.done() for waiter in self._waiters)
