"""The poller hub: one upstream poll per watched set per interval, fanned out to every subscriber.

Bifrost pushes no usage, so live data is polled. A subscription names what it watches (a ``WatchKey``: whose
credentials, which topic, which ids) and how to read it once (``poll``: an awaitable returning a JSON-like
``Snapshot``). The hub runs one poller per distinct key, however many subscribers share it:

* the first subscriber of a key starts its poller; the poller polls at once, then every ``interval`` (measured
  from the start of one poll to the start of the next);
* a snapshot equal to the previous one is not published (subscribers only ever see a change, or the first);
* a subscriber joining a running poller gets the latest snapshot at once, then what the others get;
* each subscriber has a bounded queue: one that falls ``queue_size`` snapshots behind is dropped (its iterator
  raises ``SubscriberDropped``), never buffered without bound;
* a poll that raises ends the watch of every subscriber of that key with that error (a 401 from Bifrost after
  a logout ends the stream); the next subscriber starts a fresh poller. An error the hub is told to ``tolerate``
  (Bifrost unavailable or slow for a moment) only skips that interval, up to ``max_failures`` in a row, so a blip
  does not end a thousand streams at once;
* when the last subscriber leaves, the poller is cancelled: nothing polls when nobody listens.

The interface other hubs implement (a Redis-backed hub shares one poller per key across replicas through
pub/sub and hands pollers over when a replica dies) is ``LiveHub``::

    class LiveHub(Protocol):
        def watch(self, key: WatchKey, poll: Callable[[], Awaitable[Snapshot]]) -> AsyncGenerator[Snapshot, None]: ...

``WatchKey.channel`` is a stable string naming the key (the credentials appear only as an HMAC under
``REDIS_KEY_SECRET``: ``credentials_digest``), fit for a pub/sub channel; a ``Snapshot`` is JSON-serialisable
(dicts, lists, strings, numbers, booleans, None), so it can cross a process boundary as it is. The iterator is
closed (``aclose``) by the subscriber when it leaves.

The hub's clock is injectable: it waits between polls with ``sleep(interval)``, so tests release each interval
themselves instead of sleeping.

Example:
    >>> import asyncio
    >>> async def main():
    ...     hub = LocalHub(interval=2.0)
    ...     async def poll():
    ...         return {"usage": 1}
    ...     stream = hub.watch(WatchKey("budgetUsage", "creds", ("team:t1",)), poll)
    ...     first = await anext(stream)
    ...     await stream.aclose()
    ...     return first, hub.active_keys()
    >>> asyncio.run(main())
    ({'usage': 1}, 0)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from app.keyed_names import KeyedNames

__all__ = [
    "LiveHub",
    "LocalHub",
    "Observe",
    "Poll",
    "Sleep",
    "Snapshot",
    "SubscriberDropped",
    "WatchKey",
    "credentials_digest",
]

log = logging.getLogger("app.live")

Snapshot: TypeAlias = Any
"""A JSON-serialisable value: what one poll read."""
Poll: TypeAlias = Callable[[], Awaitable[Snapshot]]
Sleep: TypeAlias = Callable[[float], Awaitable[None]]
Observe: TypeAlias = Callable[[str, str], None]
"""Called with ``(topic, what)``: ``ok`` or ``error`` after each poll, ``dropped`` for each subscriber dropped."""


class SubscriberDropped(Exception):
    """A subscriber fell too far behind the poller and was dropped."""


@dataclass(frozen=True, slots=True)
class WatchKey:
    """What a poller reads and for whom: subscribers with equal keys share one poller.

    Attributes:
        topic: what is polled (a subscription field, e.g. ``budgetUsage``).
        credentials: a keyed digest of the credentials the poll sends (``credentials_digest``), never the credentials.
        watched: the watched set, normalised (sorted, no duplicates) so equal sets make equal keys.

    Example:
        >>> WatchKey("budgetUsage", "abc", ("team:t1", "virtual_key:k2")).channel
        'live:budgetUsage:abc:team:t1,virtual_key:k2'
    """

    topic: str
    credentials: str
    watched: tuple[str, ...]

    @property
    def channel(self) -> str:
        """A stable name for the key, fit for a pub/sub channel or a lock."""
        return f"live:{self.topic}:{self.credentials}:{','.join(self.watched)}"


def credentials_digest(names: KeyedNames, headers: Mapping[str, str]) -> str:
    """A keyed digest of the credential headers a poll sends: equal credentials (and secret), equal digest.

    Keyed (``app.keyed_names``): the digest ends up in Redis names, where a plain hash would let anyone who reads
    them test guesses of a token offline.

    Example:
        >>> from app.keyed_names import KeyedNames
        >>> names = KeyedNames(b"s" * 32)
        >>> credentials_digest(names, {"authorization": "Bearer a"}) == credentials_digest(
        ...     names, {"Authorization": "Bearer a"}
        ... )
        True
        >>> credentials_digest(names, {}) == credentials_digest(names, {"authorization": "Bearer a"})
        False
    """
    lowered = sorted((name.lower(), value) for name, value in headers.items())
    return names.digest("live-credentials", *(part for pair in lowered for part in pair))[:32]


class LiveHub(Protocol):
    """Shares one poll per ``WatchKey`` between every subscriber of it (see the module docstring)."""

    def watch(self, key: WatchKey, poll: Poll) -> AsyncGenerator[Snapshot, None]:
        """The snapshots of ``key``: the latest at once, then each change; ``poll`` reads one when needed."""
        ...


class _End:
    """The last item of a subscriber's queue: the error that ended the watch."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Subscriber:
    __slots__ = ("queue",)

    def __init__(self, size: int) -> None:
        # One slot more than the allowance: an ending is always delivered, even to a full queue.
        self.queue: asyncio.Queue[Snapshot | _End] = asyncio.Queue(size + 1)

    def end(self, error: BaseException) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()  # what it had not read yet no longer matters
        self.queue.put_nowait(_End(error))


