"""ModelConfig and its rate-limit rules, read straight from the upstream models."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.bifrost.model_configs import ModelConfig as ModelConfigModel
from app.bifrost.model_configs import ModelRateLimit
from app.schema.budgets.types import Budget
from app.schema.rate_limits.types import RateLimit, RateLimitMetric
from app.schema.scalars import Int64

__all__ = ["ModelConfig", "ModelConfigScope", "ModelRateLimitRule"]


@strawberry.enum(description="Whom a model config applies to.")
class ModelConfigScope(Enum):
    GLOBAL = "global"
    VIRTUAL_KEY = "virtual_key"
    USER = "user"


_METRICS = {"tokens": RateLimitMetric.TOKENS, "requests": RateLimitMetric.REQUESTS}  # Bifrost's spelling


@strawberry.type(description="One rate-limit rule of a model config: at most `maxLimit` of `metric` per window.")
class ModelRateLimitRule:
    id: strawberry.ID

    @strawberry.field(description="Tokens or requests (null: a rule Bifrost stored without a metric).")
    @staticmethod
    def metric(root: strawberry.Parent[ModelRateLimit]) -> RateLimitMetric | None:
        return _METRICS.get(root.metric or "")

    @strawberry.field(description="The most tokens or requests per window.")
    @staticmethod
    def max_limit(root: strawberry.Parent[ModelRateLimit]) -> Int64 | None:
        return root.rule_limit  # type: ignore[return-value]

    @strawberry.field(description="The window, e.g. `1m`, `1h`, `1d`.")
    @staticmethod
    def reset_duration(root: strawberry.Parent[ModelRateLimit]) -> str | None:
        return root.rule_reset_duration

    @strawberry.field(description="Tokens or requests counted in the current window.")
    @staticmethod
    def current_usage(root: strawberry.Parent[ModelRateLimit]) -> Int64:
        return root.rule_usage  # type: ignore[return-value]


@strawberry.type(
    description="Budgets and rate limits of one model (`*`: every model), optionally of one provider, for a scope: "
    "everyone (GLOBAL), one virtual key or one user. Bifrost v2."
)
class ModelConfig:
    id: strawberry.ID
    model_name: str = strawberry.field(description="The model, or `*` for every model.")
    provider: str | None = strawberry.field(description="The provider; null: any provider.")
    scope_id: strawberry.ID | None = strawberry.field(description="The virtual key's or user's id; null for GLOBAL.")
    scope_name: str | None = strawberry.field(description="The name of the scope's key or user, when Bifrost sends it.")
    calendar_aligned: bool
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Whom the config applies to (null: a scope this gateway does not know).")
    @staticmethod
    def scope(root: strawberry.Parent[ModelConfigModel]) -> ModelConfigScope | None:
        return next((scope for scope in ModelConfigScope if scope.value == root.scope), None)

    @strawberry.field(description="The config's budgets.")
    @staticmethod
    def budgets(root: strawberry.Parent[ModelConfigModel]) -> list[Budget]:
        return root.budgets or []  # type: ignore[return-value]

    @strawberry.field(description="The config's rate limit (token and request limits in one).")
    @staticmethod
    def rate_limit(root: strawberry.Parent[ModelConfigModel]) -> RateLimit | None:
        return root.rate_limit  # type: ignore[return-value]

    @strawberry.field(description="The config's rate-limit rules, one metric and window each.")
    @staticmethod
    def rate_limits(root: strawberry.Parent[ModelConfigModel]) -> list[ModelRateLimitRule]:
        return root.rate_limits or []  # type: ignore[return-value]
