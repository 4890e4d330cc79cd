"""What a write makes stale in the request's loaders: declared on the mutation, forgotten in one place.

A document may write and then read (``updateTeam { team { customer { teams } } }``, or a second mutation that
reads what the first changed), and the loaders may already hold what the write changed. Each mutation says
what its write makes stale with :func:`makes_stale`; after the resolver returns, :func:`forget_stale` clears
exactly that and primes what was written (or ``None`` for what was deleted), so later fields read the new
values. A write that did not happen (a payload with nothing written: userErrors only, or an exception)
clears nothing.

What was written is read from the payload by the convention every payload follows: the field named after
the kind (``team``, ``customer``, ``virtual_key``), its plural for bulk writes (``virtual_keys``), or
``deleted_id``.

Example:
    >>> # @strawberry.mutation(description="...")
    >>> # @staticmethod
    >>> # @makes_stale(Stale.CUSTOMERS | Stale.BUDGETS, written="team")
    >>> # async def update_team(info: Info, input: UpdateTeamInput) -> UpdateTeamPayload: ...
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from enum import Flag, auto
from typing import Any, Literal, ParamSpec, TypeVar

from app.bifrost import models
from app.schema.loaders import Loaders

__all__ = ["Stale", "Written", "forget_stale", "makes_stale"]

P = ParamSpec("P")
R = TypeVar("R")

Written = Literal["team", "customer", "virtual_key", "budget", "model_config"]


class Stale(Flag):
    """What a successful write can make stale, beside the written entity itself (always primed anew).

    Example:
        >>> Stale.TEAMS in (Stale.TEAMS | Stale.CUSTOMERS)
        True
    """

    TEAMS = auto()  # every team read so far: a team embeds its customer and counts its keys
    CUSTOMERS = auto()  # every customer read so far: a customer embeds its teams and its keys
    CUSTOMER_OF_WRITTEN = auto()  # only the written entity's customer (a new team joins its team list)
    VIRTUAL_KEYS = auto()  # every virtual key read so far: a key embeds its team and its customer
    TEAM_KEYS = auto()  # which keys each team has
    BUDGETS = auto()  # the request's budget list
    RATE_LIMITS = auto()  # the request's rate-limit list
    KEY_MODEL_CONFIGS = auto()  # which model configs each virtual key has


_TEAMS = Stale.TEAMS.value
_CUSTOMERS = Stale.CUSTOMERS.value
_CUSTOMER_OF_WRITTEN = Stale.CUSTOMER_OF_WRITTEN.value
_VIRTUAL_KEYS = Stale.VIRTUAL_KEYS.value
_TEAM_KEYS = Stale.TEAM_KEYS.value
_BUDGETS = Stale.BUDGETS.value
_RATE_LIMITS = Stale.RATE_LIMITS.value
_KEY_MODEL_CONFIGS = Stale.KEY_MODEL_CONFIGS.value


def makes_stale(stale: Stale, *, written: Written) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Declare what a mutation's write makes stale; the resolver's ``info`` argument gives the loaders.

    Args:
        stale: What to clear after the write went through.
        written: The kind of entity the mutation writes (the payload field that holds it, and which loader
            learns its new value).
    """

    def declare(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(resolver)
        async def resolve(*args: P.args, **kwargs: P.kwargs) -> R:
            payload = await resolver(*args, **kwargs)
            info: Any = kwargs["info"] if "info" in kwargs else args[0]  # Strawberry passes arguments by name
            forget_stale(info.context.loaders, payload, stale, written=written)
            return payload

        return resolve

    return declare


def forget_stale(loaders: Loaders, payload: object, stale: Stale, *, written: Written) -> None:
    """Clear what ``stale`` names and prime what ``payload`` says was written; nothing when nothing was.

    Example:
        >>> # forget_stale(loaders, UpdateTeamPayload(team=team), Stale.CUSTOMERS, written="team")
    """
    entities = _written_entities(payload, written)
    deleted_id = getattr(payload, "deleted_id", None)
    if not entities and deleted_id is None:
        return
    bits = stale.value  # tested as bits: each ``in`` of a ``Flag`` is a Python call of its own
    if bits & _TEAMS:
        loaders.team.clear_all()
    if bits & _CUSTOMERS:
        loaders.customer.clear_all()
    elif bits & _CUSTOMER_OF_WRITTEN:
        for entity in entities:
            if entity.customer_id is not None:
                loaders.forget("customer", entity.customer_id)
    if bits & _VIRTUAL_KEYS:
        loaders.virtual_key.clear_all()
    if bits & _TEAM_KEYS:
        loaders.forget_team_keys()
    if bits & _BUDGETS:
        loaders.forget_budgets()
    if bits & _RATE_LIMITS:
        loaders.forget_rate_limits()
    if bits & _KEY_MODEL_CONFIGS:
        loaders.key_model_configs.clear_all()
    for entity in entities:
        _prime(loaders, written, entity.id, entity)
    if deleted_id is not None:
        _prime(loaders, written, str(deleted_id), None)


def _written_entities(payload: object, written: Written) -> list[Any]:
    one = getattr(payload, written, None)
    return [one] if one is not None else list(getattr(payload, f"{written}s", None) or [])


def _prime(loaders: Loaders, written: Written, entity_id: str, entity: Any) -> None:
    if written == "team":
        loaders.write("team", entity_id, entity)
        if entity is None:
            loaders.virtual_keys_by_team.prime(entity_id, [], force=True)  # its keys are detached
    elif written == "virtual_key":
        loaders.write("virtual_key", entity_id, entity)
    elif written == "budget":
        loaders.budget.prime(entity_id, entity, force=True)
    elif written == "model_config":
        pass  # no loader holds model configs by id
    elif entity is None or _in_full(entity):
        # The customer loader holds customers in full only (teams and keys embedded).
        loaders.write("customer", entity_id, entity)
    else:
        loaders.forget("customer", entity_id)


def _in_full(customer: models.Customer) -> bool:
    return customer.teams is not None and customer.virtual_keys is not None
