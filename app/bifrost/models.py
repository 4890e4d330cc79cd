"""Pydantic models of Bifrost's governance JSON, parsed once per response straight from bytes.

Every API generation parses into the same models: the seed generation's single ``budget`` and the
v1.5+ ``budgets`` array are both kept, and ``all_budgets`` reconciles them. Unknown fields are
ignored and every relation is optional, because Bifrost omits or nulls relations it did not load.
Fields only v2 sends (``expires_at``, ``override_*``, ``virtual_key_count`` on customers ...) are
None when an older upstream leaves them out. A list Bifrost may send as ``null`` (v2 marshals an
unloaded Go slice so) reads as an empty list (``OrEmpty``).

Example:
    >>> VirtualKey.model_validate_json(
    ...     b'{"id": "k", "name": "n", "provider_configs": null, "created_at": "2026-01-01T00:00:00Z",'
    ...     b' "updated_at": "2026-01-01T00:00:00Z"}'
    ... ).provider_configs
    []
"""

from __future__ import annotations

import math
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self, TypeAlias, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Budget",
    "BudgetList",
    "Customer",
    "CustomerEnvelope",
    "CustomerList",
    "CustomerName",
    "EmbeddedCustomer",
    "EnvVar",
    "LeanTeam",
    "LeanTeamList",
    "MCPClient",
    "MCPConfig",
    "MessageEnvelope",
    "ModelBudget",
    "OrEmpty",
    "Page",
    "ProviderConfig",
    "ProviderKey",
    "RateLimit",
    "RateLimitList",
    "Team",
    "TeamCore",
    "TeamEnvelope",
    "TeamList",
    "VirtualKey",
    "VirtualKeyEnvelope",
    "VirtualKeyList",
    "settle_parsed_team",
]


T = TypeVar("T")


def _none_if_blank(value: str | None) -> str | None:
    return value or None


OwnerId = Annotated[str | None, AfterValidator(_none_if_blank)]
"""An owner's id (``team_id``, ``customer_id``): Bifrost may store ``""`` for "none", which reads as None."""


def _empty_if_null(value: list[T] | None) -> list[T]:
    return [] if value is None else value


if TYPE_CHECKING:
    OrEmpty: TypeAlias = list[T]
else:

    class OrEmpty:
        """``OrEmpty[X]``: a JSON list of X where ``null`` reads as ``[]``.

        A union with None and an after-validator, rather than a before-validator, keeps pydantic parsing the
        list straight from the JSON bytes. Defaults are not validated, so an absent field keeps its default.
        """

        def __class_getitem__(cls, item: Any) -> Any:
            return Annotated[list[item] | None, AfterValidator(_empty_if_null)]


class BifrostModel(BaseModel):
    """Base of every upstream model: unknown fields ignored, instances immutable."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Budget(BifrostModel):
    """A spending limit in USD that resets every ``reset_duration``.

    v2 adds an override: ``override_amount`` more is allowed while it is active (``forever``, or ``cycles``
    with windows left); Bifrost leaves the ``override_*`` fields out when there is none.

    Example:
        >>> budget = Budget.model_validate_json(
        ...     b'{"id": "b", "max_limit": 10, "reset_duration": "1d", "override_amount": 5, "override_mode":'
        ...     b' "forever", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}'
        ... )
        >>> budget.has_active_override, budget.effective_max_limit
        (True, 15.0)
    """

    id: str
    max_limit: float
    reset_duration: str
    last_reset: datetime | None = None
    current_usage: float = 0.0
    calendar_aligned: bool = False
    override_amount: float | None = None
    override_mode: str | None = None
    override_cycles_remaining: int | None = None
    override_cycles_total: int | None = None
    override_anchor_reset: datetime | None = None
    team_id: str | None = None
    virtual_key_id: str | None = None
    provider_config_id: int | None = None
    model_config_id: str | None = None
    customer_id: str | None = None
    config_hash: str | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def has_override(self) -> bool:
        """Whether the budget carries an override (active or spent); Bifrost's empty mode means none."""
        return bool(self.override_mode)

    @property
    def has_active_override(self) -> bool:
        """Bifrost's ``HasActiveOverride``: a positive amount, forever or with cycles left."""
        if not self.override_amount or self.override_amount <= 0:
            return False
        if self.override_mode == "forever":
            return True
        return self.override_mode == "cycles" and (self.override_cycles_remaining or 0) > 0

    @property
    def effective_max_limit(self) -> float:
        """Bifrost's ``EffectiveMaxLimit``: ``max_limit`` plus the override amount while it is active."""
        if self.has_active_override and self.override_amount is not None:
            total = self.max_limit + self.override_amount
            # Two amounts JSON can carry may still add up past float's range, which GraphQL cannot send.
            return total if math.isfinite(total) else sys.float_info.max
        return self.max_limit


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
    metric: str | None = None  # v2 model-config rules only: "tokens" or "requests"
    config_hash: str | None = None
    created_at: datetime
    updated_at: datetime


