"""The process's link to Redis, and what happens when Redis fails: in-process state, one warning, a metric.

Every shared store asks the link before using Redis. A failure switches Redis off for ``cool_down`` seconds
(the stores then answer from their in-process fallback), logs one WARNING (not one per request), and counts
``gateway_redis_errors_total{operation}``; the first success afterwards logs that Redis is back. Nothing of
the error's text is logged: it may carry the URL and its password.

Example:
    >>> link = RedisLink.from_url("redis://127.0.0.1:6379/0", timeout=0.5)
    >>> link.usable()
    True
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from app.observability import REDIS_ERRORS

__all__ = ["REDIS_FAILURES", "RedisLink"]

log = logging.getLogger("app.redis")

# What a Redis call may raise when Redis is down, slow or confused; anything else is a bug of ours.
REDIS_FAILURES: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


class RedisLink:
    """One pooled asyncio Redis client and its health."""

    def __init__(self, client: Redis, *, cool_down: float = 2.0) -> None:
        self.client = client
        self.cool_down = cool_down
        self._down_until = 0.0
        self._degraded = False

    @classmethod
    def from_url(cls, url: str, *, timeout: float, cool_down: float = 2.0) -> RedisLink:
        """A link to ``url`` whose calls give up after ``timeout`` seconds.

        A call is sent again once only after a connection error (a pooled connection that a restarted Redis
        closed; every shared-state call may run twice), never after a timeout: the fallback answers then.
        """
        client = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError],
            health_check_interval=0,
        )
        return cls(client, cool_down=cool_down)

    def usable(self) -> bool:
        """False while Redis is switched off after a failure."""
        return not self._degraded or time.monotonic() >= self._down_until

    @property
    def degraded(self) -> bool:
        """True between a failure and the next success."""
        return self._degraded

    def failed(self, operation: str, error: BaseException) -> None:
        """Record a failure of ``operation``: metric always, a WARNING only when Redis was healthy."""
        REDIS_ERRORS.labels(operation).inc()
        self._down_until = time.monotonic() + self.cool_down
        if not self._degraded:
            self._degraded = True
            log.warning(
                "Redis failed; shared state falls back to this process",
                extra={"operation": operation, "error_type": type(error).__name__},
            )

    def succeeded(self) -> None:
        """Record a success; the first one after a failure says Redis is back."""
        if self._degraded:
            self._degraded = False
            log.info("Redis is back; shared state is shared again")

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()
