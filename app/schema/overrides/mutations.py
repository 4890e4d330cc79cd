"""setBudgetOverride and clearBudgetOverride: one of a key's budgets gets extra room, or loses it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from app.bifrost import BifrostHTTPError, BifrostNotFound, BifrostSession
from app.bifrost.overrides import BudgetOverrideResult, clear_budget_override, set_budget_override
from app.generations import Feature
from app.schema.budgets.types import Budget
from app.schema.capabilities import missing_feature
from app.schema.checks import check_id, user_error_or_raise
from app.schema.context import Info
from app.schema.errors import UserError, UserErrorCode
from app.schema.overrides.bodies import budget_override_body
from app.schema.overrides.inputs import BudgetOverrideInput
from app.schema.stale import Stale, makes_stale

__all__ = ["BudgetOverridePayload", "OverrideMutations"]


@strawberry.type(description="The budget with its override as it is now, or the reasons nothing changed.")
class BudgetOverridePayload:
    budget: Budget | None = None
    effective_max_limit: float | None = strawberry.field(
        default=None,
        description="The limit Bifrost enforces now, as its answer to this write says: `maxLimit`, plus the "
        "override's amount while the override is active.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


# Keys embed their budgets, and the request's budget list holds the one written.
_OVERRIDDEN = Stale.VIRTUAL_KEYS | Stale.BUDGETS


def _check_ids(virtual_key_id: str, budget_id: str) -> list[UserError]:
    return check_id(virtual_key_id, ["virtualKeyId"]) + check_id(budget_id, ["budgetId"])


async def _send(
    info: Info,
    virtual_key_id: str,
    budget_id: str,
    write: Callable[[BifrostSession], Awaitable[BudgetOverrideResult]],
) -> BudgetOverridePayload:
    context = info.context
    if (refusal := await missing_feature(context.bifrost, Feature.BUDGET_OVERRIDES)) is not None:
        return BudgetOverridePayload(user_errors=[refusal])
    try:
        result = await write(context.bifrost)
    except BifrostNotFound:
        # Bifrost does not say which: the key is missing, or the budget is not one of its budgets.
        message = "virtual key or budget not found (the budget must be one of the key's budgets)"
        return BudgetOverridePayload(user_errors=[UserError(field=None, message=message, code=UserErrorCode.NOT_FOUND)])
    except BifrostHTTPError as error:
        user_error = user_error_or_raise(error)
        return BudgetOverridePayload(
            user_errors=[UserError(field=["input"], message=user_error.message, code=user_error.code)]
        )
    return BudgetOverridePayload(
        budget=result.budget,  # type: ignore[arg-type]
        effective_max_limit=result.effective_max_limit,
    )


@strawberry.type
class OverrideMutations:
    @strawberry.mutation(
        description="Give one of a virtual key's budgets extra room (`PUT /api/governance/virtual-keys/{id}/budgets/"
        "{budget_id}/override`, Bifrost v2), replacing any override it has; maxLimit and usage stay. Older Bifrost "
        "versions: UNSUPPORTED_BY_UPSTREAM, nothing sent."
    )
    @staticmethod
    @makes_stale(_OVERRIDDEN, written="budget")
    async def set_budget_override(
        info: Info, virtual_key_id: strawberry.ID, budget_id: strawberry.ID, input: BudgetOverrideInput
    ) -> BudgetOverridePayload:
        errors = _check_ids(virtual_key_id, budget_id) + input.check()
        if errors:
            return BudgetOverridePayload(user_errors=errors)
        body = budget_override_body(input)
        return await _send(
            info,
            virtual_key_id,
            budget_id,
            lambda bifrost: set_budget_override(bifrost, virtual_key_id, budget_id, body),
        )

    @strawberry.mutation(
        description="Remove the override of one of a virtual key's budgets (`DELETE .../budgets/{budget_id}/override`, "
        "Bifrost v2). Older Bifrost versions: UNSUPPORTED_BY_UPSTREAM, nothing sent."
    )
    @staticmethod
    @makes_stale(_OVERRIDDEN, written="budget")
    async def clear_budget_override(
        info: Info, virtual_key_id: strawberry.ID, budget_id: strawberry.ID
    ) -> BudgetOverridePayload:
        errors = _check_ids(virtual_key_id, budget_id)
        if errors:
            return BudgetOverridePayload(user_errors=errors)
        return await _send(
            info, virtual_key_id, budget_id, lambda bifrost: clear_budget_override(bifrost, virtual_key_id, budget_id)
        )
