"""Where idempotency keys live: in this process, or in Redis shared by every replica.

A key's record moves through three states:

    (none) --claim--> running --finish--> done      (its answer is replayed to retries)
                         |    --unsure--> unknown   (the write may have happened; a retry reads back first)
                         |    --release-> (none)    (nothing to remember: a retry runs afresh)
                         +-- owner gone (lease expired) : treated as unknown

``claim`` is the one atomic step: it says what the caller should do (``NEW``, ``CHECK``: run, reading back
before writing; ``DONE``: replay; ``RUNNING``: wait; ``MISMATCH``: the key was used for another request).
Only the holder of a claim (its token) may finish, mark or release it.

Example:
    >>> store = InProcessIdempotencyStore(ttl=60, lease=30)
    >>> # claim = await store.claim("k", "fingerprint")  -> Claim(Verdict.NEW, token=...)
"""

from __future__ import annotations

import asyncio
import enum
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import Protocol

from redis.asyncio import Redis

from app.shared_state.redis_link import REDIS_FAILURES, RedisLink

__all__ = [
    "Answer",
    "Claim",
    "ClaimState",
    "IdempotencyStore",
    "InProcessIdempotencyStore",
    "RedisIdempotencyStore",
    "SharedIdempotencyStore",
]


class ClaimState(enum.Enum):
    """What a claim tells its caller to do."""

    NEW = "new"
    CHECK = "check"
    DONE = "done"
    RUNNING = "running"
    MISMATCH = "mismatch"


@dataclass(frozen=True)
class Answer:
    """A remembered HTTP answer: status, media type and body."""

    status: int
    media_type: str
    body: bytes


@dataclass(frozen=True)
class Claim:
    """The outcome of ``claim``; ``token`` is set when the caller now holds the key (NEW, CHECK)."""

    state: ClaimState
    token: str = ""
    answer: Answer | None = None
    attempted_at: float | None = None  # CHECK: when the first attempt started (epoch seconds)
    local: bool = False  # made by the in-process fallback while Redis failed


class IdempotencyStore(Protocol):
    """The operations a key store offers (see the module docstring for the states)."""

    async def claim(self, key: str, fingerprint: str) -> Claim: ...

    async def finish(self, key: str, claim: Claim, answer: Answer) -> None: ...

    async def unsure(self, key: str, claim: Claim) -> None: ...

    async def release(self, key: str, claim: Claim) -> None: ...

    async def changed(self, key: str, poll: float) -> None:
        """Return when ``key`` was settled by this process, or after ``poll`` seconds."""
        ...


def new_token() -> str:
    """A claim's owner token."""
    return os.urandom(12).hex()


@dataclass
class _Record:
    fingerprint: str
    state: str  # running | done | unknown
    token: str
    attempted_at: float
    expires: float  # monotonic
    lease_until: float = 0.0  # monotonic; running only
    answer: Answer | None = None


