"""The Team type. Fields read the upstream model directly; relations resolve through loaders."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from app.bifrost import models
from app.schema.budgets.types import Budget, RateLimit
from app.schema.context import Info
from app.schema.relations import budgets_of, rate_limit_of

if TYPE_CHECKING:
    from app.schema.customers.types import Customer
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
    config_hash: str | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="The team's customer; null when it has none (or it no longer exists).")
    @staticmethod
    async def customer(
        root: strawberry.Parent[models.Team], info: Info
    ) -> Annotated[Customer, strawberry.lazy("app.schema.customers.types")] | None:
        if root.customer is not None:
            return root.customer  # type: ignore[return-value]
        if root.customer_id is None:
            return None
        return await info.context.loaders.customer.load(root.customer_id)  # type: ignore[return-value]

    @strawberry.field(description="The team's only or first budget (both API generations).")
    @staticmethod
    async def budget(root: strawberry.Parent[models.Team], info: Info) -> Budget | None:
        budgets = await budgets_of(root, info)
        return budgets[0] if budgets else None  # type: ignore[return-value]

    @strawberry.field(description="All budgets of the team (one at most on seed-generation upstreams).")
    @staticmethod
    async def budgets(root: strawberry.Parent[models.Team], info: Info) -> list[Budget]:
        return await budgets_of(root, info)  # type: ignore[return-value]

    @strawberry.field(description="The team's rate limit (Bifrost v1.5+).")
    @staticmethod
    async def rate_limit(root: strawberry.Parent[models.Team], info: Info) -> RateLimit | None:
        return await rate_limit_of(root, info)  # type: ignore[return-value]

    @strawberry.field(description="Virtual keys assigned to the team (loaded: Bifrost never embeds them).")
    @staticmethod
    async def virtual_keys(
        root: strawberry.Parent[models.Team], info: Info
    ) -> list[Annotated[VirtualKey, strawberry.lazy("app.schema.virtual_keys.types")]]:
        if root.virtual_keys is not None:
            return root.virtual_keys  # type: ignore[return-value]
        return await info.context.loaders.virtual_keys_by_team.load(root.id)  # type: ignore[return-value]
