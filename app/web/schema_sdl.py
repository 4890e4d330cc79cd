"""``GET /graphql/schema.graphql``: the schema as SDL, for tools that cannot introspect a production gateway.

Introspection is off in production, yet codegen, Apollo's tooling and Python's ``gql`` need the schema. The
schema is no secret (the same for every caller, and published as ``graphql_schema.graphql``), so the file is
served by default in both profiles; ``SCHEMA_ENDPOINT=false`` turns it off (404). The text is rendered once, at
start, and carries a strong ETag: a client that revalidates with ``If-None-Match`` gets a bodiless 304, and
``Cache-Control: no-cache`` makes every client revalidate, so a deploy that changes the schema is seen at once.
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["SCHEMA_PATH", "SchemaDocument", "schema_route"]

SCHEMA_PATH = "/graphql/schema.graphql"
_MEDIA_TYPE = "text/plain; charset=utf-8"  # what browsers, curl and every schema loader read as text
_CACHE_CONTROL = "public, no-cache"


class SchemaDocument:
    """The SDL of one schema, its ETag and the conditional GET over them.

    Example:
        >>> document = SchemaDocument("type Query { ok: Boolean }")
        >>> document.etag == document.etag and document.etag.startswith('"')
        True
        >>> document.body
        b'type Query { ok: Boolean }\\n'
    """

    def __init__(self, sdl: str) -> None:
        self.body = (sdl.rstrip("\n") + "\n").encode()
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'

    def matches(self, if_none_match: str | None) -> bool:
        """True when an ``If-None-Match`` header names this version (or ``*``); weak validators count too."""
        if not if_none_match:
            return False
        for candidate in if_none_match.split(","):
            tag = candidate.strip().removeprefix("W/")
            if tag in ("*", self.etag):
                return True
        return False

    async def serve(self, request: Request) -> Response:
        """The SDL, or 304 when the client already holds this version."""
        headers = {"etag": self.etag, "cache-control": _CACHE_CONTROL}
        if self.matches(request.headers.get("if-none-match")):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=_MEDIA_TYPE, headers=headers)


def schema_route(sdl: str) -> Route:
    """The route serving ``sdl`` at ``SCHEMA_PATH`` (GET, and HEAD through Starlette)."""
    return Route(SCHEMA_PATH, SchemaDocument(sdl).serve, methods=["GET"])
