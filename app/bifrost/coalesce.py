"""Identical reads in flight at the same moment share one upstream call.

A dashboard that many people open at once asks Bifrost the same two questions again and again. When
a GET is already on its way for the same path, query and credentials, a second caller waits for that
answer instead of sending its own (Hive Gateway and Apollo Router do the same for subgraph requests).

What keeps this exact:
- Only reads in flight are shared; nothing is kept once the answer arrives, so nothing is ever stale.
- The credentials are part of the key: callers with different ``Authorization`` or cookies never share.
- A write sent through this gateway starts a new period: reads that begin after a write started (or
  ended) never join a call sent before it, so a client that wrote and then reads sees its write.
- Each caller gets its own copy of a failure (no traceback is shared between requests).
- If the caller that sent the call is cancelled (its client went away), or stopped by a failure of its
  own (``callers_own``: its request's ceilings), the call is not abandoned for the others: one of them
  sends it again.

Example:
    >>> import asyncio
    >>> async def demo():
    ...     reads, sent = ReadCoalescer(), []
    ...     async def fetch():
    ...         sent.append(1)
    ...         await asyncio.sleep(0)
    ...         return "answer"
    ...     answers = await asyncio.gather(*(reads.run(("GET", "/teams"), fetch) for _ in range(3)))
    ...     return answers, len(sent), reads.shared
    >>> asyncio.run(demo())
    (['answer', 'answer', 'answer'], 1, 2)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar, cast

__all__ = ["RETRY", "ReadCoalescer"]

T = TypeVar("T")


class _Retry:
    """Told to waiters when the caller that sent the call was cancelled: send it yourselves."""


RETRY = _Retry()


class ReadCoalescer:
    """The reads in flight, by key; one per process (one per ``BifrostClient``).

    The miss path (no identical read in flight: every read of a load that rotates over ids) costs one dict
    insert and one removal around the caller's own call: a flight is just the list of its waiters, and a
    caller that can run its call in its own coroutine uses ``lead`` / ``settle`` / ``abandon`` directly
    instead of handing a ``fetch`` to ``run`` (one coroutine frame less on every resume of the call).
    """

    def __init__(
        self,
        on_shared: Callable[[Hashable], None] | None = None,
        *,
        callers_own: tuple[type[Exception], ...] = (),
    ) -> None:
        self._flights: dict[Hashable, list[asyncio.Future[Any]]] = {}
        self.on_shared = on_shared
        self.callers_own = callers_own
        self.shared = 0  # calls not sent because an identical one was in flight

    def __len__(self) -> int:
        return len(self._flights)

    def waiting(self) -> int:
        """How many callers are waiting for a call another caller sent (tests wait on this, not on time)."""
        return sum(not waiter.done() for waiters in self._flights.values() for waiter in waiters)

    def new_period(self) -> None:
        """A write starts or ends: later reads send their own calls."""
        self._flights.clear()

    def lead(self, key: Hashable) -> list[asyncio.Future[Any]] | None:
        """Claim ``key`` when no identical call is in flight: the list its waiters will join, to be handed to
        ``settle`` or ``abandon`` when the caller's own call ends; None when one is in flight (``follow`` it).

        The miss path of a caller that sends the call itself, in its own coroutine: no frame is added around
        it (``run`` is the same for callers that have a ``fetch`` to hand over).
        """
        waiters: list[asyncio.Future[Any]] = []
        return waiters if self._flights.setdefault(key, waiters) is waiters else None

    async def follow(self, key: Hashable) -> Any:
        """The answer of the call in flight for ``key`` (its failure raised as a copy), or ``RETRY`` when its
        sender left or was stopped by its own ceiling: then ``lead`` (or follow whoever leads now)."""
        flight = self._flights[key]
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        flight.append(waiter)
        try:
            outcome = await waiter
        except asyncio.CancelledError:
            # Its caller left: forget it, or callers that come and go while a slow call runs pile up.
            with contextlib.suppress(ValueError):
                flight.remove(waiter)
            raise
        if outcome is not RETRY:
            self.shared += 1
            if self.on_shared is not None:
                self.on_shared(key)
        return outcome

    def settle(self, key: Hashable, waiters: list[asyncio.Future[Any]], value: Any) -> None:
        """The leader's call answered ``value``: hand it to every waiter."""
        self._land(key, waiters)
        for waiter in waiters:
            if not waiter.done():  # a waiter that was cancelled is done already
                waiter.set_result(value)

    def abandon(self, key: Hashable, waiters: list[asyncio.Future[Any]], error: BaseException) -> None:
        """The leader's call failed with ``error``: each waiter gets its own copy of a failure of the upstream's,
        or ``RETRY`` when the leader was cancelled or stopped by a ceiling of its own request."""
        self._land(key, waiters)
        if isinstance(error, Exception) and not isinstance(error, self.callers_own):
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(_copy_of(error))
        else:
            # Cancelled, stopped by its own ceiling (or the process is stopping): the others send it again.
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(RETRY)

    async def run(self, key: Hashable, fetch: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fetch(*args)``, or the answer of an identical ``fetch`` already in flight."""
        while (waiters := self.lead(key)) is None:
            outcome = await self.follow(key)
            if outcome is not RETRY:
                return cast(T, outcome)
        try:
            value = await fetch(*args)
        except BaseException as error:
            self.abandon(key, waiters, error)
            raise
        self.settle(key, waiters, value)
        return value

    def _land(self, key: Hashable, waiters: list[asyncio.Future[Any]]) -> None:
        current = self._flights.pop(key, None)
        if current is not None and current is not waiters:
            # A write started a new period, and a newer flight holds the key by now: it stays.
            self._flights[key] = current


def _copy_of(exc: Exception) -> BaseException:
    """A fresh exception for each waiter: the same object raised in many tasks would collect their frames."""
    fresh = type(exc).__new__(type(exc), *exc.args)  # no __init__: its signature may differ from args
    fresh.args = exc.args
    fresh.__dict__.update(exc.__dict__)
    fresh.__cause__ = exc.__cause__
    fresh.__suppress_context__ = exc.__suppress_context__
    return fresh
