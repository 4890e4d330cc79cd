"""Bifrost v2 payloads arranged directly, in the shapes CONTRACT-v2.md gives, and the documents that read them.

``omitempty`` fields are left out and unloaded Go slices sent as ``null``, as Bifrost v2 marshals them, so the
traps of v2's JSON are pinned whatever the embedded server answers. ``Arranged`` is a gateway over such an
upstream; ``Arranged.calls`` is every request the gateway sent it.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from app.settings import Settings
from app.web import create_app

T0 = "2026-10-01T00:00:00Z"
STAMPS = {"config_hash": "h", "created_at": T0, "updated_at": T0}
ACME = "c0000000-0000-4000-8000-000000000001"
GLOBEX = "c0000000-0000-4000-8000-000000000002"
TEAM = "70000000-0000-4000-8000-000000000001"
KEY = "a0000000-0000-4000-8000-000000000001"


def budget(budget_id: str, max_limit: float, duration: str = "1d", **fields: Any) -> dict[str, Any]:
    """A v2 budget: ``override_*`` and owner ids are ``omitempty`` and left out unless given."""
    return {
        "id": budget_id,
        "max_limit": max_limit,
        "reset_duration": duration,
        "last_reset": T0,
        "current_usage": 1.5,
        **fields,
        **STAMPS,
    }


def rate_limit(rate_limit_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": rate_limit_id,
        "token_current_usage": 0,
        "token_last_reset": T0,
        "request_current_usage": 0,
        "request_last_reset": T0,
        **fields,
        **STAMPS,
    }


def customer(customer_id: str, name: str, *, embedded: bool = False, **fields: Any) -> dict[str, Any]:
    """A v2 customer. Embedded in a team or a key, Bifrost sends 0 keys (not computed) and no relations."""
    out: dict[str, Any] = {
        "id": customer_id,
        "name": name,
        "teams": None,
        "virtual_keys": None,
        "virtual_key_count": 0,
        "calendar_aligned": False,
        **STAMPS,
    }
    if not embedded:
        out["teams"] = []
        out["virtual_keys"] = []
    return {**out, **fields}


def team(team_id: str, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": team_id,
        "name": name,
        "virtual_key_count": 0,
        "calendar_aligned": False,
        "profile": None,
        "config": None,
        "claims": None,
        **fields,
        **STAMPS,
    }


def provider_config(config_id: int, **fields: Any) -> dict[str, Any]:
    """A v2 provider config: ``allowed_models`` and ``blacklisted_models`` always lists, ``keys`` maybe null."""
    return {
        "id": config_id,
        "virtual_key_id": KEY,
        "provider": "openai",
        "weight": None,
        "allowed_models": ["*"],
        "blacklisted_models": [],
        "allow_all_keys": False,
        "keys": None,
        **fields,
    }


def virtual_key(key_id: str, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": key_id,
        "name": name,
        "value": "sk-bf-0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c",
        "provider_configs": [],
        "mcp_configs": [],
        "calendar_aligned": False,
        "allow_all_providers": False,
        "assigned_user": None,
        **fields,
        **STAMPS,
    }


class Arranged:
    """A gateway whose upstream answers the JSON arranged for each path (404 in Bifrost's envelope otherwise)."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = routes
        self.calls: list[str] = []
        app = create_app(
            Settings(bifrost_url="http://bifrost.internal:8080", bifrost_api_generation="auto"),
            transport=self.transport(),
        )
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")

    def transport(self) -> httpx.MockTransport:
        """The arranged upstream as an httpx transport."""
        return httpx.MockTransport(self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        if request.url.path == "/api/version":
            return httpx.Response(200, content=b'"v2.2.5"')
        body = self.routes.get(request.url.path)
        if body is None:
            error = {"is_bifrost_error": False, "status_code": 404, "error": {"message": "Not found"}}
            return httpx.Response(404, json=error)
        return httpx.Response(200, content=orjson.dumps(body))

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    def governance_calls(self) -> list[str]:
        return [call for call in self.calls if "/api/governance/" in call]


CUSTOMER_PAGE = """
query { customers(first: 100) { totalCount nodes {
  id name budgetId calendarAligned virtualKeyCount
  budget { id maxLimit }
  budgets { id maxLimit resetDuration effectiveMaxLimit override { amount } }
} } }
"""


def customer_list(customers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"customers": customers, "count": len(customers), "total_count": len(customers), "limit": 100, "offset": 0}


TEAM_CUSTOMERS = """
query { teams(first: 10) { nodes { name customer { name virtualKeyCount calendarAligned budgetId budgets { id } } } } }
"""


def embedded_customer_routes() -> dict[str, Any]:
    """Teams whose customers are embedded as Bifrost v2 embeds them, and the customers' own GETs."""
    # Bifrost embeds a team's customer without its budgets and with a key count it did not compute (0).
    teams = [
        team(f"70000000-0000-4000-8000-00000000000{n}", f"team-{n}", customer_id=owner, customer=embedded)
        for n, (owner, embedded) in enumerate(
            [
                (ACME, customer(ACME, "Acme", embedded=True, calendar_aligned=True)),
                (ACME, customer(ACME, "Acme", embedded=True, calendar_aligned=True)),
                (GLOBEX, customer(GLOBEX, "Globex", embedded=True)),
            ]
        )
    ]
    full_acme = customer(ACME, "Acme", virtual_key_count=2, calendar_aligned=True, budgets=[budget("acme-b", 50)])
    full_globex = customer(GLOBEX, "Globex", virtual_key_count=0)
    return {
        "/api/governance/teams": {"teams": teams, "count": 3, "total_count": 3, "limit": 10, "offset": 0},
        f"/api/governance/customers/{ACME}": {"customer": full_acme},
        f"/api/governance/customers/{GLOBEX}": {"customer": full_globex},
    }


KEY_FIELDS = """
query ($id: ID!) { virtualKey(id: $id) {
  name expiresAt calendarAligned allowAllProviders rotatedAt previousValueExpiresAt mcpConfigs { id }
  budgets { id maxLimit effectiveMaxLimit
    override { amount mode cyclesRemaining cyclesTotal anchorReset } }
  providerConfigs { id allowedModels blacklistedModels allowAllKeys keys { keyId }
    budgets { id effectiveMaxLimit override { mode } }
    modelBudgets { modelName budgets { id maxLimit effectiveMaxLimit override { amount mode } }
      rateLimit { id requestMaxLimit metric } } }
} }
"""


def key_route(key: dict[str, Any]) -> dict[str, Any]:
    return {f"/api/governance/virtual-keys/{key['id']}": {"virtual_key": key}}


def rich_key() -> dict[str, Any]:
    """A v2 key with every new field: expiry, rotation, overrides of both modes, provider-config governance."""
    return virtual_key(
        KEY,
        "rotating",
        expires_at="2027-01-01T00:00:00Z",
        calendar_aligned=True,
        allow_all_providers=True,
        rotated_at="2026-11-01T12:00:00Z",
        previous_value_expires_at="2026-11-01T12:05:00Z",
        mcp_configs=None,
        budgets=[
            budget(
                "cycles",
                100,
                override_amount=25.5,
                override_mode="cycles",
                override_cycles_remaining=2,
                override_cycles_total=3,
                override_anchor_reset="2026-10-01T00:00:00Z",
            ),
            budget("forever", 10, "1M", override_amount=5, override_mode="forever"),
        ],
        provider_configs=[
            provider_config(
                7,
                allowed_models=["gpt-4o", "gpt-4o-mini"],
                blacklisted_models=["gpt-4o-mini"],
                allow_all_keys=True,
                budgets=[budget("pc-b", 20)],
                model_budgets=[
                    {
                        "model_name": "gpt-4o",
                        "budgets": [budget("m-b", 3, override_amount=1, override_mode="forever")],
                        "rate_limit": rate_limit(
                            "m-rl", metric="requests", request_max_limit=60, request_reset_duration="1m"
                        ),
                    },
                    {"model_name": "gpt-4o-mini"},
                ],
            ),
            provider_config(8, provider="anthropic", allowed_models=[]),
        ],
    )
