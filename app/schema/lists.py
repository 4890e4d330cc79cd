"""List queries for dashboards: Relay connections over Bifrost's paged lists, plus budgets and rate limits."""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Any

import strawberry
from graphql import FieldNode
from strawberry.types.nodes import SelectedField, Selection

from app.bifrost import BifrostError, is_valid_id
from app.bifrost.models import TeamList
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


def _team_fields(selections: list[Selection]) -> list[SelectedField]:
    """The fields a ``teams`` selection asks of its teams (``edges { node }`` and ``nodes``, fragments included)."""
    found: list[SelectedField] = []
    for teams in _fields(selections):
        for part in _fields(teams.selections):
            if part.name == "edges":
                for node in _fields(part.selections):
                    if node.name == "node":
                        found.extend(_fields(node.selections))
            elif part.name == "nodes":
                found.extend(_fields(part.selections))
    return found


def _asks_for_team_keys(team_fields: list[SelectedField]) -> bool:
    """Whether a ``teams`` selection reaches ``virtualKeys`` of its nodes (through fragments too)."""
    return any(field.name == "virtualKeys" for field in team_fields)


# Team fields that read only what ``models.LeanTeam`` keeps (the model's own fields, or relations resolved from
# them: budgets parse whole, keys come from their own reads); of the customer, its id and name.
_LEAN_TEAM_FIELDS = frozenset(
    {
        "__typename",
        "id",
        "name",
        "customerId",
        "budgetId",
        "virtualKeyCount",
        "calendarAligned",
        "budget",
        "budgets",
        "virtualKeys",
    }
)
_LEAN_CUSTOMER_FIELDS = frozenset({"__typename", "id", "name"})
_PAGE_ROOTS = frozenset({"teams", "__typename"})


def _only_team_pages(info: Info) -> bool:
    """Whether every root field of the operation is a ``teams`` page: nothing else in it reads a team (a whole page
    primes the team loader for such reads; a lean one does not, so they would cost calls of their own)."""
    roots = info.operation.selection_set.selections
    return all(isinstance(root, FieldNode) and root.name.value in _PAGE_ROOTS for root in roots)


def _reads_lean_teams_only(team_fields: list[SelectedField]) -> bool:
    """Whether every field asked of the teams is one a ``models.LeanTeam`` answers as a whole team does.

    Directives are not evaluated: a field under ``@skip`` counts as asked, which can only parse more.
    """
    for field in team_fields:
        if field.name == "customer":
            if any(part.name not in _LEAN_CUSTOMER_FIELDS for part in _fields(field.selections)):
                return False
        elif field.name == "virtualKeys":
            if any(part.name == "team" for part in _fields(field.selections)):  # read through the team loader
                return False
        elif field.name not in _LEAN_TEAM_FIELDS:
            return False
    return True


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
        key_list = window.limit > KEYS_LIST_ALL_THRESHOLD and search is None and customer_id is None
        may_be_lean = _only_team_pages(info)
        # What the document asks of the teams, worked out only when one of the two needs it.
        team_fields = _team_fields(info.selected_fields) if key_list or may_be_lean else []
        keys = None
        if key_list and _asks_for_team_keys(team_fields):
            keys = asyncio.ensure_future(bifrost.list_virtual_keys())
        try:
            page = await bifrost.list_teams(params, lean=may_be_lean and _reads_lean_teams_only(team_fields))
        except BaseException:
            if keys is not None:
                _abandon(keys)
            raise
        if isinstance(page, TeamList):  # lean teams answer only this field: never another's read of a team
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