class ModelBudget(BifrostModel):
    """One model's budgets and rate limit under a v2 provider config (``model_budgets``)."""

    model_name: str
    budgets: OrEmpty[Budget] = Field(default_factory=list)
    rate_limit: RateLimit | None = None


def aligned_budgets(budgets: list[Budget] | None) -> list[Budget] | None:
    """``budgets`` marked calendar-aligned, as Bifrost v2 stamps an aligned owner's budgets when it loads them.

    v2 keeps ``calendar_aligned`` on the owner (team, customer, key) and no longer sends it on its budgets.
    """
    if budgets is None or all(budget.calendar_aligned for budget in budgets):
        return budgets
    return [budget.model_copy(update={"calendar_aligned": True}) for budget in budgets]


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
    models: OrEmpty[str] = Field(default_factory=list)
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
    allowed_models: OrEmpty[str] = Field(default_factory=list)
    blacklisted_models: list[str] | None = None  # v2 always sends a list (never null); None: an older upstream
    rate_limit_id: str | None = None
    rate_limit: RateLimit | None = None
    keys: OrEmpty[ProviderKey] = Field(default_factory=list)
    allow_all_keys: bool | None = None  # v2: set by ``key_ids: ["*"]``, then ``keys`` is every key of the provider
    model_budgets: list[ModelBudget] | None = None  # v2 leaves it out when there are none

    @property
    def v2_model_budgets(self) -> list[ModelBudget] | None:
        """Per-model budgets: v2 (which always sends ``blacklisted_models``) omits an empty list; None on older."""
        if self.model_budgets is not None:
            return self.model_budgets
        return [] if self.blacklisted_models is not None else None


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
    tools_to_execute: OrEmpty[str] = Field(default_factory=list)

    @property
    def client_name(self) -> str | None:
        """The client name in either generation's shape."""
        if self.mcp_client_name:
            return self.mcp_client_name
        return self.mcp_client.name if self.mcp_client else None


