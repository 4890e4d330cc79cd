"""A total deadline on one awaited call: ``asyncio.timeout``'s behaviour on a bare timer handle.

``asyncio.timeout`` is an object, two coroutines (its ``__aenter__`` and ``__aexit__``) and a state machine
around one ``loop.call_at``: about as much work again as some calls it bounds. ``CallDeadline`` is that
timer alone, for a wire that does not bound a call by itself (``enforces_total_timeout``). It behaves as
``asyncio.timeout`` does: at the deadline the task is cancelled; the ``CancelledError`` that ends the call
becomes ``TimeoutError``, and the task's cancellation count is what it was before; a cancellation from
anywhere else stays a cancellation.

Example:
    >>> # deadline = CallDeadline(loop, 15.0)
    >>> # try:
    >>> #     answer = await wire.send(...)
    >>> # except BaseException as error:
    >>> #     deadline.close(error)  # raises TimeoutError if the deadline ended it
    >>> #     raise
    >>> # deadline.close(None)
"""

from __future__ import annotations

import asyncio

__all__ = ["CallDeadline"]


class CallDeadline:
    """Cancels the current task ``delay`` seconds from now, unless closed first."""

    __slots__ = ("_cancelling", "_expired", "_handle", "_task")

    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("CallDeadline must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._expired = False
        when = loop.time() + delay
        # As ``asyncio.timeout`` schedules it: a deadline already due runs on the loop's next turn.
        self._handle: asyncio.Handle = (
            loop.call_at(when, self._expire) if when > loop.time() else loop.call_soon(self._expire)
        )

    def _expire(self) -> None:
        self._expired = True
        self._task.cancel()

    def close(self, error: BaseException | None) -> None:
        """Stop the timer once the call ended (``error``: how, None for an answer).

        Raises:
            TimeoutError: the deadline cancelled the call (``error`` is that ``CancelledError``).
        """
        self._handle.cancel()
        if self._expired:
            self._expired = False
            if self._task.uncancel() <= self._cancelling and type(error) is asyncio.CancelledError:
                raise TimeoutError from error
