"""updateTeam and deleteTeam: validated locally, forwarded to Bifrost exactly once, never retried."""

from __future__ import annotations

from typing import Any

import strawberry

from app.bifrost import ApiGeneration, BifrostHTTPError, BifrostServerError
from app.schema.budgets.bodies import budgets_body, rate_limit_body
from app.schema.changes import list_change
from app.schema.checks import check_customer_exists, delete_entity, name_in_use, name_taken, user_error_or_raise
from app.schema.context import Info
from app.schema.errors import UserError
from app.schema.teams.types import Team
from app.schema.teams.update_inputs import DeleteTeamInput, UpdateTeamInput

__all__ = ["DeleteTeamPayload", "TeamUpdateMutations", "UpdateTeamPayload", "update_team_body"]


@strawberry.type(description="The updated team, or the reasons it was not updated.")
class UpdateTeamPayload:
    team: Team | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The id of the deleted team, or the reasons it was not deleted.")
class DeleteTeamPayload:
    deleted_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def update_team_body(data: UpdateTeamInput, generation: ApiGeneration | None) -> tuple[dict[str, Any], list[UserError]]:
    """The PUT body: only what the input mentions; ``customer_id: ""`` is Bifrost's way to detach."""
    body: dict[str, Any] = {}
    if data.name is not None:
        body["name"] = data.name.value
    if data.customer_id is not None:
        body["customer_id"] = data.customer_id.value or ""
    budgets, errors = budgets_body(
        list_change(data.budgets),
        generation,
        owner="team",
        path=["input", "budgets"],
        replace=True,
    )
    limit, limit_errors = rate_limit_body(data.rate_limit, generation, owner="team", path=["input", "rateLimit"])
    return {**body, **budgets, **limit}, errors + limit_errors


@strawberry.type
class TeamUpdateMutations:
    @strawberry.mutation(description="Change a team (`PUT /api/governance/teams/{id}`), sent exactly once.")
    @staticmethod
    async def update_team(info: Info, input: UpdateTeamInput) -> UpdateTeamPayload:
        errors = input.check()
        if errors:
            return UpdateTeamPayload(user_errors=errors)
        context = info.context
        if input.customer_id is not None and input.customer_id.value is not None:
            errors = await check_customer_exists(info, input.customer_id.value, ["input", "customerId"])
            if errors:
                return UpdateTeamPayload(user_errors=errors)
        body, errors = update_team_body(input, await context.bifrost.api_generation())
        if errors:
            return UpdateTeamPayload(user_errors=errors)
        try:
            team = await context.bifrost.update_team(input.id, body)
        except BifrostServerError:
            # Bifrost answers a taken name with a bare 500 ("Failed to update team"); a read tells them apart.
            name = input.name.value if input.name is not None else None
            if name is not None and await name_in_use(context.bifrost, "team", name, other_than=input.id):
                return UpdateTeamPayload(user_errors=[name_taken("team")])
            raise
        except BifrostHTTPError as error:
            return UpdateTeamPayload(user_errors=[user_error_or_raise(error)])
        loaders = context.loaders
        loaders.team.prime(team.id, team, force=True)
        # The old and the new customer's team lists are both stale now.
        loaders.customer.clear_all()
        return UpdateTeamPayload(team=team)  # type: ignore[arg-type]

    @strawberry.mutation(
        description="Delete a team (`DELETE /api/governance/teams/{id}`). Bifrost detaches its virtual keys "
        "and deletes its budgets and rate limit."
    )
    @staticmethod
    async def delete_team(info: Info, input: DeleteTeamInput) -> DeleteTeamPayload:
        loaders = info.context.loaders

        def forget() -> None:
            loaders.team.prime(input.id, None, force=True)
            loaders.forget_team_keys()
            loaders.virtual_keys_by_team.prime(input.id, [], force=True)
            loaders.customer.clear_all()
            loaders.virtual_key.clear_all()  # the team's keys are detached

        deleted, errors = await delete_entity(
            input.id, info.context.bifrost.delete_team, forget, retried=info.context.earlier_attempt_at is not None
        )
        return DeleteTeamPayload(deleted_id=deleted, user_errors=errors)
