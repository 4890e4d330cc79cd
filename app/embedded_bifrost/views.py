"""Entities with their relations embedded, as Bifrost's GET endpoints preload them.

* Team: ``customer`` (without its teams/virtual_keys), budget(s), ``rate_limit`` (where owners have rate
  limits), and ``virtual_key_count`` (where teams count their keys); never ``virtual_keys``.
* Customer: ``budget`` (``budgets`` from v2 on), ``rate_limit``, ``teams`` (with their budgets) and
  ``virtual_keys`` (customer-scoped keys only); when embedded elsewhere, ``teams`` and ``virtual_keys`` are
  ``null`` (not loaded). From v2 on, ``virtual_key_count`` (0 where embedded: Bifrost only counts on its
  customer reads) and ``calendar_aligned``.
* VirtualKey: ``team``, ``customer``, budget(s), ``rate_limit``, ``provider_configs`` (with ``keys``,
  budget(s) and ``rate_limit``) and ``mcp_configs``.

Every builder takes a whole page of rows and reads each relation for all of them in one query
(:mod:`.relations`); entities embedded many times (a customer in each of its teams, a provider key in each
config) are built once per call and shared.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

import orjson

from ..generations import Feature, Generation
from .key_models import key_model_configs
from .relations import by_id, children_of, keys_of, mcp_configs_of, virtual_key_counts
from .serialize import (
    budget_json,
    customer_base,
    key_json,
    mcp_config_json,
    rate_limit_json,
    team_base,
    virtual_key_base,
)
from .timestamps import format_rfc3339, loaded

__all__ = ["Views"]

JSON = dict[str, Any]
Row = sqlite3.Row
Record = sqlite3.Row | Mapping[str, Any]


class Views:
    """Builds the JSON of teams, customers and virtual keys for one generation.

    Args:
        db: The store's connection.
        generation: The generation served.
    """

    def __init__(self, db: sqlite3.Connection, generation: Generation) -> None:
        self.db = db
        self.generation = generation
        self.budget_arrays = generation.owner_budgets == "array"
        self.owner_rate_limits = generation.has(Feature.OWNER_RATE_LIMITS)
        self.team_key_counts = generation.has(Feature.TEAM_VIRTUAL_KEY_COUNT)
        self.customer_budget_arrays = generation.customer_budgets == "array"
        self.customer_key_counts = generation.has(Feature.CUSTOMER_VIRTUAL_KEY_COUNT)
        self.calendar_aligned = generation.has(Feature.CALENDAR_ALIGNED)
        self.key_value_last = generation.has(Feature.KEY_VALUE_LAST)
        self.key_expiry = generation.has(Feature.KEY_EXPIRY)
        self.key_rotation = generation.has(Feature.KEY_ROTATION)
        self.key_flags = [
            flag
            for flag, feature in (
                ("calendar_aligned", Feature.CALENDAR_ALIGNED),
                ("allow_all_providers", Feature.ALLOW_ALL_PROVIDERS),
            )
            if generation.has(feature)
        ]
        self.allow_all_keys = generation.has(Feature.ALLOW_ALL_KEYS)
        self.blacklisted_models = generation.has(Feature.BLACKLISTED_MODELS)
        self.model_budgets = generation.has(Feature.MODEL_BUDGETS)

    # Budgets and rate limits

    def _budgets(self, out: JSON, rows: list[Row]) -> None:
        if not rows:
            return
        if self.budget_arrays:
            out["budgets"] = [budget_json(row, self.generation) for row in rows]
        else:
            out["budget_id"] = rows[0]["id"]
            out["budget"] = budget_json(rows[0], self.generation)

    @staticmethod
    def _rate_limit(out: JSON, rate_limit_id: str | None, rate_limits: dict[str, Row]) -> None:
        if rate_limit_id is None:
            return
        out["rate_limit_id"] = rate_limit_id
        row = rate_limits.get(rate_limit_id)
        if row is not None:
            out["rate_limit"] = rate_limit_json(row)

    # Teams

    def team(self, row: Row) -> JSON:
        """A team as GET /api/governance/teams/{id} returns it."""
        return self.teams([row])[0]

    def teams(self, rows: list[Row]) -> list[JSON]:
        """Teams as GET /api/governance/teams lists them."""
        if not rows:
            return []
        db = self.db
        ids = [row["id"] for row in rows]
        customers = self._plain_customers(by_id(db, "customers", rows, "customer_id"))
        budgets = children_of(db, "budgets", "team_id", ids)
        rate_limits = by_id(db, "rate_limits", rows, "rate_limit_id") if self.owner_rate_limits else {}
        counts = virtual_key_counts(db, ids) if self.team_key_counts else {}
        teams = []
        for row in rows:
            out = team_base(row)
            customer = customers.get(row["customer_id"])
            if customer is not None:
                out["customer"] = customer
            self._budgets(out, budgets.get(row["id"], []))
            if self.owner_rate_limits:
                self._rate_limit(out, row["rate_limit_id"], rate_limits)
            self._team_tail(out, row, counts)
            teams.append(out)
        return teams

    def new_team(self, row: Mapping[str, Any]) -> JSON:
        """A team just inserted with no customer, budget or rate limit, as :meth:`team` would read it back.

        Such a team has no relation to read (and no virtual key yet), so nothing is queried.
        """
        out = team_base(row)
        self._team_tail(out, row, {})
        return out

    def _plain_teams(self, rows: dict[str, Row]) -> dict[str, JSON]:
        """Teams with their own columns only, as embedded in virtual keys, by id."""
        counts = virtual_key_counts(self.db, rows) if self.team_key_counts and rows else {}
        teams = {}
        for team_id, row in rows.items():
            out = team_base(row)
            if self.owner_rate_limits and row["rate_limit_id"] is not None:
                out["rate_limit_id"] = row["rate_limit_id"]
            self._team_tail(out, row, counts)
            teams[team_id] = out
        return teams

    def _team_tail(self, out: JSON, row: Record, counts: dict[str, int]) -> None:
        out["profile"] = _json_or_none(row["profile"])
        out["config"] = _json_or_none(row["config"])
        out["claims"] = _json_or_none(row["claims"])
        if self.calendar_aligned:
            out["calendar_aligned"] = bool(row["calendar_aligned"])
        out["config_hash"] = row["config_hash"]
        out["created_at"] = row["created_at"]
        out["updated_at"] = row["updated_at"]
        if self.team_key_counts:
            out["virtual_key_count"] = counts.get(row["id"], 0)

    # Customers

    def customer(self, row: Row) -> JSON:
        """A customer as GET /api/governance/customers/{id} returns it."""
        return self.customers([row])[0]

    def customers(self, rows: list[Row]) -> list[JSON]:
        """Customers as GET /api/governance/customers lists them: with their teams and customer-scoped keys."""
        if not rows:
            return []
        db = self.db
        ids = [row["id"] for row in rows]
        budgets = by_id(db, "budgets", rows, "budget_id")
        owned_budgets = children_of(db, "budgets", "customer_id", ids) if self.customer_budget_arrays else {}
        rate_limits = by_id(db, "rate_limits", rows, "rate_limit_id")
        teams = children_of(db, "teams", "customer_id", ids)
        team_rows = [team for group in teams.values() for team in group]
        team_ids = [team["id"] for team in team_rows]
        team_budgets = children_of(db, "budgets", "team_id", team_ids) if team_rows else {}
        counts = virtual_key_counts(db, team_ids) if self.team_key_counts and team_rows else {}
        keys = children_of(db, "virtual_keys", "customer_id", ids)
        key_rows = [key for group in keys.values() for key in group]
        key_json = dict(
            zip([key["id"] for key in key_rows], self.virtual_keys(key_rows, with_owner=False), strict=True)
        )
        customers = []
        for row in rows:
            out = customer_base(row)
            budget = budgets.get(row["budget_id"])
            if budget is not None:
                out["budget"] = budget_json(budget, self.generation)
            own = owned_budgets.get(row["id"])
            if own:
                out["budgets"] = [budget_json(budget, self.generation) for budget in own]
            self._rate_limit(out, row["rate_limit_id"], rate_limits)
            out["teams"] = [self._customer_team(team, team_budgets, counts) for team in teams.get(row["id"], [])]
            customer_keys = keys.get(row["id"], [])
            out["virtual_keys"] = [key_json[key["id"]] for key in customer_keys]
            self._customer_tail(out, row, len(customer_keys))
            customers.append(out)
        return customers

    def _customer_team(self, row: Row, budgets: dict[str, list[Row]], counts: dict[str, int]) -> JSON:
        out = team_base(row)
        self._budgets(out, budgets.get(row["id"], []))
        if self.owner_rate_limits and row["rate_limit_id"] is not None:
            out["rate_limit_id"] = row["rate_limit_id"]
        self._team_tail(out, row, counts)
        return out

    def _plain_customers(self, rows: dict[str, Row]) -> dict[str, JSON]:
        """Customers with their own columns only (``teams``/``virtual_keys`` not loaded: ``null``), by id."""
        customers = {}
        for customer_id, row in rows.items():
            out = customer_base(row)
            out["teams"] = None
            out["virtual_keys"] = None
            self._customer_tail(out, row, 0)
            customers[customer_id] = out
        return customers

    def _customer_tail(self, out: JSON, row: Row, key_count: int) -> None:
        if self.customer_key_counts:
            out["virtual_key_count"] = key_count
        if self.calendar_aligned:
            out["calendar_aligned"] = bool(row["calendar_aligned"])
        out["config_hash"] = row["config_hash"]
        out["created_at"] = row["created_at"]
        out["updated_at"] = row["updated_at"]

    # Virtual keys

    def virtual_key(self, row: Row) -> JSON:
        """A virtual key as GET /api/governance/virtual-keys/{id} returns it."""
        return self.virtual_keys([row])[0]

    def virtual_keys(self, rows: list[Row], *, with_owner: bool = True) -> list[JSON]:
        """Virtual keys as GET /api/governance/virtual-keys lists them (``with_owner``: embed team, customer)."""
        if not rows:
            return []
        db = self.db
        ids = [row["id"] for row in rows]
        configs = self._provider_configs(ids)
        mcp_configs = mcp_configs_of(db, ids)
        budgets = children_of(db, "budgets", "virtual_key_id", ids)
        rate_limits = by_id(db, "rate_limits", rows, "rate_limit_id")
        teams: dict[str, JSON] = {}
        customers: dict[str, JSON] = {}
        if with_owner:
            teams = self._plain_teams(by_id(db, "teams", rows, "team_id"))
            customers = self._plain_customers(by_id(db, "customers", rows, "customer_id"))
        keys = []
        for row in rows:
            vk_id = row["id"]
            out = virtual_key_base(row)
            # v2's MarshalJSON writes the value after every other field.
            value = out.pop("value") if self.key_value_last else None
            if self.key_expiry and row["expires_at"] is not None:
                out["expires_at"] = format_rfc3339(loaded(row["expires_at"]))
            out["provider_configs"] = configs.get(vk_id, [])
            out["mcp_configs"] = [mcp_config_json(mcp, self.generation) for mcp in mcp_configs.get(vk_id, [])]
            if row["team_id"] is not None:
                out["team_id"] = row["team_id"]
            if row["customer_id"] is not None:
                out["customer_id"] = row["customer_id"]
            relations: JSON = {}
            if self.key_value_last:  # the v2 struct declares the rate limit before the budgets
                self._rate_limit(relations, row["rate_limit_id"], rate_limits)
            self._budgets(relations, budgets.get(vk_id, []))
            if not self.key_value_last:
                self._rate_limit(relations, row["rate_limit_id"], rate_limits)
            _hoist_ids(out, relations)
            for flag in self.key_flags:
                out[flag] = bool(row[flag])
            team = teams.get(row["team_id"])
            if team is not None:
                out["team"] = team
            customer = customers.get(row["customer_id"])
            if customer is not None:
                out["customer"] = customer
            out.update(relations)
            if self.key_value_last:
                out["assigned_user"] = None  # no users here: "assigned to nobody", as OSS Bifrost answers
            out["config_hash"] = row["config_hash"]
            if self.key_rotation:
                for field in ("previous_value_expires_at", "rotated_at"):
                    if row[field] is not None:
                        out[field] = format_rfc3339(row[field])
            out["created_at"] = row["created_at"]
            out["updated_at"] = row["updated_at"]
            if self.key_value_last:
                out["value"] = value
            keys.append(out)
        return keys

    def _provider_configs(self, vk_ids: list[str]) -> dict[str, list[JSON]]:
        """The provider configs of each virtual key, with their budgets, rate limit and keys."""
        db = self.db
        rows = [
            row for group in children_of(db, "provider_configs", "virtual_key_id", vk_ids).values() for row in group
        ]
        if not rows:
            return {}
        ids = [row["id"] for row in rows]
        budgets = children_of(db, "budgets", "provider_config_id", ids)
        rate_limits = by_id(db, "rate_limits", rows, "rate_limit_id")
        keys = keys_of(db, ids)
        # A provider key is embedded in every config that uses it: build its JSON once.
        key_json_of: dict[int, JSON] = {}
        for group in keys.values():
            for key in group:
                if key["id"] not in key_json_of:
                    key_json_of[key["id"]] = key_json(key)
        per_model = key_model_configs(db, self.generation, vk_ids) if self.model_budgets else {}
        configs: dict[str, list[JSON]] = {}
        for row in rows:
            out: JSON = {
                "id": row["id"],
                "virtual_key_id": row["virtual_key_id"],
                "provider": row["provider"],
                "weight": row["weight"],
            }
            allowed_models = orjson.loads(row["allowed_models"])
            if not self.blacklisted_models:
                out["allowed_models"] = allowed_models
            if self.allow_all_keys:
                out["allow_all_keys"] = bool(row["allow_all_keys"])
            relations: JSON = {}
            if self.key_value_last:  # the v2 struct declares the rate limit before the budgets
                self._rate_limit(relations, row["rate_limit_id"], rate_limits)
            self._budgets(relations, budgets.get(row["id"], []))
            if not self.key_value_last:
                self._rate_limit(relations, row["rate_limit_id"], rate_limits)
            _hoist_ids(out, relations)
            out.update(relations)
            out["keys"] = [key_json_of[key["id"]] for key in keys.get(row["id"], [])]
            model_budgets = [
                {name: value for name, value in entry.items() if name != "provider"}
                for entry in per_model.get(row["virtual_key_id"], [])
                if entry.get("provider") == row["provider"]
            ]
            if model_budgets:
                out["model_budgets"] = model_budgets
            if self.blacklisted_models:
                # v2's MarshalJSON re-declares both lists (never null) after the struct's own fields.
                out["allowed_models"] = allowed_models
                out["blacklisted_models"] = orjson.loads(row["blacklisted_models"])
            configs.setdefault(row["virtual_key_id"], []).append(out)
        return configs


def _hoist_ids(out: JSON, relations: JSON) -> None:
    """Move ``budget_id`` and ``rate_limit_id`` ahead of the embedded relations, where Bifrost puts them."""
    if "budget_id" in relations:
        out["budget_id"] = relations.pop("budget_id")
    if "rate_limit_id" in relations:
        out["rate_limit_id"] = relations.pop("rate_limit_id")


def _json_or_none(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)
