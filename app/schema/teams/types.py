"""The Team type. Fields read the upstream model directly; relations resolve through loaders."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from app.bifrost import models
from app.schema.availability import V2_ONLY
from app.schema.budgets.types import Budget
from app.schema.context import Info
from app.schema.rate_limits.types import RateLimit
from app.schema.relations import budgets_of, customer_of, first_budget, rate_limit_of, team_virtual_keys
from app.schema.spend.fields import SPEND_DESCRIPTION, owner_spend

if TYPE_CHECKING:
    from app.schema.customers.types import Customer
    from app.schema.spend.types import SpendSeries
    from app.schema.virtual_keys.types import VirtualKey

__all__ = ["Team"]


@strawberry.type(description="A team, optionally under a customer. Mirrors Bifrost's Team.")
class Team:
    id: strawberry.ID
    name: str
    customer_id: strawberry.ID | None
    budget_id: strawberry.ID | None = strawberry.field(
        description="Id of the team's budget (seed generation only; see `budgets`)."
    )
    rate_limit_id: strawberry.ID | None
    virtual_key_count: int | None = strawberry.field(
        description="Number of virtual keys of the team (Bifrost v1.5+; null on older upstreams)."
    )
    profile: JSON | None
    config: JSON | None
    claims: JSON | None
    calendar_aligned: bool | None = strawberry.field(
        description="Whether the team's budget and rate-limit windows start on calendar boundaries (a `1d` budget "
        f"resets at midnight UTC) rather than rolling from their creation. {V2_ONLY}."
    )
    config_hash: str | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="The team's customer; null when it has none (or it no longer exists).")
    @staticmethod
    def customer(
        root: strawberry.Parent[models.Team], info: Info
    ) -> Annotated[Customer, strawberry.lazy("app.schema.customers.types")] | None:
        return customer_of(root, info)  # type: ignore[return-value]

    @strawberry.field(description="The team's only or first budget (both API generations).")
    @staticmethod
    def budget(root: strawberry.Parent[models.Team], info: Info) -> Budget | None:
        return first_budget(root, info)  # type: ignore[return-value]

    @strawberry.field(description="All budgets of the team (one at most on seed-generation upstreams).")
    @staticmethod
    def budgets(root: strawberry.Parent[models.Team], info: Info) -> list[Budget]:
        return budgets_of(root, info)  # type: ignore[return-value]

    @strawberry.field(description="The team's rate limit (Bifrost v1.5+).")
    @staticmethod
    def rate_limit(root: strawberry.Parent[models.Team], info: Info) -> RateLimit | None:
        return rate_limit_of(root, info)  # type: ignore[return-value]

    @strawberry.field(description="Virtual keys assigned to the team (loaded: Bifrost never embeds them).")
    @staticmethod
    def virtual_keys(
        root: strawberry.Parent[models.Team], info: Info
    ) -> list[Annotated[VirtualKey, strawberry.lazy("app.schema.virtual_keys.types")]]:
        return team_virtual_keys(root, info)  # type: ignore[return-value]

    @strawberry.field(description=SPEND_DESCRIPTION)
    @staticmethod
    async def spend(
        root: strawberry.Parent[models.Team],
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
    ) -> Annotated[SpendSeries, strawberry.lazy("app.schema.spend.types")] | None:
        return await owner_spend("team", root.id, info, from_, to)
