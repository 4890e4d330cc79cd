"""ProviderGovernance, read straight from the upstream model."""

from __future__ import annotations

import strawberry

from app.bifrost.provider_governance import ProviderGovernance as ProviderGovernanceModel
from app.schema.budgets.types import Budget
from app.schema.rate_limits.types import RateLimit

__all__ = ["ProviderGovernance"]


@strawberry.type(description="Budgets and a rate limit on all traffic to one provider, whoever sends it. Bifrost v2.")
class ProviderGovernance:
    provider: str
    calendar_aligned: bool = strawberry.field(description="Windows reset on calendar boundaries (UTC).")

    @strawberry.field(description="The provider's budgets.")
    @staticmethod
    def budgets(root: strawberry.Parent[ProviderGovernanceModel]) -> list[Budget]:
        return root.all_budgets  # type: ignore[return-value]

    @strawberry.field(description="The provider's rate limit.")
    @staticmethod
    def rate_limit(root: strawberry.Parent[ProviderGovernanceModel]) -> RateLimit | None:
        return root.rate_limit  # type: ignore[return-value]
