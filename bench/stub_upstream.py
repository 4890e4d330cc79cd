"""A tiny in-memory stand-in for Bifrost's governance API, for exercising the harness.

It answers only the routes the benchmark needs (teams, customers, virtual keys, health) with the
v1.5 shapes of CONTRACT.md. The real comparison runs against ``app.embedded_bifrost``; this stub is
used when that package is not importable (or with ``--upstream stub``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _json(data: object, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json(
        {"is_bifrost_error": False, "status_code": status, "error": {"message": message}, "extra_fields": {}},
        status,
    )


def _page(request: Request, items: list, key: str) -> Response:
    q = request.query_params
    total = len(items)
    if any(k in q for k in ("limit", "offset", "search")):
        if "search" in q:
            needle = q["search"].lower()
            items = [i for i in items if needle in i["name"].lower()]
            total = len(items)
        try:
            limit = int(q.get("limit", "0"))
            offset = int(q.get("offset", "0"))
        except ValueError:
            return _error(400, "Invalid limit parameter: must be a number")
        limit = 25 if limit <= 0 else min(limit, 100)
        offset = max(offset, 0)
        items = items[offset : offset + limit]
        return _json({key: items, "count": len(items), "total_count": total, "limit": limit, "offset": offset})
    return _json({key: items, "count": len(items), "total_count": total, "limit": 0, "offset": 0})


def create_stub_app() -> Starlette:
    customers: dict[str, dict] = {}
    teams: dict[str, dict] = {}
    team_names: set[str] = set()
    keys: dict[str, dict] = {}

    def budget(spec: dict, **owner: str) -> dict:
        now = _now()
        return {
            "id": str(uuid.uuid4()),
            "max_limit": spec.get("max_limit"),
            "reset_duration": spec.get("reset_duration"),
            "last_reset": now,
            "current_usage": 0,
            "calendar_aligned": bool(spec.get("calendar_aligned", False)),
            **owner,
            "config_hash": "",
            "created_at": now,
            "updated_at": now,
        }

    def customer_brief(cid: str | None) -> dict | None:
        c = customers.get(cid or "")
        if c is None:
            return None
        return {k: v for k, v in c.items() if k not in ("teams", "virtual_keys")}

    def team_view(t: dict) -> dict:
        out = dict(t)
        cust = customer_brief(t.get("customer_id"))
        if cust is not None:
            out["customer"] = cust
        out["virtual_key_count"] = sum(1 for k in keys.values() if k.get("team_id") == t["id"])
        return out

    async def body(request: Request) -> dict | None:
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None

    async def health(request: Request) -> Response:
        return _json({"status": "ok", "components": {"db_pings": "ok"}})

    async def list_teams(request: Request) -> Response:
        items = list(teams.values())
        cid = request.query_params.get("customer_id")
        if cid:
            items = [t for t in items if t.get("customer_id") == cid]
        return _page(request, [team_view(t) for t in items], "teams")

    async def create_team(request: Request) -> Response:
        data = await body(request)
        if data is None or not isinstance(data.get("name", ""), str):
            return _error(400, "Invalid JSON")
        name = data.get("name") or ""
        if not name:
            return _error(400, "Team name is required")
        if name in team_names:
            return _error(500, "failed to create team")
        now = _now()
        tid = str(uuid.uuid4())
        t = {
            "id": tid,
            "name": name,
            "budgets": [budget(b, team_id=tid) for b in data.get("budgets") or []],
            "profile": None,
            "config": None,
            "claims": None,
            "config_hash": "",
            "created_at": now,
            "updated_at": now,
        }
        if data.get("customer_id"):
            t["customer_id"] = data["customer_id"]
        teams[tid] = t
        team_names.add(name)
        return _json({"message": "Team created successfully", "team": team_view(t)})

    async def get_team(request: Request) -> Response:
        t = teams.get(request.path_params["id"])
        if t is None:
            return _error(404, "Team not found")
        return _json({"team": team_view(t)})

    async def list_customers(request: Request) -> Response:
        return _page(request, list(customers.values()), "customers")

    async def create_customer(request: Request) -> Response:
        data = await body(request)
        if data is None:
            return _error(400, "Invalid JSON")
        if not data.get("name"):
            return _error(400, "Customer name is required")
        now = _now()
        cid = str(uuid.uuid4())
        c = {
            "id": cid,
            "name": data["name"],
            "teams": [],
            "virtual_keys": [],
            "config_hash": "",
            "created_at": now,
            "updated_at": now,
        }
        if data.get("budget"):
            b = budget(data["budget"])
            c["budget_id"], c["budget"] = b["id"], b
        customers[cid] = c
        return _json({"message": "Customer created successfully", "customer": c})

    async def get_customer(request: Request) -> Response:
        c = customers.get(request.path_params["id"])
        if c is None:
            return _error(404, "Customer not found")
        out = dict(c)
        out["teams"] = [t for t in teams.values() if t.get("customer_id") == c["id"]]
        out["virtual_keys"] = [k for k in keys.values() if k.get("customer_id") == c["id"]]
        return _json({"customer": out})

    async def list_keys(request: Request) -> Response:
        items = list(keys.values())
        q = request.query_params
        if q.get("team_id"):
            items = [k for k in items if k.get("team_id") == q["team_id"]]
        if q.get("customer_id"):
            items = [k for k in items if k.get("customer_id") == q["customer_id"]]
        return _page(request, items, "virtual_keys")

    async def create_key(request: Request) -> Response:
        data = await body(request)
        if data is None:
            return _error(400, "Invalid JSON")
        if not data.get("name"):
            return _error(400, "Virtual key name is required")
        if data.get("team_id") and data.get("customer_id"):
            return _error(400, "VirtualKey cannot be attached to both Team and Customer")
        now = _now()
        kid = str(uuid.uuid4())
        k = {
            "id": kid,
            "name": data["name"],
            "description": data.get("description", ""),
            "value": f"sk-bf-{uuid.uuid4()}",
            "is_active": data.get("is_active", True),
            "provider_configs": [],
            "mcp_configs": [],
            "budgets": [budget(b, virtual_key_id=kid) for b in data.get("budgets") or []],
            "config_hash": "",
            "created_at": now,
            "updated_at": now,
        }
        for owner in ("team_id", "customer_id"):
            if data.get(owner):
                k[owner] = data[owner]
        keys[kid] = k
        return _json({"message": "Virtual key created successfully", "virtual_key": k})

    async def get_key(request: Request) -> Response:
        k = keys.get(request.path_params["id"])
        if k is None:
            return _error(404, "Virtual key not found")
        return _json({"virtual_key": k})

    async def version(request: Request) -> Response:
        return _json("v1.5.2-stub")

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/api/version", version),
            Route("/api/governance/teams", list_teams, methods=["GET"]),
            Route("/api/governance/teams", create_team, methods=["POST"]),
            Route("/api/governance/teams/{id}", get_team, methods=["GET"]),
            Route("/api/governance/customers", list_customers, methods=["GET"]),
            Route("/api/governance/customers", create_customer, methods=["POST"]),
            Route("/api/governance/customers/{id}", get_customer, methods=["GET"]),
            Route("/api/governance/virtual-keys", list_keys, methods=["GET"]),
            Route("/api/governance/virtual-keys", create_key, methods=["POST"]),
            Route("/api/governance/virtual-keys/{id}", get_key, methods=["GET"]),
        ]
    )
