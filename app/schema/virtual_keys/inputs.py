"""Inputs of the virtual-key mutations and their local validation.

A key belongs to a team or to a customer, never both. ``providerConfigs`` and ``mcpConfigs`` are always the
full desired set: entries with an ``id`` are updated, entries without are created, missing ones deleted. In an
update, a provider config entry without ``id`` changes the key's config of the same provider, and fields an
entry leaves out keep their values (``app.schema.virtual_keys.merge``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import strawberry

from app.schema.budgets.inputs import CALENDAR_ALIGNED, BudgetInput, check_budgets
from app.schema.changes import check_not_null, list_change
from app.schema.checks import check_id, invalid
from app.schema.errors import UserError
from app.schema.names import check_name, check_text
from app.schema.rate_limits.inputs import RateLimitInput, check_rate_limit

__all__ = [
    "CreateVirtualKeyInput",
    "DeleteVirtualKeyInput",
    "MCPConfigInput",
    "ProviderConfigInput",
    "UpdateVirtualKeyInput",
    "check_expiry",
    "check_owner",
]

MAX_MODELS = 1000  # entries of allowedModels or blacklistedModels in one provider config

_ALLOWED_MODELS = (
    'Models the config allows; `["*"]` = all. An empty list allows every model before Bifrost v2 but **no model** '
    "from v2 on (deny by default): there the gateway refuses `[]` unless `denyAllModels: true` says it is meant. "
    f"At most {MAX_MODELS}."
)
_BLACKLISTED_MODELS = (
    'Models the config never allows, whatever allowedModels says; `["*"]` blocks all, `[]` none. Bifrost v2 only: '
    f"older versions answer UNSUPPORTED_BY_UPSTREAM. At most {MAX_MODELS}."
)
_DENY_ALL_MODELS = (
    "True to deny every model of this provider on purpose (sent as an empty allowedModels, Bifrost v2 only); "
    "allowedModels must then be `[]` or left out."
)
_PROVIDER_CONFIGS = (
    "Which providers the key may use. On Bifrost v2 a key with no provider configs can reach **no provider** "
    "(deny by default; older versions: every provider), unless allowAllProviders is true."
)
_EXPIRES_AT = (
    "When the key stops authenticating: an RFC 3339 time with an offset (`2027-01-31T00:00:00Z`), in the future. "
    "Bifrost v2 only: older versions answer UNSUPPORTED_BY_UPSTREAM."
)
_ALLOW_ALL_PROVIDERS = (
    "True lets the key use every configured provider; a provider config still narrows its provider's models "
    "(Bifrost v2 only: older versions answer UNSUPPORTED_BY_UPSTREAM)."
)


@strawberry.input(
    description="Which provider, models and provider keys a virtual key may use. In updateVirtualKey an entry "
    "changes the key's config with its `id`, else its config of the same provider (a new one when there is "
    "none), and fields left out keep that config's values."
)
class ProviderConfigInput:
    provider: str = strawberry.field(description="A provider name known to Bifrost, e.g. `openai`.")
    id: int | None = strawberry.field(
        default=None, description="An existing config of the key to update (updateVirtualKey only)."
    )
    weight: strawberry.Maybe[float | None] = strawberry.field(
        description="Load-balancing weight, >= 0; null: none (the config takes no part in weighted routing)."
    )
    allowed_models: list[str] | None = strawberry.field(default=None, description=_ALLOWED_MODELS)
    blacklisted_models: list[str] | None = strawberry.field(default=None, description=_BLACKLISTED_MODELS)
    deny_all_models: bool | None = strawberry.field(default=None, description=_DENY_ALL_MODELS)
    budgets: list[BudgetInput] | None = strawberry.field(
        default=None, description="The config's budgets (one on seed-generation upstreams); `[]` removes them."
    )
    rate_limit: RateLimitInput | None = None
    key_ids: list[str] | None = strawberry.field(
        default=None, description='Provider key ids (`keyId`) the config may use; `"*"` = all of the provider\'s.'
    )

    def check(self, path: list[str], *, creating: bool) -> list[UserError]:
        """Problems of this config, ``path`` being its input path."""
        errors: list[UserError] = []
        if creating and self.id is not None:
            errors.append(invalid([*path, "id"], "id names an existing config: use it in updateVirtualKey"))
        errors += check_name(self.provider, [*path, "provider"])
        weight = self.weight.value if self.weight is not None else None
        if weight is not None and (not math.isfinite(weight) or weight < 0):
            errors.append(invalid([*path, "weight"], "weight must be a finite number >= 0"))
        for field, values in (("allowedModels", self.allowed_models), ("blacklistedModels", self.blacklisted_models)):
            if values is not None and len(values) > MAX_MODELS:
                errors.append(invalid([*path, field], f"{field} must have at most {MAX_MODELS} entries"))
                continue
            for i, value in enumerate(values or []):
                errors += check_name(value, [*path, field, str(i)], label=f"{field} entries")
        for i, value in enumerate(self.key_ids or []):
            errors += check_name(value, [*path, "keyIds", str(i)], label="keyIds entries")
        if self.deny_all_models and self.allowed_models:
            errors.append(invalid([*path, "denyAllModels"], "denyAllModels goes with an empty allowedModels"))
        errors += check_budgets([([*path, "budgets", str(i)], b) for i, b in enumerate(self.budgets or [])])
        if self.rate_limit is not None:
            errors += check_rate_limit(self.rate_limit, [*path, "rateLimit"])
        return errors


@strawberry.input(description="Which tools of an MCP client a virtual key may execute.")
class MCPConfigInput:
    mcp_client_name: str
    tools_to_execute: list[str] = strawberry.field(description='Tool names; `"*"` = all.')
    id: int | None = strawberry.field(default=None, description="An existing MCP config of the key to update.")

    def check(self, path: list[str]) -> list[UserError]:
        """Problems of this config."""
        errors = check_name(self.mcp_client_name, [*path, "mcpClientName"])
        for i, tool in enumerate(self.tools_to_execute):
            errors += check_name(tool, [*path, "toolsToExecute", str(i)], label="toolsToExecute entries")
        return errors


def check_configs(
    provider_configs: list[ProviderConfigInput] | None, mcp_configs: list[MCPConfigInput] | None, *, creating: bool
) -> list[UserError]:
    """Problems of a key's provider and MCP configs."""
    errors: list[UserError] = []
    for i, config in enumerate(provider_configs or []):
        errors += config.check(["input", "providerConfigs", str(i)], creating=creating)
    for i, mcp in enumerate(mcp_configs or []):
        errors += mcp.check(["input", "mcpConfigs", str(i)])
    return errors


