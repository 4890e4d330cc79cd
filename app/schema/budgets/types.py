"""Budget and its v2 override: read straight from the upstream model."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.bifrost import models
from app.schema.availability import V2_ONLY

__all__ = ["Budget", "BudgetOverride", "BudgetOverrideMode"]


@strawberry.enum(description="How long a budget override lasts.")
class BudgetOverrideMode(Enum):
    CYCLES = strawberry.enum_value("cycles", description="For a number of reset windows, the current one included.")
    FOREVER = strawberry.enum_value("forever", description="Until it is cleared.")


# Bifrost's spelling of each mode (``mode.value`` is typed as strawberry's value definition).
_MODES: dict[str, BudgetOverrideMode] = {"cycles": BudgetOverrideMode.CYCLES, "forever": BudgetOverrideMode.FOREVER}


@strawberry.type(
    description="Extra spend allowed on top of a budget's `maxLimit` while the override is active "
    "(`FOREVER`, or `CYCLES` with windows left)."
)
class BudgetOverride:
    @strawberry.field(description="Extra spend in USD per window.")
    @staticmethod
    def amount(root: strawberry.Parent[models.Budget]) -> float:
        return root.override_amount or 0.0

    @strawberry.field(description="How long the override lasts.")
    @staticmethod
    def mode(root: strawberry.Parent[models.Budget]) -> BudgetOverrideMode:
        return _MODES[root.override_mode or ""]

    @strawberry.field(
        description="Windows left, the current one included (`CYCLES`); null for `FOREVER`. Bifrost recomputes it "
        "at each reset and clears the override when it reaches zero."
    )
    @staticmethod
    def cycles_remaining(root: strawberry.Parent[models.Budget]) -> int | None:
        return root.override_cycles_remaining if root.override_mode == "cycles" else None

    @strawberry.field(description="Windows granted (`CYCLES`); null for `FOREVER`.")
    @staticmethod
    def cycles_total(root: strawberry.Parent[models.Budget]) -> int | None:
        return root.override_cycles_total if root.override_mode == "cycles" else None

    @strawberry.field(description="Start of the window the override was granted in (`CYCLES`); null for `FOREVER`.")
    @staticmethod
    def anchor_reset(root: strawberry.Parent[models.Budget]) -> datetime | None:
        return root.override_anchor_reset if root.override_mode == "cycles" else None


@strawberry.type(description="A spending limit in USD that resets every `resetDuration`.")
class Budget:
    id: strawberry.ID
    max_limit: float = strawberry.field(description="Maximum spend in USD per period.")
    reset_duration: str = strawberry.field(description="Period, e.g. `30s`, `1h30m`, `1d`, `1w`, `1M`, `1Y`.")
    last_reset: datetime | None
    current_usage: float = strawberry.field(description="Spend in USD in the current period.")
    calendar_aligned: bool = strawberry.field(
        description="Whether the budget's periods start on calendar boundaries. Bifrost v2 sets this on the owner "
        "(`calendarAligned` of its team, customer or key; a provider config's budgets follow its key), and the "
        "owner's setting is answered here."
    )
    team_id: strawberry.ID | None
    virtual_key_id: strawberry.ID | None
    provider_config_id: int | None
    config_hash: str | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field(
        description="The budget's override, when one is set; only budgets of a virtual key, of its provider "
        f"configs and of its models can have one. {V2_ONLY}."
    )
    @staticmethod
    def override(root: strawberry.Parent[models.Budget]) -> BudgetOverride | None:
        # A mode Bifrost does not define today cannot be shown as the enum: no override rather than an error.
        return root if root.override_mode in _MODES else None  # type: ignore[return-value]

    @strawberry.field(
        description="The limit Bifrost enforces: `maxLimit` plus the override's amount while the override is "
        "active, else `maxLimit` (so `maxLimit` on upstreams before v2, which have no overrides)."
    )
    @staticmethod
    def effective_max_limit(root: strawberry.Parent[models.Budget]) -> float:
        return root.effective_max_limit
