"""The model configs of many virtual keys, read with as few upstream calls as a page of keys allows.

A few keys: one filtered list per key (``scope=virtual_key&scope_id=...``). More keys: the pages of the one list
of every key-scoped config (``scope=virtual_key``), grouped by key; a deployment has few of those, so that is
usually one call for a whole page of keys, where one call per key would be an N+1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from app.bifrost import BifrostSession
from app.bifrost.model_configs import ModelConfig, list_model_configs
from app.generations import Feature
from app.schema.capabilities import lacks

__all__ = ["KEY_CONFIGS_LIST_ALL_THRESHOLD", "MODEL_CONFIG_PAGE", "load_key_model_configs"]

KEY_CONFIGS_LIST_ALL_THRESHOLD = 1
"""Above this many keys in one batch, the list of every key-scoped config beats a filtered call per key."""

MODEL_CONFIG_PAGE = 100
"""How many configs one list call asks for (Bifrost answers at most 100 or 1000; its ``limit`` says which)."""


async def _all_pages(bifrost: BifrostSession, params: Mapping[str, str | int]) -> list[ModelConfig]:
    found: list[ModelConfig] = []
    offset = 0
    while True:
        page = await list_model_configs(bifrost, {**params, "limit": MODEL_CONFIG_PAGE, "offset": offset})
        items = page.model_configs or []
        found += items
        offset += len(items)
        total = page.total_count if page.total_count is not None else offset
        if not items or offset >= total:
            return found


async def load_key_model_configs(bifrost: BifrostSession, key_ids: Sequence[str]) -> list[list[ModelConfig] | None]:
    """Each key's scoped model configs, in key order (None for every key when the upstream has none at all)."""
    if await lacks(bifrost, Feature.MODEL_CONFIGS):
        return [None for _ in key_ids]
    scoped: dict[str, str | int] = {"scope": "virtual_key"}
    if len(key_ids) > KEY_CONFIGS_LIST_ALL_THRESHOLD:
        grouped: dict[str, list[ModelConfig]] = {key_id: [] for key_id in key_ids}
        for config in await _all_pages(bifrost, scoped):
            if config.scope_id in grouped:
                grouped[config.scope_id].append(config)
        return [grouped[key_id] for key_id in key_ids]
    lists = await asyncio.gather(*(_all_pages(bifrost, {**scoped, "scope_id": key_id}) for key_id in key_ids))
    return list(lists)
