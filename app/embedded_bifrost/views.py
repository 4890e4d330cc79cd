"""Entities with their relations embedded, as Bifrost's GET endpoints preload them.

* Team: ``customer`` (without its teams/virtual_keys), budget(s), ``rate_limit`` (current generation), and
  ``virtual_key_count`` (current generation); never ``virtual_keys``.
* Customer: ``budget``, ``rate_limit``, ``teams`` (with their budgets) and ``virtual_keys`` (customer-scoped
  keys only); when embedded elsewhere, ``teams`` and ``virtual_keys`` are ``null`` (not loaded).
* VirtualKey: ``team``, ``customer``, budget(s), ``rate_limit``, ``provider_configs`` (with ``keys``,
  budget(s) and ``rate_limit``) and ``mcp_configs``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from .serialize import (
    budget_json,
    customer_base,
    key_json,
    mcp_config_json,
    rate_limit_json,
    team_base,
    virtual_key_base,
)

__all__ = ["Views"]

JSON = dict[str, Any]
Row = sqlite3.Row

_BUDGETS_OF = {
    "team_id": "SELECT * FROM budgets WHERE team_id = ? ORDER BY created_at, id",
    "virtual_key_id": "SELECT * FROM budgets WHERE virtual_key_id = ? ORDER BY created_at, id",
    "provider_config_id": "SELECT * FROM budgets WHERE provider_config_id = ? ORDER BY created_at, id",
}
_KEYS_OF = (
    "SELECT k.*, p.id AS provider_id FROM provider_config_keys pk JOIN keys k ON k.id = pk.key_row_id"
    " LEFT JOIN providers p ON p.name = k.provider WHERE pk.provider_config_id = ? ORDER BY k.id"
)
_MCP_OF = (
    "SELECT m.*, c.name AS client_name FROM mcp_configs m JOIN mcp_clients c ON c.id = m.mcp_client_id"
    " WHERE m.virtual_key_id = ? ORDER BY m.id"
)


class Views:
    """Builds the JSON of teams, customers and virtual keys for one generation.

    Args:
        db: The store's connection.
        current: True for the ``current`` generation, False for ``seed``.
    """

    def __init__(self, db: sqlite3.Connection, current: bool) -> None:
        self.db = db
        self.current = current

    # Budgets and rate limits

    def _budgets(self, out: JSON, owner: str, owner_id: Any) -> None:
        rows = self.db.execute(_BUDGETS_OF[owner], (owner_id,)).fetchall()
        if self.current:
            if rows:
                out["budgets"] = [budget_json(row, True) for row in rows]
        elif rows:
            out["budget_id"] = rows[0]["id"]
            out["budget"] = budget_json(rows[0], False)

    def _rate_limit(self, out: JSON, rate_limit_id: str | None) -> None:
        if rate_limit_id is None:
            return
        out["rate_limit_id"] = rate_limit_id
        row = self.db.execute("SELECT * FROM rate_limits WHERE id = ?", (rate_limit_id,)).fetchone()
        if row is not None:
            out["rate_limit"] = rate_limit_json(row)

    # Teams

    def team(self, row: Row, *, with_customer: bool = True) -> JSON:
        """A team as GET /api/governance/teams/{id} returns it."""
        out = team_base(row)
        if with_customer and row["customer_id"] is not None:
            customer = self.db.execute("SELECT * FROM customers WHERE id = ?", (row["customer_id"],)).fetchone()
            if customer is not None:
                out["customer"] = self.plain_customer(customer)
        self._budgets(out, "team_id", row["id"])
        if self.current:
            self._rate_limit(out, row["rate_limit_id"])
        self._team_tail(out, row)
        return out

    def plain_team(self, row: Row) -> JSON:
        """A team with its own columns only, as embedded in a virtual key."""
        out = team_base(row)
        if self.current and row["rate_limit_id"] is not None:
            out["rate_limit_id"] = row["rate_limit_id"]
        self._team_tail(out, row)
        return out

    def _team_tail(self, out: JSON, row: Row) -> None:
        out["profile"] = _json_or_none(row["profile"])
        out["config"] = _json_or_none(row["config"])
        out["claims"] = _json_or_none(row["claims"])
        out["config_hash"] = row["config_hash"]
        out["created_at"] = row["created_at"]
        out["updated_at"] = row["updated_at"]
        if self.current:
            count = self.db.execute("SELECT count(*) FROM virtual_keys WHERE team_id = ?", (row["id"],))
            out["virtual_key_count"] = count.fetchone()[0]

    # Customers

    def customer(self, row: Row) -> JSON:
        """A customer as GET /api/governance/customers/{id} returns it."""
        out = customer_base(row)
        if row["budget_id"] is not None:
            budget = self.db.execute("SELECT * FROM budgets WHERE id = ?", (row["budget_id"],)).fetchone()
            if budget is not None:
                out["budget"] = budget_json(budget, self.current)
        self._rate_limit(out, row["rate_limit_id"])
        teams = self.db.execute(
            "SELECT * FROM teams WHERE customer_id = ? ORDER BY created_at, id", (row["id"],)
        ).fetchall()
        out["teams"] = [self._customer_team(team) for team in teams]
        keys = self.db.execute(
            "SELECT * FROM virtual_keys WHERE customer_id = ? ORDER BY created_at, id", (row["id"],)
        ).fetchall()
        out["virtual_keys"] = [self.virtual_key(key, with_owner=False) for key in keys]
        self._customer_tail(out, row)
        return out

    def _customer_team(self, row: Row) -> JSON:
        out = team_base(row)
        self._budgets(out, "team_id", row["id"])
        if self.current and row["rate_limit_id"] is not None:
            out["rate_limit_id"] = row["rate_limit_id"]
        self._team_tail(out, row)
        return out

    def plain_customer(self, row: Row) -> JSON:
        """A customer with its own columns only (``teams``/``virtual_keys`` not loaded: ``null``)."""
        out = customer_base(row)
        out["teams"] = None
        out["virtual_keys"] = None
        self._customer_tail(out, row)
        return out

    @staticmethod
    def _customer_tail(out: JSON, row: Row) -> None:
        out["config_hash"] = row["config_hash"]
        out["created_at"] = row["created_at"]
        out["updated_at"] = row["updated_at"]

    # Virtual keys

    def virtual_key(self, row: Row, *, with_owner: bool = True) -> JSON:
        """A virtual key as GET /api/governance/virtual-keys/{id} returns it."""
        db = self.db
        out = virtual_key_base(row)
        out["provider_configs"] = [
            self._provider_config(pc)
            for pc in db.execute(
                "SELECT * FROM provider_configs WHERE virtual_key_id = ? ORDER BY id", (row["id"],)
            ).fetchall()
        ]
        out["mcp_configs"] = [
            mcp_config_json(mcp, self.current) for mcp in db.execute(_MCP_OF, (row["id"],)).fetchall()
        ]
        if row["team_id"] is not None:
            out["team_id"] = row["team_id"]
        if row["customer_id"] is not None:
            out["customer_id"] = row["customer_id"]
        relations: JSON = {}
        self._budgets(relations, "virtual_key_id", row["id"])
        self._rate_limit(relations, row["rate_limit_id"])
        if "budget_id" in relations:
            out["budget_id"] = relations.pop("budget_id")
        if "rate_limit_id" in relations:
            out["rate_limit_id"] = relations.pop("rate_limit_id")
        if with_owner and row["team_id"] is not None:
            team = db.execute("SELECT * FROM teams WHERE id = ?", (row["team_id"],)).fetchone()
            if team is not None:
                out["team"] = self.plain_team(team)
        if with_owner and row["customer_id"] is not None:
            customer = db.execute("SELECT * FROM customers WHERE id = ?", (row["customer_id"],)).fetchone()
            if customer is not None:
                out["customer"] = self.plain_customer(customer)
        out.update(relations)
        out["config_hash"] = row["config_hash"]
        out["created_at"] = row["created_at"]
        out["updated_at"] = row["updated_at"]
        return out

    def _provider_config(self, row: Row) -> JSON:
        out: JSON = {
            "id": row["id"],
            "virtual_key_id": row["virtual_key_id"],
            "provider": row["provider"],
            "weight": row["weight"],
            "allowed_models": orjson.loads(row["allowed_models"]),
        }
        relations: JSON = {}
        self._budgets(relations, "provider_config_id", row["id"])
        self._rate_limit(relations, row["rate_limit_id"])
        if "budget_id" in relations:
            out["budget_id"] = relations.pop("budget_id")
        if "rate_limit_id" in relations:
            out["rate_limit_id"] = relations.pop("rate_limit_id")
        out.update(relations)
        out["keys"] = [key_json(key) for key in self.db.execute(_KEYS_OF, (row["id"],)).fetchall()]
        return out


def _json_or_none(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)
