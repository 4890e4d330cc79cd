"""How often one client address, and one username, may try a password.

Moving windows from the ``limits`` library (its asyncio API), kept in process memory: each replica counts
on its own. Any other ``limits.aio`` storage (Redis) can be passed in to share the counts between replicas.
Usernames are counted case-folded and hashed: a guesser gains nothing from ``Admin`` versus ``admin``,
and a flood of long names costs a fixed few bytes each.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

__all__ = ["LoginLimiter"]


class LoginLimiter:
    """Counts login attempts per client address and per username.

    Example:
        >>> limiter = LoginLimiter("2/minute", "5/minute")
        >>> # [await limiter.attempt("10.0.0.1", "admin") for _ in range(3)] == [0, 0, 60]
    """

    def __init__(self, per_address: str, per_username: str, storage: Storage | None = None) -> None:
        self.per_address: list[RateLimitItem] = parse_many(per_address)
        self.per_username: list[RateLimitItem] = parse_many(per_username)
        self._windows = MovingWindowRateLimiter(storage or MemoryStorage())

    async def attempt(self, address: str | None, username: str) -> int:
        """Count one attempt; 0 when it may go ahead, else the seconds until the address or username may retry.

        Each window is hit (tested and counted in one step, so attempts made at the same moment cannot slip
        past the limit together); a window that refuses does not count the attempt, so waiting out the window
        always works. The address windows come first: a refused username still costs its sender.
        """
        user_key = hashlib.sha256(username.strip().casefold().encode("utf-8", "surrogateescape")).hexdigest()
        checks = [(limit, "address", address or "unknown") for limit in self.per_address]
        checks += [(limit, "username", user_key) for limit in self.per_username]
        for limit, kind, key in checks:
            if not await self._windows.hit(limit, "login", kind, key):
                stats = await self._windows.get_window_stats(limit, "login", kind, key)
                return max(1, math.ceil(stats.reset_time - time.time()))
        return 0
