"""Inputs of the team mutations (create, update, delete) and their local validation.

Fields left out of an update stay as they are; ``null`` clears where Bifrost can clear (``customerId: null``
detaches the team from its customer, ``rateLimit: null`` removes the rate limit, ``budgets: null`` removes every
budget) and is refused where it cannot (``name: null``). See ``app.schema.changes``.
"""

from __future__ import annotations

import strawberry

from app.schema.budgets.inputs import CALENDAR_ALIGNED, BudgetInput, check_budgets
from app.schema.changes import check_not_null, list_change
from app.schema.checks import check_id, invalid
from app.schema.errors import UserError
from app.schema.names import check_name
from app.schema.rate_limits.inputs import RateLimitInput, check_rate_limit

__all__ = ["CreateTeamInput", "DeleteTeamInput", "UpdateTeamInput"]


@strawberry.input(description="A new team. Give `budget` (one) or `budgets` (several, Bifrost v1.5+), not both.")
class CreateTeamInput:
    name: str
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="An existing customer; checked by the gateway (Bifrost does not check it)."
    )
    budget: BudgetInput | None = None
    budgets: list[BudgetInput] | None = None
    rate_limit: RateLimitInput | None = strawberry.field(default=None, description="Bifrost v1.5+ only.")
    calendar_aligned: bool | None = strawberry.field(default=None, description=CALENDAR_ALIGNED)

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


@strawberry.input(description="Changes to a team. Fields left out are unchanged.")
class UpdateTeamInput:
    id: strawberry.ID
    name: strawberry.Maybe[str | None] = strawberry.field(description="A new name; null is refused.")
    customer_id: strawberry.Maybe[strawberry.ID | None] = strawberry.field(
        description="An existing customer (checked by the gateway), or null to detach the team from its customer."
    )
    budgets: strawberry.Maybe[list[BudgetInput] | None] = strawberry.field(
        description="The full desired set, matched by resetDuration (usage is kept); `[]` or null removes every "
        "budget (Bifrost v1.5+). Seed-generation upstreams take one budget and update it in place."
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
        if self.customer_id is not None and self.customer_id.value is not None:
            errors += check_id(self.customer_id.value, ["input", "customerId"])
        budgets = list_change(self.budgets)
        errors += check_budgets([(["input", "budgets", str(i)], b) for i, b in enumerate(budgets or [])])
        if self.rate_limit is not None and self.rate_limit.value is not None:
            errors += check_rate_limit(self.rate_limit.value, ["input", "rateLimit"])
        return errors


@strawberry.input(description="The team to delete.")
class DeleteTeamInput:
    id: strawberry.ID
