"""Expensive operations take turns; cheap ones never wait.

One process runs every request on one event loop: twenty expensive operations running at once take turns
with each other *and* with every cheap one, so a team lookup waits for twenty expensive operations' work at
each of its steps. The gate lets expensive operations (priced above ``queue_above``) run only while the
prices of those running add up to at most ``capacity``; the others wait their turn, first come first
served, without using the CPU. Operations priced at or below ``queue_above`` never wait, so a cheap query
only ever shares the loop with the few expensive ones admitted. An operation priced above ``capacity``
runs alone.

Example:
    >>> import asyncio
    >>> async def demo():
    ...     gate = CostGate(capacity=100, queue_above=10)
    ...     async with gate.admit(80):
    ...         return gate.in_flight, gate.waiting
    >>> asyncio.run(demo())
    (80, 0)
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["CostGate"]


class CostGate:
    """A first-come-first-served budget of cost in flight, per process."""

    def __init__(self, capacity: int, queue_above: int) -> None:
        self.capacity = capacity
        self.queue_above = queue_above
        self.in_flight = 0
        self._queue: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def waiting(self) -> int:
        """Operations waiting for their turn."""
        return len(self._queue)

    @asynccontextmanager
    async def admit(self, cost: int) -> AsyncIterator[None]:
        """Wait for room for ``cost`` (not at all when it is cheap), hold it while the block runs."""
        if cost <= self.queue_above:
            yield
            return
        weight = min(cost, self.capacity)
        if self._queue or self.in_flight + weight > self.capacity:
            await self._wait_for_turn(weight)
        else:
            self.in_flight += weight
        try:
            yield
        finally:
            self.in_flight -= weight
            self._admit_waiting()

    async def _wait_for_turn(self, weight: int) -> None:
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (weight, turn)
        self._queue.append(entry)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.in_flight -= weight  # admitted just as the caller left: the room goes to whoever is next
            elif entry in self._queue:
                self._queue.remove(entry)
            self._admit_waiting()  # those behind it may fit now
            raise

    def _admit_waiting(self) -> None:
        while self._queue:
            weight, turn = self._queue[0]
            if turn.done():  # its caller left while waiting
                self._queue.popleft()
                continue
            if self.in_flight > 0 and self.in_flight + weight > self.capacity:
                return
            self._queue.popleft()
            self.in_flight += weight
            turn.set_result(None)
