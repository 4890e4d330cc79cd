"""Routing, version, health, the request log, auth, and persistence across a restart."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from bifrost_helpers import client_for, message_of

from app.embedded_bifrost import RequestRecord, create_app

AUTH = ("admin", "s3cret")
PROTECTED = "/api/governance/teams"


def _basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_health_and_version_defaults() -> None:
    async with client_for(create_app(generation="current")) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        assert (await client.get("/api/version")).json() == "v1.5.2"
    async with client_for(create_app(generation="seed")) as client:
        assert (await client.get("/api/version")).json() == "v1.4.0"
    async with client_for(create_app(generation="v2")) as client:
        assert (await client.get("/api/version")).json() == "v2.2.5"
    async with client_for(create_app(generation="v2", version="v2.0.0")) as client:
        assert (await client.get("/api/version")).json() == "v2.0.0"
    async with client_for(create_app(version="v9.9.9")) as client:
        assert (await client.get("/api/version")).json() == "v9.9.9"


async def test_version_hidden_answers_404() -> None:
    async with client_for(create_app(expose_version=False)) as client:
        assert (await client.get("/api/version")).status_code == 404


async def test_unknown_route_and_method(current: httpx.AsyncClient) -> None:
    assert (await current.get("/api/governance/nope")).status_code == 404
    assert (await current.get("/api/governance/teams/a/b")).status_code == 404
    assert (await current.patch("/api/governance/teams")).status_code == 405


async def test_request_log_records_raw_path_and_query() -> None:
    app = create_app()
    async with client_for(app) as client:
        await client.get("/api/governance/teams?limit=5&search=a%20b")
        await client.get("/api/governance/teams/x%2F..%2Fy")
        await client.post("/api/governance/teams", json={"name": "t"})
    assert list(app.state.request_log) == [
        RequestRecord("GET", "/api/governance/teams", "limit=5&search=a%20b"),
        RequestRecord("GET", "/api/governance/teams/x%2F..%2Fy", ""),
        RequestRecord("POST", "/api/governance/teams", ""),
    ]
    assert app.state.request_log.maxlen == 100_000


async def test_auth_off_everything_open(current: httpx.AsyncClient) -> None:
    assert (await current.get(PROTECTED)).status_code == 200
    assert (await current.get("/api/session/is-auth-enabled")).json() == {
        "is_auth_enabled": False,
        "has_valid_token": False,
    }
    response = await current.post("/api/session/login", json={"username": "a", "password": "b"})
    assert response.status_code == 403


async def test_auth_on_rejects_anonymous_and_bad_credentials() -> None:
    async with client_for(create_app(auth=AUTH)) as client:
        for headers in ({}, _basic("admin", "wrong"), {"authorization": "Bearer nope"}, {"cookie": "token=nope"}):
            response = await client.get(PROTECTED, headers=headers)
            assert response.status_code == 401
            assert message_of(response) == "Unauthorized"
        assert (await client.get("/health")).status_code == 200
        # v2 (the default) takes /api/version off the open paths (CONTRACT-v2.md, version detection)
        assert (await client.get("/api/version")).status_code == 401
        assert (await client.get("/api/session/is-auth-enabled")).json()["is_auth_enabled"] is True
        bad_login = await client.post("/api/session/login", json={"username": "admin", "password": "x"})
        assert bad_login.status_code == 401


async def test_auth_on_basic_bearer_and_cookie() -> None:
    async with client_for(create_app(auth=AUTH)) as client:
        assert (await client.get(PROTECTED, headers=_basic(*AUTH))).status_code == 200
        login = await client.post("/api/session/login", json={"username": "admin", "password": "s3cret"})
        assert login.status_code == 200 and login.json() == {"message": "Login successful"}
        set_cookie = login.headers["set-cookie"]
        assert "Path=/" in set_cookie and "Max-Age=2592000" in set_cookie
        assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
        token = set_cookie.split(";")[0].removeprefix("token=")
        client.cookies.clear()
        assert (await client.get(PROTECTED, headers={"authorization": f"Bearer {token}"})).status_code == 200
        assert (await client.get(PROTECTED, headers={"cookie": f"token={token}"})).status_code == 200
        status = await client.get("/api/session/is-auth-enabled", headers={"cookie": f"token={token}"})
        assert status.json() == {"is_auth_enabled": True, "has_valid_token": True}
        logout = await client.post("/api/session/logout", headers={"authorization": f"Bearer {token}"})
        assert logout.json() == {"message": "Logout successful"}
        assert (await client.get(PROTECTED, headers={"authorization": f"Bearer {token}"})).status_code == 401


async def test_file_database_survives_restart(tmp_path: Path) -> None:
    database = str(tmp_path / "bifrost.db")
    first = create_app(database=database, generation="current")
    async with client_for(first) as client:
        budgets = [{"max_limit": 5, "reset_duration": "1d"}]
        team = (await client.post(PROTECTED, json={"name": "t", "budgets": budgets})).json()["team"]
        key = (await client.post("/api/governance/virtual-keys", json={"name": "k"})).json()["virtual_key"]
    first.close()
    second = create_app(database=database, generation="current")
    async with client_for(second) as client:
        again = (await client.get(f"{PROTECTED}/{team['id']}")).json()["team"]
        assert again == team
        assert (await client.get(f"/api/governance/virtual-keys/{key['id']}")).json()["virtual_key"]["value"] == key[
            "value"
        ]
    second.close()


@pytest.mark.parametrize("generation", ["seed", "current", "v2"])
async def test_demo_data_seeded_once(tmp_path: Path, generation: str) -> None:
    database = str(tmp_path / "demo.db")
    for _ in range(2):
        app = create_app(database=database, generation=generation, demo=True)
        async with client_for(app) as client:
            assert (await client.get("/api/governance/customers")).json()["count"] == 3
            assert (await client.get("/api/governance/teams")).json()["count"] == 5
            keys = (await client.get("/api/governance/virtual-keys")).json()["virtual_keys"]
            assert len(keys) == 6
            assert any(k.get("team_id") for k in keys) and any(k.get("customer_id") for k in keys)
            assert any(k["mcp_configs"] for k in keys)
        app.close()


async def test_v2_demo_keys_reach_models_under_deny_by_default() -> None:
    async with client_for(create_app(generation="v2", demo=True)) as client:
        keys = (await client.get("/api/governance/virtual-keys")).json()["virtual_keys"]
        for key in keys:
            if key["is_active"]:
                assert key["provider_configs"], key["name"]
            for config in key["provider_configs"]:
                assert config["allowed_models"], (key["name"], config["provider"])
        customers = (await client.get("/api/governance/customers")).json()["customers"]
        acme = next(customer for customer in customers if customer["name"] == "Acme Corp")
        assert [budget["reset_duration"] for budget in acme["budgets"]] == ["1w", "1M"] and "budget" not in acme
        teams = (await client.get("/api/governance/teams")).json()["teams"]
        assert [team["name"] for team in teams if team["calendar_aligned"]] == ["Growth"]


@pytest.mark.parametrize("generation", ["seed", "current"])
async def test_older_demo_data_keeps_its_shape(generation: str) -> None:
    async with client_for(create_app(generation=generation, demo=True)) as client:
        keys = {key["name"]: key for key in (await client.get("/api/governance/virtual-keys")).json()["virtual_keys"]}
        assert keys["globex-batch"]["provider_configs"] == []
        assert [config["allowed_models"] for config in keys["local-dev"]["provider_configs"]] == [[], []]
        customers = (await client.get("/api/governance/customers")).json()["customers"]
        assert next(c for c in customers if c["name"] == "Acme Corp")["budget"]["max_limit"] == 5000.0
