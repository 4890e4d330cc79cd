"""The budget input, shared by every owner, with its local validation."""

from __future__ import annotations

import math
from typing import Any

import strawberry

from app.schema.checks import check_id, invalid
from app.schema.durations import is_valid_reset_duration
from app.schema.errors import UserError

__all__ = ["CALENDAR_ALIGNED", "BudgetInput", "check_budgets"]

CALENDAR_ALIGNED = (
    "The owner's budgets and rate limits reset at calendar boundaries (UTC: day, week, month) instead of rolling "
    "from their creation; turning it on zeroes current usage. Bifrost v2 only: older versions answer "
    "UNSUPPORTED_BY_UPSTREAM."
)


@strawberry.input(description="A budget: spend at most `maxLimit` USD per `resetDuration`.")
class BudgetInput:
    max_limit: float = strawberry.field(description="Maximum spend in USD per period; must be > 0.")
    reset_duration: str = strawberry.field(description="`30s`, `5m`, `1h30m`, `1.5d`, `1w`, `1M`, `1Y`.")
    calendar_aligned: bool | None = strawberry.field(
        default=None, description="Reset on calendar boundaries (UTC) instead of rolling (Bifrost v1.5+)."
    )
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description="An existing budget this entry changes, in updates (Bifrost v2; virtual keys, provider configs "
        "and customers). Without an id a budget is matched by `resetDuration`, so changing its duration "
        "replaces it and its usage starts again; with its id the budget keeps its usage.",
    )

    def to_bifrost(self) -> dict[str, Any]:
        """The upstream JSON body."""
        body: dict[str, Any] = {"max_limit": self.max_limit, "reset_duration": self.reset_duration}
        if self.calendar_aligned is not None:
            body["calendar_aligned"] = self.calendar_aligned
        if self.id is not None:
            body["id"] = self.id
        return body


def check_budgets(budgets: list[tuple[list[str], BudgetInput]]) -> list[UserError]:
    """Errors for each (input path, budget): limit finite and > 0, valid duration, no duplicates."""
    errors: list[UserError] = []
    seen: set[str] = set()
    for at, budget in budgets:
        if budget.id is not None:
            errors += check_id(budget.id, [*at, "id"])
        if not math.isfinite(budget.max_limit) or budget.max_limit <= 0:
            errors.append(invalid([*at, "maxLimit"], "maxLimit must be a finite number greater than 0"))
        if not is_valid_reset_duration(budget.reset_duration):
            errors.append(
                invalid(
                    [*at, "resetDuration"],
                    f"resetDuration {budget.reset_duration[:64]!r} is not a positive duration such as "
                    "30s, 5m, 1h30m, 1.5d, 1w, 1M or 1Y",
                )
            )
        elif budget.reset_duration in seen:
            errors.append(
                invalid([*at, "resetDuration"], f"duplicate resetDuration {budget.reset_duration!r} in budgets")
            )
        seen.add(budget.reset_duration)
    return errors
