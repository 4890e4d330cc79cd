"""``python -m app.schema.export``: print the schema's SDL (``make schema`` writes graphql_schema.graphql).

``python -m app.schema.export --federation`` prints the SDL the gateway serves as a federation subgraph
(``FEDERATION=true``), as a router reads it from ``_service { sdl }``.
"""

from __future__ import annotations

import sys

from app.schema import build_schema
from app.schema.federation.schema import served_sdl


def export_sdl() -> str:
    """The SDL of the development profile's schema, with a trailing newline."""
    return build_schema().as_str() + "\n"


if __name__ == "__main__":
    print(served_sdl() if "--federation" in sys.argv[1:] else export_sdl(), end="")
