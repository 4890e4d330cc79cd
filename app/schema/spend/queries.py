"""The root ``spend``: one series per team, customer, provider or model, for charts. One analytics call."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated

import strawberry

from app.bifrost.analytics import CostHistogram
from app.generations import Feature
from app.schema.capabilities import lacks
from app.schema.context import Info
from app.schema.spend.inputs import SpendFilter
from app.schema.spend.types import SpendBreakdown, SpendGroup, SpendGroupBy, SpendPoint
from app.schema.spend.window import SpendWindow

__all__ = ["SpendQueries"]


@strawberry.type
class SpendQueries:
    @strawberry.field(
        description="Spend between `from` and `to` (both included, RFC 3339 with an offset, at most 366 days "
        "apart) of the requests `filter` selects, one series per `groupBy` group, in Bifrost's time buckets: one "
        "call to Bifrost's analytics. Bifrost v2; null on older versions."
    )
    @staticmethod
    async def spend(
        info: Info,
        group_by: SpendGroupBy,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        filter: SpendFilter | None = None,
    ) -> SpendBreakdown | None:
        window = SpendWindow.of(from_, to)
        query = window.query(**(filter.filters() if filter is not None else {}))
        bifrost = info.context.bifrost
        if await lacks(bifrost, Feature.ANALYTICS):
            return None
        if group_by is SpendGroupBy.MODEL:
            return _by_model(await bifrost.cost_histogram(query))
        answer = await bifrost.cost_by_dimension(group_by.value, query)
        buckets = [(bucket.timestamp, bucket.total_cost, bucket.by_dimension) for bucket in answer.buckets]
        return _breakdown(group_by, answer.bucket_size_seconds, buckets)


def _by_model(histogram: CostHistogram) -> SpendBreakdown:
    buckets = [(bucket.timestamp, bucket.total_cost, bucket.by_model) for bucket in histogram.buckets]
    return _breakdown(SpendGroupBy.MODEL, histogram.bucket_size_seconds, buckets)


def _breakdown(
    group_by: SpendGroupBy, seconds: int, unordered: Sequence[tuple[datetime, float, Mapping[str, float]]]
) -> SpendBreakdown:
    """Bucket-major answers (each bucket a map of group -> cost) turned group-major, as a chart draws them."""
    buckets = sorted(unordered, key=lambda bucket: bucket[0])
    # Bifrost keys requests without a team (customer) as "": they count in the total, in no group.
    keys = dict.fromkeys(key for _, _, split in buckets for key in split if key)
    groups = []
    for key in keys:
        points = [SpendPoint(start=start, cost=split.get(key, 0.0)) for start, _, split in buckets]
        groups.append(SpendGroup(key=key, total=math.fsum(point.cost for point in points), buckets=points))
    groups.sort(key=lambda group: (-group.total, group.key))
    return SpendBreakdown(
        group_by=group_by,
        bucket_seconds=seconds,
        total=math.fsum(total for _, total, _ in buckets),
        buckets=[SpendPoint(start=start, cost=total) for start, total, _ in buckets],
        groups=groups,
    )
