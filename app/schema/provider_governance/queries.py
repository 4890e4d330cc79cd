"""providerGovernance: every provider with budgets or a rate limit of its own."""

from __future__ import annotations

import strawberry

from app.bifrost.provider_governance import list_provider_governance
from app.generations import Feature
from app.schema.capabilities import lacks
from app.schema.context import Info
from app.schema.provider_governance.types import ProviderGovernance

__all__ = ["ProviderGovernanceQueries"]


@strawberry.type
class ProviderGovernanceQueries:
    @strawberry.field(
        description="Every provider with governance of its own (`GET /api/governance/providers`). Bifrost before v2 "
        "has none: the list is empty."
    )
    @staticmethod
    async def provider_governance(info: Info) -> list[ProviderGovernance]:
        if await lacks(info.context.bifrost, Feature.PROVIDER_GOVERNANCE):
            return []
        return await list_provider_governance(info.context.bifrost)  # type: ignore[return-value]
