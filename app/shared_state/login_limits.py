"""Login attempts counted across every replica: the ``limits`` library's Redis storage, with a fallback.

With ``REDIS_URL`` set, the moving windows of ``LoginLimiter`` live in Redis (``gateway:login...`` keys, through
the process's Redis connection pool; usernames keyed with ``REDIS_KEY_SECRET``), so a guesser spreading attempts
over replicas meets one limit. While Redis fails, each replica counts on its own (as without Redis), with the
warning and metric of ``app.shared_state.redis_link``.

Example:
    >>> # limiter = SharedLoginLimiter("5/minute", "10/minute", link=link, redis_url="redis://cache:6379/0")
    >>> # wait = await limiter.attempt("10.0.0.1", "admin")  -> 0, or seconds to wait
"""

from __future__ import annotations

from limits.aio.storage import RedisStorage
from limits.errors import StorageError

from app.keyed_names import KeyedNames
from app.schema.session.limiter import LoginLimiter
from app.shared_state.redis_link import REDIS_FAILURES, RedisLink

__all__ = ["SharedLoginLimiter", "limits_uri"]

_FAILURES: tuple[type[BaseException], ...] = (StorageError, *REDIS_FAILURES)


def limits_uri(redis_url: str) -> str:
    """The ``limits`` storage URI for a ``REDIS_URL`` (its asyncio flavour).

    Example:
        >>> limits_uri("redis://cache:6379/0")
        'async+redis://cache:6379/0'
        >>> limits_uri("unix:///run/redis.sock")
        'async+redis+unix:///run/redis.sock'
    """
    if redis_url.startswith("unix://"):
        return "async+redis+" + redis_url
    return "async+" + redis_url


class SharedLoginLimiter(LoginLimiter):
    """A ``LoginLimiter`` whose windows are in Redis, and one in this process for while Redis fails.

    Example:
        >>> link = RedisLink.from_url("redis://127.0.0.1:6379/0", timeout=0.5)
        >>> limiter = SharedLoginLimiter("10/minute", "5/minute", link=link, redis_url="redis://127.0.0.1:6379/0")
        >>> type(limiter.local).__name__
        'LoginLimiter'
    """

    def __init__(
        self, per_address: str, per_username: str, *, link: RedisLink, redis_url: str, names: KeyedNames | None = None
    ) -> None:
        storage = RedisStorage(
            limits_uri(redis_url),
            wrap_exceptions=True,
            implementation="redispy",
            key_prefix="gateway:login",
            connection_pool=link.client.connection_pool,  # type: ignore[arg-type]  # documented, typed too narrowly
        )
        super().__init__(per_address, per_username, storage, names=names)
        self.link = link
        self.local = LoginLimiter(per_address, per_username, names=names)

    async def attempt(self, address: str | None, username: str) -> int:
        if self.link.usable():
            try:
                wait = await super().attempt(address, username)
            except _FAILURES as error:
                self.link.failed("login_limit", error)
            else:
                self.link.succeeded()
                return wait
        return await self.local.attempt(address, username)