class Customer(WithBudgets):
    """A customer: owner of teams and customer-scoped virtual keys.

    A customer embedded in a team or a key is partial (an ``EmbeddedCustomer``). On v2 its
    ``virtual_key_count`` is not filled in (Bifrost computes it only on the customer read paths, and
    serialises 0 elsewhere) and its budgets may not be loaded, so ``own_virtual_key_count`` and
    ``has_budgets_loaded`` do not trust it.

    Example:
        >>> customer = Customer.model_validate_json(
        ...     b'{"id": "c", "name": "Acme", "virtual_key_count": 2, "created_at": "2026-01-01T00:00:00Z",'
        ...     b' "updated_at": "2026-01-01T00:00:00Z"}'
        ... )
        >>> customer.own_virtual_key_count, customer.all_budgets
        (2, [])
    """

    id: str
    name: str
    rate_limit_id: str | None = None
    rate_limit: RateLimit | None = None
    teams: list[Team] | None = None
    virtual_keys: list[VirtualKey] | None = None
    virtual_key_count: int | None = None  # v2 (always sent there)
    calendar_aligned: bool | None = None  # v2
    config_hash: str | None = None
    created_at: datetime
    updated_at: datetime

    # Read from inside a team's or a key's payload (``EmbeddedCustomer``). A class attribute, not a private
    # attribute: pydantic sets private attributes up in Python for every instance it parses.
    _embedded: ClassVar[bool] = False

    @model_validator(mode="after")
    def _stamp_calendar_alignment(self) -> Customer:
        if self.calendar_aligned and self.budgets:
            return self.model_copy(update={"budgets": aligned_budgets(self.budgets)})
        return self

    @property
    def has_budgets_loaded(self) -> bool:
        """Whether the payload carried the customer's budgets.

        v2 has no ``budget_id`` that would say a budget exists, and omits an empty ``budgets``: a partial
        v2 customer (one that carries ``virtual_key_count``) without budgets may simply not have them loaded.
        """
        if self._embedded and self.budgets is None and self.virtual_key_count is not None:
            return False
        return super().has_budgets_loaded

    @property
    def own_virtual_key_count(self) -> int | None:
        """How many customer-scoped keys it has, when this payload says so (None: ask the customer's GET).

        v2 sends the count; older generations embed the keys themselves in the customer endpoints' answers.
        """
        if self._embedded:
            return None
        if self.virtual_key_count is not None:
            return self.virtual_key_count
        return len(self.virtual_keys) if self.virtual_keys is not None else None


class EmbeddedCustomer(Customer):
    """A customer read from inside a team's or a virtual key's payload: partial (see ``Customer``).

    Example:
        >>> team = Team.model_validate_json(
        ...     b'{"id": "t", "name": "T", "customer": {"id": "c", "name": "Acme", "virtual_key_count": 0,'
        ...     b' "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"},'
        ...     b' "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}'
        ... )
        >>> type(team.customer).__name__, team.customer.own_virtual_key_count, team.customer.has_budgets_loaded
        ('EmbeddedCustomer', None, False)
    """

    _embedded: ClassVar[bool] = True


class TeamCore(WithBudgets):
    """What every parse of a team keeps: its identity, its customer's id, budgets and keys (``Team`` adds the rest).

    A page of teams whose document reads nothing more is parsed as ``LeanTeam`` (see ``LeanTeamList``).
    """

    id: str
    name: str
    customer_id: OwnerId = None
    virtual_keys: list[VirtualKey] | None = None
    virtual_key_count: int | None = None
    calendar_aligned: bool | None = None  # v2

    @model_validator(mode="after")
    def _stamp_calendar_alignment(self) -> Self:
        if self.calendar_aligned and self.budgets:
            return self.model_copy(update={"budgets": aligned_budgets(self.budgets)})
        return self

    @property
    def has_budgets_loaded(self) -> bool:
        """Whether the payload carried the team's budgets.

        v1.5+ omits an empty ``budgets`` array, and also omits budgets it did not load (a team embedded
        in a virtual key), so absence is ambiguous: payloads of team and customer endpoints are settled
        by ``settle_parsed_team`` as they are parsed; anything else still unsettled is reloaded.
        """
        return self.budgets is not None or self.budget is not None

    def settled_budgets(self) -> Self:
        """This team with an absent budget list read as empty (for endpoints that always embed budgets)."""
        if self.budgets is None and self.budget is None and self.budget_id is None:
            return self.model_copy(update={"budgets": []})
        return self


class Team(TeamCore):
    """A team, optionally under a customer."""

    customer: EmbeddedCustomer | None = None  # partial, as the embedding endpoints send it
    rate_limit_id: str | None = None
    rate_limit: RateLimit | None = None
    profile: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    claims: dict[str, Any] | None = None
    config_hash: str | None = None
    created_at: datetime
    updated_at: datetime


class CustomerName(BifrostModel):
    """A team's customer as a ``LeanTeam`` keeps it: its id and name."""

    id: str
    name: str


