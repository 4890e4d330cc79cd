"""A virtual key's per-model governance: its model configs that name one model rather than ``"*"``.

Bifrost v2 keeps a key's limits in model configs scoped to the key (``scope: virtual_key``). Those for all
models (``"*"``) are the key's and its provider configs' own budgets and rate limit; those naming a model are
answered twice: under the provider config of their provider as ``model_budgets`` (``{model_name, budgets?,
rate_limit?}``), and by the quota endpoint as ``model_configs`` (``{model_name, provider?, budgets?,
rate_limit?}``). Every key of a page is read in one query.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import orjson

from ..generations import Generation
from .model_configs import ALL_MODELS, model_configs_json

__all__ = ["key_model_configs"]

JSON = dict[str, Any]
_IN = "IN (SELECT value FROM json_each(?))"


def key_model_configs(db: sqlite3.Connection, generation: Generation, vk_ids: Iterable[str]) -> dict[str, list[JSON]]:
    """Each key's model configs that name a model, as the quota answers them (oldest first), by key id."""
    rows = db.execute(
        f"SELECT * FROM model_configs WHERE scope = 'virtual_key' AND scope_id {_IN} AND model_name != ?"
        " ORDER BY created_at, id",
        (orjson.dumps(list(vk_ids)).decode(), ALL_MODELS),
    ).fetchall()
    by_key: dict[str, list[JSON]] = {}
    for row, config in zip(rows, model_configs_json(db, generation, rows), strict=True):
        entry: JSON = {"model_name": config["model_name"]}
        for field in ("provider", "budgets", "rate_limit"):
            if field in config:
                entry[field] = config[field]
        by_key.setdefault(row["scope_id"], []).append(entry)
    return by_key
