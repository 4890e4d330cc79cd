"""``python -m app.schema.export``: print the schema's SDL (``make schema`` writes graphql_schema.graphql)."""

from __future__ import annotations

from app.schema import build_schema


def export_sdl() -> str:
    """The SDL of the development profile's schema, with a trailing newline."""
    return build_schema().as_str() + "\n"


if __name__ == "__main__":
    print(export_sdl(), end="")
