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
import contextlib
from typing import Any

__all__ = ["CallDeadline", "CallDeadlines"]

_NEVER = float("inf")


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


class CallDeadlines:
    """The total deadlines of many calls on one timer: ``start`` one per call, ``close`` it as ``CallDeadline``.

    A timer per call (``loop.call_at`` and its cancel) is most of what bounding a call costs. Calls bounded by
    the same delay fall due in the order they start, so one timer, set for the earliest deadline in flight, serves
    them all: a call that ends leaves it alone, and when it fires it cancels the tasks whose calls are due and is
    set again for the earliest left. Each call behaves exactly as under its own ``CallDeadline``.

    Belongs to one event loop at a time: started from another (each test runs its own), it starts over.

    Example:
        >>> # deadlines = CallDeadlines()
        >>> # deadline = deadlines.start(loop, 15.0)
        >>> # ... then deadline.close(error) or deadline.close(None), as with CallDeadline
    """

    __slots__ = ("_calls", "_due", "_handle", "_loop")

    def __init__(self) -> None:
        self._calls: dict[_SharedDeadline, None] = {}  # the calls in flight, in the order they started
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.Handle | None = None
        self._due = _NEVER  # the loop time the timer is set for

    def start(self, loop: asyncio.AbstractEventLoop, delay: float) -> _SharedDeadline:
        """Bound the current task's call to ``delay`` seconds from now."""
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("CallDeadline must be used inside a task")
        if loop is not self._loop:
            self._bind(loop)
        when = loop.time() + delay
        deadline = _SharedDeadline(self._calls, task, when)
        self._calls[deadline] = None
        if when < self._due:  # the first call in flight (or one of a shorter delay): the timer is set for it
            self._arm(loop, when)
        return deadline

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._handle is not None:
            with contextlib.suppress(RuntimeError):  # that loop is closed
                self._handle.cancel()
        self._handle = None
        self._due = _NEVER
        self._calls.clear()  # calls of another loop: not this timer's to end
        self._loop = loop

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._due = when
        # As ``asyncio.timeout`` schedules it: a deadline already due runs on the loop's next turn.
        self._handle = loop.call_at(when, self._fire) if when > loop.time() else loop.call_soon(self._fire)

    def _fire(self) -> None:
        loop = self._loop
        assert loop is not None
        # Due: set for no later than the time this timer was set for (which the loop may run a hair early, as it
        # would run each call's own timer), or by now.
        due = max(self._due, loop.time())
        self._handle = None
        self._due = _NEVER
        calls = self._calls
        for deadline in [deadline for deadline in calls if deadline.when <= due]:
            del calls[deadline]
            deadline.expire()
        if calls:
            self._arm(loop, min(deadline.when for deadline in calls))


class _SharedDeadline:
    """One call's deadline on a ``CallDeadlines`` timer."""

    __slots__ = ("_calls", "_cancelling", "_expired", "_task", "when")

    def __init__(self, calls: dict[_SharedDeadline, None], task: asyncio.Task[Any], when: float) -> None:
        self._calls = calls
        self._task = task
        self._cancelling = task.cancelling()
        self._expired = False
        self.when = when

    def expire(self) -> None:
        self._expired = True
        self._task.cancel()

    def close(self, error: BaseException | None) -> None:
        """As ``CallDeadline.close``: the call ended (``error``: how, None for an answer).

        Raises:
            TimeoutError: the deadline cancelled the call (``error`` is that ``CancelledError``).
        """
        if self._expired:
            self._expired = False
            if self._task.uncancel() <= self._cancelling and type(error) is asyncio.CancelledError:
                raise TimeoutError from error
        else:
            self._calls.pop(self, None)
