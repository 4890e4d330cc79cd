"""The input of setBudgetOverride and its checks, the ones Bifrost makes, made before anything is sent."""

from __future__ import annotations

import math

import strawberry

from app.schema.budgets.types import BudgetOverrideMode
from app.schema.checks import invalid
from app.schema.errors import UserError

__all__ = ["BudgetOverrideInput"]


@strawberry.input(
    description="Extra room on a budget: while active, the limit enforced is `maxLimit + amount`. CYCLES lasts "
    "`cycles` budget windows, counting the current one; FOREVER lasts until cleared."
)
class BudgetOverrideInput:
    amount: float = strawberry.field(description="Extra USD per window; finite and greater than 0.")
    mode: BudgetOverrideMode
    cycles: int | None = strawberry.field(
        default=None,
        description="Windows the override lasts, counting the current one: > 0 for CYCLES, null for FOREVER.",
    )

    def check(self) -> list[UserError]:
        """Every problem Bifrost would refuse, found without asking it."""
        errors: list[UserError] = []
        if not math.isfinite(self.amount) or self.amount <= 0:
            errors.append(invalid(["input", "amount"], "amount must be a finite number greater than 0"))
        if self.mode is BudgetOverrideMode.CYCLES and (self.cycles is None or self.cycles <= 0):
            errors.append(invalid(["input", "cycles"], "cycles must be greater than 0 for CYCLES"))
        if self.mode is BudgetOverrideMode.FOREVER and self.cycles is not None:
            errors.append(invalid(["input", "cycles"], "cycles must be left out for FOREVER"))
        return errors
