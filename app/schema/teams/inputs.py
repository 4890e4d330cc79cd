"""Inputs of the team mutations and their local validation."""

from __future__ import annotations

import strawberry

from app.bifrost import is_valid_id
from app.schema.budgets.inputs import BudgetInput, RateLimitInput, check_budgets, check_rate_limit
from app.schema.errors import UserError, UserErrorCode

__all__ = ["MAX_NAME_LENGTH", "CreateTeamInput", "check_name"]

MAX_NAME_LENGTH = 255


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
        if self.customer_id is not None and not is_valid_id(self.customer_id):
            errors.append(
                UserError(
                    field=["input", "customerId"],
                    message="customerId is not a valid id",
                    code=UserErrorCode.INVALID_INPUT,
                )
            )
        if self.budget is not None and self.budgets is not None:
            errors.append(
                UserError(
                    field=["input", "budgets"],
                    message="give either budget or budgets, not both",
                    code=UserErrorCode.INVALID_INPUT,
                )
            )
        errors += check_budgets(self.all_budgets())
        if self.rate_limit is not None:
            errors += check_rate_limit(self.rate_limit, ["input", "rateLimit"])
        return errors


def check_name(name: str, path: list[str]) -> list[UserError]:
    """A name must have a visible character and at most MAX_NAME_LENGTH characters."""
    if not name.strip():
        return [UserError(field=path, message="name must not be blank", code=UserErrorCode.INVALID_INPUT)]
    if len(name) > MAX_NAME_LENGTH:
        return [
            UserError(
                field=path,
                message=f"name must be at most {MAX_NAME_LENGTH} characters",
                code=UserErrorCode.INVALID_INPUT,
            )
        ]
    return []
