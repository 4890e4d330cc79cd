"""updateVirtualKey's provider configs: each entry completed from the key's current config.

Bifrost's PUT overwrites an existing config's weight, allowed and blacklisted models and keys with what the
entry carries, so an entry that leaves them out would wipe them (weight to null, allowed models to ``[]``,
which on v2 denies every model, the blacklist to none, keys to none); budgets and the rate limit left out are
kept. Each entry is therefore matched to the key's current config (by ``id``, else by provider), and the PUT
carries that config's values for the fields the entry leaves out: fields left out are unchanged, as the schema
says. The key is read once for this (the same read that finds its owner), then written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.bifrost import models
from app.schema.checks import invalid
from app.schema.errors import UserError
from app.schema.virtual_keys.inputs import ProviderConfigInput

__all__ = ["check_config_ids", "kept_fields", "match_configs"]


def match_configs(
    entries: Sequence[ProviderConfigInput], current: Sequence[models.ProviderConfig]
) -> list[models.ProviderConfig | None]:
    """The current config each entry changes, in entry order (None: the entry creates a config).

    An entry with an ``id`` changes that config; one without changes the first config of its provider that no
    other entry names.

    Example:
        >>> # current [#1 openai, #2 anthropic]; entries [{provider: openai}, {id: 2}] -> [#1, #2]
    """
    by_id = {config.id: config for config in current}
    claimed = {entry.id for entry in entries if entry.id is not None}
    matches: list[models.ProviderConfig | None] = []
    for entry in entries:
        if entry.id is not None:
            matches.append(by_id.get(entry.id))
            continue
        found = next((c for c in current if c.provider == entry.provider and c.id not in claimed), None)
        if found is not None:
            claimed.add(found.id)
        matches.append(found)
    return matches


def check_config_ids(
    entries: Sequence[ProviderConfigInput], current: Sequence[models.ProviderConfig]
) -> list[UserError]:
    """An entry's ``id`` must name a config of this key (Bifrost answers a foreign one with a bare 500)."""
    ids = {config.id for config in current}
    return [
        invalid(["input", "providerConfigs", str(i), "id"], "id is not a provider config of this virtual key")
        for i, entry in enumerate(entries)
        if entry.id is not None and entry.id not in ids
    ]


def kept_fields(entry: ProviderConfigInput, config: models.ProviderConfig) -> dict[str, Any]:
    """What the PUT carries for the fields ``entry`` leaves out, taken from the current ``config``.

    Example:
        >>> # config #1 openai weight 0.7, allowed ["gpt-4o"]; entry {provider: openai, keyIds: []}
        >>> #   -> {"id": 1, "weight": 0.7, "allowed_models": ["gpt-4o"]}
    """
    fields: dict[str, Any] = {"id": config.id}
    if entry.weight is None and config.weight is not None:  # left out (an explicit null clears it)
        fields["weight"] = config.weight
    if entry.allowed_models is None:
        fields["allowed_models"] = list(config.allowed_models)
    if entry.blacklisted_models is None and config.blacklisted_models:  # v2 (None before)
        fields["blacklisted_models"] = list(config.blacklisted_models)
    if entry.key_ids is None:
        fields["key_ids"] = ["*"] if config.allow_all_keys else [key.key_id for key in config.keys]
    return fields
