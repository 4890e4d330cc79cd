"""Budget: read straight from the upstream model."""

from __future__ import annotations

from datetime import datetime

import strawberry

__all__ = ["Budget"]


@strawberry.type(description="A spending limit in USD that resets every `resetDuration`.")
class Budget:
    id: strawberry.ID
    max_limit: float = strawberry.field(description="Maximum spend in USD per period.")
    reset_duration: str = strawberry.field(description="Period, e.g. `30s`, `1h30m`, `1d`, `1w`, `1M`, `1Y`.")
    last_reset: datetime | None
    current_usage: float = strawberry.field(description="Spend in USD in the current period.")
    calendar_aligned: bool
    team_id: strawberry.ID | None
    virtual_key_id: strawberry.ID | None
    provider_config_id: int | None
    config_hash: str | None
    created_at: datetime
    updated_at: datetime
