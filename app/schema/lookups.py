"""Single-entity queries: a missing (or malformed) id is ``null``, never an error.

Each resolver hands back the loader's future itself (``app.schema.relations`` does the same): a coroutine
around it would be run as a task of its own, one more per lookup, only to wait for that future. A malformed
id is null with nothing sent.

Each resolver also carries its in-task twin (``in_task``, see ``app.schema.compiled``): the same lookup
awaited in the caller's task, which compiled execution runs when the lookup is a query's only root field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import strawberry

from app.bifrost import is_valid_id
from app.schema.context import Info
from app.schema.customers.types import Customer
from app.schema.loaders import Loaders, PrimedLoader
from app.schema.teams.types import Team
from app.schema.virtual_keys.types import VirtualKey

__all__ = ["LookupQueries"]

F = TypeVar("F", bound=Callable[..., Any])


def _fetched_in_task(loader_of: Callable[[Loaders], PrimedLoader[str, Any]]) -> Callable[[F], F]:
    """Give a lookup resolver its in-task twin: the loader's ``load_here`` for a valid id, else null."""

    def attach(resolver: F) -> F:
        def in_task(info: Info, id: strawberry.ID) -> Any:
            # The loader's coroutine itself (no frame of this function on each resume); null for a malformed id.
            return loader_of(info.context.loaders).load_here(id) if is_valid_id(id) else None

        resolver.in_task = in_task  # type: ignore[attr-defined]
        return resolver

    return attach


@strawberry.type
class LookupQueries:
    @strawberry.field(description="A team by id; null when it does not exist.")
    @staticmethod
    @_fetched_in_task(lambda loaders: loaders.team)
    def team(info: Info, id: strawberry.ID) -> Team | None:
        loader = info.context.loaders.team
        return loader.load(id) if is_valid_id(id) else None  # type: ignore[return-value]  # the model's future

    @strawberry.field(description="A customer by id; null when it does not exist.")
    @staticmethod
    @_fetched_in_task(lambda loaders: loaders.customer)
    def customer(info: Info, id: strawberry.ID) -> Customer | None:
        loader = info.context.loaders.customer
        return loader.load(id) if is_valid_id(id) else None  # type: ignore[return-value]  # the model's future

    @strawberry.field(description="A virtual key by id; null when it does not exist.")
    @staticmethod
    @_fetched_in_task(lambda loaders: loaders.virtual_key)
    def virtual_key(info: Info, id: strawberry.ID) -> VirtualKey | None:
        loader = info.context.loaders.virtual_key
        return loader.load(id) if is_valid_id(id) else None  # type: ignore[return-value]  # the model's future
