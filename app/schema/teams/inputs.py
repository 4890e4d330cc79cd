"""Inputs of the team mutations and their local validation."""

from __future__ import annotations

import strawberry

from app.schema.budgets.inputs import BudgetInput, RateLimitInput, check_budgets, check_rate_limit
from app.schema.checks import check_id, invalid
from app.schema.errors import UserError
from app.schema.names import check_name

__all__ = ["CreateTeamInput"]


@strawberry.input(description="A new team. Give `budget` (one) or `budgets` (several, Bifrost v1.5+), not both.")
class CreateTeamInput:
    name: str
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="An existing customer; checked by the gateway (Bifrost does not check it)."
    )
    budget: BudgetInput | None = None
    budgets: list[BudgetInput] | None = None
    rate_limit: RateLimitInput | None = strawberry.field(default=None, description="Bifrost v1.5+ only.")

    def all_budgets(self) -> list[tuple[list[str], BudgetInput]]:
        """Every budget given, with its input path."""
        found = [(["input", "budget"], self.budget)] if self.budget is not None else []
        found += [(["input", "budgets", str(i)], b) for i, b in enumerate(self.budgets or [])]
        return found

    def check(self) -> list[UserError]:
        """Every problem that can be found without asking Bifrost."""
        errors = check_name(self.name, ["input", "name"])
        if self.customer_id is not None:
            errors += check_id(self.customer_id, ["input", "customerId"])
        if self.budget is not None and self.budgets is not None:
            errors.append(invalid(["input", "budgets"], "give either budget or budgets, not both"))
        errors += check_budgets(self.all_budgets())
        if self.rate_limit is not None:
            errors += check_rate_limit(self.rate_limit, ["input", "rateLimit"])
        return errors
