"""``CallLimit``: the request's bound on its concurrent upstream calls (``DATALOADER_CONCURRENCY``).

A lookup takes and gives back one slot per call; ``asyncio.Semaphore`` makes two coroutines and scans its
waiters for that even when a slot is free, which is nearly always. This is ``CallSlots`` (a counter while a
slot is free, a future per caller only when none is, first come first served) with the ``async with`` of a
semaphore for the loaders that hold a slot around more than one call.

Example:
    >>> import asyncio
    >>> async def main() -> bool:
    ...     limit = CallLimit(1)
    ...     async with limit:
    ...         return limit.take()
    >>> asyncio.run(main())
    False
"""

from __future__ import annotations

from types import TracebackType

from app.bifrost.slots import CallSlots

__all__ = ["CallLimit"]


class CallLimit(CallSlots):
    """At most ``size`` calls at once: ``take``/``wait`` and ``release``, or ``async with`` around them."""

    __slots__ = ()

    async def __aenter__(self) -> None:
        if not self.take():
            await self.wait()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()
