"""The GraphQL schema: root types assembled from the per-domain modules."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app.schema.customers.mutations import CustomerMutations
from app.schema.extensions import OperationFacts, SafeErrors
from app.schema.limits import Limits, limit_extensions
from app.schema.lists import ListQueries
from app.schema.lookups import LookupQueries
from app.schema.scalars import SCALAR_MAP
from app.schema.session.mutations import SessionMutations
from app.schema.teams.mutations import TeamMutations
from app.schema.teams.update_mutations import TeamUpdateMutations
from app.schema.virtual_keys.mutations import VirtualKeyMutations

__all__ = ["GatewaySchema", "Mutation", "Query", "build_schema"]

log = logging.getLogger("app.graphql")


@strawberry.type(description="Reads over Bifrost's governance data.")
class Query(LookupQueries, ListQueries):
    pass


@strawberry.type(description="Writes, each forwarded to Bifrost exactly once.")
class Mutation(TeamMutations, TeamUpdateMutations, CustomerMutations, VirtualKeyMutations, SessionMutations):
    pass


class GatewaySchema(strawberry.Schema):
    """Strawberry's schema with log lines that never carry messages, variables or tracebacks."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            code = (error.extensions or {}).get("code")
            log.debug("graphql error", extra={"code": code, "path": error.path})


def build_schema(
    *, production: bool = False, limits: Limits | None = None, extensions: list[Any] | None = None
) -> GatewaySchema:
    """The schema with limits, caches and error masking; ``production`` hides field suggestions."""
    limits = limits or Limits(introspection=not production)
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(disable_field_suggestions=production, scalar_map=SCALAR_MAP),
        extensions=[
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            *limit_extensions(limits),
            OperationFacts,
            SafeErrors,
            *(extensions or []),
        ],
    )
