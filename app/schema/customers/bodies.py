"""The upstream bodies of the customer writes: only what the input mentions, in the generation's shape."""

from __future__ import annotations

from typing import Any

from app.generations import Generation
from app.schema.customers.inputs import CreateCustomerInput, UpdateCustomerInput
from app.schema.errors import UserError
from app.schema.rate_limits.bodies import given, rate_limit_body

__all__ = ["create_customer_body", "update_customer_body"]


def create_customer_body(
    data: CreateCustomerInput, generation: Generation | None
) -> tuple[dict[str, Any], list[UserError]]:
    """The POST body; a customer has a single ``budget`` in both generations."""
    body: dict[str, Any] = {"name": data.name}
    if data.budget is not None:
        body["budget"] = data.budget.to_bifrost()
    limit, errors = rate_limit_body(given(data.rate_limit), generation, owner="customer", path=["input", "rateLimit"])
    return {**body, **limit}, errors


def update_customer_body(
    data: UpdateCustomerInput, generation: Generation | None
) -> tuple[dict[str, Any], list[UserError]]:
    """The PUT body: only what the input mentions; ``budget: {}`` is Bifrost's way to remove the budget."""
    body: dict[str, Any] = {}
    if data.name is not None:
        body["name"] = data.name.value
    if data.budget is not None:
        body["budget"] = data.budget.value.to_bifrost() if data.budget.value is not None else {}
    limit, errors = rate_limit_body(data.rate_limit, generation, owner="customer", path=["input", "rateLimit"])
    return {**body, **limit}, errors
