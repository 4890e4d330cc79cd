"""List queries for dashboards: Relay connections over Bifrost's paged lists, plus budgets and rate limits."""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Any

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from app.bifrost import BifrostError, is_valid_id
from app.schema.budgets.types import Budget
from app.schema.context import Info
from app.schema.customers.types import Customer
from app.schema.errors import GatewayError, GatewayErrorCode
from app.schema.loaders import KEYS_LIST_ALL_THRESHOLD
from app.schema.pagination import Connection, connection_of, page_window
from app.schema.rate_limits.types import RateLimit
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
        if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in search):
            # No name can hold one, so it could only ever match nothing; a NUL is a 500 from a Postgres-backed
            # Bifrost (as for modelConfigs' search).
            raise GatewayError(
                "search must not contain control characters", GatewayErrorCode.BAD_USER_INPUT, argument="search"
            )
        params["search"] = search
    for name, value in ids.items():
        if value is not None:
            if not is_valid_id(value):
                raise GatewayError(f"{name} is not a valid id", GatewayErrorCode.BAD_USER_INPUT, argument=name)
            params[name.replace("Id", "_id")] = value
    return params


def _asks_for_team_keys(selections: list[Selection]) -> bool:
    """Whether a ``teams`` selection reaches ``virtualKeys`` of its nodes (through fragments too)."""
    for teams in _fields(selections):
        for part in _fields(teams.selections):
            if part.name == "edges":
                nodes = [node for node in _fields(part.selections) if node.name == "node"]
            elif part.name == "nodes":
                nodes = [part]
            else:
                continue
            if any(field.name == "virtualKeys" for node in nodes for field in _fields(node.selections)):
                return True
    return False


def _fields(selections: list[Selection]) -> list[SelectedField]:
    """The fields of a selection set, with those of its fragments (directives are not evaluated)."""
    found: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            found.append(selection)
        else:
            found.extend(_fields(selection.selections))
    return found


def _abandon(task: asyncio.Future[Any]) -> None:
    task.cancel()
    # If it already failed, its error is read here, so asyncio does not log it as never retrieved.
    task.add_done_callback(lambda done: done.cancelled() or done.exception())


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
        bifrost, loaders = info.context.bifrost, info.context.loaders
        # A page that asks for its teams' keys would load them, once it has arrived, with one full key
        # list (more than a few teams; see Loaders): send that call beside the page's instead of after.
        keys = None
        if window.limit > KEYS_LIST_ALL_THRESHOLD and search is None and customer_id is None:
            if _asks_for_team_keys(info.selected_fields):
                keys = asyncio.ensure_future(bifrost.list_virtual_keys())
        try:
            page = await bifrost.list_teams(params)
        except BaseException:
            if keys is not None:
                _abandon(keys)
            raise
        loaders.prime_teams(page.teams)
        if keys is not None:
            try:
                everything = (await keys).virtual_keys
            except BifrostError:
                pass  # each team's keys are loaded as without this, and fail (or not) there
            else:
                loaders.know_team_keys((team.id for team in page.teams), everything)
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
