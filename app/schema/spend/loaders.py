"""Spend series of many teams, customers or keys, read with as few analytics calls as Bifrost allows.

Call plan, per level of the document and per range (each list of owners one batch of at most ``BATCH``):

- teams and customers, totals only: one ``/histogram/cost/by-dimension`` call (``dimension=team_id`` or
  ``customer_id``, filtered to the batch's ids), whatever the number of owners;
- teams and customers with ``byModel``: Bifrost has no split by owner *and* model, so one
  ``/histogram/cost`` call filtered to the batch names the models they used; then either one by-dimension
  call for the totals plus one per model (filtered to that model), or one ``/histogram/cost`` per owner,
  whichever is fewer: ``1 + min(owners, 1 + models)`` calls (one alone for a single owner);
- virtual keys: ``virtual_key_id`` is not a dimension upstream, so one ``/histogram/cost`` call per key
  (filtered to it; it carries ``byModel`` too), at most ``DATALOADER_CONCURRENCY`` at once.

Example:
    >>> # series = await loaders.spend.series("team", window, by_model=False).load(team_id)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Literal

from strawberry.dataloader import DataLoader

from app.bifrost import BifrostSession
from app.bifrost.analytics import CostDimension, CostHistogram, LogQuery
from app.schema.call_limit import CallLimit
from app.schema.spend.types import ModelCost, SpendBucket, SpendSeries
from app.schema.spend.window import SpendWindow

__all__ = ["BATCH", "OwnerKind", "SpendLoaders", "series_of_histogram"]

OwnerKind = Literal["team", "customer", "virtual_key"]

BATCH = 100
"""Owners per analytics call at most (their ids travel in the query string)."""

_DIMENSION: dict[OwnerKind, CostDimension] = {"team": "team_id", "customer": "customer_id"}
_FILTER = {"team": "team_ids", "customer": "customer_ids", "virtual_key": "virtual_key_ids"}


class SpendLoaders:
    """One DataLoader per (owner kind, range, with or without ``byModel``), made on first use, per request."""

    def __init__(self, bifrost: BifrostSession, limit: Callable[[], CallLimit]) -> None:
        self._bifrost = bifrost
        self._limit = limit
        self._loaders: dict[tuple[OwnerKind, SpendWindow, bool], DataLoader[str, SpendSeries]] = {}

    def series(self, kind: OwnerKind, window: SpendWindow, *, by_model: bool) -> DataLoader[str, SpendSeries]:
        """The loader of ``kind`` owners' series over ``window``."""
        key = (kind, window, by_model)
        loader = self._loaders.get(key)
        if loader is None:
            loader = DataLoader(lambda ids: self._load(kind, window, by_model, ids), max_batch_size=BATCH)
            self._loaders[key] = loader
        return loader

    async def _load(
        self, kind: OwnerKind, window: SpendWindow, by_model: bool, ids: Sequence[str]
    ) -> list[SpendSeries]:
        if kind == "virtual_key":
            return await self._each(ids, lambda one: self._histogram(window, kind, (one,)))
        if not by_model:
            return await self._by_dimension(kind, window, ids)
        if len(ids) == 1:
            return [await self._histogram(window, kind, ids)]
        models = (await self._raw_histogram(window.query(**{_FILTER[kind]: tuple(ids)}))).models
        # A model a comma list cannot name alone (Bifrost filters on comma lists) is read owner by owner.
        if len(ids) <= 1 + len(models) or not all(model.strip() and "," not in model for model in models):
            return await self._each(ids, lambda one: self._histogram(window, kind, (one,)))
        return await self._by_dimension_and_model(kind, window, ids, models)

    async def _each(self, ids: Sequence[str], load: Callable[[str], Awaitable[SpendSeries]]) -> list[SpendSeries]:
        async def one(owner: str) -> SpendSeries:
            async with self._limit():
                return await load(owner)

        return list(await asyncio.gather(*(one(owner) for owner in ids)))

    async def _raw_histogram(self, query: LogQuery) -> CostHistogram:
        return await self._bifrost.cost_histogram(query)

    async def _histogram(self, window: SpendWindow, kind: OwnerKind, ids: Sequence[str]) -> SpendSeries:
        return series_of_histogram(await self._raw_histogram(window.query(**{_FILTER[kind]: tuple(ids)})))

    async def _owner_costs(
        self, kind: OwnerKind, window: SpendWindow, ids: Sequence[str], models: tuple[str, ...] = ()
    ) -> tuple[int, dict[datetime, Mapping[str, float]]]:
        """Cost per bucket per owner (of ``models`` only, when given), from one by-dimension call."""
        query = window.query(**{_FILTER[kind]: tuple(ids)}, models=models)
        answer = await self._bifrost.cost_by_dimension(_DIMENSION[kind], query)
        return answer.bucket_size_seconds, {bucket.timestamp: bucket.by_dimension for bucket in answer.buckets}

    async def _by_dimension(self, kind: OwnerKind, window: SpendWindow, ids: Sequence[str]) -> list[SpendSeries]:
        seconds, costs = await self._owner_costs(kind, window, ids)
        series = []
        for owner in ids:
            buckets = [
                SpendBucket(start=start, total_cost=split.get(owner, 0.0), by_model=[])
                for start, split in costs.items()
            ]
            series.append(SpendSeries.of(buckets, seconds))
        return series

    async def _by_dimension_and_model(
        self, kind: OwnerKind, window: SpendWindow, ids: Sequence[str], models: Sequence[str]
    ) -> list[SpendSeries]:
        async def of_model(model: str) -> tuple[int, dict[datetime, Mapping[str, float]]]:
            async with self._limit():
                return await self._owner_costs(kind, window, ids, (model,))

        totals, *per_model = await asyncio.gather(
            self._owner_costs(kind, window, ids), *(of_model(model) for model in models)
        )
        seconds, total_costs = totals
        starts = sorted(set(total_costs).union(*(costs for _, costs in per_model)))
        series = []
        for owner in ids:
            buckets = []
            for start in starts:
                split = {
                    model: costs[start].get(owner, 0.0)
                    for model, (_, costs) in zip(models, per_model, strict=True)
                    if start in costs
                }
                total = total_costs.get(start, {}).get(owner, 0.0)
                buckets.append(SpendBucket(start=start, total_cost=total, by_model=model_costs(split)))
            series.append(SpendSeries.of(buckets, seconds))
        return series


def model_costs(split: Mapping[str, float]) -> list[ModelCost]:
    """A bucket's ``by_model`` map as a list, dearest first (then by name); models that cost nothing are left out.

    Example:
        >>> [m.model for m in model_costs({"b": 1.0, "a": 1.0, "c": 2.0, "d": 0.0})]
        ['c', 'a', 'b']
    """
    ordered = sorted(((model, cost) for model, cost in split.items() if cost), key=lambda item: (-item[1], item[0]))
    return [ModelCost(model=model, cost=cost) for model, cost in ordered]


def series_of_histogram(histogram: CostHistogram) -> SpendSeries:
    """The series a ``/histogram/cost`` answer gives (totals and ``byModel`` per bucket)."""
    buckets = [
        SpendBucket(start=bucket.timestamp, total_cost=bucket.total_cost, by_model=model_costs(bucket.by_model))
        for bucket in histogram.buckets
    ]
    return SpendSeries.of(buckets, histogram.bucket_size_seconds)
