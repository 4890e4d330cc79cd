"""A circuit breaker: while Bifrost is down, fail fast instead of queueing on timeouts.

closed --(N consecutive failures)--> open --(reset_seconds)--> half-open --(one call succeeds)--> closed
                                                                half-open --(it fails)-------> open
Failures are connection errors, timeouts, 502/503/504 answers and any exception the wire does not map; any
other answer is Bifrost alive. A call that ends without either (its caller left) frees the half-open probe
slot, so a probe always ends one way or the other (``BifrostClient._send`` settles it in a ``finally``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

__all__ = ["CircuitBreaker"]

State = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    """Counts consecutive failures; one per process, shared by all callers.

    Example:
        >>> breaker = CircuitBreaker(failure_threshold=2, reset_seconds=5)
        >>> breaker.allow(), breaker.state
        (True, 'closed')
    """

    def __init__(
        self, failure_threshold: int = 5, reset_seconds: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        # True while a half-open probe is out (read right after ``allow()``: whether that call is the probe). A
        # plain attribute, not a property: the client reads it on every call.
        self.probing = False

    @property
    def state(self) -> State:
        """The current state."""
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_seconds:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        """Whether a call may go out now (in half-open, only one probe at a time)."""
        if self._opened_at is None:  # closed, as nearly always: no state to work out
            return True
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self.probing:
            self.probing = True
            return True
        return False

    def record_success(self) -> None:
        """Bifrost answered: close the circuit."""
        self._failures = 0
        self._opened_at = None
        self.probing = False

    def abandon(self) -> None:
        """A call ended without an answer either way (the caller left): free the probe slot."""
        self.probing = False

    def record_failure(self) -> None:
        """Bifrost failed: open the circuit after enough failures in a row (at once when probing)."""
        self._failures += 1
        if self.probing or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
        self.probing = False
