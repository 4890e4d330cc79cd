"""A DataLoader on public asyncio APIs: the keys asked for within a tick go to one call of the batch function.

It keeps the semantics of Strawberry's ``DataLoader`` that the gateway's loaders rely on: a batch is
dispatched two loop callbacks after its first key (so loads made by callbacks and tasks that are already
due join it), a future per key cached for the request (a cancelled one is asked for again), ``prime`` /
``prime_many`` answering keys still waiting in a batch that has not gone out, ``clear`` / ``clear_many`` /
``clear_all``, ``max_batch_size``, a result per key (an exception in the list fails only its key, a failing
batch function fails every key) and, when every caller of a batch has gone (its futures cancelled), the
batch's task cancelled with its upstream calls. Unlike it, a batch leaves out the keys whose callers left
before it went out (Strawberry's asks for them, and for a key loaded again meanwhile, twice), and a batch
whose callers all left before its task ran is not kept as the one later loads join (Strawberry's keeps it,
and they wait forever).

What it leaves out is the bookkeeping per key and per batch that Strawberry's carries for its other
features (a ``LoaderTask`` and a done-callback closure per key, a scheduling closure and a task callback per
batch, a pluggable cache with a key function): a lookup by id is one future, one small batch and one task.

Example:
    >>> import asyncio
    >>> async def double(keys: list[int]) -> list[int]:
    ...     return [key * 2 for key in keys]
    >>> async def main() -> list[int]:
    ...     loader = BatchLoader(double)
    ...     return list(await asyncio.gather(loader.load(1), loader.load(2), loader.load(1)))
    >>> asyncio.run(main())
    [2, 4, 2]
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Generic, TypeVar

from strawberry.exceptions import WrongNumberOfResultsReturned

__all__ = ["BatchLoader"]

K = TypeVar("K")
V = TypeVar("V")

LoadFn = Callable[[list[K]], Awaitable[Sequence[V | BaseException]]]


class _Batch(Generic[K, V]):
    """The keys of one call of the batch function and the futures waiting for them."""

    __slots__ = ("futures", "keys", "loader", "task")

    def __init__(self, loader: BatchLoader[K, V]) -> None:
        self.loader = loader
        self.keys: list[K] = []
        self.futures: list[asyncio.Future[V]] = []
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """The first loop callback after the batch's first key: its task starts on the next one."""
        self.task = self.loader._loop.create_task(self.run())  # type: ignore[union-attr]

    def future_done(self, future: asyncio.Future[V]) -> None:
        """A caller's future settled: when every one was cancelled, the batch's work is nobody's."""
        if future.cancelled():
            task = self.task
            if all(f.cancelled() for f in self.futures):
                loader = self.loader
                if loader._batch is self:
                    loader._batch = None  # later loads start a batch of their own rather than join a dead one
                if task is not None and not task.done():
                    task.cancel()

    async def run(self) -> None:
        loader = self.loader
        if loader._batch is self:
            loader._batch = None  # dispatched: later loads start a new batch
        keys, futures = self.keys, self.futures
        for future in futures:
            if future.cancelled():
                # Callers that left are not asked for: their keys may even be in the batch again, with new futures.
                live = [(key, future) for key, future in zip(keys, futures, strict=True) if not future.cancelled()]
                keys, futures = [key for key, _ in live], [future for _, future in live]
                self.keys, self.futures = keys, futures
                break
        if not keys:
            return  # every key primed meanwhile, or nobody waits any more: the batch function is not called
        try:
            values = list(await loader.load_fn(keys))
            if len(values) != len(keys):
                raise WrongNumberOfResultsReturned(expected=len(keys), received=len(values))
            for future, value in zip(futures, values, strict=True):
                if future.done():
                    continue  # cancelled while the batch was out
                if isinstance(value, BaseException):
                    future.set_exception(value)
                else:
                    future.set_result(value)
        except Exception as error:
            for future in futures:
                if not future.done():
                    future.set_exception(error)


class BatchLoader(Generic[K, V]):
    """Loads keys through one batch function call per tick, each key once per loader (see the module).

    Example:
        >>> async def load_teams(ids: list[str]) -> list[str | None]:
        ...     return [f"team {team_id}" for team_id in ids]
        >>> loader = BatchLoader(load_teams, max_batch_size=50)
    """

    __slots__ = ("_batch", "_cache", "_loop", "load_fn", "max_batch_size")

    def __init__(self, load_fn: LoadFn[K, V], max_batch_size: int | None = None) -> None:
        self.load_fn = load_fn
        self.max_batch_size = max_batch_size
        self._cache: dict[K, asyncio.Future[V]] = {}
        self._batch: _Batch[K, V] | None = None  # the batch taking keys (not dispatched yet)
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def has_waiting_keys(self) -> bool:
        """Whether keys wait in a batch that has not gone out yet (``prime`` would answer them now)."""
        batch = self._batch
        return batch is not None and bool(batch.keys)

    def load(self, key: K) -> asyncio.Future[V]:
        """The future of ``key``'s value: the cached one, else a new one in the current batch."""
        future = self._cache.get(key)
        if future is not None and not future.cancelled():
            return future
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        future = self._cache[key] = loop.create_future()
        batch = self._batch
        max_batch_size = self.max_batch_size
        if batch is None or not batch.keys or (max_batch_size and len(batch.keys) >= max_batch_size):
            batch = self._batch = _Batch(self)
            loop.call_soon(batch.start)
        batch.keys.append(key)
        batch.futures.append(future)
        future.add_done_callback(batch.future_done)
        return future

    def load_many(self, keys: Iterable[K]) -> Awaitable[list[V]]:
        """The values of ``keys``, in their order."""
        return asyncio.gather(*map(self.load, keys))

    def clear(self, key: K) -> None:
        """Forget ``key``: the next load asks for it again."""
        self._cache.pop(key, None)

    def clear_many(self, keys: Iterable[K]) -> None:
        """Forget each of ``keys``."""
        for key in keys:
            self._cache.pop(key, None)

    def clear_all(self) -> None:
        """Forget every key."""
        self._cache.clear()

    def prime(self, key: K, value: V, force: bool = False) -> None:
        """Cache ``value`` for ``key`` (replacing a cached one only with ``force``)."""
        self.prime_many({key: value}, force)

    def prime_many(self, data: Mapping[K, V], force: bool = False) -> None:
        """``prime`` each; keys waiting in the batch that has not gone out are answered with these values now."""
        cache = self._cache
        loop = self._loop
        for key, value in data.items():
            if force or not cache.get(key):
                if loop is None:
                    loop = self._loop = asyncio.get_running_loop()
                future = cache[key] = loop.create_future()
                future.set_result(value)
        batch = self._batch
        if batch is not None and any(key in data for key in batch.keys):
            keys: list[K] = []
            futures: list[asyncio.Future[V]] = []
            for key, future in zip(batch.keys, batch.futures, strict=True):
                if key in data and not future.done():
                    future.set_result(data[key])
                if not future.done():
                    keys.append(key)
                    futures.append(future)
            batch.keys, batch.futures = keys, futures
