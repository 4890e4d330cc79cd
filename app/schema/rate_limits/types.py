"""RateLimit: read straight from the upstream model."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.schema.scalars import Int64

__all__ = ["RateLimit"]


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
