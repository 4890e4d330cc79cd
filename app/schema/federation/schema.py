"""The subgraph schema: the default schema's Query with ``_entities`` and ``_service``, and ``_Any``/``_Entity``.

Example:
    >>> schema = build_subgraph_schema()
    >>> sorted(name for name in schema._schema.query_type.fields if name.startswith("_"))
    ['_entities', '_service']
"""

from __future__ import annotations

from functools import cache

import strawberry

from app.schema.federation.entities import REPRESENTATION_SCALAR, EntityQueries, Representation, entity_type_name
from app.schema.federation.sdl import subgraph_sdl
from app.schema.schema import GatewaySchema, Query, build_schema

__all__ = ["SubgraphQuery", "build_subgraph_schema", "served_sdl"]


@strawberry.type(name="_Service", description="What a federation router asks a subgraph about itself.")
class Service:
    sdl: str = strawberry.field(description="The subgraph's SDL, with its Federation v2 directives.")


@cache
def served_sdl() -> str:
    """The subgraph SDL, printed once per process (the schema does not change while it runs)."""
    return subgraph_sdl(build_schema().as_str())


@strawberry.type(name="Query", description="Reads over Bifrost's governance data.")
class SubgraphQuery(EntityQueries, Query):
    @strawberry.field(name="_service", description="The subgraph's SDL (answered even where introspection is off).")
    @staticmethod
    def service() -> Service:
        return Service(sdl=served_sdl())


def build_subgraph_schema() -> GatewaySchema:
    """The schema served with ``FEDERATION=true``."""
    schema = build_schema(query=SubgraphQuery, scalars={Representation: REPRESENTATION_SCALAR})
    entity = schema._schema.get_type("_Entity")
    # Fields return upstream models, not instances of the Strawberry types: the union is told which is which.
    entity.resolve_type = entity_type_name  # type: ignore[union-attr]
    return schema
