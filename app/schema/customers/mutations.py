"""Customer mutations (create, update, delete): validated locally, forwarded to Bifrost exactly once, never retried."""

from __future__ import annotations

import strawberry

from app.bifrost import BifrostHTTPError, BifrostServerError
from app.schema.checks import delete_entity, taken_name, user_error_or_raise
from app.schema.context import Info
from app.schema.customers.bodies import create_customer_body, update_customer_body
from app.schema.customers.inputs import CreateCustomerInput, DeleteCustomerInput, UpdateCustomerInput
from app.schema.customers.types import Customer
from app.schema.errors import UserError
from app.schema.read_back import existing_customer
from app.schema.stale import Stale, makes_stale

__all__ = [
    "CreateCustomerPayload",
    "CustomerMutations",
    "DeleteCustomerPayload",
    "UpdateCustomerPayload",
]


@strawberry.type(description="The created customer, or the reasons it was not created.")
class CreateCustomerPayload:
    customer: Customer | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The updated customer, or the reasons it was not updated.")
class UpdateCustomerPayload:
    customer: Customer | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The id of the deleted customer, or the reasons it was not deleted.")
class DeleteCustomerPayload:
    deleted_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


# Teams and keys embed their customer, and Bifrost changes them when a customer is deleted.
_CUSTOMER_CHANGED = (
    Stale.CUSTOMERS | Stale.TEAMS | Stale.VIRTUAL_KEYS | Stale.TEAM_KEYS | Stale.BUDGETS | Stale.RATE_LIMITS
)


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(description="Create a customer (`POST /api/governance/customers`), sent exactly once.")
    @staticmethod
    @makes_stale(Stale.BUDGETS | Stale.RATE_LIMITS, written="customer")
    async def create_customer(info: Info, input: CreateCustomerInput) -> CreateCustomerPayload:
        errors = input.check()
        if errors:
            return CreateCustomerPayload(user_errors=errors)
        context = info.context
        body, errors = create_customer_body(input, await context.bifrost.api_generation())
        if errors:
            return CreateCustomerPayload(user_errors=errors)
        if context.earlier_attempt_at is not None and (
            existing := await existing_customer(context.bifrost, input.name, context.earlier_attempt_at)
        ):
            return CreateCustomerPayload(customer=existing)  # type: ignore[arg-type]
        try:
            customer = await context.bifrost.create_customer(body)
        except BifrostHTTPError as error:
            return CreateCustomerPayload(user_errors=[user_error_or_raise(error)])
        return CreateCustomerPayload(customer=customer)  # type: ignore[arg-type]

    @strawberry.mutation(description="Change a customer (`PUT /api/governance/customers/{id}`), sent exactly once.")
    @staticmethod
    @makes_stale(_CUSTOMER_CHANGED, written="customer")
    async def update_customer(info: Info, input: UpdateCustomerInput) -> UpdateCustomerPayload:
        errors = input.check()
        if errors:
            return UpdateCustomerPayload(user_errors=errors)
        context = info.context
        generation = await context.bifrost.api_generation()
        body, errors = update_customer_body(input, generation)
        if errors:
            return UpdateCustomerPayload(user_errors=errors)
        try:
            customer = await context.bifrost.update_customer(input.id, body)
        except BifrostServerError:
            # Bifrost v2 answers a rename to a taken name with a bare 500 ("Failed to update customer"); a read tells
            # the two apart (before v2 customer names need not be unique).
            unique = generation is not None and generation.duplicate_names.customer_update is not None
            name = input.name.value if input.name is not None and unique else None
            taken = await taken_name(context.bifrost, "customer", name, other_than=input.id)
            if taken is None:
                raise
            return UpdateCustomerPayload(user_errors=[taken])
        except BifrostHTTPError as error:
            return UpdateCustomerPayload(user_errors=[user_error_or_raise(error)])
        return UpdateCustomerPayload(customer=customer)  # type: ignore[arg-type]

    @strawberry.mutation(
        description="Delete a customer (`DELETE /api/governance/customers/{id}`). Bifrost detaches its teams "
        "and virtual keys."
    )
    @staticmethod
    @makes_stale(_CUSTOMER_CHANGED, written="customer")
    async def delete_customer(info: Info, input: DeleteCustomerInput) -> DeleteCustomerPayload:
        deleted, errors = await delete_entity(
            input.id, info.context.bifrost.delete_customer, retried=info.context.earlier_attempt_at is not None
        )
        return DeleteCustomerPayload(deleted_id=deleted, user_errors=errors)
