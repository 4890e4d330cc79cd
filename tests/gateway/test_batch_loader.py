"""The request's loaders batch, cache, prime, fail and cancel as Strawberry's DataLoader does.

Each case runs the same steps on ``BatchLoader`` and on ``strawberry.dataloader.DataLoader`` where their
behaviour is meant to be the same, and compares what the batch function was asked for and what callers got.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from strawberry.dataloader import DataLoader
from strawberry.exceptions import WrongNumberOfResultsReturned

from app.schema.batch_loader import BatchLoader
from app.schema.loaders import PrimedLoader

Make = Callable[..., Any]
KINDS: dict[str, Make] = {"ours": BatchLoader, "strawberry": DataLoader}


class Recorder:
    """A batch function that records its batches; ``gate`` holds every batch until it is set."""

    def __init__(self, fail: set[int] | None = None, raise_for: set[int] | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail = fail or set()
        self.raise_for = raise_for or set()
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()  # a batch came in
        self.cancelled = asyncio.Event()  # a batch held at the gate was cancelled

    async def __call__(self, keys: list[int]) -> list[Any]:
        self.batches.append(list(keys))
        self.started.set()
        if self.gate is not None:
            try:
                await self.gate.wait()
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        if self.raise_for.intersection(keys):
            raise RuntimeError("the batch failed")
        return [ValueError(f"no {key}") if key in self.fail else key * 10 for key in keys]


async def outcome(awaitable: Awaitable[Any]) -> Any:
    try:
        return await awaitable
    except Exception as error:
        return f"{type(error).__name__}: {error}"


@pytest.fixture(params=sorted(KINDS))
def make(request: pytest.FixtureRequest) -> Make:
    return KINDS[request.param]


async def test_keys_of_one_tick_go_in_one_batch_each_key_once(make: Make) -> None:
    recorder = Recorder()
    loader = make(recorder)
    results = await asyncio.gather(loader.load(1), loader.load(2), loader.load(1), loader.load(3))
    assert results == [10, 20, 10, 30]
    assert recorder.batches == [[1, 2, 3]]
    assert await loader.load(2) == 20  # cached: no second batch
    assert recorder.batches == [[1, 2, 3]]


async def test_loads_from_tasks_started_in_the_same_tick_join_the_batch(make: Make) -> None:
    recorder = Recorder()
    loader = make(recorder)

    async def later(key: int) -> Any:
        return await loader.load(key)

    first = loader.load(1)
    # A task created after the first load still starts before the batch goes out (two callbacks later).
    results = await asyncio.gather(first, asyncio.ensure_future(later(2)), asyncio.ensure_future(later(3)))
    assert results == [10, 20, 30]
    assert recorder.batches == [[1, 2, 3]]


async def test_loads_after_a_batch_went_out_make_a_new_batch(make: Make) -> None:
    recorder = Recorder()
    recorder.gate = asyncio.Event()
    loader = make(recorder)
    first = loader.load(1)
    await recorder.started.wait()
    second = loader.load(2)
    recorder.gate.set()
    assert await asyncio.gather(first, second) == [10, 20]
    assert recorder.batches == [[1], [2]]


async def test_max_batch_size_splits_batches(make: Make) -> None:
    recorder = Recorder()
    loader = make(recorder, max_batch_size=2)
    assert await loader.load_many([1, 2, 3, 4, 5]) == [10, 20, 30, 40, 50]
    assert recorder.batches == [[1, 2], [3, 4], [5]]


async def test_an_exception_in_the_results_fails_only_its_key(make: Make) -> None:
    recorder = Recorder(fail={2})
    loader = make(recorder)
    results = await asyncio.gather(*(outcome(loader.load(key)) for key in (1, 2, 3)))
    assert results == [10, "ValueError: no 2", 30]


async def test_a_failing_batch_function_fails_every_key_and_is_asked_again_only_after_clear(make: Make) -> None:
    recorder = Recorder(raise_for={2})
    loader = make(recorder)
    results = await asyncio.gather(*(outcome(loader.load(key)) for key in (1, 2)))
    assert results == ["RuntimeError: the batch failed"] * 2
    assert await outcome(loader.load(1)) == "RuntimeError: the batch failed"  # the failed future is cached
    loader.clear(1)
    assert await loader.load(1) == 10
    assert recorder.batches == [[1, 2], [1]]


async def test_a_wrong_number_of_results_fails_every_key(make: Make) -> None:
    async def short(keys: list[int]) -> list[int]:
        return [1]

    loader = make(short)
    results = await asyncio.gather(*(outcome(loader.load(key)) for key in (1, 2)), return_exceptions=True)
    assert results == [f"WrongNumberOfResultsReturned: {WrongNumberOfResultsReturned(2, 1)}"] * 2


async def test_prime_answers_a_waiting_key_and_keeps_a_cached_one_unless_forced(make: Make) -> None:
    recorder = Recorder()
    loader = make(recorder)
    waiting = loader.load(1)
    other = loader.load(2)
    loader.prime(1, 111)  # still in the batch that has not gone out: answered now, left out of it
    loader.prime(3, 333)
    assert await asyncio.gather(waiting, other, loader.load(3)) == [111, 20, 333]
    assert recorder.batches == [[2]]
    loader.prime(2, 222)
    assert await loader.load(2) == 20
    loader.prime(2, 222, force=True)
    assert await loader.load(2) == 222
    loader.prime_many({4: 444, 5: 555})
    assert await loader.load_many([4, 5]) == [444, 555]
    assert recorder.batches == [[2]]


async def test_priming_every_waiting_key_sends_no_batch(make: Make) -> None:
    recorder = Recorder()
    loader = make(recorder)
    waiting = loader.load(1)
    loader.prime(1, 111)
    assert await waiting == 111
    assert await loader.load(2) == 20  # a new batch after the emptied one
    assert recorder.batches == [[2]]


async def test_clear_many_and_clear_all_forget_keys(make: Make) -> None:
    recorder = Recorder()
    loader = make(recorder)
    await loader.load_many([1, 2, 3])
    loader.clear_many([1, 2])
    await loader.load_many([1, 2, 3])
    loader.clear_all()
    await loader.load(3)
    assert recorder.batches == [[1, 2, 3], [1, 2], [3]]


async def test_a_caller_leaving_while_others_wait_keeps_the_batch_going(make: Make) -> None:
    recorder = Recorder()
    recorder.gate = asyncio.Event()
    loader = make(recorder)
    leaving, staying = loader.load(1), loader.load(2)
    await recorder.started.wait()
    leaving.cancel()
    recorder.gate.set()
    assert await staying == 20
    assert not recorder.cancelled.is_set()
    assert await loader.load(1) == 10  # the cancelled key is asked for again
    assert recorder.batches == [[1, 2], [1]]


async def test_every_caller_leaving_cancels_the_batch_and_later_loads_still_work(make: Make) -> None:
    recorder = Recorder()
    recorder.gate = asyncio.Event()
    loader = make(recorder)
    futures = [loader.load(1), loader.load(2)]
    await recorder.started.wait()
    for future in futures:
        future.cancel()
    await recorder.cancelled.wait()  # the batch function's call is cancelled with its callers
    recorder.gate.set()
    assert await loader.load_many([1, 2]) == [10, 20]
    assert recorder.batches == [[1, 2], [1, 2]]


@pytest.mark.parametrize("made", [False, True], ids=["before-its-task-is-made", "before-its-task-runs"])
async def test_callers_leaving_before_the_batch_goes_out_send_nothing_and_later_loads_work(made: bool) -> None:
    """Strawberry's loader keeps such a batch as the current one, and later loads wait on it forever."""
    recorder = Recorder()
    loader = BatchLoader(recorder)
    future = loader.load(1)
    if made:
        await asyncio.sleep(0)  # the batch's task is made, not run yet
    future.cancel()
    # The cancelled batch was due first: only the later one reached the batch function.
    assert await asyncio.wait_for(loader.load_many([1, 2]), timeout=5) == [10, 20]
    assert recorder.batches == [[1, 2]]


async def test_primed_loader_remembers_lazily_and_answers_waiting_keys() -> None:
    recorder = Recorder()
    loader: PrimedLoader[int, Any] = PrimedLoader(recorder)
    loader.remember([(1, 111)])
    waiting = loader.load(2)
    loader.remember([(2, 222), (3, 333)])  # a key waiting in the batch is answered now
    assert await asyncio.gather(loader.load(1), waiting, loader.load(3), loader.load(4)) == [111, 222, 333, 40]
    assert recorder.batches == [[4]]
    loader.clear(1)
    loader.clear(99)  # never loaded: nothing to forget, no error
    assert await loader.load(1) == 10
