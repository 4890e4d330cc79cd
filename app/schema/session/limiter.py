"""How often one client address, and one username, may try a password.

Moving windows from the ``limits`` library (its asyncio API), kept in process memory: each replica counts
on its own. Any other ``limits.aio`` storage (Redis) can be passed in to share the counts between replicas.
Usernames are counted case-folded and keyed (an HMAC under ``REDIS_KEY_SECRET``, ``app.keyed_names``): a
guesser gains nothing from ``Admin`` versus ``admin``, a flood of long names costs a fixed few bytes each, and
whoever reads the counters (in Redis) cannot test guessed usernames against them. An IPv6 client is counted by
its /64 network, the block one subscriber usually holds: a fresh address from it is not a fresh allowance.
"""

from __future__ import annotations

import ipaddress
import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from app.keyed_names import KeyedNames, process_names

__all__ = ["LoginLimiter", "address_key"]


class LoginLimiter:
    """Counts login attempts per client address and per username.

    Example:
        >>> limiter = LoginLimiter("2/minute", "5/minute")
        >>> # [await limiter.attempt("10.0.0.1", "admin") for _ in range(3)] == [0, 0, 60]
    """

    def __init__(
        self, per_address: str, per_username: str, storage: Storage | None = None, *, names: KeyedNames | None = None
    ) -> None:
        self.per_address: list[RateLimitItem] = parse_many(per_address)
        self.per_username: list[RateLimitItem] = parse_many(per_username)
        self.names = names or process_names()
        self._windows = MovingWindowRateLimiter(storage or MemoryStorage())

    async def attempt(self, address: str | None, username: str) -> int:
        """Count one attempt; 0 when it may go ahead, else the seconds until the address or username may retry.

        Each window is hit (tested and counted in one step, so attempts made at the same moment cannot slip
        past the limit together); a window that refuses does not count the attempt, so waiting out the window
        always works. The address windows come first: a refused username still costs its sender.
        """
        user_key = self.names.digest("login-username", username.strip().casefold())
        client = address_key(address)
        checks = [(limit, "address", client) for limit in self.per_address]
        checks += [(limit, "username", user_key) for limit in self.per_username]
        for limit, kind, key in checks:
            if not await self._windows.hit(limit, "login", kind, key):
                stats = await self._windows.get_window_stats(limit, "login", kind, key)
                return max(1, math.ceil(stats.reset_time - time.time()))
        return 0


def address_key(address: str | None) -> str:
    """What the address limit counts: an IPv4 address as is, an IPv6 address by its /64 network.

    Example:
        >>> address_key("2001:db8:1:2:aaaa::1"), address_key("203.0.113.7"), address_key(None)
        ('2001:db8:1:2::/64', '203.0.113.7', 'unknown')
    """
    if not address:
        return "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address  # a unix socket path or a test client's name: count it as given
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)
