"""The upstream bodies of the virtual-key writes, and who owns a key after an update.

Bifrost v1.5 (and the seed) detaches a key from both its team and its customer when an update names neither.
An update there must therefore always say who owns the key: what the input asks for, else the owner the key
has now, read just before the write. Detaching is that same form, a PUT naming neither owner, as CONTRACT.md
documents. Bifrost v2 reads owners by presence (``generation.owners == "presence_aware"``, CONTRACT-v2.md):
an update naming neither keeps them, so nothing is read or sent for them, and detaching is ``"team_id": ""``.
While the generation is unknown, the v1.5 form is used (re-sending the owner keeps it on v2 too). ``null`` is
never sent: Bifrost's OpenAPI types both fields as strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from strawberry import Maybe, Some

from app.bifrost import models
from app.generations import Feature, Generation
from app.schema.budgets.bodies import budgets_body
from app.schema.capabilities import calendar_aligned, feature_field, some
from app.schema.changes import list_change
from app.schema.errors import UserError
from app.schema.rate_limits.bodies import given, rate_limit_body
from app.schema.virtual_keys.inputs import (
    CreateVirtualKeyInput,
    MCPConfigInput,
    ProviderConfigInput,
    UpdateVirtualKeyInput,
)
from app.schema.virtual_keys.merge import kept_fields, match_configs
from app.schema.virtual_keys.model_lists import model_fields

__all__ = [
    "create_virtual_key_body",
    "needs_current_key",
    "needs_current_owner",
    "owner_fields",
    "update_virtual_key_body",
]

Body = dict[str, Any]


def needs_current_owner(data: UpdateVirtualKeyInput, *, presence_aware: bool = False) -> bool:
    """Whether the update keeps (part of) the key's current ownership, which must then be read and re-sent
    (on a ``presence_aware`` upstream not when the input names neither owner: leaving both out keeps them)."""
    team, customer = data.team_id, data.customer_id
    if (team is not None and team.value is not None) or (customer is not None and customer.value is not None):
        return False
    if presence_aware and team is None and customer is None:
        return False
    return team is None or customer is None


def needs_current_key(data: UpdateVirtualKeyInput, *, presence_aware: bool = False) -> bool:
    """Whether the key must be read before the write: to keep its owner, or to complete its provider configs."""
    return needs_current_owner(data, presence_aware=presence_aware) or bool(list_change(data.provider_configs))


def owner_fields(
    data: UpdateVirtualKeyInput, current: models.VirtualKey | None, *, presence_aware: bool = False
) -> Body:
    """``team_id``/``customer_id`` for the PUT body, so that only what the input asks for changes.

    Setting one owner moves the key (Bifrost clears the other). A null detaches: the body then names only the
    owner the key keeps (re-sent from ``current``), or none at all, which detaches it from both; an upstream that
    reads owners by presence (``presence_aware``, Bifrost v2) is sent ``"team_id": ""`` instead.

    Example:
        >>> # key in team t, input {name: "x"}        -> {"team_id": "t"} (v2: {})
        >>> # key in team t, input {teamId: null}     -> {} (v2: {"team_id": ""})
        >>> # key of customer c, input {teamId: null} -> {"customer_id": "c"}
    """
    team, customer = data.team_id, data.customer_id
    if team is not None and team.value is not None:
        return {"team_id": team.value}
    if customer is not None and customer.value is not None:
        return {"customer_id": customer.value}
    detach: Body = {"team_id": ""} if presence_aware else {}
    if team is not None and customer is not None:
        return detach  # both null
    if presence_aware and team is None and customer is None:
        return {}  # leaving both out keeps them
    assert current is not None  # needs_current_owner(data) is true here
    if team is None and current.team_id:
        return {"team_id": current.team_id}
    if customer is None and current.customer_id:
        return {"customer_id": current.customer_id}
    if team is None and customer is None:
        return {}  # no owner, and none asked for
    return detach  # the owner the input nulls is the only one the key had


def _provider_config(
    config: ProviderConfigInput,
    generation: Generation | None,
    path: list[str],
    existing: models.ProviderConfig | None = None,
) -> tuple[Body, list[UserError]]:
    """One entry of ``provider_configs``; ``existing``: the key's config it changes (see ``merge``)."""
    body: Body = {"provider": config.provider}
    if config.id is not None:
        body["id"] = config.id
    if existing is not None:
        body.update(kept_fields(config, existing))
    if config.weight is not None and config.weight.value is not None:
        body["weight"] = config.weight.value
    models_given, errors = model_fields(config, generation, path)
    body.update(models_given)
    if config.key_ids is not None:
        body["key_ids"] = config.key_ids
    budgets, budget_errors = budgets_body(
        config.budgets,
        generation,
        owner="provider config",
        path=[*path, "budgets"],
        replace="id" in body,
    )
    limit, limit_errors = rate_limit_body(
        given(config.rate_limit), generation, owner="provider config", path=[*path, "rateLimit"], on_seed=True
    )
    return {**body, **budgets, **limit}, errors + budget_errors + limit_errors


