"""VirtualKey and what hangs off it: provider configs, provider keys, credentials and MCP configs.

Secrets stay upstream: a virtual key's ``value`` is masked unless asked for with ``reveal: true`` by a
caller allowed to see it, and literal credential values of provider keys are never returned at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.bifrost import models
from app.schema.availability import V2_ONLY
from app.schema.budgets.types import Budget
from app.schema.context import Info
from app.schema.errors import GatewayError, GatewayErrorCode
from app.schema.rate_limits.types import RateLimit
from app.schema.relations import budgets_of, customer_of, first_budget, rate_limit_of, team_of
from app.schema.self_service.types import KeyUsage
from app.schema.self_service.usage import REVEAL_FORBIDDEN, key_usage, may_use_value
from app.schema.spend.fields import SPEND_DESCRIPTION, owner_spend

if TYPE_CHECKING:
    from app.schema.customers.types import Customer
    from app.schema.model_configs.types import ModelConfig
    from app.schema.spend.types import SpendSeries
    from app.schema.teams.types import Team

__all__ = [
    "MCPConfig",
    "ModelBudget",
    "ProviderConfig",
    "ProviderCredential",
    "ProviderKey",
    "VirtualKey",
    "mask_secret",
]


def mask_secret(value: str) -> str:
    """``sk-bf-`` plus an ellipsis and the last four characters.

    Example:
        >>> mask_secret("sk-bf-0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c")
        'sk-bf-…3b2c'
    """
    return f"sk-bf-…{value[-4:]}" if len(value) > 4 else "sk-bf-…"


@strawberry.type(
    description="A provider credential: either set literally (never returned) or read from "
    "an environment variable on the Bifrost host."
)
class ProviderCredential:
    @strawberry.field(description="Name of the environment variable on the Bifrost host, when from_env.")
    @staticmethod
    def env_var(root: strawberry.Parent[models.EnvVar]) -> str | None:
        return root.env_var or None

    @strawberry.field(description="True when the value comes from an environment variable.")
    @staticmethod
    def from_env(root: strawberry.Parent[models.EnvVar]) -> bool:
        return root.from_env

    @strawberry.field(
        description="True when the payload carries a value or a variable name. Literal values are never "
        "returned, and Bifrost blanks them when it embeds keys in virtual keys, so false there means undisclosed."
    )
    @staticmethod
    def is_set(root: strawberry.Parent[models.EnvVar]) -> bool:
        return bool(root.value or root.env_var)


@strawberry.type(description="A provider API key usable through a provider config.")
class ProviderKey:
    id: int
    name: str
    provider_id: int | None
    provider: str | None
    key_id: strawberry.ID
    value: ProviderCredential | None
    models: list[str]
    weight: float | None
    enabled: bool | None
    use_for_batch_api: bool | None
    azure_endpoint: ProviderCredential | None
    azure_api_version: ProviderCredential | None
    azure_client_id: ProviderCredential | None
    azure_client_secret: ProviderCredential | None
    azure_tenant_id: ProviderCredential | None
    vertex_project_id: ProviderCredential | None
    vertex_project_number: ProviderCredential | None
    vertex_region: ProviderCredential | None
    vertex_auth_credentials: ProviderCredential | None
    bedrock_access_key: ProviderCredential | None
    bedrock_secret_key: ProviderCredential | None
    bedrock_session_token: ProviderCredential | None
    bedrock_region: ProviderCredential | None
    bedrock_arn: ProviderCredential | None
    config_hash: str | None
    created_at: datetime | None
    updated_at: datetime | None


@strawberry.type(description="Budgets and a rate limit of one model under a provider config.")
class ModelBudget:
    model_name: str = strawberry.field(description="The model they apply to.")
    budgets: list[Budget] = strawberry.field(description="The model's budgets.")
    rate_limit: RateLimit | None = strawberry.field(description="The model's rate limit.")


@strawberry.type(description="Which provider, keys and models a virtual key may use.")
class ProviderConfig:
    id: int
    virtual_key_id: strawberry.ID | None
    provider: str
    weight: float | None = strawberry.field(description="Load-balancing weight; null = not weighted.")
    allowed_models: list[str] = strawberry.field(
        description='Allowed models; `"*"` allows all. Empty allows all before Bifrost v2 and none on v2.'
    )
    blacklisted_models: list[str] | None = strawberry.field(
        description=f'Models refused even when allowed; `"*"` refuses all, empty none. {V2_ONLY}.'
    )
    allow_all_keys: bool | None = strawberry.field(
        description="Whether every key of the provider may be used (`keys` then lists them all); false with no "
        f"`keys` allows none. {V2_ONLY}."
    )
    budget_id: strawberry.ID | None
    rate_limit_id: strawberry.ID | None
    keys: list[ProviderKey]

    @strawberry.field(description=f"Budgets and rate limits of single models under this provider. {V2_ONLY}.")
    @staticmethod
    def model_budgets(root: strawberry.Parent[models.ProviderConfig]) -> list[ModelBudget] | None:
        return root.v2_model_budgets  # type: ignore[return-value]

    @strawberry.field(description="The config's only or first budget.")
    @staticmethod
    def budget(root: strawberry.Parent[models.ProviderConfig], info: Info) -> Budget | None:
        return first_budget(root, info)  # type: ignore[return-value]

    @strawberry.field(description="All budgets of the config.")
    @staticmethod
    def budgets(root: strawberry.Parent[models.ProviderConfig], info: Info) -> list[Budget]:
        return budgets_of(root, info)  # type: ignore[return-value]

    @strawberry.field(description="The config's rate limit.")
    @staticmethod
    def rate_limit(root: strawberry.Parent[models.ProviderConfig], info: Info) -> RateLimit | None:
        return rate_limit_of(root, info)  # type: ignore[return-value]


@strawberry.type(description="Which tools of an MCP client a virtual key may execute.")
class MCPConfig:
    id: int
    mcp_client_id: strawberry.ID | None
    tools_to_execute: list[str]

    @strawberry.field(description="Name of the MCP client (both API generations).")
    @staticmethod
    def mcp_client_name(root: strawberry.Parent[models.MCPConfig]) -> str | None:
        return root.client_name


@strawberry.type(description="A virtual key: the credential that callers of Bifrost use.")
class VirtualKey:
    id: strawberry.ID
    name: str
    description: str | None
    is_active: bool
    expires_at: datetime | None = strawberry.field(
        description=f"When the key stops authenticating; null when it never expires. {V2_ONLY}."
    )
    team_id: strawberry.ID | None
    customer_id: strawberry.ID | None
    budget_id: strawberry.ID | None
    rate_limit_id: strawberry.ID | None
    provider_configs: list[ProviderConfig]
    mcp_configs: list[MCPConfig]
    calendar_aligned: bool | None = strawberry.field(
        description="Whether the key's budget and rate-limit windows start on calendar boundaries (a `1d` budget "
        f"resets at midnight UTC) rather than rolling from their creation. {V2_ONLY}."
    )
    allow_all_providers: bool | None = strawberry.field(
        description="Whether the key may use every provider, a provider config then only narrowing its models "
        f"(Bifrost v2 releases differ on whether they enforce it). {V2_ONLY}."
    )
    rotated_at: datetime | None = strawberry.field(
        description=f"When the key's value was last rotated; null when it never was. {V2_ONLY}."
    )
    previous_value_expires_at: datetime | None = strawberry.field(
        description="Until when the value replaced by the last rotation still authenticates (the grace period); "
        f"null when no old value does. {V2_ONLY}."
    )
    config_hash: str | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field(
        description="The key's secret value, masked (`sk-bf-…abcd`) unless `reveal` is true. Revealing needs "
        "the caller's own Bifrost credentials or a gateway key allowed to reveal (else a FORBIDDEN error); "
        "createVirtualKey's payload may always reveal the key it created."
    )
    @staticmethod
    def value(root: strawberry.Parent[models.VirtualKey], info: Info, reveal: bool = False) -> str:
        if not reveal:
            return mask_secret(root.value)
        context = info.context
        if not may_use_value(info, root.id):
            raise GatewayError(REVEAL_FORBIDDEN, GatewayErrorCode.FORBIDDEN)
        context.revealed_values.add(root.value)  # so an idempotent answer is never remembered with it
        return root.value

    @strawberry.field(description="The key's team, if it is team-scoped.")
    @staticmethod
    def team(
        root: strawberry.Parent[models.VirtualKey], info: Info
    ) -> Annotated[Team, strawberry.lazy("app.schema.teams.types")] | None:
        return team_of(root, info)  # type: ignore[return-value]

    @strawberry.field(description="The key's customer, if it is customer-scoped.")
    @staticmethod
    def customer(
        root: strawberry.Parent[models.VirtualKey], info: Info
    ) -> Annotated[Customer, strawberry.lazy("app.schema.customers.types")] | None:
        return customer_of(root, info)  # type: ignore[return-value]

    @strawberry.field(description="The key's only or first budget.")
    @staticmethod
    def budget(root: strawberry.Parent[models.VirtualKey], info: Info) -> Budget | None:
        return first_budget(root, info)  # type: ignore[return-value]

    @strawberry.field(description="All budgets of the key.")
    @staticmethod
    def budgets(root: strawberry.Parent[models.VirtualKey], info: Info) -> list[Budget]:
        return budgets_of(root, info)  # type: ignore[return-value]

    @strawberry.field(description="The key's rate limit.")
    @staticmethod
    def rate_limit(root: strawberry.Parent[models.VirtualKey], info: Info) -> RateLimit | None:
        return rate_limit_of(root, info)  # type: ignore[return-value]

    @strawberry.field(
        description="The key's own model configs (scope VIRTUAL_KEY): budgets and rate limits per model. A page of "
        "keys reads them with one list call. Null before Bifrost v2, which has no model configs."
    )
    @staticmethod
    async def model_configs(
        root: strawberry.Parent[models.VirtualKey], info: Info
    ) -> list[Annotated[ModelConfig, strawberry.lazy("app.schema.model_configs.types")]] | None:
        return await info.context.loaders.key_model_configs.load(root.id)  # type: ignore[return-value]

    @strawberry.field(
        description="The key's usage since each budget's last reset: requests, tokens and USD per model, and their "
        "total, from Bifrost's quota route. That route's credential is the key's value, so the gateway sends it "
        "only for callers who may reveal the value (else a FORBIDDEN error, as for `value(reveal: true)`), and "
        "only there. One upstream call per key (Bifrost has no batch form). Null before Bifrost v2."
    )
    @staticmethod
    async def usage(root: strawberry.Parent[models.VirtualKey], info: Info) -> KeyUsage | None:
        return await key_usage(root, info)  # type: ignore[return-value]

    @strawberry.field(description=SPEND_DESCRIPTION)
    @staticmethod
    async def spend(
        root: strawberry.Parent[models.VirtualKey],
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
    ) -> Annotated[SpendSeries, strawberry.lazy("app.schema.spend.types")] | None:
        return await owner_spend("virtual_key", root.id, info, from_, to)
