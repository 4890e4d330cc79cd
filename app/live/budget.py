"""The polled-id budget of each client address: what one address may make the gateway poll, all streams together.

Each limit of a stream holds alone (ids per subscription, subscriptions per socket, sockets per address), but
together they would let one address have 20 x 20 x 50 ids polled per interval. The budget caps the sum, over
every open subscription of the address (WebSockets and HTTP streams alike), of the distinct ids each one
watches (a ``spendTick`` counts 1: one stats call whatever its filters). A subscription is given a
``BudgetShare`` when it opens; the resolver takes its ids from it before anything is polled, and the transport
releases the share once when the subscription ends, however it ends.

Example:
    >>> budget = PolledIdBudget(100)
    >>> first, second = budget.share("10.0.0.1"), budget.share("10.0.0.1")
    >>> first.take(60), second.take(60), budget.in_use("10.0.0.1")
    (True, False, 60)
    >>> first.release(); first.release(); budget.in_use("10.0.0.1")
    0
"""

from __future__ import annotations

from collections import Counter

__all__ = ["DEFAULT_POLLED_IDS_PER_CLIENT", "BudgetShare", "PolledIdBudget"]

DEFAULT_POLLED_IDS_PER_CLIENT = 200
"""``LIVE_MAX_POLLED_IDS_PER_CLIENT``: four subscriptions of the largest watched set, 100 upstream reads a second."""


class PolledIdBudget:
    """Ids polled per interval on behalf of each client address, up to ``limit`` per address.

    Example:
        >>> budget = PolledIdBudget(10)
        >>> budget.share(None).take(11), budget.in_use(None)
        (False, 0)
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_use: Counter[str] = Counter()

    def share(self, address: str | None) -> BudgetShare:
        """An empty share of ``address``'s budget for one subscription."""
        return BudgetShare(self, address or "")

    def in_use(self, address: str | None) -> int:
        """The ids the open subscriptions of ``address`` hold."""
        return self._in_use[address or ""]

    def _take(self, key: str, count: int) -> bool:
        if count < 0 or self._in_use[key] + count > self.limit:
            return False
        self._in_use[key] += count
        return True

    def _give_back(self, key: str, count: int) -> None:
        self._in_use[key] -= count
        if self._in_use[key] <= 0:
            del self._in_use[key]  # an address that left holds no entry


class BudgetShare:
    """One subscription's part of its address's budget: what it took, given back at once by ``release``.

    Example:
        >>> share = PolledIdBudget(5).share("10.0.0.1")
        >>> share.take(5), share.held
        (True, 5)
        >>> share.release(); share.take(1)  # released for good: a share serves one subscription
        False
    """

    def __init__(self, budget: PolledIdBudget, key: str) -> None:
        self._budget, self._key = budget, key
        self.held = 0
        self._released = False

    @property
    def limit(self) -> int:
        """The per-address limit (``LIVE_MAX_POLLED_IDS_PER_CLIENT``)."""
        return self._budget.limit

    @property
    def in_use(self) -> int:
        """What the address holds now, this share included."""
        return self._budget.in_use(self._key)

    def take(self, count: int) -> bool:
        """Hold ``count`` more ids; False (nothing held) when the address would go over, or after ``release``."""
        if self._released or not self._budget._take(self._key, count):
            return False
        self.held += count
        return True

    def release(self) -> None:
        """Give everything held back; later calls do nothing."""
        if self._released:
            return
        self._released = True
        held, self.held = self.held, 0
        if held:
            self._budget._give_back(self._key, held)
