"""``_entities``: a router's references (``{"__typename": "Team", "id": "..."}``) resolved to entities.

Every representation is checked before anything is loaded: one that is not an object, names a type that is
not an entity or has no string ``id`` refuses the whole field with a BAD_USER_INPUT error naming its index,
and nothing goes upstream. An id that nothing has (or that is not an id at all) is a ``null`` entity, as
``team(id:)`` is. Entities load through the request's loaders, batched per type (``app.schema.references``).

Example:
    >>> parse_representations([{"__typename": "Team", "id": "t1"}])
    [('Team', 't1')]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NewType

import strawberry
from graphql import GraphQLAbstractType, GraphQLResolveInfo

from app.bifrost import is_valid_id, models
from app.schema.budgets.types import Budget
from app.schema.context import Info
from app.schema.customers.types import Customer
from app.schema.errors import GatewayError, GatewayErrorCode
from app.schema.loaders import Loaders
from app.schema.teams.types import Team
from app.schema.virtual_keys.types import VirtualKey

__all__ = [
    "ENTITY_TYPES",
    "REPRESENTATION_SCALAR",
    "Entity",
    "EntityQueries",
    "Representation",
    "entity_type_name",
    "parse_representations",
]

Representation = NewType("Representation", object)

REPRESENTATION_SCALAR = strawberry.scalar(
    name="_Any",
    description="A reference to an entity, as a federation router sends it: `{__typename, id}`.",
    serialize=lambda value: value,
    parse_value=lambda value: value,
)

Entity = Annotated[Team | Customer | VirtualKey | Budget, strawberry.union("_Entity")]

_LOADS: dict[str, Callable[[Loaders, str], Awaitable[Any]]] = {
    "Team": lambda loaders, entity_id: loaders.team_reference.load(entity_id),
    "Customer": lambda loaders, entity_id: loaders.customer_reference.load(entity_id),
    "VirtualKey": lambda loaders, entity_id: loaders.virtual_key_reference.load(entity_id),
    "Budget": lambda loaders, entity_id: loaders.budget.load(entity_id),
}
ENTITY_TYPES = tuple(_LOADS)
_TYPE_NAMES: dict[type, str] = {
    models.Team: "Team",
    models.Customer: "Customer",
    models.EmbeddedCustomer: "Customer",
    models.VirtualKey: "VirtualKey",
    models.Budget: "Budget",
}
_EXPECTED = "an object with __typename (one of " + ", ".join(sorted(ENTITY_TYPES)) + ") and a string id"


def parse_representations(representations: list[Any]) -> list[tuple[str, str]]:
    """``(type name, id)`` of each representation; GatewayError (BAD_USER_INPUT) naming the first bad one."""
    parsed = []
    for index, representation in enumerate(representations):
        if not isinstance(representation, dict):
            raise _bad(index, f"must be {_EXPECTED}")
        type_name = representation.get("__typename")
        if not isinstance(type_name, str) or type_name not in _LOADS:
            raise _bad(index, f"__typename must be one of {', '.join(sorted(ENTITY_TYPES))}")
        entity_id = representation.get("id")
        if not isinstance(entity_id, str):
            raise _bad(index, "id must be a string")
        parsed.append((type_name, entity_id))
    return parsed


def _bad(index: int, problem: str) -> GatewayError:
    return GatewayError(
        f"representations[{index}] {problem}", GatewayErrorCode.BAD_USER_INPUT, argument="representations"
    )


def entity_type_name(value: Any, _info: GraphQLResolveInfo, _type: GraphQLAbstractType) -> str | None:
    """``_Entity``'s type resolver: the GraphQL type of an upstream model."""
    return _TYPE_NAMES.get(type(value))


@strawberry.type
class EntityQueries:
    @strawberry.field(
        name="_entities",
        description="Entities a federation router names by reference; null where nothing has the id.",
    )
    @staticmethod
    def entities(info: Info, representations: list[Representation]) -> list[Entity | None]:
        loaders = info.context.loaders
        return [
            _LOADS[type_name](loaders, entity_id) if is_valid_id(entity_id) else None  # type: ignore[misc]
            for type_name, entity_id in parse_representations(representations)
        ]
