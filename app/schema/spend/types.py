"""Spend series: what Bifrost's request log says an owner (or a group of traffic) cost, bucket by bucket.

The buckets are Bifrost's: their size follows the length of the range (``bucketSeconds``: 60 s under two hours
up to 30 days for a year), each bucket's ``start`` is the time Bifrost answers for it. Amounts are USD.

Example:
    >>> from datetime import UTC, datetime
    >>> bucket = SpendBucket(start=datetime(2026, 3, 1, tzinfo=UTC), total_cost=0.5,
    ...                      by_model=[ModelCost(model="gpt-4o-mini", cost=0.5)])
    >>> SpendSeries.of([bucket], bucket_seconds=3600).total
    0.5
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from enum import Enum

import strawberry

__all__ = [
    "ModelCost",
    "SpendBreakdown",
    "SpendBucket",
    "SpendGroup",
    "SpendGroupBy",
    "SpendPoint",
    "SpendSeries",
]


@strawberry.type(description="What one model cost within a bucket (USD).")
class ModelCost:
    model: str
    cost: float


@strawberry.type(description="One time bucket of a spend series.")
class SpendBucket:
    start: datetime = strawberry.field(description="Start of the bucket, as Bifrost answers it (UTC).")
    total_cost: float = strawberry.field(description="Cost of the requests of the bucket (USD).")
    by_model: list[ModelCost] = strawberry.field(
        description="The bucket's cost split by model, dearest first (models that cost nothing are left out)."
    )


@strawberry.type(description="Spend over time, from Bifrost's request log.")
class SpendSeries:
    buckets: list[SpendBucket] = strawberry.field(description="The buckets, oldest first.")
    bucket_seconds: int = strawberry.field(
        description="Length of each bucket in seconds; Bifrost chooses it from the length of the range."
    )
    total: float = strawberry.field(description="Cost of the whole range (USD): the sum of the buckets.")

    @classmethod
    def of(cls, buckets: Sequence[SpendBucket], bucket_seconds: int) -> SpendSeries:
        """A series of ``buckets`` (sorted by start), its total summed exactly once."""
        ordered = sorted(buckets, key=lambda bucket: bucket.start)
        return cls(buckets=ordered, bucket_seconds=bucket_seconds, total=math.fsum(b.total_cost for b in ordered))


@strawberry.enum(description="How the root `spend` splits traffic into series.")
class SpendGroupBy(Enum):
    TEAM = "team_id"
    CUSTOMER = "customer_id"
    PROVIDER = "provider"
    MODEL = "model"


@strawberry.type(description="A point of a group's series: the group's cost within one bucket (USD).")
class SpendPoint:
    start: datetime
    cost: float


@strawberry.type(description="One group's series (a team, a customer, a provider or a model).")
class SpendGroup:
    key: str = strawberry.field(
        description="The group: a team's or customer's id, a provider's or a model's name. Requests that had "
        "no team (or customer) are not in any team's (customer's) group."
    )
    total: float = strawberry.field(description="The group's cost over the whole range (USD).")
    buckets: list[SpendPoint] = strawberry.field(description="The group's cost per bucket, oldest first.")


@strawberry.type(description="Spend over time split into one series per group, for charts.")
class SpendBreakdown:
    group_by: SpendGroupBy
    bucket_seconds: int = strawberry.field(description="Length of each bucket in seconds (chosen by Bifrost).")
    total: float = strawberry.field(description="Cost of every request the filter selects (USD).")
    buckets: list[SpendPoint] = strawberry.field(description="Cost of every selected request per bucket.")
    groups: list[SpendGroup] = strawberry.field(description="One series per group, dearest group first.")
