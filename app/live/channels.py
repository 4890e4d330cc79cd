"""Listening to Redis channels: one pub/sub connection per replica, its messages handed to each channel's receiver.

A receiver (the Redis hub's watch of one key) asks ``listening(channel)`` each interval and ``listen``s again when
not: after Redis failed the reader task has stopped, and the next ``listen`` opens a new connection subscribed to
every channel still listened to. ``listen`` returns once Redis confirmed the subscription, so a message published
after it returns is never missed.

Example:
    >>> # await listener.listen("gateway:live:<h>", watch)   # watch.received(message) for each message
    >>> # await listener.forget("gateway:live:<h>", watch)
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from redis.asyncio.client import PubSub

from app.shared_state.redis_link import REDIS_FAILURES, RedisLink

__all__ = ["ChannelListener", "Receiver"]


class Receiver(Protocol):
    """Whoever a channel's messages go to."""

    def received(self, message: bytes) -> None:
        """One message of the channel (called in the reader task: it must not block)."""
        ...


class ChannelListener:
    """This replica's one pub/sub connection: whom each channel's messages go to, and the task reading them.

    Example:
        >>> from app.shared_state.redis_link import RedisLink
        >>> listener = ChannelListener(RedisLink.from_url("redis://127.0.0.1:6379/0", timeout=0.5), timeout=0.5)
        >>> listener.listening("gateway:live:abc")
        False
    """

    def __init__(self, link: RedisLink, timeout: float) -> None:
        self.link = link
        self.timeout = timeout
        self._lock = asyncio.Lock()  # one reconnection at a time
        self._receivers: dict[str, Receiver] = {}
        self._confirmed: dict[str, asyncio.Event] = {}
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None

    def listening(self, channel: str) -> bool:
        """True while messages of ``channel`` reach its receiver."""
        confirmed = self._confirmed.get(channel)
        return self._reader is not None and not self._reader.done() and confirmed is not None and confirmed.is_set()

    async def listen(self, channel: str, receiver: Receiver) -> None:
        """Send ``channel``'s messages to ``receiver`` from now on (returns once Redis confirmed the subscription).

        Raises:
            RedisError, OSError, TimeoutError: Redis failed, or did not confirm within ``timeout`` seconds.
        """
        self._receivers[channel] = receiver
        confirmed = self._confirmed[channel] = asyncio.Event()
        async with self._lock:
            if self._pubsub is None or self._reader is None or self._reader.done():
                await self._reconnect()
            else:
                await self._pubsub.subscribe(channel)
        await asyncio.wait_for(confirmed.wait(), self.timeout)

    async def forget(self, channel: str, receiver: Receiver) -> None:
        """``receiver`` no longer listens to ``channel`` (unless another receiver took the channel over)."""
        if self._receivers.get(channel) is not receiver:
            return
        del self._receivers[channel]
        self._confirmed.pop(channel, None)
        if self._pubsub is None or self._reader is None or self._reader.done():
            return
        try:
            await self._pubsub.unsubscribe(channel)
        except REDIS_FAILURES as error:
            self.link.failed("live_listen", error)

    async def aclose(self) -> None:
        """Stop reading and close the connection."""
        await self._close()
        self._receivers.clear()
        self._confirmed.clear()

    async def _reconnect(self) -> None:
        await self._close()
        pubsub = self._pubsub = self.link.client.pubsub()
        await pubsub.subscribe(*self._receivers)
        self._reader = asyncio.get_running_loop().create_task(self._read(pubsub), name="live channel reader")

    async def _close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        if self._pubsub is not None:
            pubsub, self._pubsub = self._pubsub, None
            try:
                await pubsub.aclose()
            except REDIS_FAILURES:
                pass  # a connection Redis already dropped

    async def _read(self, pubsub: PubSub) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is None:
                    continue
                channel = message["channel"].decode()
                if message["type"] == "subscribe":
                    event = self._confirmed.get(channel)
                    if event is not None:
                        event.set()
                elif message["type"] == "message" and channel in self._receivers:
                    self._receivers[channel].received(message["data"])
        except REDIS_FAILURES as error:
            self.link.failed("live_listen", error)
            for event in self._confirmed.values():
                event.clear()
