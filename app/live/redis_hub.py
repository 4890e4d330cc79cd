"""The Redis hub: one poll per watched set across every replica, its snapshots fanned out through pub/sub.

With ``REDIS_URL`` set, the replicas share their pollers. For each ``WatchKey`` that has subscribers somewhere:

* every replica with subscribers of the key competes for the key's lease (``SET NX PX``); the holder renews it
  each interval, polls, stores the snapshot (for replicas that join later) and PUBLISHes it on the key's channel;
  the other replicas listen on the channel and fan each snapshot out to their own subscribers, as ``LocalHub``
  does (the latest at once, then each change; a subscriber that falls behind is dropped);
* a holder that dies, hangs or loses Redis stops renewing its lease, and a replica still watching the key takes
  it over within about one lease period (``LIVE_POLL_LEASE``, three intervals unless set); a holder whose last
  subscriber leaves gives the lease up at once and says so on the channel, so another replica takes over at once;
* only the current holder can publish (the lease is checked in the same script), and each message carries the
  time of Redis's clock, so a replica never goes back to an older snapshot;
* a poll that fails ends this replica's subscribers with the error (as ``LocalHub``) and gives the lease up;
  each other replica watching the key then polls once for itself and meets its own answer. An error the hub is
  told to ``tolerate`` (Bifrost unavailable for a moment) only skips the interval, up to ``max_failures`` in a
  row, the lease kept;
* while Redis fails (the link's warning and ``gateway_redis_errors_total``), each replica polls for itself, as
  ``LocalHub`` does, and competes for the lease again once Redis answers. A subscription never fails for Redis;
* nothing polls when nobody listens: a replica without subscribers of a key neither polls nor holds its lease.

What Redis holds (``<h>``: SHA-256 of the key's channel, whose credentials part is an HMAC under
``REDIS_KEY_SECRET`` already (``credentials_digest``), so a name cannot be checked against a guessed token
without the secret; no credential or header is ever written, and ids only inside snapshots):

    gateway:live:lease:<h>    the holder's random token                        expires after the lease period
    gateway:live:latest:<h>   "<Redis time, µs> <snapshot JSON>"                expires after the lease period
    gateway:live:<h>          the channel: the same messages, or "handover"

Example:
    >>> # hub = RedisHub(link, interval=2.0)                       # link: app.shared_state.RedisLink
    >>> # async for snapshot in hub.watch(key, poll): ...          # as LocalHub.watch
    >>> # await hub.aclose()                                       # at shutdown: leases given up at once
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
import secrets
from collections.abc import AsyncGenerator, Callable
from typing import Any

import orjson

from app.live.channels import ChannelListener
from app.live.hub import LocalHub, Observe, Poll, Sleep, Snapshot, SubscriberDropped, WatchKey
from app.settings import Settings
from app.shared_state.redis_link import REDIS_FAILURES, RedisLink

__all__ = ["RedisHub", "Role", "hub_for"]

log = logging.getLogger("app.live")

PREFIX = "gateway:live:"
HANDOVER = b"handover"

# KEYS: lease. ARGV: token, lease ms. 1 when the caller holds the lease now (taken or renewed), else 0.
_CLAIM = """
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# KEYS: lease, latest. ARGV: token, snapshot JSON, lease ms, channel.
# The message's time in µs (Redis's clock, so comparable between holders), or 0 when the caller lost the lease.
_PUBLISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local now = redis.call('TIME')
local stamp = string.format('%.0f', tonumber(now[1]) * 1000000 + tonumber(now[2]))
local message = stamp .. ' ' .. ARGV[2]
redis.call('SET', KEYS[2], message, 'PX', ARGV[3])
redis.call('PUBLISH', ARGV[4], message)
return tonumber(stamp)
"""

# KEYS: lease. ARGV: token, channel. Gives the lease up if the caller holds it, and says so on the channel.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], 'handover')
  return 1
end
return 0
"""


