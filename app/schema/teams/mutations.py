"""Team mutations: validated locally, forwarded to Bifrost exactly once, never retried."""

from __future__ import annotations

from typing import Any

import strawberry

from app.bifrost import ApiGeneration, BifrostHTTPError, BifrostServerError
from app.schema.budgets.bodies import budgets_body, given, rate_limit_body
from app.schema.checks import check_customer_exists, name_in_use, name_taken, user_error_or_raise
from app.schema.context import Info
from app.schema.errors import UserError
from app.schema.read_back import existing_team
from app.schema.teams.inputs import CreateTeamInput
from app.schema.teams.types import Team

__all__ = ["CreateTeamPayload", "TeamMutations"]


@strawberry.type(description="The created team, or the reasons it was not created.")
class CreateTeamPayload:
    team: Team | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def team_body(data: CreateTeamInput, generation: ApiGeneration | None) -> tuple[dict[str, Any], list[UserError]]:
    """The POST body the upstream's generation understands (both budget shapes while it is unknown)."""
    body: dict[str, Any] = {"name": data.name}
    if data.customer_id is not None:
        body["customer_id"] = data.customer_id
    budgets, errors = budgets_body(
        [budget for _, budget in data.all_budgets()], generation, owner="team", path=["input", "budgets"]
    )
    limit, limit_errors = rate_limit_body(given(data.rate_limit), generation, owner="team", path=["input", "rateLimit"])
    return {**body, **budgets, **limit}, errors + limit_errors


@strawberry.type
class TeamMutations:
    @strawberry.mutation(description="Create a team (`POST /api/governance/teams`), sent exactly once.")
    @staticmethod
    async def create_team(info: Info, input: CreateTeamInput) -> CreateTeamPayload:
        errors = input.check()
        if errors:
            return CreateTeamPayload(user_errors=errors)
        context = info.context
        if input.customer_id is not None:
            errors = await check_customer_exists(info, input.customer_id, ["input", "customerId"])
            if errors:
                return CreateTeamPayload(user_errors=errors)
        body, errors = team_body(input, await context.bifrost.api_generation())
        if errors:
            return CreateTeamPayload(user_errors=errors)
        if context.earlier_attempt_at is not None and (team := await existing_team(context.bifrost, input.name)):
            context.loaders.prime_teams([team])
            return CreateTeamPayload(team=team)  # type: ignore[arg-type]
        try:
            team = await context.bifrost.create_team(body)
        except BifrostServerError as error:
            # Bifrost v1.5 answers a taken name with a bare 500; a read tells the two apart.
            if error.message == "failed to create team" and await name_in_use(context.bifrost, "team", input.name):
                return CreateTeamPayload(user_errors=[name_taken("team")])
            raise
        except BifrostHTTPError as error:
            return CreateTeamPayload(user_errors=[user_error_or_raise(error)])
        # The customer was read before the write; its team list is stale now.
        if team.customer_id is not None:
            context.loaders.customer.clear(team.customer_id)
        context.loaders.prime_teams([team])
        return CreateTeamPayload(team=team)  # type: ignore[arg-type]