def check_expiry(expires_at: datetime, path: list[str]) -> list[UserError]:
    """An expiry must carry its offset (a time without one is read differently by every server) and lie ahead.

    Example:
        >>> [e.message for e in check_expiry(datetime(2001, 1, 1, tzinfo=UTC), ["input", "expiresAt"])]
        ['expiresAt must be in the future']
    """
    if expires_at.tzinfo is None or expires_at.utcoffset() is None:
        return [invalid(path, "expiresAt must be an RFC 3339 time with an offset, e.g. 2027-01-31T00:00:00Z")]
    return [] if expires_at > datetime.now(UTC) else [invalid(path, "expiresAt must be in the future")]


def check_owner(team_id: str | None, customer_id: str | None) -> list[UserError]:
    """Valid ids, and not both a team and a customer (Bifrost refuses keys with both)."""
    errors: list[UserError] = []
    if team_id is not None:
        errors += check_id(team_id, ["input", "teamId"])
    if customer_id is not None:
        errors += check_id(customer_id, ["input", "customerId"])
    if team_id is not None and customer_id is not None:
        errors.append(invalid(["input", "customerId"], "a virtual key belongs to a team or a customer, not both"))
    return errors


@strawberry.input(description="A new virtual key; Bifrost generates its value.")
class CreateVirtualKeyInput:
    name: str
    description: str | None = None
    team_id: strawberry.ID | None = strawberry.field(
        default=None, description="An existing team (not together with customerId)."
    )
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="An existing customer (not together with teamId)."
    )
    budgets: list[BudgetInput] | None = strawberry.field(
        default=None, description="The key's budgets (one on seed-generation upstreams)."
    )
    rate_limit: RateLimitInput | None = None
    is_active: bool | None = strawberry.field(default=None, description="Defaults to true.")
    provider_configs: list[ProviderConfigInput] | None = strawberry.field(default=None, description=_PROVIDER_CONFIGS)
    mcp_configs: list[MCPConfigInput] | None = None
    expires_at: datetime | None = strawberry.field(default=None, description=_EXPIRES_AT)
    allow_all_providers: bool | None = strawberry.field(default=None, description=_ALLOW_ALL_PROVIDERS)
    calendar_aligned: bool | None = strawberry.field(default=None, description=CALENDAR_ALIGNED)

    def check(self) -> list[UserError]:
        """Every problem that can be found without asking Bifrost."""
        errors = check_name(self.name, ["input", "name"])
        if self.description is not None:
            errors += check_text(self.description, ["input", "description"])
        if self.expires_at is not None:
            errors += check_expiry(self.expires_at, ["input", "expiresAt"])
        errors += check_owner(self.team_id, self.customer_id)
        errors += check_budgets([(["input", "budgets", str(i)], b) for i, b in enumerate(self.budgets or [])])
        if self.rate_limit is not None:
            errors += check_rate_limit(self.rate_limit, ["input", "rateLimit"])
        return errors + check_configs(self.provider_configs, self.mcp_configs, creating=True)


