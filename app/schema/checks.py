"""Checks and outcomes shared by the write mutations: one place for each kind of check.

Ids are checked before they reach an upstream path; referenced customers and teams are checked through the
per-request loaders (Bifrost stores dangling references without complaint); an upstream refusal the caller
can fix becomes a userError, anything else propagates to the SafeErrors extension. Bifrost answers some
taken names with a bare 500: ``taken_name`` looks the name up exactly (``name_in_use``) to tell the two apart.

Where the other kinds live: a name or free text, ``app.schema.names``; a field that cannot be cleared,
``app.schema.changes``; a budget or a rate limit, ``check_budgets`` and ``check_rate_limit`` beside their
inputs; everything else one input alone decides, its ``check()``; what the upstream's generation lacks,
``app.schema.capabilities``; Bifrost's texts behind a 500, ``app.schema.upstream_errors``. Every
INVALID_INPUT is made by ``invalid``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

import strawberry

from app.bifrost import BifrostHTTPError, BifrostNotFound, BifrostSession, is_valid_id
from app.bifrost.models import Customer, Team, VirtualKey
from app.schema.context import Info
from app.schema.errors import UserError, UserErrorCode
from app.schema.exact_names import customers_named, teams_named, virtual_keys_named
from app.schema.upstream_errors import user_error_from_upstream

__all__ = [
    "check_customer_exists",
    "check_id",
    "check_owner_exists",
    "check_team_exists",
    "delete_entity",
    "invalid",
    "name_in_use",
    "name_taken",
    "not_found",
    "taken_name",
    "unsupported",
    "user_error_or_raise",
]


def invalid(path: list[str], message: str) -> UserError:
    """An INVALID_INPUT userError."""
    return UserError(field=path, message=message, code=UserErrorCode.INVALID_INPUT)


def unsupported(path: list[str], message: str) -> UserError:
    """An UNSUPPORTED_BY_UPSTREAM userError, for something the upstream's generation cannot do."""
    return UserError(field=path, message=message, code=UserErrorCode.UNSUPPORTED_BY_UPSTREAM)


def check_id(value: str, path: list[str]) -> list[UserError]:
    """An id must be safe to place in an upstream URL path.

    Example:
        >>> [e.message for e in check_id("../budgets", ["input", "teamId"])]
        ['teamId is not a valid id']
    """
    return [] if is_valid_id(value) else [invalid(path, f"{path[-1]} is not a valid id")]


def not_found(path: list[str], what: str) -> UserError:
    """A NOT_FOUND userError for the entity the mutation acts on."""
    return UserError(field=path, message=f"{what} not found", code=UserErrorCode.NOT_FOUND)


def name_taken(what: str) -> UserError:
    """A NAME_TAKEN userError on ``input.name``."""
    return UserError(
        field=["input", "name"], message=f"a {what} with this name already exists", code=UserErrorCode.NAME_TAKEN
    )


async def name_in_use(
    bifrost: BifrostSession,
    kind: Literal["team", "customer", "virtual key"],
    name: str,
    *,
    other_than: str | None = None,
) -> bool:
    """Whether a team (customer, virtual key) other than ``other_than`` is named exactly ``name``, whatever the
    page of Bifrost's name search it is on (``app.schema.exact_names``)."""
    named: Sequence[Team | Customer | VirtualKey]
    if kind == "team":
        named = await teams_named(bifrost, name)
    elif kind == "customer":
        named = await customers_named(bifrost, name)
    else:
        named = await virtual_keys_named(bifrost, name)
    return any(item.id != other_than for item in named)


async def taken_name(
    bifrost: BifrostSession,
    kind: Literal["team", "customer", "virtual key"],
    name: str | None,
    *,
    other_than: str | None = None,
) -> UserError | None:
    """NAME_TAKEN when a write that failed with a bare 500 gave a name another team (customer, key) has; else None.

    Example:
        >>> # except BifrostServerError: error = await taken_name(bifrost, "team", name, other_than=team_id)
    """
    if name is not None and await name_in_use(bifrost, kind, name, other_than=other_than):
        return name_taken(kind)
    return None


async def check_customer_exists(info: Info, customer_id: str, path: list[str]) -> list[UserError]:
    """CUSTOMER_NOT_FOUND unless the customer exists (read through the per-request loader)."""
    if await info.context.loaders.customer.load(customer_id) is not None:
        return []
    return [UserError(field=path, message="customer not found", code=UserErrorCode.CUSTOMER_NOT_FOUND)]


async def check_team_exists(info: Info, team_id: str, path: list[str]) -> list[UserError]:
    """TEAM_NOT_FOUND unless the team exists (read through the per-request loader)."""
    if await info.context.loaders.team.load(team_id) is not None:
        return []
    return [UserError(field=path, message="team not found", code=UserErrorCode.TEAM_NOT_FOUND)]


async def check_owner_exists(info: Info, *, team_id: str | None, customer_id: str | None) -> list[UserError]:
    """TEAM_NOT_FOUND or CUSTOMER_NOT_FOUND for the owner a write names, when it does not exist."""
    if team_id is not None:
        return await check_team_exists(info, team_id, ["input", "teamId"])
    if customer_id is not None:
        return await check_customer_exists(info, customer_id, ["input", "customerId"])
    return []


def user_error_or_raise(error: BifrostHTTPError) -> UserError:
    """The userError for an upstream 400/404/409; re-raises any other failure."""
    user_error = user_error_from_upstream(error)
    if user_error is None:
        raise error
    return user_error


async def delete_entity(
    entity_id: str,
    delete: Callable[[str], Awaitable[object]],
    *,
    retried: bool = False,
) -> tuple[strawberry.ID | None, list[UserError]]:
    """Check the id and send the DELETE once (what it makes stale is the mutation's ``makes_stale``).

    Returns the deleted id, or None with the userErrors (NOT_FOUND for a missing entity). ``retried``: an
    idempotent retry whose first attempt may have deleted it, so an entity already gone counts as deleted.
    """
    errors = check_id(entity_id, ["input", "id"])
    if errors:
        return None, errors
    try:
        await delete(entity_id)
    except BifrostNotFound as error:
        if not retried:
            return None, [user_error_or_raise(error)]
    except BifrostHTTPError as error:
        return None, [user_error_or_raise(error)]
    return strawberry.ID(entity_id), []
