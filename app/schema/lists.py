"""List queries for dashboards: Relay connections over Bifrost's paged lists, plus budgets and rate limits."""

from __future__ import annotations

from enum import Enum

import strawberry

from app.bifrost import is_valid_id
from app.schema.budgets.types import Budget, RateLimit
from app.schema.context import Info
from app.schema.customers.types import Customer
from app.schema.errors import GatewayError, GatewayErrorCode
from app.schema.pagination import Connection, connection_of, page_window
from app.schema.teams.types import Team
from app.schema.virtual_keys.types import VirtualKey

__all__ = ["ListQueries", "VirtualKeyOrder", "VirtualKeySort"]

MAX_SEARCH_LENGTH = 255


@strawberry.enum(description="Sort keys of virtual key lists.")
class VirtualKeySort(Enum):
    NAME = "name"
    BUDGET_SPENT = "budget_spent"
    CREATED_AT = "created_at"
    STATUS = "status"


@strawberry.enum(description="Sort direction.")
class VirtualKeyOrder(Enum):
    ASC = "asc"
    DESC = "desc"


def _filters(search: str | None, **ids: str | None) -> dict[str, str]:
    params: dict[str, str] = {}
    if search is not None:
        if len(search) > MAX_SEARCH_LENGTH:
            raise GatewayError(
                f"search must be at most {MAX_SEARCH_LENGTH} characters",
                GatewayErrorCode.BAD_USER_INPUT,
                argument="search",
            )
        params["search"] = search
    for name, value in ids.items():
        if value is not None:
            if not is_valid_id(value):
                raise GatewayError(f"{name} is not a valid id", GatewayErrorCode.BAD_USER_INPUT, argument=name)
            params[name.replace("Id", "_id")] = value
    return params


@strawberry.type
class ListQueries:
    @strawberry.field(description="Teams, newest last; `search` matches names case-insensitively.")
    @staticmethod
    async def teams(
        info: Info,
        first: int | None = 25,
        after: str | None = None,
        search: str | None = None,
        customer_id: strawberry.ID | None = None,
    ) -> Connection[Team]:
        window = page_window(first, after)
        params: dict[str, str | int] = {**_filters(search, customerId=customer_id), **window.params}
        page = await info.context.bifrost.list_teams(params)
        info.context.loaders.prime_teams(page.teams)
        return connection_of(page.teams, window, page.total_count)  # type: ignore[arg-type]

    @strawberry.field(description="Customers; `search` matches names case-insensitively.")
    @staticmethod
    async def customers(
        info: Info, first: int | None = 25, after: str | None = None, search: str | None = None
    ) -> Connection[Customer]:
        window = page_window(first, after)
        params: dict[str, str | int] = {**_filters(search), **window.params}
        page = await info.context.bifrost.list_customers(params)
        info.context.loaders.prime_customers(page.customers)
        return connection_of(page.customers, window, page.total_count)  # type: ignore[arg-type]

    @strawberry.field(description="Virtual keys, filtered by team or customer, sorted as asked.")
    @staticmethod
    async def virtual_keys(
        info: Info,
        first: int | None = 25,
        after: str | None = None,
        search: str | None = None,
        team_id: strawberry.ID | None = None,
        customer_id: strawberry.ID | None = None,
        sort_by: VirtualKeySort | None = None,
        order: VirtualKeyOrder | None = None,
    ) -> Connection[VirtualKey]:
        window = page_window(first, after)
        params: dict[str, str | int] = {
            **_filters(search, teamId=team_id, customerId=customer_id),
            **window.params,
        }
        if sort_by is not None:
            params["sort_by"] = sort_by.value
        if order is not None:
            params["order"] = order.value
        page = await info.context.bifrost.list_virtual_keys(params)
        info.context.loaders.prime_virtual_keys(page.virtual_keys)
        return connection_of(page.virtual_keys, window, page.total_count)  # type: ignore[arg-type]

    @strawberry.field(description="Every budget (Bifrost does not page this list).")
    @staticmethod
    async def budgets(info: Info) -> list[Budget]:
        return (await info.context.loaders.all_budgets()).budgets  # type: ignore[return-value]

    @strawberry.field(description="Every rate limit (Bifrost does not page this list).")
    @staticmethod
    async def rate_limits(info: Info) -> list[RateLimit]:
        return (await info.context.loaders.all_rate_limits()).rate_limits  # type: ignore[return-value]
