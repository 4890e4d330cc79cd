"""The Customer type: owner of teams and customer-scoped virtual keys."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.bifrost import models
from app.schema.availability import V2_ONLY
from app.schema.budgets.types import Budget
from app.schema.context import Info
from app.schema.rate_limits.types import RateLimit
from app.schema.relations import (
    budget_id_of,
    budgets_of,
    customer_part,
    customer_virtual_key_count,
    first_budget,
    rate_limit_of,
)
from app.schema.spend.fields import SPEND_DESCRIPTION, owner_spend

if TYPE_CHECKING:
    from app.schema.spend.types import SpendSeries
    from app.schema.teams.types import Team
    from app.schema.virtual_keys.types import VirtualKey

__all__ = ["Customer"]


@strawberry.type(description="A customer. Mirrors Bifrost's Customer.")
class Customer:
    id: strawberry.ID
    name: str
    rate_limit_id: strawberry.ID | None
    calendar_aligned: bool | None = strawberry.field(
        description="Whether the customer's budget and rate-limit windows start on calendar boundaries (a `1d` "
        f"budget resets at midnight UTC) rather than rolling from their creation. {V2_ONLY}."
    )
    config_hash: str | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field(
        description="Id of the customer's only or first budget (Bifrost v2 has no `budget_id`: the first of `budgets`)."
    )
    @staticmethod
    def budget_id(root: strawberry.Parent[models.Customer], info: Info) -> strawberry.ID | None:
        return budget_id_of(root, info)  # type: ignore[return-value]

    @strawberry.field(
        description="The customer's only or first budget (Bifrost v2 customers have several: see `budgets`)."
    )
    @staticmethod
    def budget(root: strawberry.Parent[models.Customer], info: Info) -> Budget | None:
        return first_budget(root, info)  # type: ignore[return-value]

    @strawberry.field(
        description="All budgets of the customer: several on Bifrost v2, at most one on older versions (their "
        "single budget)."
    )
    @staticmethod
    def budgets(root: strawberry.Parent[models.Customer], info: Info) -> list[Budget]:
        return budgets_of(root, info)  # type: ignore[return-value]

    @strawberry.field(
        description="Number of customer-scoped virtual keys (keys of its teams are not counted). Bifrost v2 reports "
        "it; on older versions it is the length of the customer's embedded key list. No extra upstream call for "
        "a customer read from a customer list or by id; one for a customer embedded in a team or a key (its GET, "
        "shared with `teams` and `virtualKeys`)."
    )
    @staticmethod
    def virtual_key_count(root: strawberry.Parent[models.Customer], info: Info) -> int | None:
        return customer_virtual_key_count(root, info)  # type: ignore[return-value]

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

    @strawberry.field(description=SPEND_DESCRIPTION)
    @staticmethod
    async def spend(
        root: strawberry.Parent[models.Customer],
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
    ) -> Annotated[SpendSeries, strawberry.lazy("app.schema.spend.types")] | None:
        return await owner_spend("customer", root.id, info, from_, to)
