"""The GraphQL schema: root types assembled from the per-domain modules."""

from __future__ import annotations

from collections.abc import Mapping

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.types.scalar import ScalarDefinition

from app.schema.customers.mutations import CustomerMutations
from app.schema.input_builders import install_input_builders
from app.schema.lists import ListQueries
from app.schema.live import Subscription
from app.schema.lookups import LookupQueries
from app.schema.model_configs.mutations import ModelConfigMutations
from app.schema.model_configs.queries import ModelConfigQueries
from app.schema.overrides.mutations import OverrideMutations
from app.schema.provider_governance.mutations import ProviderGovernanceMutations
from app.schema.provider_governance.queries import ProviderGovernanceQueries
from app.schema.rotation.mutations import RotationMutations
from app.schema.scalars import SCALAR_MAP
from app.schema.self_service import SelfServiceQueries
from app.schema.session.mutations import SessionMutations
from app.schema.spend.queries import SpendQueries
from app.schema.teams.mutations import TeamMutations
from app.schema.virtual_keys.mutations import VirtualKeyMutations

__all__ = ["GatewaySchema", "Mutation", "Query", "Subscription", "build_schema"]


@strawberry.type(description="Reads over Bifrost's governance data.")
class Query(
    LookupQueries, ListQueries, ModelConfigQueries, ProviderGovernanceQueries, SelfServiceQueries, SpendQueries
):
    pass


@strawberry.type(description="Writes, each forwarded to Bifrost exactly once.")
class Mutation(
    TeamMutations,
    CustomerMutations,
    VirtualKeyMutations,
    SessionMutations,
    RotationMutations,
    OverrideMutations,
    ModelConfigMutations,
    ProviderGovernanceMutations,
):
    pass


class GatewaySchema(strawberry.Schema):
    """The gateway's Strawberry schema (documents run through ``app.schema.executor.Executor``)."""


def build_schema(query: type = Query, scalars: Mapping[object, ScalarDefinition] | None = None) -> GatewaySchema:
    """The schema: root types from the per-domain modules (``Subscription`` from ``app.schema.live``), custom scalars
    registered.

    Args:
        query: the root query type (the federation subgraph's adds ``_entities`` and ``_service``).
        scalars: scalars beside the gateway's own.
    """
    config = StrawberryConfig(scalar_map={**SCALAR_MAP, **(scalars or {})})
    schema = GatewaySchema(query=query, mutation=Mutation, subscription=Subscription, config=config)
    install_input_builders(schema)
    return schema
