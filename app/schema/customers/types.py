"""The Customer type: owner of teams and customer-scoped virtual keys."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.bifrost import models
from app.schema.budgets.types import Budget
from app.schema.context import Info
from app.schema.rate_limits.types import RateLimit
from app.schema.relations import customer_part, first_budget, rate_limit_of

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
    def budget(root: strawberry.Parent[models.Customer], info: Info) -> Budget | None:
        return first_budget(root, info)  # type: ignore[return-value]

    @strawberry.field(description="The customer's rate limit.")
    @staticmethod
    def rate_limit(root: strawberry.Parent[models.Customer], info: Info) -> RateLimit | None:
        return rate_limit_of(root, info)  # type: ignore[return-value]

    @strawberry.field(description="Teams of the customer (always complete: loaded when not embedded).")
    @staticmethod
    def teams(
        root: strawberry.Parent[models.Customer], info: Info
    ) -> list[Annotated[Team, strawberry.lazy("app.schema.teams.types")]]:
        return customer_part(root, info, "teams")  # type: ignore[return-value]

    @strawberry.field(description="Customer-scoped virtual keys (keys of its teams are under each team).")
    @staticmethod
    def virtual_keys(
        root: strawberry.Parent[models.Customer], info: Info
    ) -> list[Annotated[VirtualKey, strawberry.lazy("app.schema.virtual_keys.types")]]:
        return customer_part(root, info, "virtual_keys")  # type: ignore[return-value]