class InProcessIdempotencyStore:
    """Keys of this process only, at most ``max_records`` of them (the oldest settled ones are forgotten first).

    Example:
        >>> store = InProcessIdempotencyStore(ttl=86400, lease=60, max_records=1000)
        >>> len(store)
        0
    """

    def __init__(self, ttl: float, lease: float, max_records: int = 10_000) -> None:
        self.ttl = ttl
        self.lease = lease
        self.max_records = max_records
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._events: dict[str, asyncio.Event] = {}

    async def claim(self, key: str, fingerprint: str) -> Claim:
        now = time.monotonic()
        record = self._records.get(key)
        if record is not None and record.expires <= now:
            del self._records[key]
            record = None
        if record is None:
            token = new_token()
            self._records[key] = _Record(
                fingerprint, "running", token, time.time(), now + self.ttl, lease_until=now + self.lease
            )
            self._trim()
            return Claim(ClaimState.NEW, token)
        if record.fingerprint != fingerprint:
            return Claim(ClaimState.MISMATCH)
        if record.state == "done":
            return Claim(ClaimState.DONE, answer=record.answer)
        if record.state == "running" and record.lease_until > now:
            return Claim(ClaimState.RUNNING)
        record.state, record.token, record.lease_until = "running", new_token(), now + self.lease
        return Claim(ClaimState.CHECK, record.token, attempted_at=record.attempted_at)

    async def finish(self, key: str, claim: Claim, answer: Answer) -> None:
        record = self._owned(key, claim.token)
        if record is not None:
            record.state, record.answer = "done", answer
        _wake(self._events, key)

    async def unsure(self, key: str, claim: Claim) -> None:
        record = self._owned(key, claim.token)
        if record is not None:
            record.state = "unknown"
        _wake(self._events, key)

    async def release(self, key: str, claim: Claim) -> None:
        if self._owned(key, claim.token) is not None:
            del self._records[key]
        _wake(self._events, key)

    async def changed(self, key: str, poll: float) -> None:
        await _woken(self._events, key, poll)

    def __len__(self) -> int:
        return len(self._records)

    def _owned(self, key: str, token: str) -> _Record | None:
        record = self._records.get(key)
        return record if record is not None and record.token == token else None

    def _trim(self) -> None:
        # A running key is never forgotten: a retry would then write a second time while the first still runs.
        while len(self._records) > self.max_records:
            oldest = next((key for key, record in self._records.items() if record.state != "running"), None)
            if oldest is None:
                return
            del self._records[oldest]


# One atomic step per transition; a record is a hash, the owner's lease a key of its own that expires by itself.
_CLAIM = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  redis.call('HSET', KEYS[1], 'state', 'running', 'fp', ARGV[1], 'token', ARGV[2], 'attempted_at', ARGV[5],
             'checking', '0')
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
  return {'new'}
end
if redis.call('HGET', KEYS[1], 'fp') ~= ARGV[1] then return {'mismatch'} end
if state == 'running' and redis.call('HGET', KEYS[1], 'token') == ARGV[2] then
  -- this very claim, sent again after a lost reply: the same answer
  if redis.call('HGET', KEYS[1], 'checking') == '1' then
    return {'check', redis.call('HGET', KEYS[1], 'attempted_at')}
  end
  return {'new'}
end
if state == 'done' then
  return {'done', redis.call('HGET', KEYS[1], 'status'), redis.call('HGET', KEYS[1], 'media'),
          redis.call('HGET', KEYS[1], 'body')}
end
if state == 'running' and redis.call('EXISTS', KEYS[2]) == 1 then return {'running'} end
redis.call('HSET', KEYS[1], 'state', 'running', 'token', ARGV[2], 'checking', '1')
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
return {'check', redis.call('HGET', KEYS[1], 'attempted_at')}
"""

_SETTLE = """
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
if ARGV[2] == 'release' then
  redis.call('DEL', KEYS[1])
elseif ARGV[2] == 'unknown' then
  redis.call('HSET', KEYS[1], 'state', 'unknown')
else
  redis.call('HSET', KEYS[1], 'state', 'done', 'status', ARGV[3], 'media', ARGV[4], 'body', ARGV[5])
