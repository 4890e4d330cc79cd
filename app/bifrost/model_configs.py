"""Model configs (Bifrost v2): budgets and rate limits for one model, globally or for one key or user.

``GET /api/governance/model-configs`` pages them (``limit offset search scope scope_id provider``), ``POST``
creates one, ``GET``/``PUT``/``DELETE .../{mc_id}`` read, change and delete one. A config's rate-limit rules
(``rate_limits``, each a rate limit with a ``metric``) limit tokens or requests per window.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from app.bifrost.client import BifrostSession
from app.bifrost.models import BifrostModel, Budget, MessageEnvelope, RateLimit
from app.bifrost.paths import governance_path

__all__ = [
    "ModelConfig",
    "ModelConfigEnvelope",
    "ModelConfigList",
    "ModelRateLimit",
    "create_model_config",
    "delete_model_config",
    "get_model_config",
    "list_model_configs",
    "update_model_config",
]


class _Model(BifrostModel):
    # ``model_name`` and ``model_configs`` are Bifrost's words, not pydantic's.
    model_config = ConfigDict(extra="ignore", frozen=True, protected_namespaces=())


class ModelRateLimit(RateLimit):
    """A rate-limit rule of a model config: a rate limit with a ``metric`` (only that metric's pair is set)."""

    @property
    def rule_limit(self) -> int | None:
        """The max limit of the rule's metric."""
        return self.token_max_limit if self.metric == "tokens" else self.request_max_limit

    @property
    def rule_reset_duration(self) -> str | None:
        """The reset window of the rule's metric."""
        return self.token_reset_duration if self.metric == "tokens" else self.request_reset_duration

    @property
    def rule_usage(self) -> int:
        """Usage of the rule's metric in the current window."""
        return self.token_current_usage if self.metric == "tokens" else self.request_current_usage


class ModelConfig(_Model):
    """Budgets and rate limits of one model (``*``: every model), for a scope."""

    id: str
    model_name: str
    provider: str | None = None
    scope: str = "global"
    scope_id: str | None = None
    scope_name: str | None = None
    calendar_aligned: bool = False
    budget_id: str | None = None
    rate_limit_id: str | None = None
    budgets: list[Budget] | None = None
    rate_limit: RateLimit | None = None
    rate_limits: list[ModelRateLimit] | None = None
    config_hash: str | None = None
    created_at: datetime
    updated_at: datetime


class ModelConfigList(_Model):
    """``{model_configs, count, total_count, limit, offset}``."""

    model_configs: list[ModelConfig] | None = None
    count: int = 0
    total_count: int | None = None
    limit: int | None = None
    offset: int | None = None


class ModelConfigEnvelope(_Model):
    """``{"model_config": ModelConfig}`` (with a ``message`` on writes)."""

    config: ModelConfig = Field(alias="model_config")


async def list_model_configs(session: BifrostSession, params: Mapping[str, str | int]) -> ModelConfigList:
    """``GET /api/governance/model-configs`` with filters and paging."""
    return await session.fetch(ModelConfigList, "GET", governance_path("model-configs"), params=params)


async def get_model_config(session: BifrostSession, config_id: str) -> ModelConfig:
    """``GET .../model-configs/{mc_id}``; raises BifrostNotFound for a missing config."""
    path = governance_path("model-configs", "{}", ids=(config_id,))
    return (await session.fetch(ModelConfigEnvelope, "GET", path)).config


async def create_model_config(session: BifrostSession, body: dict[str, Any]) -> ModelConfig:
    """``POST .../model-configs``; 409 when the model already has a config in that scope."""
    return (await session.fetch(ModelConfigEnvelope, "POST", governance_path("model-configs"), body=body)).config


async def update_model_config(session: BifrostSession, config_id: str, body: dict[str, Any]) -> ModelConfig:
    """``PUT .../model-configs/{mc_id}``; the scope cannot change."""
    path = governance_path("model-configs", "{}", ids=(config_id,))
    return (await session.fetch(ModelConfigEnvelope, "PUT", path, body=body)).config


async def delete_model_config(session: BifrostSession, config_id: str) -> str:
    """``DELETE .../model-configs/{mc_id}``, with its budgets and rate limits. Returns Bifrost's message."""
    path = governance_path("model-configs", "{}", ids=(config_id,))
    return (await session.fetch(MessageEnvelope, "DELETE", path)).message
