"""Pydantic models of Bifrost's governance JSON, parsed once per response straight from bytes.

Both API generations parse into the same models: the seed generation's single ``budget`` and the
v1.5+ ``budgets`` array are both kept, and ``all_budgets`` reconciles them. Unknown fields are
ignored and every relation is optional, because Bifrost omits or nulls relations it did not load.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Budget",
    "BudgetList",
    "Customer",
    "CustomerEnvelope",
    "CustomerList",
    "EnvVar",
    "MCPClient",
    "MCPConfig",
    "MessageEnvelope",
    "Page",
    "ProviderConfig",
    "ProviderKey",
    "RateLimit",
    "RateLimitList",
    "Team",
    "TeamEnvelope",
    "TeamList",
    "VirtualKey",
    "VirtualKeyEnvelope",
    "VirtualKeyList",
]


class BifrostModel(BaseModel):
    """Base of every upstream model: unknown fields ignored, instances immutable."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Budget(BifrostModel):
    """A spending limit in USD that resets every ``reset_duration``."""

    id: str
    max_limit: float
    reset_duration: str
    last_reset: datetime | None = None
    current_usage: float = 0.0
    calendar_aligned: bool = False
    team_id: str | None = None
    virtual_key_id: str | None = None
    provider_config_id: int | None = None
    config_hash: str | None = None
    created_at: datetime
    updated_at: datetime


class RateLimit(BifrostModel):
    """Token and request limits with their reset windows."""

    id: str
    token_max_limit: int | None = None
    token_reset_duration: str | None = None
    token_current_usage: int = 0
    token_last_reset: datetime | None = None
    request_max_limit: int | None = None
    request_reset_duration: str | None = None
    request_current_usage: int = 0
    request_last_reset: datetime | None = None
    config_hash: str | None = None
    created_at: datetime
    updated_at: datetime


class WithBudgets(BifrostModel):
    """An owner of budgets, in either generation's shape."""

    budget_id: str | None = None
    budget: Budget | None = None
    budgets: list[Budget] | None = None

    @property
    def all_budgets(self) -> list[Budget]:
        """Every budget: the v1.5+ ``budgets`` array, else the seed's single ``budget``."""
        if self.budgets is not None:
            return self.budgets
        return [self.budget] if self.budget is not None else []

    @property
    def has_budgets_loaded(self) -> bool:
        """False when the payload carries a budget id but neither budget shape (not embedded)."""
        return self.budgets is not None or self.budget is not None or self.budget_id is None


class EnvVar(BifrostModel):
    """A credential: a literal ``value`` (secret) or the name of an environment variable on Bifrost's host."""

    value: str = ""
    env_var: str = ""
    from_env: bool = False


class ProviderKey(BifrostModel):
    """A provider API key attached to a virtual key's provider config."""

    id: int
    name: str = ""
    provider_id: int | None = None
    provider: str | None = None
    key_id: str
    value: EnvVar | None = None
    models: list[str] = Field(default_factory=list)
    weight: float | None = None
    enabled: bool | None = None
    use_for_batch_api: bool | None = None
    azure_endpoint: EnvVar | None = None
    azure_api_version: EnvVar | None = None
    azure_client_id: EnvVar | None = None
    azure_client_secret: EnvVar | None = None
    azure_tenant_id: EnvVar | None = None
    vertex_project_id: EnvVar | None = None
    vertex_project_number: EnvVar | None = None
    vertex_region: EnvVar | None = None
    vertex_auth_credentials: EnvVar | None = None
    bedrock_access_key: EnvVar | None = None
    bedrock_secret_key: EnvVar | None = None
    bedrock_session_token: EnvVar | None = None
    bedrock_region: EnvVar | None = None
    bedrock_arn: EnvVar | None = None
    config_hash: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ProviderConfig(WithBudgets):
    """Which provider (and which of its keys and models) a virtual key may use."""

    id: int
    virtual_key_id: str | None = None
    provider: str
    weight: float | None = None
    allowed_models: list[str] = Field(default_factory=list)
    rate_limit_id: str | None = None
    rate_limit: RateLimit | None = None
    keys: list[ProviderKey] = Field(default_factory=list)
    allow_all_keys: bool | None = None  # v2: set by ``key_ids: ["*"]``, then ``keys`` is every key of the provider


