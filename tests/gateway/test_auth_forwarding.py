"""Caller headers forwarded to Bifrost (allow-list only), service credentials, and the login cookie flow.

The caller policy itself (gateway keys, reveal, logout, cookies, login limits) is in test_caller_policy.py.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from app.keys import entry_for
from app.settings import Settings
from app.web import create_app
from tests.gateway.conftest import make_gateway
from tests.gateway.documents import CREATE_TEAM_SHORT, TEAM_BY_ID

TEAM_ID = "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"
BFF_KEY = "gk_bff-0123456789abcdefghijklmnopqrstuvwxyz0123456"
LOGIN = "mutation Login($u: String!, $p: String!) { login(username: $u, password: $p) { success userErrors { code } } }"
LOGOUT = "mutation { logout { success } }"


async def capture_headers(caller_headers: dict[str, str], **settings: Any) -> tuple[httpx.Headers, httpx.Response]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={"error": {"message": "Team not found"}})

    app = create_app(
        Settings(bifrost_url="http://bifrost.internal", **settings), transport=httpx.MockTransport(handler)
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        response = await http.post(
            "/graphql", json={"query": TEAM_BY_ID, "variables": {"id": TEAM_ID}}, headers=caller_headers
        )
    return seen[-1].headers, response


async def test_allow_listed_headers_are_forwarded_and_others_are_not() -> None:
    headers, response = await capture_headers(
        {
            "authorization": "Bearer caller-token",
            "cookie": "theme=dark; token=session-1; other=x",
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "x-request-id": "req-123",
            "x-internal-admin": "yes",
            "x-forwarded-for": "10.0.0.1",
        }
    )
    assert headers["authorization"] == "Bearer caller-token"
    assert headers["cookie"] == "token=session-1"
    assert headers["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert headers["x-request-id"] == "req-123"
    assert "x-internal-admin" not in headers
    assert "x-forwarded-for" not in headers
    assert response.headers["x-request-id"] == "req-123"


async def test_request_id_is_generated_when_missing() -> None:
    headers, response = await capture_headers({})
    assert len(response.headers["x-request-id"]) == 32
    assert headers["x-request-id"] == response.headers["x-request-id"]


async def test_service_credentials_go_only_with_a_gateway_key() -> None:
    service = {"bifrost_username": "svc", "bifrost_password": "pw", "gateway_api_keys": entry_for("bff", BFF_KEY)}
    headers, _ = await capture_headers({}, **service)
    assert "authorization" not in headers, "an anonymous caller never borrows the service credential"
    headers, _ = await capture_headers({"x-gateway-key": BFF_KEY}, **service)
    assert headers["authorization"] == "Basic " + base64.b64encode(b"svc:pw").decode()
    headers, _ = await capture_headers({"authorization": "Bearer mine"}, **service)
    assert headers["authorization"] == "Bearer mine"


async def test_upstream_401_without_credentials_is_unauthenticated() -> None:
    gw = await make_gateway("current", auth=("admin", "s3cret"))
    try:
        body = await gw.graphql(CREATE_TEAM_SHORT, {"input": {"name": "t"}})
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert body["errors"][0]["extensions"]["upstream"] == {"status": 401, "message": "Unauthorized"}
    finally:
        await gw.http.aclose()


async def test_login_sets_cookie_that_authorizes_later_requests() -> None:
    gw = await make_gateway("current", auth=("admin", "s3cret"))
    try:
        bad = await gw.graphql(LOGIN, {"u": "admin", "p": "wrong"})
        assert bad["data"]["login"] == {"success": False, "userErrors": [{"code": "INVALID_CREDENTIALS"}]}

        response = await gw.http.post("/graphql", json={"query": LOGIN, "variables": {"u": "admin", "p": "s3cret"}})
        assert response.json()["data"]["login"] == {"success": True, "userErrors": []}
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("token=")
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie

        # The browser now sends the cookie back (httpx's cookie jar plays the browser).
        created = await gw.graphql(CREATE_TEAM_SHORT, {"input": {"name": "signed-in"}})
        assert created["data"]["createTeam"]["team"]["name"] == "signed-in"

        out = await gw.http.post("/graphql", json={"query": LOGOUT})
        assert out.json()["data"]["logout"] == {"success": True}
        gw.http.cookies.clear()
        again = await gw.graphql(CREATE_TEAM_SHORT, {"input": {"name": "signed-out"}})
        assert again["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    finally:
        await gw.http.aclose()
