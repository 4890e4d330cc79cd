"""Serving the schema as an Apollo Federation v2 subgraph (``FEDERATION=true``).

Team, Customer, VirtualKey and Budget are entities keyed by ``id``; a router resolves references to them
through ``_entities`` (the request's loaders, ``app.schema.references``) and reads the subgraph's SDL from
``_service { sdl }``, which answers even where introspection is off. With the setting off the schema is
exactly the default one.
"""

from app.schema.federation.entities import ENTITY_TYPES, parse_representations
from app.schema.federation.schema import build_subgraph_schema
from app.schema.federation.sdl import FEDERATION_SPEC, subgraph_sdl

__all__ = ["ENTITY_TYPES", "FEDERATION_SPEC", "build_subgraph_schema", "parse_representations", "subgraph_sdl"]
