"""What the quota route tells about one key, as GraphQL types: usage per model per budget, and the key's limits.

Every type here reads only the quota route's answer (``app.bifrost.quota``): nothing resolves a relation,
so answering a key holder sends nothing beyond that one call.
"""

from __future__ import annotations

from dataclasses import dataclass

import strawberry

from app.bifrost import models, quota
from app.schema.budgets.types import Budget
from app.schema.rate_limits.types import RateLimit

__all__ = ["KeyBudget", "KeyModelConfig", "KeyProviderConfig", "KeyUsage", "ModelUsage", "MyVirtualKey", "UsageTotal"]


@strawberry.type(description="What one model cost a budget since the budget's last reset.")
class ModelUsage:
    model: str
    provider: str | None
    total_requests: int
    total_tokens: int
    total_cost: float = strawberry.field(description="USD.")


@dataclass(frozen=True, slots=True)
class _Totals:
    total_requests: int
    total_tokens: int
    total_cost: float


@strawberry.type(description="A budget's usage summed over its models since its last reset.")
class UsageTotal:
    total_requests: int
    total_tokens: int
    total_cost: float = strawberry.field(description="USD.")


@strawberry.type(description="A budget of the key with what it was spent on since its last reset.")
class KeyBudget(Budget):
    @strawberry.field(description="Requests, tokens and USD per model since the budget's last reset.")
    @staticmethod
    def per_model_usage(root: strawberry.Parent[quota.QuotaBudget]) -> list[ModelUsage]:
        return root.per_model_usage  # type: ignore[return-value]

    @strawberry.field(description="The per-model usage summed (Bifrost's `currentUsage` may differ by rounding).")
    @staticmethod
    def total(root: strawberry.Parent[quota.QuotaBudget]) -> UsageTotal:
        used = root.per_model_usage
        return _Totals(  # type: ignore[return-value]
            sum(item.total_requests for item in used),
            sum(item.total_tokens for item in used),
            sum(item.total_cost for item in used),
        )


@strawberry.type(description="A key's usage since each budget's last reset, from Bifrost's quota route.")
class KeyUsage:
    @strawberry.field(description="Each of the key's own budgets, with its usage per model.")
    @staticmethod
    def budgets(root: strawberry.Parent[quota.KeyQuota]) -> list[KeyBudget]:
        return root.budgets  # type: ignore[return-value]


@strawberry.type(description="A provider the key may use, with the limits the key has there.")
class KeyProviderConfig:
    provider: str
    weight: float | None = strawberry.field(description="Load-balancing weight; null = not weighted.")
    allowed_models: list[str] = strawberry.field(description='Allowed models; `"*"` allows all, empty none.')

    @strawberry.field(description='Models refused even when allowed; `"*"` refuses all.')
    @staticmethod
    def blacklisted_models(root: strawberry.Parent[models.ProviderConfig]) -> list[str]:
        return root.blacklisted_models or []

    @strawberry.field(description="The key's budgets for this provider.")
    @staticmethod
    def budgets(root: strawberry.Parent[models.ProviderConfig]) -> list[Budget]:
        return root.all_budgets  # type: ignore[return-value]

    @strawberry.field(description="The key's rate limit for this provider.")
    @staticmethod
    def rate_limit(root: strawberry.Parent[models.ProviderConfig]) -> RateLimit | None:
        return root.rate_limit  # type: ignore[return-value]


@strawberry.type(description="Budgets and a rate limit of the key for one model.")
class KeyModelConfig:
    model_name: str = strawberry.field(description='The model (`"*"`: every model).')
    provider: str | None
    budgets: list[Budget]
    rate_limit: RateLimit | None


@strawberry.type(
    description="The virtual key the caller presented, as its holder may see it: name, state, budgets with usage, "
    "rate limit, provider and model configs. Nothing else of the graph is reachable with a virtual key."
)
class MyVirtualKey:
    @strawberry.field(description="The key's name.")
    @staticmethod
    def name(root: strawberry.Parent[quota.KeyQuota]) -> str:
        return root.virtual_key_name

    is_active: bool
    rate_limit: RateLimit | None = strawberry.field(description="The key's rate limit, with its current usage.")

    @strawberry.field(description="The key's budgets, each with its usage per model since its last reset.")
    @staticmethod
    def budgets(root: strawberry.Parent[quota.KeyQuota]) -> list[KeyBudget]:
        return root.budgets  # type: ignore[return-value]

    @strawberry.field(description="The providers the key may use and its limits there.")
    @staticmethod
    def provider_configs(root: strawberry.Parent[quota.KeyQuota]) -> list[KeyProviderConfig]:
        return root.provider_configs  # type: ignore[return-value]

    @strawberry.field(description="The key's budgets and rate limits per model.")
    @staticmethod
    def model_configs(root: strawberry.Parent[quota.KeyQuota]) -> list[KeyModelConfig]:
        return root.model_configs  # type: ignore[return-value]