class _Poller:
    def __init__(self, hub: LocalHub, key: WatchKey, poll: Poll) -> None:
        self.hub, self.key, self.poll = hub, key, poll
        self.subscribers: set[_Subscriber] = set()
        self.latest: Snapshot | None = None
        self.has_latest = False
        self.polls = 0
        self.failures = 0  # tolerated failures in a row
        self.task: asyncio.Task[None] | None = None

    def join(self) -> _Subscriber:
        subscriber = _Subscriber(self.hub.queue_size)
        self.subscribers.add(subscriber)
        if self.has_latest:
            subscriber.queue.put_nowait(self.latest)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run(), name=f"live poller {self.key.topic}")
        return subscriber

    def leave(self, subscriber: _Subscriber) -> None:
        self.subscribers.discard(subscriber)
        if not self.subscribers:
            self.stop()

    def stop(self) -> None:
        self.hub._forget(self)
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                snapshot = await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the poll's own error is what subscribers see (typed by the caller)
                self.hub.observe(self.key.topic, "error")
                self.failures += 1
                if not self.hub.tolerate(error) or self.failures >= self.hub.max_failures:
                    self._end_all(error)
                    return
                await self.hub.sleep(max(self.hub.interval - (loop.time() - started), 0.0))
                continue
            self.failures = 0
            self.polls += 1
            self.hub.observe(self.key.topic, "ok")
            if not (self.has_latest and snapshot == self.latest):
                self.latest, self.has_latest = snapshot, True
                self._publish(snapshot)
            # A poll starts every interval (a slow poll shortens the wait, never adds to the period).
            await self.hub.sleep(max(self.hub.interval - (loop.time() - started), 0.0))

    def _publish(self, snapshot: Snapshot) -> None:
        for subscriber in list(self.subscribers):
            if subscriber.queue.qsize() >= self.hub.queue_size:
                self.subscribers.discard(subscriber)
                subscriber.end(SubscriberDropped(_DROPPED))
                log.warning("live subscriber dropped", extra={"topic": self.key.topic, "reason": "slow"})
                self.hub.observe(self.key.topic, "dropped")
            else:
                subscriber.queue.put_nowait(snapshot)
        if not self.subscribers:
            self.stop()

    def _end_all(self, error: BaseException) -> None:
        self.hub._forget(self)
        for subscriber in self.subscribers:
            subscriber.end(error)
        self.subscribers.clear()


def _ignore(topic: str, what: str) -> None:
    return None


def _never(error: BaseException) -> bool:
    return False


_DROPPED = "the subscriber did not keep up with the updates and was dropped; subscribe again"


class LocalHub:
    """The in-process hub: one poller task per ``WatchKey`` of this process.

    Args:
        interval: seconds from the start of one poll to the start of the next (``LIVE_POLL_INTERVAL``).
        queue_size: snapshots a subscriber may fall behind before it is dropped.
        sleep: how the poller waits between polls (tests pass a clock they step).
        observe: told of each poll's outcome and each subscriber dropped (metrics).
        tolerate: which poll errors only skip an interval (default: none).
        max_failures: tolerated failures in a row after which the watch ends with the last one.
    """

    def __init__(
        self,
        interval: float,
        *,
        queue_size: int = 8,
        sleep: Sleep = asyncio.sleep,
        observe: Observe | None = None,
        tolerate: Callable[[BaseException], bool] | None = None,
        max_failures: int = 3,
    ) -> None:
        if interval <= 0 or queue_size < 1 or max_failures < 1:
            raise ValueError("interval must be positive, queue_size and max_failures at least 1")
        self.interval = interval
        self.queue_size = queue_size
        self.sleep = sleep
        self.observe: Observe = observe or _ignore
        self.tolerate: Callable[[BaseException], bool] = tolerate or _never
        self.max_failures = max_failures
        self._pollers: dict[WatchKey, _Poller] = {}

    async def watch(self, key: WatchKey, poll: Poll) -> AsyncGenerator[Snapshot, None]:
        """See ``LiveHub.watch``; raises ``SubscriberDropped`` for a subscriber that fell behind."""
        poller = self._pollers.get(key)
        if poller is None:
            poller = self._pollers[key] = _Poller(self, key, poll)
        subscriber = poller.join()
        try:
            while True:
                item = await subscriber.queue.get()
                if isinstance(item, _End):
                    raise item.error.with_traceback(None)  # one error, raised in every subscriber's task
                yield item
        finally:
            poller.leave(subscriber)

    def active_keys(self) -> int:
        """How many keys are being polled now."""
        return len(self._pollers)

    def polls(self, key: WatchKey) -> int:
        """How many polls the running poller of ``key`` has completed (0 when none runs)."""
        poller = self._pollers.get(key)
        return poller.polls if poller is not None else 0

    def subscribers(self, key: WatchKey) -> int:
        """How many subscribers share the poller of ``key`` now."""
        poller = self._pollers.get(key)
        return len(poller.subscribers) if poller is not None else 0

    def _forget(self, poller: _Poller) -> None:
        if self._pollers.get(poller.key) is poller:
            del self._pollers[poller.key]
