"""Single-entity queries: a missing (or malformed) id is ``null``, never an error."""

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
    async def team(info: Info, id: strawberry.ID) -> Team | None:
        if not is_valid_id(id):
            return None
        return await info.context.loaders.team.load(id)  # type: ignore[return-value]

    @strawberry.field(description="A customer by id; null when it does not exist.")
    @staticmethod
    async def customer(info: Info, id: strawberry.ID) -> Customer | None:
        if not is_valid_id(id):
            return None
        return await info.context.loaders.customer.load(id)  # type: ignore[return-value]

    @strawberry.field(description="A virtual key by id; null when it does not exist.")
    @staticmethod
    async def virtual_key(info: Info, id: strawberry.ID) -> VirtualKey | None:
        if not is_valid_id(id):
            return None
        return await info.context.loaders.virtual_key.load(id)  # type: ignore[return-value]
