"""Create a team and read the first page of teams through the generated, typed client.

    pip install -r requirements.txt && ariadne-codegen   # writes bifrost_gateway_client/ from operations.graphql
    python teams_example.py http://127.0.0.1:8000/graphql

Every value comes back typed: ``tokenMaxLimit`` (Int64, a decimal string on the wire) as an exact ``int``,
``createdAt`` (DateTime) as a ``datetime``, ``config`` (JSON) as a ``dict``.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from bifrost_gateway_client import (
    BudgetInput,
    CreateTeamCreateTeamTeam,
    CreateTeamInput,
    GatewayClient,
    RateLimitInput,
    TeamsPageTeams,
)

TOKENS = 2**53 + 1  # a JSON number would lose the last digit in JavaScript; here it stays exact either way


@dataclass
class Outcome:
    """The created team and the first page of teams after it."""

    team: CreateTeamCreateTeamTeam
    page: TeamsPageTeams


async def create_and_list(client: GatewayClient, name: str) -> Outcome:
    """Create ``name`` with a budget and a token limit above 2^53, then read a page of teams."""
    created = await client.create_team(
        CreateTeamInput(
            name=name,
            budget=BudgetInput(max_limit=100, reset_duration="1M"),
            rateLimit=RateLimitInput(token_max_limit=TOKENS, token_reset_duration="1h"),
        )
    )
    payload = created.create_team
    if payload.team is None:
        problems = "; ".join(f"{'.'.join(e.field or [])}: {e.message}" for e in payload.user_errors)
        raise SystemExit(f"createTeam refused: {problems}")
    page = await client.teams_page(first=10, search=name)
    return Outcome(payload.team, page.teams)


async def main(url: str) -> None:
    async with GatewayClient(url) as client:
        outcome = await create_and_list(client, "typed-client-example")
    limit = outcome.team.rate_limit.token_max_limit if outcome.team.rate_limit else None
    print(f"created {outcome.team.name} ({outcome.team.id}) at {outcome.team.created_at:%Y-%m-%d %H:%M}; tokens {limit}")
    print(f"{outcome.page.total_count} team(s) match; first page: {[node.name for node in outcome.page.nodes]}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/graphql"))
