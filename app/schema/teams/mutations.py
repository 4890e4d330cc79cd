"""Team mutations: validated locally, forwarded to Bifrost exactly once, never retried."""

from __future__ import annotations

from typing import Any

import strawberry

from app.bifrost import ApiGeneration, BifrostHTTPError, BifrostServerError, BifrostSession
from app.schema.budgets.bodies import budgets_body, given, rate_limit_body
from app.schema.context import Info
from app.schema.errors import UserError, UserErrorCode
from app.schema.read_back import existing_team
from app.schema.teams.inputs import CreateTeamInput
from app.schema.teams.types import Team
from app.schema.upstream_errors import user_error_from_upstream

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


async def _name_taken(bifrost: BifrostSession, name: str) -> bool:
    page = await bifrost.list_teams({"search": name, "limit": 100})
    return any(team.name == name for team in page.teams)


@strawberry.type
class TeamMutations:
    @strawberry.mutation(description="Create a team (`POST /api/governance/teams`), sent exactly once.")
    @staticmethod
    async def create_team(info: Info, input: CreateTeamInput) -> CreateTeamPayload:
        errors = input.check()
        if errors:
            return CreateTeamPayload(user_errors=errors)
        context = info.context
        if input.customer_id is not None and await context.loaders.customer.load(input.customer_id) is None:
            return CreateTeamPayload(
                user_errors=[
                    UserError(
                        field=["input", "customerId"],
                        message="customer not found",
                        code=UserErrorCode.CUSTOMER_NOT_FOUND,
                    )
                ]
            )
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
            if error.message == "failed to create team" and await _name_taken(context.bifrost, input.name):
                return CreateTeamPayload(
                    user_errors=[
                        UserError(
                            field=["input", "name"],
                            message="a team with this name already exists",
                            code=UserErrorCode.NAME_TAKEN,
                        )
                    ]
                )
            raise
        except BifrostHTTPError as error:
            user_error = user_error_from_upstream(error)
            if user_error is None:
                raise
            return CreateTeamPayload(user_errors=[user_error])
        # The customer was read before the write; its team list is stale now.
        if team.customer_id is not None:
            context.loaders.customer.clear(team.customer_id)
        context.loaders.prime_teams([team])
        return CreateTeamPayload(team=team)  # type: ignore[arg-type]
