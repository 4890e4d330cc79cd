"""The input of setProviderGovernance and its checks, made before anything is sent."""

from __future__ import annotations

import strawberry

from app.schema.budgets.inputs import BudgetInput, check_budgets
from app.schema.changes import list_change
from app.schema.errors import UserError
from app.schema.rate_limits.inputs import RateLimitInput, check_rate_limit

__all__ = ["ProviderGovernanceInput"]


@strawberry.input(
    description="A provider's governance. Fields left out are unchanged; removing every budget and the rate limit "
    "removes the provider's governance."
)
class ProviderGovernanceInput:
    budgets: strawberry.Maybe[list[BudgetInput] | None] = strawberry.field(
        description="The full desired set; `[]` or null removes every budget."
    )
    rate_limit: strawberry.Maybe[RateLimitInput | None] = strawberry.field(
        description="Replaces the rate limit; null removes it."
    )
    calendar_aligned: bool | None = strawberry.field(
        default=None, description="Reset windows on calendar boundaries (UTC) instead of rolling."
    )

    def check(self) -> list[UserError]:
        """Every problem that can be found without asking Bifrost."""
        budgets = list_change(self.budgets)
        errors = check_budgets([(["input", "budgets", str(i)], b) for i, b in enumerate(budgets or [])])
        if self.rate_limit is not None and self.rate_limit.value is not None:
            errors += check_rate_limit(self.rate_limit.value, ["input", "rateLimit"])
        return errors
