"""Single-entity queries: a missing (or malformed) id is ``null``, never an error.

Each resolver hands back the loader's future itself (``app.schema.relations`` does the same): a coroutine
around it would be run as a task of its own, one more per lookup, only to wait for that future. A malformed
id is null with nothing sent.
"""

from __future__ import annotations

import strawberry

from app.bifrost import is_valid_id
from app.schema.context import Info
from app.schema.customers.types import Customer
from app.schema.teams.types import Team
from app.schema.virtual_keys.types import VirtualKey

__all__ = ["LookupQueries"]


@strawberry.type
class LookupQueries:
    @strawberry.field(description="A team by id; null when it does not exist.")
    @staticmethod
    def team(info: Info, id: strawberry.ID) -> Team | None:
        loader = info.context.loaders.team
        return loader.load(id) if is_valid_id(id) else None  # type: ignore[return-value]  # the model's future

    @strawberry.field(description="A customer by id; null when it does not exist.")
    @staticmethod
    def customer(info: Info, id: strawberry.ID) -> Customer | None:
        loader = info.context.loaders.customer
        return loader.load(id) if is_valid_id(id) else None  # type: ignore[return-value]  # the model's future

    @strawberry.field(description="A virtual key by id; null when it does not exist.")
    @staticmethod
    def virtual_key(info: Info, id: strawberry.ID) -> VirtualKey | None:
        loader = info.context.loaders.virtual_key
        return loader.load(id) if is_valid_id(id) else None  # type: ignore[return-value]  # the model's future
