"""Corners of v2 found by the contract test and by reading the gateway: blank owner ids, far expiries, auth on
``/api/version``."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from app.embedded_bifrost import create_app as create_embedded_bifrost
from tests.gateway.conftest import REVEALING, make_gateway, upstream_http

FAR = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)  # past int64 nanoseconds (2262), within Go's time.Time


async def test_a_key_whose_upstream_team_id_is_blank_has_no_team() -> None:
    gw = await make_gateway("current")
    async with upstream_http(gw) as upstream:
        created = await upstream.post("/api/governance/virtual-keys", json={"name": "blank-owner", "team_id": ""})
        assert created.status_code == 200, created.text
        key = created.json()["virtual_key"]
    assert key.get("team_id") == ""  # what some Bifrost versions store for "no team"
    body = await gw.graphql(
        "query($id: ID!) { virtualKey(id: $id) { name team { id } customer { id } } }", {"id": key["id"]}
    )
    assert body == {"data": {"virtualKey": {"name": "blank-owner", "team": None, "customer": None}}}
    await gw.http.aclose()


async def test_a_key_may_expire_after_2262_on_v2() -> None:
    gw = await make_gateway("v2")
    body = await gw.graphql(
        """mutation { createVirtualKey(input: {name: "long-lived", expiresAt: "2999-12-31T23:59:59Z",
        providerConfigs: [{provider: "openai", allowedModels: ["*"]}]}) {
        virtualKey { id expiresAt } userErrors { message } } }""",
        headers=REVEALING,
    )
    payload = body["data"]["createVirtualKey"]
    assert payload["userErrors"] == [], body
    assert datetime.fromisoformat(payload["virtualKey"]["expiresAt"]) == FAR
    read = await gw.graphql(
        "query($id: ID!) { virtualKey(id: $id) { expiresAt } }", {"id": payload["virtualKey"]["id"]}
    )
    assert datetime.fromisoformat(read["data"]["virtualKey"]["expiresAt"]) == FAR
    await gw.http.aclose()


async def test_version_needs_credentials_on_v2_with_auth_on_and_not_before() -> None:
    for generation, open_without_credentials in (("v2", False), ("v1.5", True), ("seed", True)):
        app = create_embedded_bifrost(database=":memory:", generation=generation, auth=("admin", "secret"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bifrost") as http:
            anonymous = await http.get("/api/version")
            with_credentials = await http.get("/api/version", auth=("admin", "secret"))
        assert (anonymous.status_code == 200) is open_without_credentials, (generation, anonymous.text)
        assert with_credentials.status_code == 200
        assert with_credentials.json().startswith("v")


async def test_the_gateway_detects_v2_when_its_version_route_refuses_the_caller() -> None:
    gw = await make_gateway("v2", auth=("admin", "secret"))
    body = await gw.graphql(
        """mutation { rotateVirtualKey(id: "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c") {
        userErrors { code } } }""",
        headers={"authorization": "Basic YWRtaW46c2VjcmV0"},
    )
    assert body["data"]["rotateVirtualKey"]["userErrors"][0]["code"] == "NOT_FOUND", body
    version_calls = [r for r in gw.upstream.state.request_log if r.path == "/api/version"]
    assert version_calls, "detection asked the version first"
    await gw.http.aclose()
