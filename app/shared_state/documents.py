"""Persisted (APQ) documents shared by every replica: Redis behind each replica's own LRU.

The endpoint asks its in-process LRU first; only a miss reaches Redis. A document found there is treated like
one the client sent with its hash (hash verified, parsed, validated, then kept in the local LRU), so what
Redis holds is never trusted blindly. A document one replica accepted is written to Redis, to expire after
``ttl`` seconds unless registered again. While Redis fails, a miss is a miss (the client resends the
document, as APQ clients do) and nothing is written.

Example:
    >>> # documents = SharedDocuments(link, ttl=86400)
    >>> # await documents.remember(digest, "{ a }"); await documents.lookup(digest)  -> '{ a }'
"""

from __future__ import annotations

from app.shared_state.redis_link import REDIS_FAILURES, RedisLink

__all__ = ["SharedDocuments"]


class SharedDocuments:
    """sha256 -> document in Redis (``gateway:apq:<sha256>``).

    Example:
        >>> link = RedisLink.from_url("redis://127.0.0.1:6379/0", timeout=0.5)
        >>> SharedDocuments(link, ttl=86400).prefix
        'gateway:apq:'
    """

    prefix = "gateway:apq:"

    def __init__(self, link: RedisLink, ttl: int) -> None:
        self.link = link
        self.ttl = ttl

    async def lookup(self, digest: str) -> str | None:
        """The document another replica registered under ``digest``, or None (also while Redis fails)."""
        if not self.link.usable():
            return None
        try:
            found = await self.link.client.get(self.prefix + digest)
        except REDIS_FAILURES as error:
            self.link.failed("apq_lookup", error)
            return None
        self.link.succeeded()
        if not isinstance(found, bytes):
            return None
        try:
            return found.decode()
        except UnicodeDecodeError:
            return None

    async def remember(self, digest: str, document: str) -> None:
        """Share an accepted document with the other replicas (nothing while Redis fails)."""
        if not self.link.usable():
            return
        try:
            await self.link.client.set(self.prefix + digest, document.encode(), ex=self.ttl)
        except REDIS_FAILURES as error:
            self.link.failed("apq_remember", error)
        else:
            self.link.succeeded()