def hub_for(
    settings: Settings,
    redis: RedisLink | None,
    *,
    observe: Observe | None = None,
    tolerate: Callable[[BaseException], bool] | None = None,
) -> LocalHub | RedisHub:
    """The hub ``settings`` ask for: shared by the replicas through ``redis``, or this process's own without it.

    Example:
        >>> type(hub_for(Settings(), None)).__name__
        'LocalHub'
    """
    if redis is None:
        return LocalHub(
            settings.live_poll_interval, queue_size=settings.live_subscriber_queue, observe=observe, tolerate=tolerate
        )
    return RedisHub(
        redis,
        settings.live_poll_interval,
        lease=settings.live_poll_lease,
        queue_size=settings.live_subscriber_queue,
        observe=observe,
        timeout=settings.redis_timeout,
        tolerate=tolerate,
    )


class Role(enum.Enum):
    """What a replica does for a key this interval."""

    HOLDER = "holder"  # polls and publishes
    FOLLOWER = "follower"  # receives what the holder publishes
    LOCAL = "local"  # polls for itself: Redis fails


class RedisHub:
    """A ``LiveHub`` whose pollers are shared by every replica through Redis (see the module docstring).

    Args:
        link: the process's Redis link (``app.shared_state.RedisLink``), with its health and fallback.
        interval: seconds from the start of one round (lease, then poll or not) to the next (``LIVE_POLL_INTERVAL``).
        lease: seconds a lease lasts unless renewed (``LIVE_POLL_LEASE``; three intervals when None). Must
            exceed the interval; a holder whose poll takes longer than this meets a second poller meanwhile.
        queue_size: snapshots a subscriber may fall behind before it is dropped.
        sleep: how a poller waits between intervals (tests pass a clock they step).
        observe: told of each poll's outcome and each subscriber dropped (metrics).
        timeout: seconds Redis has to confirm a subscription to a channel (``REDIS_TIMEOUT``).
        tolerate: which poll errors only skip an interval (as ``LocalHub``; default: none).
        max_failures: tolerated failures in a row after which this replica's watch ends with the last one.

    Example:
        >>> from app.shared_state.redis_link import RedisLink
        >>> hub = RedisHub(RedisLink.from_url("redis://127.0.0.1:6379/0", timeout=0.5), interval=2.0)
        >>> hub.lease, hub.active_keys()
        (6.0, 0)
    """

    def __init__(
        self,
        link: RedisLink,
        interval: float,
        *,
        lease: float | None = None,
        queue_size: int = 8,
        sleep: Sleep = asyncio.sleep,
        observe: Observe | None = None,
        timeout: float = 0.5,
        tolerate: Callable[[BaseException], bool] | None = None,
        max_failures: int = 3,
    ) -> None:
        lease = 3 * interval if lease is None else lease
        if interval <= 0 or queue_size < 1 or lease <= interval or max_failures < 1:
            raise ValueError(
                "interval must be positive, the lease longer than it, queue_size and max_failures at least 1"
            )
        self.tolerate: Callable[[BaseException], bool] = tolerate or _never
        self.max_failures = max_failures
        self.link = link
        self.interval = interval
        self.lease = lease
        self.queue_size = queue_size
        self.sleep = sleep
        self.observe: Observe = observe or _ignore
        self.listener = ChannelListener(link, timeout)
        self.claim_script = link.client.register_script(_CLAIM)
        self.publish_script = link.client.register_script(_PUBLISH)
        self.release_script = link.client.register_script(_RELEASE)
        self._watches: dict[WatchKey, _Watch] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def watch(self, key: WatchKey, poll: Poll) -> AsyncGenerator[Snapshot, None]:
        """See ``LiveHub.watch``; raises ``SubscriberDropped`` for a subscriber that fell behind."""
        watch = self._watches.get(key)
        if watch is None:
            watch = self._watches[key] = _Watch(self, key, poll)
        subscriber = watch.join()
        try:
            while True:
                item = await subscriber.get()
                if isinstance(item, _End):
                    raise item.error.with_traceback(None)  # one error, raised in every subscriber's task
                yield item
        finally:
            watch.leave(subscriber)

    def active_keys(self) -> int:
        """How many keys this replica watches now (polling, or listening to another replica's polls)."""
        return len(self._watches)

    def role(self, key: WatchKey) -> Role | None:
        """What this replica did for ``key`` this interval (None: it does not watch it, or has not started)."""
        watch = self._watches.get(key)
        return watch.role if watch is not None else None

    def polls(self, key: WatchKey) -> int:
        """How many polls this replica ran for ``key`` since it started watching it."""
        watch = self._watches.get(key)
        return watch.polls if watch is not None else 0

    async def aclose(self) -> None:
        """Stop every watch and give up the leases this replica holds (other replicas take over at once)."""
        for watch in list(self._watches.values()):
            watch.stop()
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.listener.aclose()

    def _forget(self, watch: _Watch) -> None:
        if self._watches.get(watch.key) is watch:
            del self._watches[watch.key]

    def _in_background(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


class _End:
    """The last item of a subscriber's queue: the error that ended the watch."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Subscriber(asyncio.Queue[Any]):
    def __init__(self, size: int) -> None:
        super().__init__(size + 1)  # one slot more than the allowance: an ending is always delivered

    def end(self, error: BaseException) -> None:
        while not self.empty():
            self.get_nowait()  # what it had not read yet no longer matters
        self.put_nowait(_End(error))


_DROPPED = "the subscriber did not keep up with the updates and was dropped; subscribe again"


class _Watch:
    """This replica's share of one key: its subscribers, and the task that polls or listens for them."""

    def __init__(self, hub: RedisHub, key: WatchKey, poll: Poll) -> None:
        self.hub, self.key, self.poll = hub, key, poll
        name = hashlib.sha256(key.channel.encode()).hexdigest()
        self.channel = PREFIX + name
        self.lease_key = f"{PREFIX}lease:{name}"
        self.latest_key = f"{PREFIX}latest:{name}"
        self.token = secrets.token_hex(16)  # whose lease it is: this watch's, not this replica's other ones
        self.subscribers: set[_Subscriber] = set()
        self.latest: Snapshot | None = None
        self.has_latest = False
        self.stamp = 0  # Redis time of the newest snapshot taken from Redis: older ones are ignored
        self.caught_up = False  # read the stored snapshot since (re)starting to listen
        self.role: Role | None = None
        self.polls = 0
        self.failures = 0  # tolerated poll failures in a row
        self.handed_over = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.stopped = False

    def join(self) -> _Subscriber:
        subscriber = _Subscriber(self.hub.queue_size)
        self.subscribers.add(subscriber)
        if self.has_latest:
            subscriber.put_nowait(self.latest)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run(), name=f"live watch {self.key.topic}")
        return subscriber

    def leave(self, subscriber: _Subscriber) -> None:
        self.subscribers.discard(subscriber)
        if not self.subscribers:
            self.stop()

    def stop(self) -> None:
        """Nobody here listens any more: stop polling and listening, give the lease up."""
        if self.stopped:
            return
        self.stopped = True
        self.hub._forget(self)
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()
        self.hub._in_background(self._give_up())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.stopped:
            started = loop.time()
            self.role = await self._claim()
            if self.role is Role.FOLLOWER:
                await self._catch_up()
            else:
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
                    # A blip: skip this interval, lease kept (the others see nothing new, as after no change).
                    await self._next_interval(max(self.hub.interval - (loop.time() - started), 0.0))
                    continue
                self.failures = 0
                self.polls += 1
                self.hub.observe(self.key.topic, "ok")
                self.deliver(snapshot)  # may stop the watch: its last subscriber was too slow
                if self.role is Role.HOLDER and not self.stopped:
                    await self._share(snapshot)
            if not self.stopped:
                # A round starts every interval (a slow poll shortens the wait, as in LocalHub).
                await self._next_interval(max(self.hub.interval - (loop.time() - started), 0.0))

    async def _claim(self) -> Role:
        """Take or renew the lease; LOCAL while Redis fails (or this replica cannot listen to the channel)."""
        self.handed_over.clear()
        link = self.hub.link
        if not link.usable():
            return Role.LOCAL
        try:
            if not self.hub.listener.listening(self.channel):
                self.caught_up = False
                await self.hub.listener.listen(self.channel, self)
            held = await self.hub.claim_script(keys=[self.lease_key], args=[self.token, self._lease_ms])
        except REDIS_FAILURES as error:
            link.failed("live_lease", error)
            return Role.LOCAL
        link.succeeded()
        return Role.HOLDER if held == 1 else Role.FOLLOWER

    async def _catch_up(self) -> None:
        """A follower that just started listening reads the holder's last snapshot instead of waiting for the next."""
        if self.caught_up:
            return
        try:
            stored = await self.hub.link.client.get(self.latest_key)
        except REDIS_FAILURES as error:
            self.hub.link.failed("live_latest", error)
            return
        self.caught_up = True
        if isinstance(stored, bytes):
            self.received(stored)

    async def _share(self, snapshot: Snapshot) -> None:
        try:
            body = orjson.dumps(snapshot)
        except TypeError:
            # A bug of the topic's poll; this replica's subscribers have it, the others poll for themselves later.
            log.error("live: a snapshot is not JSON and was not shared", extra={"topic": self.key.topic})
            return
        args: list[bytes | str | int] = [self.token, body, self._lease_ms, self.channel]
        try:
            stamp = await self.hub.publish_script(keys=[self.lease_key, self.latest_key], args=args)
        except REDIS_FAILURES as error:
            self.hub.link.failed("live_publish", error)
            return
        self.hub.link.succeeded()
        if isinstance(stamp, int) and stamp > self.stamp:
            self.stamp = stamp  # its own message, when it comes back, is not news

    async def _next_interval(self, wait: float) -> None:
        """The interval's end; a follower also wakes when the holder gives the lease up, to take it at once."""
        if self.role is not Role.FOLLOWER:
            await self.hub.sleep(wait)
            return
        waits = [
            asyncio.ensure_future(self.hub.sleep(wait)),
            asyncio.ensure_future(self.handed_over.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    def received(self, message: bytes) -> None:
        """A message on the key's channel (or the stored snapshot): deliver it unless older than what was seen."""
        if message == HANDOVER:
            self.handed_over.set()
            return
        stamp_text, _, body = message.partition(b" ")
        try:
            stamp = int(stamp_text)
            snapshot = orjson.loads(body)
        except (ValueError, orjson.JSONDecodeError):
            log.warning("live: a message on a watched channel was not understood; ignored")
            return
        if stamp <= self.stamp:
            return
        self.stamp = stamp
        self.deliver(snapshot)

    def deliver(self, snapshot: Snapshot) -> None:
        """Hand ``snapshot`` to every subscriber here, unless it is the one they have; drop those behind."""
        if self.has_latest and snapshot == self.latest:
            return
        self.latest, self.has_latest = snapshot, True
        for subscriber in list(self.subscribers):
            if subscriber.qsize() >= self.hub.queue_size:
                self.subscribers.discard(subscriber)
                subscriber.end(SubscriberDropped(_DROPPED))
                log.warning("live subscriber dropped", extra={"topic": self.key.topic, "reason": "slow"})
                self.hub.observe(self.key.topic, "dropped")
            else:
                subscriber.put_nowait(snapshot)
        if not self.subscribers:
            self.stop()

    def _end_all(self, error: BaseException) -> None:
        for subscriber in self.subscribers:
            subscriber.end(error)
        self.subscribers.clear()
        self.stop()

    async def _give_up(self) -> None:
        await self.hub.listener.forget(self.channel, self)
        if not self.hub.link.usable():
            return  # the lease lapses by itself
        try:
            await self.hub.release_script(keys=[self.lease_key], args=[self.token, self.channel])
        except REDIS_FAILURES as error:
            self.hub.link.failed("live_release", error)

    @property
    def _lease_ms(self) -> int:
        return max(1, round(self.hub.lease * 1000))


def _ignore(topic: str, what: str) -> None:
    return None


def _never(error: BaseException) -> bool:
    return False
