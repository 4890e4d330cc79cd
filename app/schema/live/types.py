"""What live subscriptions push: budget and rate-limit counters as they change."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from app.bifrost import models
from app.schema.budgets.types import Budget
from app.schema.rate_limits.types import RateLimit
from app.schema.scalars import Int64

__all__ = ["BudgetUsageUpdate", "SpendTick", "UsageCounter", "UsageOwner", "UsageOwnerKind", "update_of"]


@strawberry.enum(description="What kind of entity a usage counter belongs to.")
class UsageOwnerKind(Enum):
    TEAM = "team"
    CUSTOMER = "customer"
    VIRTUAL_KEY = "virtual_key"
    PROVIDER_CONFIG = strawberry.enum_value(
        "provider_config", description="A virtual key's provider config (its `provider` is set)."
    )


@strawberry.type(description="Who a usage counter belongs to.")
class UsageOwner:
    kind: UsageOwnerKind
    id: strawberry.ID = strawberry.field(description="The owner's id (a provider config's numeric id as a string).")
    name: str = strawberry.field(description="The owner's name; for a provider config, its virtual key's name.")
    provider: str | None = strawberry.field(description="The provider of a provider config; null for other owners.")


@strawberry.type(description="One counter: a budget or a rate limit (exactly one of the two is set) and its owner.")
class UsageCounter:
    owner: UsageOwner
    budget: Budget | None = strawberry.field(description="The budget, with `currentUsage` as Bifrost last counted it.")
    rate_limit: RateLimit | None = strawberry.field(
        description="The rate limit, with `tokenCurrentUsage` and `requestCurrentUsage` as Bifrost last counted them."
    )


@strawberry.type(
    description="One push of `budgetUsage`: every counter of the watched set first (`initial`), then the counters "
    "that changed since the previous push."
)
class BudgetUsageUpdate:
    initial: bool = strawberry.field(description="True for the first push, which carries every counter.")
    counters: list[UsageCounter]


@strawberry.type(description="A running total of spend over the filtered requests, as Bifrost's request logs count it.")
class SpendTick:
    total_cost: float = strawberry.field(description="Cost in USD.")
    total_requests: Int64 = strawberry.field(description="Requests logged.")
    total_tokens: Int64 = strawberry.field(description="Tokens (prompt and completion).")
    since: datetime | None = strawberry.field(description="Where the total starts (null: all of history).")


def update_of(counters: list[dict[str, Any]], *, initial: bool) -> BudgetUsageUpdate:
    """The GraphQL value of a list of snapshot counters (``app.schema.live.counters``)."""
    return BudgetUsageUpdate(initial=initial, counters=[_counter(counter) for counter in counters])


def _counter(counter: dict[str, Any]) -> UsageCounter:
    owner = counter["owner"]
    budget = counter.get("budget")
    rate_limit = counter.get("rate_limit")
    return UsageCounter(
        owner=UsageOwner(
            kind=UsageOwnerKind(owner["kind"]),
            id=strawberry.ID(owner["id"]),
            name=owner["name"],
            provider=owner["provider"],
        ),
        # The GraphQL types read the upstream models (as everywhere else in the schema).
        budget=models.Budget.model_validate(budget) if budget is not None else None,  # type: ignore[arg-type]
        rate_limit=models.RateLimit.model_validate(rate_limit) if rate_limit is not None else None,  # type: ignore[arg-type]
    )
