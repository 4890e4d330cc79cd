"""The upstream bodies of the team writes: only what the input mentions, in the generation's shape."""

from __future__ import annotations

from typing import Any

from app.generations import Generation
from app.schema.budgets.bodies import budgets_body
from app.schema.capabilities import calendar_aligned, some
from app.schema.changes import list_change
from app.schema.errors import UserError
from app.schema.rate_limits.bodies import given, rate_limit_body
from app.schema.teams.inputs import CreateTeamInput, UpdateTeamInput

__all__ = ["create_team_body", "update_team_body"]


def create_team_body(data: CreateTeamInput, generation: Generation | None) -> tuple[dict[str, Any], list[UserError]]:
    """The POST body the upstream's generation understands (both budget shapes while it is unknown)."""
    body: dict[str, Any] = {"name": data.name}
    if data.customer_id is not None:
        body["customer_id"] = data.customer_id
    budgets, errors = budgets_body(
        [budget for _, budget in data.all_budgets()], generation, owner="team", path=["input", "budgets"], by_id=False
    )
    errors += calendar_aligned(some(data.calendar_aligned), generation, body)
    limit, limit_errors = rate_limit_body(given(data.rate_limit), generation, owner="team", path=["input", "rateLimit"])
    return {**body, **budgets, **limit}, errors + limit_errors


def update_team_body(data: UpdateTeamInput, generation: Generation | None) -> tuple[dict[str, Any], list[UserError]]:
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
        by_id=False,  # Bifrost v2 matches a team's budgets by reset duration only
    )
    errors += calendar_aligned(data.calendar_aligned, generation, body)
    limit, limit_errors = rate_limit_body(data.rate_limit, generation, owner="team", path=["input", "rateLimit"])
    return {**body, **budgets, **limit}, errors + limit_errors
