"""The subgraph SDL: the default schema's SDL with Federation v2's ``@link`` and a ``@key`` on each entity.

It is built from the printed default schema rather than printed from the subgraph's own, so the two cannot
drift apart: the subgraph is the default schema plus ``_entities``/``_service`` (which a subgraph's SDL
leaves out, as the federation spec asks) and the directives below.

Example:
    >>> print(subgraph_sdl('type Team { id: ID! }'))
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
    <BLANKLINE>
    type Team @key(fields: "id") {
      id: ID!
    }
    <BLANKLINE>
"""

from __future__ import annotations

from graphql import DocumentNode, ObjectTypeDefinitionNode, parse, print_ast

from app.schema.federation.entities import ENTITY_TYPES

__all__ = ["FEDERATION_SPEC", "subgraph_sdl"]

# v2.3: the oldest version with everything used here, so the widest range of routers compose it.
FEDERATION_SPEC = "https://specs.apollo.dev/federation/v2.3"

_LINK = parse(f'extend schema @link(url: "{FEDERATION_SPEC}", import: ["@key"])').definitions[0]
_KEY = parse('type Keyed @key(fields: "id")').definitions[0].directives[0]  # type: ignore[attr-defined]


def subgraph_sdl(sdl: str) -> str:
    """``sdl`` (the default schema's) as a Federation v2 subgraph's SDL, with a trailing newline."""
    definitions = [
        _keyed(node) if isinstance(node, ObjectTypeDefinitionNode) and node.name.value in ENTITY_TYPES else node
        for node in parse(sdl).definitions
    ]
    return print_ast(DocumentNode(definitions=(_LINK, *definitions))) + "\n"


def _keyed(node: ObjectTypeDefinitionNode) -> ObjectTypeDefinitionNode:
    return ObjectTypeDefinitionNode(
        description=node.description,
        name=node.name,
        interfaces=node.interfaces,
        directives=(*(node.directives or ()), _KEY),
        fields=node.fields,
    )
