"""Customer mutations (create, update, delete): validated locally, forwarded to Bifrost exactly once, never retried."""

from __future__ import annotations

import strawberry

from app.bifrost import BifrostHTTPError
from app.schema.checks import delete_entity, user_error_or_raise
from app.schema.context import Info
from app.schema.customers.bodies import create_customer_body, update_customer_body
from app.schema.customers.inputs import CreateCustomerInput, DeleteCustomerInput, UpdateCustomerInput
from app.schema.customers.types import Customer
from app.schema.errors import UserError
from app.schema.loaders import Loaders
from app.schema.read_back import existing_customer

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


def _forget_customers(loaders: Loaders) -> None:
    # Teams and keys embed their customer, and Bifrost changes them when a customer is deleted.
    loaders.customer.clear_all()
    loaders.team.clear_all()
    loaders.virtual_key.clear_all()
    loaders.forget_team_keys()


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(description="Create a customer (`POST /api/governance/customers`), sent exactly once.")
    @staticmethod
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
            context.loaders.prime_customers([existing])
            return CreateCustomerPayload(customer=existing)  # type: ignore[arg-type]
        try:
            customer = await context.bifrost.create_customer(body)
        except BifrostHTTPError as error:
            return CreateCustomerPayload(user_errors=[user_error_or_raise(error)])
        context.loaders.prime_customers([customer])
        return CreateCustomerPayload(customer=customer)  # type: ignore[arg-type]

    @strawberry.mutation(description="Change a customer (`PUT /api/governance/customers/{id}`), sent exactly once.")
    @staticmethod
    async def update_customer(info: Info, input: UpdateCustomerInput) -> UpdateCustomerPayload:
        errors = input.check()
        if errors:
            return UpdateCustomerPayload(user_errors=errors)
        context = info.context
        body, errors = update_customer_body(input, await context.bifrost.api_generation())
        if errors:
            return UpdateCustomerPayload(user_errors=errors)
        try:
            customer = await context.bifrost.update_customer(input.id, body)
        except BifrostHTTPError as error:
            return UpdateCustomerPayload(user_errors=[user_error_or_raise(error)])
        _forget_customers(context.loaders)
        context.loaders.prime_customers([customer])
        return UpdateCustomerPayload(customer=customer)  # type: ignore[arg-type]

    @strawberry.mutation(
        description="Delete a customer (`DELETE /api/governance/customers/{id}`). Bifrost detaches its teams "
        "and virtual keys."
    )
    @staticmethod
    async def delete_customer(info: Info, input: DeleteCustomerInput) -> DeleteCustomerPayload:
        loaders = info.context.loaders

        def forget() -> None:
            _forget_customers(loaders)
            loaders.customer.prime(input.id, None, force=True)

        deleted, errors = await delete_entity(
            input.id, info.context.bifrost.delete_customer, forget, retried=info.context.earlier_attempt_at is not None
        )
        return DeleteCustomerPayload(deleted_id=deleted, user_errors=errors)
