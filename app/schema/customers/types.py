"""The Customer type: owner of teams and customer-scoped virtual keys."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.bifrost import models
from app.schema.budgets.types import Budget, RateLimit
from app.schema.context import Info
from app.schema.relations import budgets_of, rate_limit_of

if TYPE_CHECKING:
    from app.schema.teams.types import Team
    from app.schema.virtual_keys.types import VirtualKey

__all__ = ["Customer"]


@strawberry.type(description="A customer. Mirrors Bifrost's Customer.")
class Customer:
    id: strawberry.ID
    name: str
    budget_id: strawberry.ID | None
    rate_limit_id: strawberry.ID | None
    config_hash: str | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="The customer's budget.")
    @staticmethod
    async def budget(root: strawberry.Parent[models.Customer], info: Info) -> Budget | None:
        budgets = await budgets_of(root, info)
        return budgets[0] if budgets else None  # type: ignore[return-value]

    @strawberry.field(description="The customer's rate limit.")
    @staticmethod
    async def rate_limit(root: strawberry.Parent[models.Customer], info: Info) -> RateLimit | None:
        return await rate_limit_of(root, info)  # type: ignore[return-value]

    @strawberry.field(description="Teams of the customer (always complete: loaded when not embedded).")
    @staticmethod
    async def teams(
        root: strawberry.Parent[models.Customer], info: Info
    ) -> list[Annotated[Team, strawberry.lazy("app.schema.teams.types")]]:
        full = root if root.teams is not None else await info.context.loaders.customer.load(root.id)
        return (full.teams or []) if full is not None else []  # type: ignore[return-value]

    @strawberry.field(description="Customer-scoped virtual keys (keys of its teams are under each team).")
    @staticmethod
    async def virtual_keys(
        root: strawberry.Parent[models.Customer], info: Info
    ) -> list[Annotated[VirtualKey, strawberry.lazy("app.schema.virtual_keys.types")]]:
        full = root if root.virtual_keys is not None else await info.context.loaders.customer.load(root.id)
        return (full.virtual_keys or []) if full is not None else []  # type: ignore[return-value]