def _mcp_config(config: MCPConfigInput) -> Body:
    body: Body = {"mcp_client_name": config.mcp_client_name, "tools_to_execute": config.tools_to_execute}
    if config.id is not None:
        body["id"] = config.id
    return body


def _shared(
    budgets: list[Any] | None,
    rate_limit: Maybe[Any],
    provider_configs: list[ProviderConfigInput] | None,
    mcp_configs: list[MCPConfigInput] | None,
    generation: Generation | None,
    *,
    replace: bool,
    current: Sequence[models.ProviderConfig] = (),
) -> tuple[Body, list[UserError]]:
    body, errors = budgets_body(budgets, generation, owner="virtual key", path=["input", "budgets"], replace=replace)
    limit, limit_errors = rate_limit_body(
        rate_limit, generation, owner="virtual key", path=["input", "rateLimit"], on_seed=True
    )
    body.update(limit)
    errors += limit_errors
    if provider_configs is not None:
        body["provider_configs"] = []
        matches = match_configs(provider_configs, current)
        for i, (config, existing) in enumerate(zip(provider_configs, matches, strict=True)):
            path = ["input", "providerConfigs", str(i)]
            config_body, config_errors = _provider_config(config, generation, path, existing)
            body["provider_configs"].append(config_body)
            errors += config_errors
    if mcp_configs is not None:
        body["mcp_configs"] = [_mcp_config(config) for config in mcp_configs]
    return body, errors


def create_virtual_key_body(data: CreateVirtualKeyInput, generation: Generation | None) -> tuple[Body, list[UserError]]:
    """The POST body the upstream's generation understands."""
    body: Body = {"name": data.name}
    for field, value in (
        ("description", data.description),
        ("team_id", data.team_id),
        ("customer_id", data.customer_id),
        ("is_active", data.is_active),
    ):
        if value is not None:
            body[field] = value
    errors = _key_fields(
        some(data.expires_at), some(data.allow_all_providers), None, some(data.calendar_aligned), generation, body
    )
    shared, shared_errors = _shared(
        data.budgets,
        given(data.rate_limit),
        data.provider_configs,
        data.mcp_configs,
        generation,
        replace=False,
    )
    return {**body, **shared}, errors + shared_errors


def update_virtual_key_body(
    data: UpdateVirtualKeyInput,
    generation: Generation | None,
    owner: Body,
    current: models.VirtualKey | None = None,
) -> tuple[Body, list[UserError]]:
    """The PUT body: what the input mentions, plus the key's owner (see ``owner_fields``) and, for each
    provider config it changes, the fields it leaves out, from ``current`` (see ``merge``)."""
    body: Body = dict(owner)
    if data.name is not None:
        body["name"] = data.name.value
    if data.description is not None:
        body["description"] = data.description.value or ""
    if data.is_active is not None:
        body["is_active"] = data.is_active.value
    errors = _key_fields(
        data.expires_at, data.allow_all_providers, data.reset_budget_usage, data.calendar_aligned, generation, body
    )
    shared, shared_errors = _shared(
        list_change(data.budgets),
        data.rate_limit,
        list_change(data.provider_configs),
        list_change(data.mcp_configs),
        generation,
        replace=True,
        current=current.provider_configs if current is not None else (),
    )
    return {**body, **shared}, errors + shared_errors


def _key_fields(
    expires_at: Maybe[datetime | None],
    allow_all_providers: Maybe[bool | None],
    reset_budget_usage: Maybe[bool | None],
    calendar_aligned_change: Maybe[bool | None],
    generation: Generation | None,
    body: Body,
) -> list[UserError]:
    """The key's own v2 fields (expiry, every provider, usage reset, calendar alignment), where the upstream
    takes them; the userError of each it does not. ``null`` expiry clears it: v2 reads ``""`` so."""
    expiry: Maybe[str] = None
    if expires_at is not None:
        # RFC 3339 as Go parses it; the input was checked to carry an offset.
        expiry = Some(expires_at.value.isoformat() if expires_at.value is not None else "")
    errors = feature_field(
        expiry,
        generation,
        Feature.KEY_EXPIRY,
        field="expires_at",
        path=["input", "expiresAt"],
        what="key expiry",
        body=body,
    )
    errors += feature_field(
        allow_all_providers,
        generation,
        Feature.ALLOW_ALL_PROVIDERS,
        field="allow_all_providers",
        path=["input", "allowAllProviders"],
        what="allowAllProviders",
        body=body,
    )
    errors += feature_field(
        reset_budget_usage,
        generation,
        Feature.RESET_BUDGET_USAGE,
        field="reset_budget_usage",
        path=["input", "resetBudgetUsage"],
        what="budget usage resets",
        body=body,
    )
    return errors + calendar_aligned(calendar_aligned_change, generation, body)
