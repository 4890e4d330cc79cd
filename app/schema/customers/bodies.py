"""The upstream bodies of the customer writes: only what the input mentions, in the generation's shape.

Customers had one ``budget`` until Bifrost v2 (``customer_budgets == "single"``; ``budget: {}`` removes it),
and ``budgets`` from v2 on (the full desired set, matched by ``id`` else by reset duration; ``[]`` deletes
all). v2 still takes the single ``budget`` as a deprecated field, but refuses a body with both. So while the
generation is unknown, one budget travels as ``budget`` (read the same everywhere) and what only one shape
can say (several budgets, deleting them all through ``budgets``) is refused rather than guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.generations import Generation
from app.schema.budgets.bodies import check_budget_ids
from app.schema.budgets.inputs import BudgetInput
from app.schema.capabilities import calendar_aligned, some
from app.schema.changes import list_change
from app.schema.checks import unsupported
from app.schema.customers.inputs import CreateCustomerInput, UpdateCustomerInput
from app.schema.errors import UserError
from app.schema.rate_limits.bodies import given, rate_limit_body

__all__ = ["create_customer_body", "update_customer_body"]

Body = dict[str, Any]
_BUDGETS = ["input", "budgets"]
_UNKNOWN = "the upstream's Bifrost version is not known yet, and versions differ here: give one budget"


def create_customer_body(data: CreateCustomerInput, generation: Generation | None) -> tuple[Body, list[UserError]]:
    """The POST body the upstream's generation understands."""
    body: Body = {"name": data.name}
    if data.budget is not None:
        body["budget"] = data.budget.to_bifrost()  # v2 reads the deprecated single budget too
    budgets, errors = _budgets(data.budgets, generation, replace=False)
    errors += calendar_aligned(some(data.calendar_aligned), generation, body)
    limit, limit_errors = rate_limit_body(
        given(data.rate_limit), generation, owner="customer", path=["input", "rateLimit"]
    )
    return {**body, **budgets, **limit}, errors + limit_errors


def update_customer_body(data: UpdateCustomerInput, generation: Generation | None) -> tuple[Body, list[UserError]]:
    """The PUT body: only what the input mentions."""
    body: Body = {}
    if data.name is not None:
        body["name"] = data.name.value
    array = generation is not None and generation.customer_budgets == "array"
    if data.budget is not None:
        if data.budget.value is not None:
            body["budget"] = data.budget.value.to_bifrost()
        else:
            # Removing the budget: ``budget: {}`` before v2 (and while unknown, as always); v2 deletes through budgets.
            body.update({"budgets": []} if array else {"budget": {}})
    budgets, errors = _budgets(list_change(data.budgets), generation, replace=True)
    errors += calendar_aligned(data.calendar_aligned, generation, body)
    limit, limit_errors = rate_limit_body(data.rate_limit, generation, owner="customer", path=["input", "rateLimit"])
    return {**body, **budgets, **limit}, errors + limit_errors


def _budgets(
    budgets: Sequence[BudgetInput] | None, generation: Generation | None, *, replace: bool
) -> tuple[Body, list[UserError]]:
    """The budget fields for a ``budgets`` input (None: left out; ``[]`` in an update: delete every budget)."""
    if budgets is None or (not budgets and not replace):
        return {}, []
    errors = check_budget_ids(budgets, generation, owner="customer", path=_BUDGETS, replace=replace, by_id=True)
    if errors:
        return {}, errors
    shape = generation.customer_budgets if generation is not None else None
    if shape == "array":
        return {"budgets": [budget.to_bifrost() for budget in budgets]}, []
    if len(budgets) > 1:
        if shape is None:
            return {}, [unsupported(_BUDGETS, _UNKNOWN)]
        return {}, [unsupported(_BUDGETS, "this Bifrost version accepts one budget per customer (Bifrost v2+: more)")]
    if not budgets:
        if shape is None:
            return {}, [unsupported(_BUDGETS, _UNKNOWN)]
        return {"budget": {}}, []  # the single shape's way to remove the budget
    return {"budget": budgets[0].to_bifrost()}, []
