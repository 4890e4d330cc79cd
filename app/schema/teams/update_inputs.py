"""Inputs of updateTeam and deleteTeam, and their local validation.

Fields left out of an update stay as they are; ``null`` clears where Bifrost can clear (``customerId: null``
detaches the team from its customer, ``rateLimit: null`` removes the rate limit, ``budgets: null`` removes every
budget) and is refused where it cannot (``name: null``). See ``app.schema.changes``.
"""

from __future__ import annotations

import strawberry

from app.schema.budgets.inputs import BudgetInput, RateLimitInput, check_budgets, check_rate_limit
from app.schema.changes import check_not_null, list_change
from app.schema.checks import check_id
from app.schema.errors import UserError
from app.schema.names import check_name

__all__ = ["DeleteTeamInput", "UpdateTeamInput"]


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

    def check(self) -> list[UserError]:
        """Every problem that can be found without asking Bifrost."""
        errors = check_id(self.id, ["input", "id"])
        errors += check_not_null(self.name, ["input", "name"])
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
