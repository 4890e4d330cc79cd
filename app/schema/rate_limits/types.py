"""RateLimit: read straight from the upstream model."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.bifrost import models
from app.schema.availability import V2_ONLY
from app.schema.scalars import Int64

__all__ = ["RateLimit", "RateLimitMetric"]


@strawberry.enum(description="What a model-config rate-limit rule counts.")
class RateLimitMetric(Enum):
    TOKENS = strawberry.enum_value("tokens", description="Tokens: only the `token*` fields are set.")
    REQUESTS = strawberry.enum_value("requests", description="Requests: only the `request*` fields are set.")


# Bifrost's spelling of each metric (``metric.value`` is typed as strawberry's value definition).
_METRICS: dict[str, RateLimitMetric] = {"tokens": RateLimitMetric.TOKENS, "requests": RateLimitMetric.REQUESTS}


@strawberry.type(description="Token and request limits, each with its reset window.")
class RateLimit:
    id: strawberry.ID
    token_max_limit: Int64 | None
    token_reset_duration: str | None
    token_current_usage: Int64
    token_last_reset: datetime | None
    request_max_limit: Int64 | None
    request_reset_duration: str | None
    request_current_usage: Int64
    request_last_reset: datetime | None
    config_hash: str | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field(
        description="What the limit counts, for a rule of a model config (one metric per rule); null for the "
        f"rate limits of teams, customers, keys and provider configs, which may limit both. {V2_ONLY}."
    )
    @staticmethod
    def metric(root: strawberry.Parent[models.RateLimit]) -> RateLimitMetric | None:
        # A metric Bifrost does not define today is not guessed at: null, like a rate limit without one.
        return _METRICS.get(root.metric or "")