class LeanTeam(TeamCore):
    """A team of a page whose document reads only what ``TeamCore`` and ``CustomerName`` keep.

    A page's hundred teams with their customers are most of what a dashboard costs to parse; what a document
    never reads is skipped, not parsed (``app.schema.lists``: which documents read only this).
    """

    customer: CustomerName | None = None


def settle_parsed_team(team: TeamCore) -> None:
    """``team.settled_budgets()`` in place, for a team just parsed that nothing else holds yet.

    The same instance ``model_copy`` would give (its fields, and ``budgets`` among the fields set), without the
    copy: on a create, whose new team has no budgets, the two copies (team and envelope) cost more than the
    parse itself.

    Example:
        >>> team = Team.model_validate({"id": "t", "name": "T", "created_at": "2026-01-01T00:00:00Z",
        ...                             "updated_at": "2026-01-01T00:00:00Z"})
        >>> settle_parsed_team(team)
        >>> team.budgets, "budgets" in team.model_fields_set
        ([], True)
    """
    if team.budgets is None and team.budget is None and team.budget_id is None:
        team.__dict__["budgets"] = []  # frozen forbids ``setattr``; this instance is not shared yet
        team.__pydantic_fields_set__.add("budgets")


class VirtualKey(WithBudgets):
    """A virtual key: the credential callers of Bifrost use. ``value`` is a secret."""

    id: str
    name: str
    description: str | None = None
    value: str = ""
    is_active: bool = True
    expires_at: datetime | None = None  # v2: None also when the key never expires
    provider_configs: OrEmpty[ProviderConfig] = Field(default_factory=list)
    mcp_configs: OrEmpty[MCPConfig] = Field(default_factory=list)
    team_id: OwnerId = None
    customer_id: OwnerId = None
    team: Team | None = None
    customer: EmbeddedCustomer | None = None  # partial, as the embedding endpoints send it
    rate_limit_id: str | None = None
    rate_limit: RateLimit | None = None
    calendar_aligned: bool | None = None  # v2
    allow_all_providers: bool | None = None  # v2
    rotated_at: datetime | None = None  # v2, once rotated
    previous_value_expires_at: datetime | None = None  # v2, while a rotated-out value still authenticates
    config_hash: str | None = None
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="after")
    def _stamp_calendar_alignment(self) -> VirtualKey:
        # A key's provider configs and per-model budgets take the key's alignment too.
        if not self.calendar_aligned:
            return self
        configs = [
            config.model_copy(
                update={
                    "budgets": aligned_budgets(config.budgets),
                    "model_budgets": [
                        model.model_copy(update={"budgets": aligned_budgets(model.budgets)})
                        for model in config.model_budgets
                    ]
                    if config.model_budgets is not None
                    else None,
                }
            )
            for config in self.provider_configs
        ]
        return self.model_copy(update={"budgets": aligned_budgets(self.budgets), "provider_configs": configs})


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

    teams: OrEmpty[Team] = Field(default_factory=list)


class LeanTeamList(Page):
    """``GET /api/governance/teams`` for a document that reads only what ``LeanTeam`` keeps."""

    teams: OrEmpty[LeanTeam] = Field(default_factory=list)


class CustomerList(Page):
    """``GET /api/governance/customers``."""

    customers: OrEmpty[Customer] = Field(default_factory=list)


class VirtualKeyList(Page):
    """``GET /api/governance/virtual-keys``."""

    virtual_keys: OrEmpty[VirtualKey] = Field(default_factory=list)


class BudgetList(BifrostModel):
    """``GET /api/governance/budgets``."""

    budgets: OrEmpty[Budget] = Field(default_factory=list)
    count: int = 0


class RateLimitList(BifrostModel):
    """``GET /api/governance/rate-limits``."""

    rate_limits: OrEmpty[RateLimit] = Field(default_factory=list)
    count: int = 0


Customer.model_rebuild()
EmbeddedCustomer.model_rebuild()
TeamCore.model_rebuild()
Team.model_rebuild()
LeanTeam.model_rebuild()
VirtualKey.model_rebuild()