end
return 1
"""


class RedisIdempotencyStore:
    """Keys shared by every replica through Redis (``gateway:idempotency:<key>``).

    A retry waiting on a key held by another replica polls it (the caller says how often); one held by this
    process wakes it as soon as it settles.

    Example:
        >>> from redis.asyncio import Redis
        >>> store = RedisIdempotencyStore(Redis(), ttl=86400, lease=60)
        >>> store.prefix
        'gateway:idempotency:'
    """

    prefix = "gateway:idempotency:"

    def __init__(self, client: Redis, ttl: float, lease: float) -> None:
        self.client = client
        self.ttl_ms = int(ttl * 1000)
        self.lease_ms = int(lease * 1000)
        self._claim = client.register_script(_CLAIM)
        self._settle = client.register_script(_SETTLE)
        self._events: dict[str, asyncio.Event] = {}

    def _keys(self, key: str) -> list[str]:
        return [self.prefix + key, self.prefix + key + ":lease"]

    async def claim(self, key: str, fingerprint: str) -> Claim:
        token = new_token()
        reply = await self._claim(
            keys=self._keys(key), args=[fingerprint, token, self.ttl_ms, self.lease_ms, repr(time.time())]
        )
        state = ClaimState(reply[0].decode())
        if state is ClaimState.NEW:
            return Claim(state, token)
        if state is ClaimState.DONE:
            return Claim(state, answer=Answer(int(reply[1]), reply[2].decode(), bytes(reply[3])))
        if state is ClaimState.CHECK:
            return Claim(state, token, attempted_at=float(reply[1]))
        return Claim(state)

    async def finish(self, key: str, claim: Claim, answer: Answer) -> None:
        await self._settled(key, claim.token, "done", answer.status, answer.media_type, answer.body)

    async def unsure(self, key: str, claim: Claim) -> None:
        await self._settled(key, claim.token, "unknown")

    async def release(self, key: str, claim: Claim) -> None:
        await self._settled(key, claim.token, "release")

    async def changed(self, key: str, poll: float) -> None:
        await _woken(self._events, key, poll)

    async def _settled(self, key: str, token: str, how: str, *answer: str | int | bytes) -> None:
        try:
            await self._settle(keys=self._keys(key), args=[token, how, *answer])
        finally:
            _wake(self._events, key)


async def _woken(events: dict[str, asyncio.Event], key: str, poll: float) -> None:
    """Wait until ``_wake(events, key)`` or ``poll`` seconds; forget the event once nobody waits on it."""
    event = events.setdefault(key, asyncio.Event())
    try:
        async with asyncio.timeout(poll):
            await event.wait()
    except TimeoutError:
        pass
    finally:
        if events.get(key) is event and not event.is_set():
            # Other waiters on it poll again after their own timeout; nothing is left behind.
            del events[key]


def _wake(events: dict[str, asyncio.Event], key: str) -> None:
    event = events.pop(key, None)
    if event is not None:
        event.set()


class SharedIdempotencyStore:
    """Redis first; this process's own store while Redis fails (see ``app.shared_state.redis_link``).

    A claim made by the fallback is settled there too, even if Redis is back by then.

    Example:
        >>> link = RedisLink.from_url("redis://127.0.0.1:6379/0", timeout=0.5)
        >>> store = SharedIdempotencyStore(link, ttl=86400, lease=60)
        >>> # claim = await store.claim(key, fingerprint)  -> from Redis, or from ``store.local`` while it fails
    """

    def __init__(self, link: RedisLink, ttl: float, lease: float) -> None:
        self.link = link
        self.redis = RedisIdempotencyStore(link.client, ttl, lease)
        self.local = InProcessIdempotencyStore(ttl, lease)

    async def claim(self, key: str, fingerprint: str) -> Claim:
        if self.link.usable():
            try:
                claim = await self.redis.claim(key, fingerprint)
            except REDIS_FAILURES as error:
                self.link.failed("idempotency_claim", error)
            else:
                self.link.succeeded()
                return claim
        return replace(await self.local.claim(key, fingerprint), local=True)

    async def finish(self, key: str, claim: Claim, answer: Answer) -> None:
        if claim.local:
            await self.local.finish(key, claim, answer)
        else:
            await self._redis("idempotency_finish", self.redis.finish(key, claim, answer))

    async def unsure(self, key: str, claim: Claim) -> None:
        if claim.local:
            await self.local.unsure(key, claim)
        else:
            await self._redis("idempotency_unsure", self.redis.unsure(key, claim))

    async def release(self, key: str, claim: Claim) -> None:
        if claim.local:
            await self.local.release(key, claim)
        else:
            await self._redis("idempotency_release", self.redis.release(key, claim))

    async def changed(self, key: str, poll: float) -> None:
        # A waiter that switched stores in between only waits out its poll: the next claim looks again.
        await (self.redis if self.link.usable() else self.local).changed(key, poll)

    async def _redis(self, operation: str, call: Awaitable[None]) -> None:
        # The answer already went to the caller's response; a lost record only means the key's lease runs out
        # and a retry reads back before writing.
        try:
            await call
        except REDIS_FAILURES as error:
            self.link.failed(operation, error)
        else:
            self.link.succeeded()
