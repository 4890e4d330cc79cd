"""GraphiQL, served by the gateway itself (placeholder until the vendored bundle lands)."""

from __future__ import annotations

from starlette.routing import BaseRoute

__all__ = ["graphiql_page", "graphiql_routes"]


def graphiql_page() -> bytes:
    """The GraphiQL HTML page."""
    return b"<!doctype html><title>GraphiQL</title><p>GraphiQL</p>"


def graphiql_routes() -> list[BaseRoute]:
    """Routes serving GraphiQL's static assets."""
    return []
