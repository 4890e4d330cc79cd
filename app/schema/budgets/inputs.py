"""Inputs for budgets and rate limits, shared by every owner, with their local validation."""

from __future__ import annotations

import math
from typing import Any

import strawberry

from app.schema.durations import is_valid_reset_duration
from app.schema.errors import UserError, UserErrorCode
from app.schema.scalars import Int64

__all__ = ["BudgetInput", "RateLimitInput", "check_budgets", "check_rate_limit"]


@strawberry.input(description="A budget: spend at most `maxLimit` USD per `resetDuration`.")
class BudgetInput:
    max_limit: float = strawberry.field(description="Maximum spend in USD per period; must be > 0.")
    reset_duration: str = strawberry.field(description="`30s`, `5m`, `1h30m`, `1.5d`, `1w`, `1M`, `1Y`.")
    calendar_aligned: bool | None = strawberry.field(
        default=None, description="Reset on calendar boundaries (UTC) instead of rolling (Bifrost v1.5+)."
    )

    def to_bifrost(self) -> dict[str, Any]:
        """The upstream JSON body."""
        body: dict[str, Any] = {"max_limit": self.max_limit, "reset_duration": self.reset_duration}
        if self.calendar_aligned is not None:
            body["calendar_aligned"] = self.calendar_aligned
        return body


@strawberry.input(description="Token and/or request limits; each max limit needs its reset duration.")
class RateLimitInput:
    token_max_limit: Int64 | None = None
    token_reset_duration: str | None = None
    request_max_limit: Int64 | None = None
    request_reset_duration: str | None = None
    calendar_aligned: bool | None = None

    def to_bifrost(self) -> dict[str, Any]:
        """The upstream JSON body (fields left out stay out)."""
        fields = {
            "token_max_limit": self.token_max_limit,
            "token_reset_duration": self.token_reset_duration,
            "request_max_limit": self.request_max_limit,
            "request_reset_duration": self.request_reset_duration,
            "calendar_aligned": self.calendar_aligned,
        }
        return {name: value for name, value in fields.items() if value is not None}


def _invalid(path: list[str], message: str) -> UserError:
    return UserError(field=path, message=message, code=UserErrorCode.INVALID_INPUT)


def check_budgets(budgets: list[tuple[list[str], BudgetInput]]) -> list[UserError]:
    """Errors for each (input path, budget): limit finite and > 0, valid duration, no duplicates."""
    errors: list[UserError] = []
    seen: set[str] = set()
    for at, budget in budgets:
        if not math.isfinite(budget.max_limit) or budget.max_limit <= 0:
            errors.append(_invalid([*at, "maxLimit"], "maxLimit must be a finite number greater than 0"))
        if not is_valid_reset_duration(budget.reset_duration):
            errors.append(
                _invalid(
                    [*at, "resetDuration"],
                    f"resetDuration {budget.reset_duration[:64]!r} is not a positive duration such as "
                    "30s, 5m, 1h30m, 1.5d, 1w, 1M or 1Y",
                )
            )
        elif budget.reset_duration in seen:
            errors.append(
                _invalid([*at, "resetDuration"], f"duplicate resetDuration {budget.reset_duration!r} in budgets")
            )
        seen.add(budget.reset_duration)
    return errors


def check_rate_limit(rate_limit: RateLimitInput, path: list[str]) -> list[UserError]:
    """Errors for a rate limit: positive max limits, each with a valid reset duration."""
    errors: list[UserError] = []
    for kind in ("token", "request"):
        limit = getattr(rate_limit, f"{kind}_max_limit")
        duration = getattr(rate_limit, f"{kind}_reset_duration")
        if limit is None and duration is None:
            continue
        if limit is None or limit <= 0:
            errors.append(_invalid([*path, f"{kind}MaxLimit"], f"{kind}MaxLimit must be greater than 0"))
        if duration is None:
            errors.append(_invalid([*path, f"{kind}ResetDuration"], f"{kind}ResetDuration is required"))
        elif not is_valid_reset_duration(duration):
            errors.append(
                _invalid([*path, f"{kind}ResetDuration"], f"{kind}ResetDuration {duration[:64]!r} is not valid")
            )
    if rate_limit.token_max_limit is None and rate_limit.request_max_limit is None and not errors:
        errors.append(_invalid(path, "a rate limit needs tokenMaxLimit or requestMaxLimit"))
    return errors
