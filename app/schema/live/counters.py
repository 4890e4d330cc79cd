"""Reading the usage counters of a watched set once, and telling which of them changed.

One poll reads each watched team, customer and virtual key by id (the reads that embed their budgets and rate
limits; a key's provider configs come with it, their budgets and rate limits too): a watched set of N ids costs
N upstream calls per interval, whoever listens. An id that names nothing (deleted, or never there) adds no
counter, as a lookup by id answers null.

A snapshot is JSON (it may cross a process boundary: ``app.live.hub``): a list of counters, each
``{"key": ..., "owner": {...}, "budget": {...}}`` or ``{"key": ..., "owner": {...}, "rate_limit": {...}}``
with the budget or rate limit as Bifrost's JSON. ``changed`` compares two snapshots by counter key.

Example:
    >>> before = [{"key": "budget:b1", "owner": {}, "budget": {"current_usage": 1.0}}]
    >>> after = [{"key": "budget:b1", "owner": {}, "budget": {"current_usage": 2.5}}]
    >>> [counter["budget"]["current_usage"] for counter in changed(before, after)]
    [2.5]
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.bifrost import BifrostNotFound, BifrostSession, models

__all__ = ["OwnerKind", "WatchedSet", "changed", "read_counters"]


class OwnerKind:
    """Who a counter belongs to, as written in a snapshot (the GraphQL enum mirrors these)."""

    TEAM = "team"
    CUSTOMER = "customer"
    VIRTUAL_KEY = "virtual_key"
    PROVIDER_CONFIG = "provider_config"


@dataclass(frozen=True, slots=True)
class WatchedSet:
    """The ids one subscription watches, normalised (sorted, without duplicates).

    Example:
        >>> WatchedSet.of(["t2", "t1", "t2"], None, ["k1"]).members()
        ('team:t1', 'team:t2', 'virtual_key:k1')
    """

    team_ids: tuple[str, ...] = ()
    customer_ids: tuple[str, ...] = ()
    virtual_key_ids: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, team_ids: Sequence[str] | None, customer_ids: Sequence[str] | None, virtual_key_ids: Sequence[str] | None
    ) -> WatchedSet:
        """The set of the given ids (None: none of that kind)."""
        return cls(*(tuple(sorted(set(ids or ()))) for ids in (team_ids, customer_ids, virtual_key_ids)))

    @property
    def size(self) -> int:
        """How many ids: the upstream calls one poll takes."""
        return len(self.team_ids) + len(self.customer_ids) + len(self.virtual_key_ids)

    def members(self) -> tuple[str, ...]:
        """The set as ``kind:id`` strings (part of the hub's ``WatchKey``)."""
        return (
            *(f"{OwnerKind.TEAM}:{i}" for i in self.team_ids),
            *(f"{OwnerKind.CUSTOMER}:{i}" for i in self.customer_ids),
            *(f"{OwnerKind.VIRTUAL_KEY}:{i}" for i in self.virtual_key_ids),
        )


async def read_counters(session: BifrostSession, watched: WatchedSet) -> list[dict[str, Any]]:
    """Every budget and rate-limit counter of the watched set, as a JSON snapshot (see the module docstring)."""
    reads = [
        *(_missing_is_none(session.get_team(i)) for i in watched.team_ids),
        *(_missing_is_none(session.get_customer(i)) for i in watched.customer_ids),
        *(_missing_is_none(session.get_virtual_key(i)) for i in watched.virtual_key_ids),
    ]
    counters: list[dict[str, Any]] = []
    for entity in await asyncio.gather(*reads):
        if isinstance(entity, models.Team):
            counters += _of_owner(OwnerKind.TEAM, entity.id, entity.name, None, entity)
        elif isinstance(entity, models.Customer):
            counters += _of_owner(OwnerKind.CUSTOMER, entity.id, entity.name, None, entity)
        elif isinstance(entity, models.VirtualKey):
            counters += _of_owner(OwnerKind.VIRTUAL_KEY, entity.id, entity.name, None, entity)
            for config in entity.provider_configs:
                counters += _of_owner(OwnerKind.PROVIDER_CONFIG, str(config.id), entity.name, config.provider, config)
    return counters


def changed(before: list[dict[str, Any]] | None, after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The counters of ``after`` that are new or differ from ``before`` (all of them when ``before`` is None)."""
    if before is None:
        return after
    earlier = {counter["key"]: counter for counter in before}
    return [counter for counter in after if earlier.get(counter["key"]) != counter]


async def _missing_is_none(read: Any) -> Any:
    try:
        return await read
    except BifrostNotFound:
        return None


def _of_owner(
    kind: str,
    owner_id: str,
    name: str,
    provider: str | None,
    entity: models.Team | models.Customer | models.VirtualKey | models.ProviderConfig,
) -> list[dict[str, Any]]:
    owner = {"kind": kind, "id": owner_id, "name": name, "provider": provider}
    counters = [
        {"key": f"{kind}:{owner_id}:budget:{budget.id}", "owner": owner, "budget": budget.model_dump(mode="json")}
        for budget in entity.all_budgets
    ]
    if entity.rate_limit is not None:
        counters.append(
            {
                "key": f"{kind}:{owner_id}:rate_limit:{entity.rate_limit.id}",
                "owner": owner,
                "rate_limit": entity.rate_limit.model_dump(mode="json"),
            }
        )
    return counters