@strawberry.input(
    description="Changes to a virtual key. Fields left out are unchanged; in particular the key keeps its team "
    "or customer unless teamId or customerId is given (null detaches)."
)
class UpdateVirtualKeyInput:
    id: strawberry.ID
    name: strawberry.Maybe[str | None] = strawberry.field(description="A new name; null is refused.")
    description: strawberry.Maybe[str | None] = strawberry.field(description="A new description; null clears it.")
    team_id: strawberry.Maybe[strawberry.ID | None] = strawberry.field(
        description="Move the key to this team (it leaves its customer), or null to detach it from its team."
    )
    customer_id: strawberry.Maybe[strawberry.ID | None] = strawberry.field(
        description="Move the key to this customer (it leaves its team), or null to detach it from its customer."
    )
    budgets: strawberry.Maybe[list[BudgetInput] | None] = strawberry.field(
        description="The full desired set, matched by resetDuration; `[]` or null removes every budget (Bifrost v1.5+)."
    )
    rate_limit: strawberry.Maybe[RateLimitInput | None] = strawberry.field(
        description="Replaces the rate limit; null removes it (Bifrost v1.5+)."
    )
    is_active: strawberry.Maybe[bool | None] = strawberry.field(
        description="Enable or disable the key; null is refused."
    )
    provider_configs: strawberry.Maybe[list[ProviderConfigInput] | None] = strawberry.field(
        description="The full desired set: an entry changes the config with its id, else the config of its "
        "provider (fields left out keep their values), or creates one; configs no entry names are deleted; "
        "`[]` or null removes every config (on Bifrost v2 the key then reaches no provider, unless "
        "allowAllProviders is true)."
    )
    mcp_configs: strawberry.Maybe[list[MCPConfigInput] | None] = strawberry.field(
        description="The full desired set, like providerConfigs; `[]` or null removes every MCP config."
    )
    expires_at: strawberry.Maybe[datetime | None] = strawberry.field(
        description=_EXPIRES_AT + " Null removes the expiry."
    )
    allow_all_providers: strawberry.Maybe[bool | None] = strawberry.field(
        description=_ALLOW_ALL_PROVIDERS + " Null is refused."
    )
    reset_budget_usage: strawberry.Maybe[bool | None] = strawberry.field(
        description="True zeroes the current usage of the key's budgets with this update (Bifrost v2 only: older "
        "versions answer UNSUPPORTED_BY_UPSTREAM). Null is refused."
    )
    calendar_aligned: strawberry.Maybe[bool | None] = strawberry.field(description=CALENDAR_ALIGNED)

    def check(self) -> list[UserError]:
        """Every problem that can be found without asking Bifrost."""
        errors = check_id(self.id, ["input", "id"])
        errors += check_not_null(self.name, ["input", "name"])
        for field, change in (
            ("allowAllProviders", self.allow_all_providers),
            ("resetBudgetUsage", self.reset_budget_usage),
            ("calendarAligned", self.calendar_aligned),
        ):
            errors += check_not_null(change, ["input", field])
        if self.expires_at is not None and self.expires_at.value is not None:
            errors += check_expiry(self.expires_at.value, ["input", "expiresAt"])
        if self.name is not None and self.name.value is not None:
            errors += check_name(self.name.value, ["input", "name"])
        if self.description is not None and self.description.value is not None:
            errors += check_text(self.description.value, ["input", "description"])
        errors += check_not_null(self.is_active, ["input", "isActive"])
        errors += check_owner(
            self.team_id.value if self.team_id is not None else None,
            self.customer_id.value if self.customer_id is not None else None,
        )
        budgets = list_change(self.budgets)
        errors += check_budgets([(["input", "budgets", str(i)], b) for i, b in enumerate(budgets or [])])
        if self.rate_limit is not None and self.rate_limit.value is not None:
            errors += check_rate_limit(self.rate_limit.value, ["input", "rateLimit"])
        return errors + check_configs(list_change(self.provider_configs), list_change(self.mcp_configs), creating=False)


@strawberry.input(description="The virtual key to delete.")
class DeleteVirtualKeyInput:
    id: strawberry.ID