class MCPClient(BifrostModel):
    """The MCP client an MCP config points at (v1.5+)."""

    id: int | str | None = None
    name: str | None = None


class MCPConfig(BifrostModel):
    """Which tools of an MCP client a virtual key may execute."""

    id: int
    mcp_client_name: str | None = None
    mcp_client_id: int | str | None = None
    mcp_client: MCPClient | None = None
    tools_to_execute: list[str] = Field(default_factory=list)

    @property
    def client_name(self) -> str | None:
        """The client name in either generation's shape."""
        if self.mcp_client_name:
            return self.mcp_client_name
        return self.mcp_client.name if self.mcp_client else None


class Customer(WithBudgets):
    """A customer: owner of teams and customer-scoped virtual keys."""

    id: str
    name: str
    rate_limit_id: str | None = None
    rate_limit: RateLimit | None = None
    teams: list[Team] | None = None
    virtual_keys: list[VirtualKey] | None = None
    config_hash: str | None = None
    created_at: datetime
    updated_at: datetime


class Team(WithBudgets):
    """A team, optionally under a customer."""

    id: str
    name: str
    customer_id: str | None = None
    customer: Customer | None = None
    rate_limit_id: str | None = None
    rate_limit: RateLimit | None = None
    virtual_keys: list[VirtualKey] | None = None
    virtual_key_count: int | None = None
    profile: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    claims: dict[str, Any] | None = None
    config_hash: str | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def has_budgets_loaded(self) -> bool:
        """Whether the payload carried the team's budgets.

        v1.5+ omits an empty ``budgets`` array, and also omits budgets it did not load (a team embedded
        in a virtual key), so absence is ambiguous: payloads of team and customer endpoints are settled
        by ``settled_budgets`` on arrival; anything else still unsettled is reloaded.
        """
        return self.budgets is not None or self.budget is not None

    def settled_budgets(self) -> Team:
        """This team with an absent budget list read as empty (for endpoints that always embed budgets)."""
        if self.budgets is None and self.budget is None and self.budget_id is None:
            return self.model_copy(update={"budgets": []})
        return self


class VirtualKey(WithBudgets):
    """A virtual key: the credential callers of Bifrost use. ``value`` is a secret."""

    id: str
    name: str
    description: str | None = None
    value: str = ""
    is_active: bool = True
    provider_configs: list[ProviderConfig] = Field(default_factory=list)
    mcp_configs: list[MCPConfig] = Field(default_factory=list)
    team_id: str | None = None
    customer_id: str | None = None
    team: Team | None = None
    customer: Customer | None = None
    rate_limit_id: str | None = None
    rate_limit: RateLimit | None = None
    config_hash: str | None = None
    created_at: datetime
    updated_at: datetime


class TeamEnvelope(BifrostModel):
    """``{"team": Team}`` as answered by GET, POST and PUT on teams."""

    team: Team


class CustomerEnvelope(BifrostModel):
    """``{"customer": Customer}``."""

    customer: Customer


class VirtualKeyEnvelope(BifrostModel):
    """``{"virtual_key": VirtualKey}``."""

    virtual_key: VirtualKey


class MessageEnvelope(BifrostModel):
    """``{"message": "..."}`` as answered by DELETE."""

    message: str = ""


class Page(BifrostModel):
    """Paging fields of a list answer (absent when paging was not asked for)."""

    count: int = 0
    total_count: int | None = None
    limit: int | None = None
    offset: int | None = None


class TeamList(Page):
    """``GET /api/governance/teams``."""

    teams: list[Team] = Field(default_factory=list)


class CustomerList(Page):
    """``GET /api/governance/customers``."""

    customers: list[Customer] = Field(default_factory=list)


class VirtualKeyList(Page):
    """``GET /api/governance/virtual-keys``."""

    virtual_keys: list[VirtualKey] = Field(default_factory=list)


class BudgetList(BifrostModel):
    """``GET /api/governance/budgets``."""

    budgets: list[Budget] = Field(default_factory=list)
    count: int = 0


class RateLimitList(BifrostModel):
    """``GET /api/governance/rate-limits``."""

    rate_limits: list[RateLimit] = Field(default_factory=list)
    count: int = 0


Customer.model_rebuild()
Team.model_rebuild()
VirtualKey.model_rebuild()
