"""Team mutations (create, update, delete): validated locally, forwarded to Bifrost exactly once, never retried."""

from __future__ import annotations

import strawberry

from app.bifrost import BifrostHTTPError, BifrostServerError
from app.schema.checks import check_owner_exists, delete_entity, taken_name, user_error_or_raise
from app.schema.context import Info
from app.schema.errors import UserError
from app.schema.read_back import existing_team
from app.schema.stale import Stale, makes_stale
from app.schema.teams.bodies import create_team_body, update_team_body
from app.schema.teams.inputs import CreateTeamInput, DeleteTeamInput, UpdateTeamInput
from app.schema.teams.types import Team

__all__ = ["CreateTeamPayload", "DeleteTeamPayload", "TeamMutations", "UpdateTeamPayload"]


_CREATE_FAILED = "failed to create team"  # Bifrost's 500 text for a team create that failed in its database


@strawberry.type(description="The created team, or the reasons it was not created.")
class CreateTeamPayload:
    team: Team | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The updated team, or the reasons it was not updated.")
class UpdateTeamPayload:
    team: Team | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The id of the deleted team, or the reasons it was not deleted.")
class DeleteTeamPayload:
    deleted_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TeamMutations:
    @strawberry.mutation(description="Create a team (`POST /api/governance/teams`), sent exactly once.")
    @staticmethod
    @makes_stale(Stale.CUSTOMER_OF_WRITTEN | Stale.BUDGETS | Stale.RATE_LIMITS, written="team")
    async def create_team(info: Info, input: CreateTeamInput) -> CreateTeamPayload:
        errors = input.check()
        if errors:
            return CreateTeamPayload(user_errors=errors)
        if input.customer_id is not None:  # a team of no customer has no owner to look up
            errors = await check_owner_exists(info, team_id=None, customer_id=input.customer_id)
            if errors:
                return CreateTeamPayload(user_errors=errors)
        context = info.context
        body, errors = create_team_body(input, await context.bifrost.api_generation())
        if errors:
            return CreateTeamPayload(user_errors=errors)
        if context.earlier_attempt_at is not None and (team := await existing_team(context.bifrost, input.name)):
            return CreateTeamPayload(team=team)  # type: ignore[arg-type]
        try:
            team = await context.bifrost.create_team(body)
        except BifrostServerError as error:
            # Bifrost v1.5 answers a taken name with a bare 500; a read tells the two apart.
            taken = await taken_name(context.bifrost, "team", input.name) if error.message == _CREATE_FAILED else None
            if taken is None:
                raise
            return CreateTeamPayload(user_errors=[taken])
        except BifrostHTTPError as error:
            return CreateTeamPayload(user_errors=[user_error_or_raise(error)])
        return CreateTeamPayload(team=team)  # type: ignore[arg-type]

    @strawberry.mutation(description="Change a team (`PUT /api/governance/teams/{id}`), sent exactly once.")
    @staticmethod
    # The old and the new customer's team lists are both stale.
    @makes_stale(Stale.CUSTOMERS | Stale.BUDGETS | Stale.RATE_LIMITS, written="team")
    async def update_team(info: Info, input: UpdateTeamInput) -> UpdateTeamPayload:
        errors = input.check()
        if errors:
            return UpdateTeamPayload(user_errors=errors)
        customer_id = input.customer_id.value if input.customer_id is not None else None
        errors = await check_owner_exists(info, team_id=None, customer_id=customer_id)
        if errors:
            return UpdateTeamPayload(user_errors=errors)
        context = info.context
        body, errors = update_team_body(input, await context.bifrost.api_generation())
        if errors:
            return UpdateTeamPayload(user_errors=errors)
        try:
            team = await context.bifrost.update_team(input.id, body)
        except BifrostServerError:
            # Bifrost answers a taken name with a bare 500 ("Failed to update team"); a read tells them apart.
            name = input.name.value if input.name is not None else None
            taken = await taken_name(context.bifrost, "team", name, other_than=input.id)
            if taken is None:
                raise
            return UpdateTeamPayload(user_errors=[taken])
        except BifrostHTTPError as error:
            return UpdateTeamPayload(user_errors=[user_error_or_raise(error)])
        return UpdateTeamPayload(team=team)  # type: ignore[arg-type]

    @strawberry.mutation(
        description="Delete a team (`DELETE /api/governance/teams/{id}`). Bifrost detaches its virtual keys "
        "and deletes its budgets and rate limit."
    )
    @staticmethod
    # Its keys are detached (and its customer's lists change); its budgets and rate limit are deleted.
    @makes_stale(
        Stale.CUSTOMERS | Stale.VIRTUAL_KEYS | Stale.TEAM_KEYS | Stale.BUDGETS | Stale.RATE_LIMITS, written="team"
    )
    async def delete_team(info: Info, input: DeleteTeamInput) -> DeleteTeamPayload:
        deleted, errors = await delete_entity(
            input.id, info.context.bifrost.delete_team, retried=info.context.earlier_attempt_at is not None
        )
        return DeleteTeamPayload(deleted_id=deleted, user_errors=errors)
