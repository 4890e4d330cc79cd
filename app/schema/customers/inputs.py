"""Inputs of the customer mutations (create, update, delete) and their local validation.

A customer has one budget until Bifrost v2, several from v2 on (``budgets``); rate limits exist on v1.5+ only.
In an update, fields left out stay as they are and ``null`` removes (``budget: null``, ``budgets: null``,
``rateLimit: null``); ``name: null`` and ``calendarAligned: null`` are refused.
"""

from __future__ import annotations

import strawberry

from app.schema.budgets.inputs import CALENDAR_ALIGNED, BudgetInput, check_budgets
from app.schema.changes import check_not_null, list_change
from app.schema.checks import check_id, invalid
from app.schema.errors import UserError
from app.schema.names import check_name
from app.schema.rate_limits.inputs import RateLimitInput, check_rate_limit

__all__ = ["CreateCustomerInput", "DeleteCustomerInput", "UpdateCustomerInput"]


@strawberry.input(description="A new customer. Give `budget` (one) or `budgets` (several, Bifrost v2), not both.")
class CreateCustomerInput:
    name: str
    budget: BudgetInput | None = None
    budgets: list[BudgetInput] | None = strawberry.field(
        default=None, description="The customer's budgets, one per resetDuration (more than one: Bifrost v2 only)."
    )
    rate_limit: RateLimitInput | None = strawberry.field(default=None, description="Bifrost v1.5+ only.")
    calendar_aligned: bool | None = strawberry.field(default=None, description=CALENDAR_ALIGNED)

    def check(self) -> list[UserError]:
        """Every problem that can be found without asking Bifrost."""
        errors = check_name(self.name, ["input", "name"])
        if self.budget is not None and self.budgets is not None:
            errors.append(invalid(["input", "budgets"], "give either budget or budgets, not both"))
        if self.budget is not None:
            errors += check_budgets([(["input", "budget"], self.budget)])
        errors += check_budgets([(["input", "budgets", str(i)], b) for i, b in enumerate(self.budgets or [])])
        if self.rate_limit is not None:
            errors += check_rate_limit(self.rate_limit, ["input", "rateLimit"])
        return errors


@strawberry.input(description="Changes to a customer. Fields left out are unchanged.")
class UpdateCustomerInput:
    id: strawberry.ID
    name: strawberry.Maybe[str | None] = strawberry.field(description="A new name; null is refused.")
    budget: strawberry.Maybe[BudgetInput | None] = strawberry.field(
        description="Replaces the budget's limit and period (usage is kept); null removes the budget (on Bifrost "
        "v2: every budget). On Bifrost v2 a customer with several budgets is changed through `budgets`."
    )
    budgets: strawberry.Maybe[list[BudgetInput] | None] = strawberry.field(
        description="The full desired set (Bifrost v2: an entry with an `id` changes that budget, else the budget "
        "of its resetDuration; budgets no entry names are deleted). `[]` or null deletes every budget: only when "
        "given explicitly, and only here in an update; leaving the field out keeps them. Older versions take one "
        "budget at most."
    )
    rate_limit: strawberry.Maybe[RateLimitInput | None] = strawberry.field(
        description="Replaces the rate limit; null removes it (Bifrost v1.5+ only)."
    )
    calendar_aligned: strawberry.Maybe[bool | None] = strawberry.field(description=CALENDAR_ALIGNED)

    def check(self) -> list[UserError]:
        """Every problem that can be found without asking Bifrost."""
        errors = check_id(self.id, ["input", "id"])
        errors += check_not_null(self.name, ["input", "name"])
        errors += check_not_null(self.calendar_aligned, ["input", "calendarAligned"])
        if self.name is not None and self.name.value is not None:
            errors += check_name(self.name.value, ["input", "name"])
        if self.budget is not None and self.budgets is not None:
            errors.append(invalid(["input", "budgets"], "give either budget or budgets, not both"))
        if self.budget is not None and self.budget.value is not None:
            errors += check_budgets([(["input", "budget"], self.budget.value)])
        budgets = list_change(self.budgets)
        errors += check_budgets([(["input", "budgets", str(i)], b) for i, b in enumerate(budgets or [])])
        if self.rate_limit is not None and self.rate_limit.value is not None:
            errors += check_rate_limit(self.rate_limit.value, ["input", "rateLimit"])
        return errors


@strawberry.input(description="The customer to delete.")
class DeleteCustomerInput:
    id: strawberry.ID
