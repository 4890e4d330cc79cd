"""Everything a replica shares with the others, built once from settings.

With ``REDIS_URL`` set, the stores keep their state in Redis (falling back to this process while Redis
fails); without it, they are the in-process stores a single gateway always had.

Example:
    >>> from app.settings import Settings
    >>> SharedState.from_settings(Settings()).redis is None
    True
"""

from __future__ import annotations

from app.keyed_names import KeyedNames, keyed_names, process_names
from app.schema.session.limiter import LoginLimiter
from app.settings import Settings
from app.shared_state.documents import SharedDocuments
from app.shared_state.idempotency import IdempotencyStore, InProcessIdempotencyStore, SharedIdempotencyStore
from app.shared_state.login_limits import SharedLoginLimiter
from app.shared_state.redis_link import RedisLink

__all__ = ["SharedState"]


class SharedState:
    """The process's shared stores and its Redis link (None without ``REDIS_URL``).

    ``documents`` is None without Redis: each replica's APQ LRU is then all there is. ``names`` keys every name
    derived from a credential (``REDIS_KEY_SECRET``, or this process's own secret: ``app.keyed_names``).
    """

    def __init__(
        self,
        redis: RedisLink | None,
        idempotency: IdempotencyStore,
        login_limiter: LoginLimiter,
        documents: SharedDocuments | None = None,
        *,
        names: KeyedNames | None = None,
    ) -> None:
        self.redis = redis
        self.idempotency = idempotency
        self.login_limiter = login_limiter
        self.documents = documents
        self.names = names or process_names()

    @classmethod
    def from_settings(cls, settings: Settings) -> SharedState:
        """The stores ``settings`` ask for."""
        ttl, lease = settings.idempotency_ttl, settings.idempotency_lease
        per_address, per_username = settings.login_rate_limit_per_address, settings.login_rate_limit_per_username
        secret = settings.redis_key_secret.get_secret_value() if settings.redis_key_secret is not None else None
        names = keyed_names(secret, shared_through_redis=settings.redis_url is not None)
        if settings.redis_url is None:
            limiter = LoginLimiter(per_address, per_username, names=names)
            return cls(None, InProcessIdempotencyStore(ttl, lease), limiter, names=names)
        url = settings.redis_url.get_secret_value()
        link = RedisLink.from_url(url, timeout=settings.redis_timeout)
        return cls(
            link,
            SharedIdempotencyStore(link, ttl, lease),
            SharedLoginLimiter(per_address, per_username, link=link, redis_url=url, names=names),
            SharedDocuments(link, settings.apq_shared_ttl),
            names=names,
        )

    async def aclose(self) -> None:
        """Close the Redis connection pool, if any."""
        if self.redis is not None:
            await self.redis.aclose()
