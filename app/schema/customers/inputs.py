"""Inputs of the customer mutations (create, update, delete) and their local validation.

A customer has one budget in both API generations; rate limits exist on v1.5+ only. In an update, fields
left out stay as they are and ``null`` removes (``budget: null``, ``rateLimit: null``); ``name: null`` is refused.
"""

from __future__ import annotations

import strawberry

from app.schema.budgets.inputs import BudgetInput, check_budgets
from app.schema.changes import check_not_null
from app.schema.checks import check_id
from app.schema.errors import UserError
from app.schema.names import check_name
from app.schema.rate_limits.inputs import RateLimitInput, check_rate_limit

__all__ = ["CreateCustomerInput", "DeleteCustomerInput", "UpdateCustomerInput"]


@strawberry.input(description="A new customer.")
class CreateCustomerInput:
    name: str
    budget: BudgetInput | None = None
    rate_limit: RateLimitInput | None = strawberry.field(default=None, description="Bifrost v1.5+ only.")

    def check(self) -> list[UserError]:
        """Every problem that can be found without asking Bifrost."""
        errors = check_name(self.name, ["input", "name"])
        if self.budget is not None:
            errors += check_budgets([(["input", "budget"], self.budget)])
        if self.rate_limit is not None:
            errors += check_rate_limit(self.rate_limit, ["input", "rateLimit"])
        return errors


@strawberry.input(description="Changes to a customer. Fields left out are unchanged.")
class UpdateCustomerInput:
    id: strawberry.ID
    name: strawberry.Maybe[str | None] = strawberry.field(description="A new name; null is refused.")
    budget: strawberry.Maybe[BudgetInput | None] = strawberry.field(
        description="Replaces the budget's limit and period (usage is kept); null removes the budget."
    )
    rate_limit: strawberry.Maybe[RateLimitInput | None] = strawberry.field(
        description="Replaces the rate limit; null removes it (Bifrost v1.5+ only)."
    )

    def check(self) -> list[UserError]:
        """Every problem that can be found without asking Bifrost."""
        errors = check_id(self.id, ["input", "id"])
        errors += check_not_null(self.name, ["input", "name"])
        if self.name is not None and self.name.value is not None:
            errors += check_name(self.name.value, ["input", "name"])
        if self.budget is not None and self.budget.value is not None:
            errors += check_budgets([(["input", "budget"], self.budget.value)])
        if self.rate_limit is not None and self.rate_limit.value is not None:
            errors += check_rate_limit(self.rate_limit.value, ["input", "rateLimit"])
        return errors


@strawberry.input(description="The customer to delete.")
class DeleteCustomerInput:
    id: strawberry.ID
