"""The budgets and rate limits an inference request is checked against and charged to, in Bifrost's order.

Four stages, each a list of :class:`Scope` (an entity's budgets and rate limits under the name Bifrost's
messages give it):

* ``provider``: provider governance, the global model config of model ``"*"`` for the request's provider
  (named after the provider, ``openai``);
* ``model``: global model configs of the model with that provider (``Model:M:Provider:P``), of the model
  (``Model:M``) and of every model (``Model:AllModels``);
* ``key``: the hierarchy of the virtual key: its provider config for the provider (named after the
  provider), the key (``VK``), its team (``Team``) and its customer, directly or through the team, once
  (``Customer``);
* ``key_model``: model configs scoped to the key for this model or every model, with or without this
  provider (``Model:M:virtual_key:<id>``, ``Model:AllModels:virtual_key:<id>``).

Rows are read with their windows reset when they had run out (:mod:`.windows`), so what is checked and
charged is the current window. Every owner's calendar alignment is its own; a provider config's is its key's.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Literal

from .model_configs import ALL_MODELS
from .windows import fresh_budget, fresh_rate_limit

__all__ = ["Scope", "Stage", "global_scopes", "key_model_scopes", "key_scopes", "team_of"]

Row = sqlite3.Row
Stage = Literal["provider", "model", "key", "key_model"]


@dataclass(slots=True)
class Scope:
    """One entity's limits on a request's path.

    Attributes:
        stage: Where Bifrost checks it (see the module docstring).
        name: The entity as Bifrost's refusal messages name it.
        budgets: Its budgets, windows current.
        rate_limits: Its rate limits (a model config's rules carry a ``metric``), windows current.
    """

    stage: Stage
    name: str
    budgets: list[Row] = field(default_factory=list)
    rate_limits: list[Row] = field(default_factory=list)


class _Reader:
    """Reads limits with their windows brought up to ``now``, each row once per request."""

    def __init__(self, db: sqlite3.Connection, now: int) -> None:
        self.db = db
        self.now = now

    def budgets(self, where: str, args: tuple[object, ...], calendar: bool) -> list[Row]:
        rows = self.db.execute(f"SELECT * FROM budgets WHERE {where} ORDER BY created_at, id", args).fetchall()
        return [fresh_budget(self.db, row, self.now, calendar) for row in rows]

    def rate_limits(self, ids: list[str | None], calendar: bool, model_config_id: str | None = None) -> list[Row]:
        rows: list[Row] = []
        if model_config_id is not None:
            rows += self.db.execute(
                "SELECT * FROM rate_limits WHERE model_config_id = ? ORDER BY created_at, id", (model_config_id,)
            ).fetchall()
        for rate_limit_id in ids:
            if rate_limit_id is not None:
                row = self.db.execute("SELECT * FROM rate_limits WHERE id = ?", (rate_limit_id,)).fetchone()
                if row is not None:
                    rows.append(row)
        return [fresh_rate_limit(self.db, row, self.now, calendar) for row in rows]

    def model_config(self, stage: Stage, name: str, config: Row) -> Scope:
        calendar = bool(config["calendar_aligned"])
        return Scope(
            stage,
            name,
            self.budgets("model_config_id = ?", (config["id"],), calendar),
            self.rate_limits([config["rate_limit_id"]], calendar, model_config_id=config["id"]),
        )


def _global_config(db: sqlite3.Connection, model: str, provider: str | None) -> Row | None:
    row: Row | None = db.execute(
        "SELECT * FROM model_configs WHERE scope = 'global' AND model_name = ? AND provider IS ?", (model, provider)
    ).fetchone()
    return row


def global_scopes(db: sqlite3.Connection, provider: str, model: str, now: int) -> list[Scope]:
    """The ``provider`` and ``model`` stages: what governs every request to this provider and model."""
    reader = _Reader(db, now)
    scopes: list[Scope] = []
    config = _global_config(db, ALL_MODELS, provider)
    if config is not None:
        scopes.append(reader.model_config("provider", provider, config))
    candidates = [(model, provider, f"Model:{model}:Provider:{provider}"), (model, None, f"Model:{model}")]
    if model != ALL_MODELS:
        candidates.append((ALL_MODELS, None, "Model:AllModels"))
    for model_name, config_provider, name in candidates:
        config = _global_config(db, model_name, config_provider)
        if config is not None:
            scopes.append(reader.model_config("model", name, config))
    return scopes


def key_scopes(db: sqlite3.Connection, key: Row, provider: str, now: int) -> list[Scope]:
    """The ``key`` stage: provider config, key, team and customer (once), in that order."""
    reader = _Reader(db, now)
    calendar = bool(key["calendar_aligned"])
    scopes: list[Scope] = []
    for config in db.execute(
        "SELECT * FROM provider_configs WHERE virtual_key_id = ? AND provider = ? ORDER BY id", (key["id"], provider)
    ):
        scopes.append(
            Scope(
                "key",
                provider,
                reader.budgets("provider_config_id = ?", (config["id"],), calendar),
                reader.rate_limits([config["rate_limit_id"]], calendar),
            )
        )
    scopes.append(
        Scope(
            "key",
            "VK",
            reader.budgets("virtual_key_id = ?", (key["id"],), calendar),
            reader.rate_limits([key["rate_limit_id"]], calendar),
        )
    )
    customer_id = key["customer_id"]
    team = team_of(db, key)
    if team is not None:
        team_calendar = bool(team["calendar_aligned"])
        scopes.append(
            Scope(
                "key",
                "Team",
                reader.budgets("team_id = ?", (team["id"],), team_calendar),
                reader.rate_limits([team["rate_limit_id"]], team_calendar),
            )
        )
        customer_id = customer_id or team["customer_id"]
    customer = None if customer_id is None else db.execute("SELECT * FROM customers WHERE id = ?", (customer_id,))
    customer_row = None if customer is None else customer.fetchone()
    if customer_row is not None:
        customer_calendar = bool(customer_row["calendar_aligned"])
        scopes.append(
            Scope(
                "key",
                "Customer",
                reader.budgets(
                    "customer_id = ? OR id IS ?", (customer_row["id"], customer_row["budget_id"]), customer_calendar
                ),
                reader.rate_limits([customer_row["rate_limit_id"]], customer_calendar),
            )
        )
    return scopes


def team_of(db: sqlite3.Connection, key: Row) -> Row | None:
    """The key's team, if it has one."""
    if key["team_id"] is None:
        return None
    row: Row | None = db.execute("SELECT * FROM teams WHERE id = ?", (key["team_id"],)).fetchone()
    return row


def key_model_scopes(db: sqlite3.Connection, key: Row, provider: str, model: str, now: int) -> list[Scope]:
    """The ``key_model`` stage: model configs scoped to the key that govern this model and provider."""
    reader = _Reader(db, now)
    scopes = []
    rows = db.execute(
        "SELECT * FROM model_configs WHERE scope = 'virtual_key' AND scope_id = ? AND model_name IN (?, ?)"
        " AND (provider IS NULL OR provider = ?) ORDER BY model_name = ?, provider IS NULL, created_at, id",
        (key["id"], model, ALL_MODELS, provider, ALL_MODELS),
    ).fetchall()
    for config in rows:
        label = "AllModels" if config["model_name"] == ALL_MODELS else config["model_name"]
        via = f":Provider:{config['provider']}" if config["provider"] is not None else ""
        scopes.append(reader.model_config("key_model", f"Model:{label}{via}:virtual_key:{key['id']}", config))
    return scopes
