"""The rate-limit input, shared by every owner, with its local validation."""

from __future__ import annotations

from typing import Any

import strawberry

from app.schema.checks import invalid
from app.schema.durations import is_valid_reset_duration
from app.schema.errors import UserError
from app.schema.scalars import Int64

__all__ = ["RateLimitInput", "check_rate_limit"]


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


def check_rate_limit(rate_limit: RateLimitInput, path: list[str]) -> list[UserError]:
    """Errors for a rate limit: positive max limits, each with a valid reset duration."""
    errors: list[UserError] = []
    for kind in ("token", "request"):
        limit = getattr(rate_limit, f"{kind}_max_limit")
        duration = getattr(rate_limit, f"{kind}_reset_duration")
        if limit is None and duration is None:
            continue
        if limit is None or limit <= 0:
            errors.append(invalid([*path, f"{kind}MaxLimit"], f"{kind}MaxLimit must be greater than 0"))
        if duration is None:
            errors.append(invalid([*path, f"{kind}ResetDuration"], f"{kind}ResetDuration is required"))
        elif not is_valid_reset_duration(duration):
            errors.append(
                invalid([*path, f"{kind}ResetDuration"], f"{kind}ResetDuration {duration[:64]!r} is not valid")
            )
    if rate_limit.token_max_limit is None and rate_limit.request_max_limit is None and not errors:
        errors.append(invalid(path, "a rate limit needs tokenMaxLimit or requestMaxLimit"))
    return errors
