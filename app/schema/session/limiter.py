"""How often one client address, and one username, may try a password.

Moving windows from the ``limits`` library, kept in process memory (each replica counts on its own).
Usernames are counted case-folded and hashed: a guesser gains nothing from ``Admin`` versus ``admin``,
and a flood of long names costs a fixed few bytes each.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

__all__ = ["LoginLimiter"]


class LoginLimiter:
    """Counts login attempts per client address and per username.

    Example:
        >>> limiter = LoginLimiter("2/minute", "5/minute")
        >>> [limiter.attempt("10.0.0.1", "admin") for _ in range(3)][-1] > 0
        True
    """

    def __init__(self, per_address: str, per_username: str) -> None:
        self.per_address: list[RateLimitItem] = parse_many(per_address)
        self.per_username: list[RateLimitItem] = parse_many(per_username)
        self._windows = MovingWindowRateLimiter(MemoryStorage())

    def attempt(self, address: str | None, username: str) -> float:
        """Count one attempt; 0 when it may go ahead, else the seconds until the address or username may retry.

        A refused attempt is not counted, so waiting out the window always works.
        """
        checks = [(limit, "address", address or "unknown") for limit in self.per_address]
        user_key = hashlib.sha256(username.strip().casefold().encode("utf-8", "surrogateescape")).hexdigest()
        checks += [(limit, "username", user_key) for limit in self.per_username]
        windows = self._windows
        refused = [(limit, kind, key) for limit, kind, key in checks if not windows.test(limit, "login", kind, key)]
        if refused:
            resets = [windows.get_window_stats(limit, "login", kind, key).reset_time for limit, kind, key in refused]
            return max(1, math.ceil(max(resets) - time.time()))
        for limit, kind, key in checks:
            windows.hit(limit, "login", kind, key)
        return 0
