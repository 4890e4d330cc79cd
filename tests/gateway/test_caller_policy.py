"""Whose credentials go upstream: own credentials, the service credential for gateway keys, or none.

The embedded upstream runs with its auth on (``AUTH``) wherever that decides the outcome, and an ASGI
wrapper records the headers of every request it receives (``tests.gateway.guarded``), so each test sees
exactly what went upstream.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from app.keys import entry_for
from app.settings import SettingsError, load_settings
from tests.gateway.conftest import Gateway
from tests.gateway.documents import CREATE_TEAM_SHORT
from tests.gateway.guarded import (
    ADMIN_KEY,
    AUTH,
    BFF_KEY,
    KEYS,
    SERVICE,
    SERVICE_BASIC,
    guarded_upstream,
    policy_gateway,
)

TEAMS = "{ teams(first: 5) { totalCount nodes { name } } }"
KEY_VALUE = """
query Key($id: ID!) { virtualKey(id: $id) { name masked: value shown: value(reveal: true) } }
"""
CREATE_KEY = """
mutation Create($name: String!) {
  createVirtualKey(input: {name: $name}) { virtualKey { id shown: value(reveal: true) } userErrors { code } }
}
"""
LOGIN = "mutation Login($u: String!, $p: String!) { login(username: $u, password: $p) { success userErrors { code } } }"
LOGOUT = "mutation { logout { success } }"


async def post(gw: Gateway, query: str, variables: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    return await gw.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def arrange_key(admin: httpx.AsyncClient, name: str = "k1") -> dict[str, Any]:
    response = await admin.post("/api/governance/virtual-keys", json={"name": name})
    assert response.status_code == 200, response.text
    key: dict[str, Any] = response.json()["virtual_key"]
    return key


# Anonymous callers ---------------------------------------------------------------------------------


async def test_anonymous_caller_goes_upstream_without_credentials() -> None:
    gw, recorder, admin = await policy_gateway(**SERVICE)
    read = (await post(gw, TEAMS)).json()
    write = (await post(gw, CREATE_TEAM_SHORT, {"input": {"name": "intruder"}})).json()
    assert codes(read) == ["UNAUTHENTICATED"] and read["data"] is None
    assert codes(write) == ["UNAUTHENTICATED"]
    assert recorder.seen and recorder.authorizations() == [None] * len(recorder.seen)
    teams = (await admin.get("/api/governance/teams")).json()["teams"]
    assert teams == [], "nothing was created"


async def test_anonymous_caller_cannot_reveal_even_where_upstream_needs_no_credentials() -> None:
    gw, _, admin = await policy_gateway(auth=None)
    key = await arrange_key(admin)
    body = (await post(gw, KEY_VALUE, {"id": key["id"]})).json()
    assert codes(body) == ["FORBIDDEN"]
    assert body["errors"][0]["path"] == ["virtualKey", "shown"]
    assert body["data"] == {"virtualKey": None}
    assert key["value"] not in str(body)


async def test_masked_value_needs_no_permission() -> None:
    gw, _, admin = await policy_gateway(auth=None)
    key = await arrange_key(admin)
    body = (await post(gw, "query K($id: ID!) { virtualKey(id: $id) { value } }", {"id": key["id"]})).json()
    assert body == {"data": {"virtualKey": {"value": "sk-bf-…" + key["value"][-4:]}}}


# Gateway keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"x-gateway-key": BFF_KEY}, id="x-gateway-key"),
        pytest.param({"authorization": f"Bearer {BFF_KEY}"}, id="bearer"),
        pytest.param({"authorization": f"bearer   {BFF_KEY}  "}, id="bearer-lower-case-spaces"),
    ],
)
async def test_gateway_key_sends_the_service_credential_and_never_itself(headers: dict[str, str]) -> None:
    gw, recorder, admin = await policy_gateway(**SERVICE)
    await admin.post("/api/governance/teams", json={"name": "platform"})
    body = (await post(gw, TEAMS, **headers)).json()
    assert body == {"data": {"teams": {"totalCount": 1, "nodes": [{"name": "platform"}]}}}
    assert set(recorder.authorizations()) == {SERVICE_BASIC}
    for _, sent in recorder.seen:
        assert "x-gateway-key" not in sent
        assert BFF_KEY not in str(sent)


async def test_request_log_names_the_caller_and_never_a_credential(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="app.request")
    gw, _, _ = await policy_gateway(**SERVICE)
    await post(gw, TEAMS, **{"x-gateway-key": BFF_KEY})
    await post(gw, TEAMS, authorization="Bearer my-session")
    await post(gw, TEAMS, cookie="token=my-session")
    await post(gw, TEAMS)
    await post(gw, TEAMS, **{"x-gateway-key": "gk_wrong"})
    lines = [r for r in caplog.records if r.name == "app.request"]
    assert [r.caller for r in lines] == [  # type: ignore[attr-defined]
        "gateway_key:bff",
        "own_credentials",
        "own_credentials",
        "anonymous",
        None,
    ]
    assert lines[-1].outcome == "UNAUTHENTICATED"  # type: ignore[attr-defined]
    for record in lines:
        text = str(record.__dict__)
        assert "gk_" not in text and "my-session" not in text and SERVICE_BASIC not in text


async def test_gateway_key_without_a_service_credential_sends_nothing() -> None:
    gw, recorder, _ = await policy_gateway(gateway_api_keys=KEYS)
    body = (await post(gw, TEAMS, **{"x-gateway-key": BFF_KEY})).json()
    assert codes(body) == ["UNAUTHENTICATED"]
    assert recorder.authorizations() == [None] * len(recorder.seen)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"x-gateway-key": "gk_not-a-configured-key"}, id="unknown-key"),
        pytest.param({"authorization": "Bearer gk_not-a-configured-key"}, id="unknown-bearer"),
        pytest.param({"authorization": f"Bearer {BFF_KEY.upper()}"}, id="key-in-other-case"),
        pytest.param({"x-gateway-key": BFF_KEY[:-1]}, id="truncated"),
        pytest.param({"x-gateway-key": BFF_KEY + "x"}, id="extended"),
        pytest.param({"x-gateway-key": ""}, id="empty"),
        pytest.param({"x-gateway-key": "gk_" + "a" * 10_000}, id="huge"),
        pytest.param({"x-gateway-key": "nope", "authorization": "Bearer mine"}, id="bad-key-beside-own-token"),
    ],
)
async def test_gateway_key_that_is_not_configured_is_refused_at_the_edge(headers: dict[str, str]) -> None:
    gw, recorder, _ = await policy_gateway(**SERVICE)
    response = await post(gw, TEAMS, **headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert codes(response.json()) == ["UNAUTHENTICATED"]
    assert recorder.seen == [], "nothing went upstream"
    assert "gk_" not in response.text


async def test_gateway_key_is_refused_when_none_are_configured() -> None:
    gw, recorder, _ = await policy_gateway(bifrost_username="admin", bifrost_password="s3cret", gateway_api_keys="")
    response = await post(gw, TEAMS, **{"x-gateway-key": BFF_KEY})
    assert response.status_code == 401 and recorder.seen == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("authorization", "Bearer a"), ("authorization", "Bearer b")], id="two-authorization"),
        pytest.param([("x-gateway-key", BFF_KEY), ("x-gateway-key", ADMIN_KEY)], id="two-gateway-keys"),
        pytest.param([("x-gateway-key", BFF_KEY), ("authorization", f"Bearer {ADMIN_KEY}")], id="key-in-both"),
    ],
)
async def test_ambiguous_credentials_are_refused(headers: list[tuple[str, str]]) -> None:
    gw, recorder, _ = await policy_gateway(**SERVICE)
    response = await gw.http.post("/graphql", json={"query": TEAMS}, headers=headers)
    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]
    assert recorder.seen == []


# Own credentials -----------------------------------------------------------------------------------


async def test_own_bearer_is_forwarded_and_wins_over_a_gateway_key() -> None:
    gw, recorder, _ = await policy_gateway(**SERVICE)
    body = (await post(gw, TEAMS, authorization="Bearer my-session", **{"x-gateway-key": ADMIN_KEY})).json()
    assert codes(body) == ["UNAUTHENTICATED"], "a bad own token is never replaced by the service credential"
    assert set(recorder.authorizations()) == {"Bearer my-session"}


async def test_gateway_key_in_authorization_is_never_forwarded_beside_an_own_cookie() -> None:
    gw, recorder, _ = await policy_gateway(**SERVICE)
    body = (await post(gw, TEAMS, authorization=f"Bearer {ADMIN_KEY}", cookie="theme=dark; token=my-session")).json()
    assert codes(body) == ["UNAUTHENTICATED"]
    assert recorder.seen
    for _, sent in recorder.seen:
        assert sent.get("cookie") == "token=my-session"
        assert "authorization" not in sent and ADMIN_KEY not in str(sent)


async def test_own_basic_credentials_are_forwarded() -> None:
    gw, recorder, _ = await policy_gateway(gateway_api_keys=KEYS)
    body = (await post(gw, TEAMS, authorization=SERVICE_BASIC)).json()
    assert body["data"]["teams"]["totalCount"] == 0
    assert set(recorder.authorizations()) == {SERVICE_BASIC}


# Revealing key values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "revealed"),
    [
        pytest.param({}, False, id="anonymous"),
        pytest.param({"x-gateway-key": BFF_KEY}, False, id="key-without-reveal"),
        pytest.param({"x-gateway-key": ADMIN_KEY}, True, id="key-with-reveal"),
        pytest.param({"authorization": SERVICE_BASIC}, True, id="own-credentials"),
    ],
)
async def test_reveal_needs_own_credentials_or_a_revealing_key(headers: dict[str, str], revealed: bool) -> None:
    settings = {**SERVICE, "allow_anonymous_service_credentials": True}  # so every caller can read the key
    gw, _, admin = await policy_gateway(**settings)
    key = await arrange_key(admin)
    body = (await post(gw, KEY_VALUE, {"id": key["id"]}, **headers)).json()
    if revealed:
        assert body == {
            "data": {"virtualKey": {"name": "k1", "masked": "sk-bf-…" + key["value"][-4:], "shown": key["value"]}}
        }
    else:
        assert codes(body) == ["FORBIDDEN"]
        assert key["value"] not in str(body)


async def test_reveal_through_a_list_and_a_variable_is_refused_too() -> None:
    gw, _, admin = await policy_gateway(auth=None)
    key = await arrange_key(admin)
    document = "query L($r: Boolean!) { virtualKeys(first: 5) { nodes { value(reveal: $r) } } }"
    refused = (await post(gw, document, {"r": True})).json()
    assert "FORBIDDEN" in codes(refused) and key["value"] not in str(refused)
    masked = (await post(gw, document, {"r": False})).json()
    assert masked == {"data": {"virtualKeys": {"nodes": [{"value": "sk-bf-…" + key["value"][-4:]}]}}}


async def test_create_virtual_key_returns_the_new_value_once() -> None:
    gw, _, admin = await policy_gateway(auth=None)
    created = (await post(gw, CREATE_KEY, {"name": "fresh"})).json()
    assert "errors" not in created, created
    key = created["data"]["createVirtualKey"]["virtualKey"]
    stored = (await admin.get(f"/api/governance/virtual-keys/{key['id']}")).json()["virtual_key"]
    assert key["shown"] == stored["value"]
    later = (await post(gw, KEY_VALUE, {"id": key["id"]})).json()
    assert codes(later) == ["FORBIDDEN"], "the value is shown with the creation, not on later reads"


# Login and logout ----------------------------------------------------------------------------------


async def test_anonymous_logout_makes_no_upstream_call_and_the_service_session_survives() -> None:
    upstream = guarded_upstream()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream), base_url="http://b") as direct:
        login = await direct.post("/api/session/login", json={"username": AUTH[0], "password": AUTH[1]})
    # The service credential is a session token, which a logout sent with it would end.
    gw, recorder, _ = await policy_gateway(
        upstream=upstream, bifrost_api_token=login.cookies["token"], gateway_api_keys=KEYS
    )
    response = await post(gw, LOGOUT)
    assert response.json() == {"data": {"logout": {"success": True}}}
    assert response.headers["set-cookie"].startswith("token=;") and "Max-Age=0" in response.headers["set-cookie"]
    assert recorder.seen == [], "logout without a session of the caller's own sends nothing"
    after = (await post(gw, TEAMS, **{"x-gateway-key": BFF_KEY})).json()
    assert "errors" not in after, "the service credential's session is still alive"


async def test_gateway_key_logout_does_not_end_the_service_session() -> None:
    gw, recorder, _ = await policy_gateway(**SERVICE)
    response = await post(gw, LOGOUT, **{"x-gateway-key": ADMIN_KEY})
    assert response.json() == {"data": {"logout": {"success": True}}}
    assert recorder.seen == []


async def test_login_never_sends_the_service_credential_or_the_gateway_key() -> None:
    gw, recorder, _ = await policy_gateway(**SERVICE)
    body = (await post(gw, LOGIN, {"u": "admin", "p": "s3cret"}, **{"x-gateway-key": ADMIN_KEY})).json()
    assert body == {"data": {"login": {"success": True, "userErrors": []}}}
    assert recorder.paths() == ["/api/session/login"]
    assert recorder.authorizations() == [None]
    assert "x-gateway-key" not in recorder.seen[0][1]


async def test_own_cookie_logout_ends_that_session_only() -> None:
    gw, recorder, _ = await policy_gateway(**SERVICE)
    login = await post(gw, LOGIN, {"u": "admin", "p": "s3cret"})
    token = login.cookies["token"]
    out = await post(gw, LOGOUT, cookie=f"token={token}")
    assert out.json() == {"data": {"logout": {"success": True}}}
    assert recorder.seen[-1][0] == "/api/session/logout"
    assert recorder.seen[-1][1].get("cookie") == f"token={token}"
    assert "authorization" not in recorder.seen[-1][1]
    gone = (await post(gw, TEAMS, cookie=f"token={token}")).json()
    assert codes(gone) == ["UNAUTHENTICATED"]
    still = (await post(gw, TEAMS, **{"x-gateway-key": BFF_KEY})).json()
    assert "errors" not in still


async def test_logout_of_a_session_that_already_ended_clears_the_cookie() -> None:
    gw, recorder, _ = await policy_gateway(**SERVICE)
    response = await post(gw, LOGOUT, cookie="token=expired-long-ago")
    assert response.json() == {"data": {"logout": {"success": True}}}
    assert response.headers["set-cookie"].startswith("token=;") and "Max-Age=0" in response.headers["set-cookie"]
    assert recorder.paths() == ["/api/session/logout"]
    assert recorder.seen[0][1].get("cookie") == "token=expired-long-ago"


# The operator's opt-in and production --------------------------------------------------------------


async def test_opt_in_lends_the_service_credential_to_anonymous_callers_but_not_reveal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="app.web"):
        gw, recorder, admin = await policy_gateway(**SERVICE, allow_anonymous_service_credentials=True)
    assert any("ALLOW_ANONYMOUS_SERVICE_CREDENTIALS" in record.getMessage() for record in caplog.records)
    key = await arrange_key(admin)
    body = (await post(gw, KEY_VALUE, {"id": key["id"]})).json()
    assert codes(body) == ["FORBIDDEN"]
    assert set(recorder.authorizations()) == {SERVICE_BASIC}
    teams = (await post(gw, TEAMS)).json()
    assert "errors" not in teams


async def test_opt_in_never_replaces_credentials_the_caller_did_send() -> None:
    gw, recorder, _ = await policy_gateway(**SERVICE, allow_anonymous_service_credentials=True)
    revoked = (await post(gw, TEAMS, cookie='consent={"necessary":true}; token=revoked')).json()
    assert codes(revoked) == ["UNAUTHENTICATED"]
    assert all(headers.get("cookie") == "token=revoked" for _, headers in recorder.seen)
    assert recorder.authorizations() == [None] * len(recorder.seen)


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param({"BIFROST_API_TOKEN": "svc-token"}, id="token"),
        pytest.param({"BIFROST_USERNAME": "svc", "BIFROST_PASSWORD": "pw"}, id="basic"),
    ],
)
def test_production_refuses_service_credentials_without_gateway_keys(
    monkeypatch: pytest.MonkeyPatch, credentials: dict[str, str]
) -> None:
    monkeypatch.setenv("GATEWAY_ENV", "production")
    monkeypatch.setenv("BIFROST_URL", "http://bifrost.internal:8080")
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value).startswith("invalid setting GATEWAY_API_KEYS: is required")
    for name in ("GATEWAY_API_KEYS", "ALLOW_ANONYMOUS_SERVICE_CREDENTIALS", "BIFROST_API_TOKEN"):
        assert name in str(refused.value)
    assert "svc-token" not in str(refused.value) and "pw" not in str(refused.value).replace("PASSWORD", "")
    monkeypatch.setenv("GATEWAY_API_KEYS", entry_for("bff", BFF_KEY))
    assert load_settings().gateway_api_keys[0].label == "bff"
    monkeypatch.delenv("GATEWAY_API_KEYS")
    monkeypatch.setenv("ALLOW_ANONYMOUS_SERVICE_CREDENTIALS", "true")
    assert load_settings().allow_anonymous_service_credentials


def test_production_without_service_credentials_needs_no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_ENV", "production")
    monkeypatch.setenv("BIFROST_URL", "http://bifrost.internal:8080")
    assert load_settings().gateway_api_keys == ()


def test_username_without_password_is_refused() -> None:
    with pytest.raises(SettingsError, match="BIFROST_PASSWORD: must be set too when BIFROST_USERNAME is set"):
        load_settings(bifrost_username="svc")
    with pytest.raises(SettingsError, match="BIFROST_USERNAME: must be set too when BIFROST_PASSWORD is set"):
        load_settings(bifrost_password="pw")


async def test_cors_preflight_allows_the_gateway_key_header() -> None:
    gw, _, _ = await policy_gateway(cors_allow_origins="https://app.example", **SERVICE)
    response = await gw.http.options(
        "/graphql",
        headers={
            "origin": "https://app.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type, x-gateway-key",
        },
    )
    assert response.status_code == 200
    assert "x-gateway-key" in response.headers["access-control-allow-headers"].lower()


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"cookie": f"theme=dark; token={BFF_KEY}"}, id="token-cookie"),
        pytest.param({"authorization": BFF_KEY}, id="authorization-without-scheme"),
        pytest.param({"authorization": f"Basic {BFF_KEY}"}, id="basic-scheme"),
        pytest.param({"authorization": f"Token  {BFF_KEY.upper()}"}, id="other-scheme-other-case"),
        pytest.param({"authorization": "Bearer my-session", "cookie": f"token={ADMIN_KEY}"}, id="cookie-beside-own"),
        pytest.param({"authorization": "gk_not-a-configured-key"}, id="unknown-key-without-scheme"),
    ],
)
async def test_gateway_key_sent_anywhere_else_is_refused_and_never_forwarded(headers: dict[str, str]) -> None:
    gw, recorder, _ = await policy_gateway(**SERVICE)
    response = await post(gw, TEAMS, **headers)
    assert response.status_code == 401
    assert codes(response.json()) == ["UNAUTHENTICATED"]
    assert "X-Gateway-Key" in response.json()["errors"][0]["message"]
    assert recorder.seen == [], "the key never went upstream"
    assert "gk_" not in response.text


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJnawX0gk_x"}, id="jwt-holding-gk_"),
        pytest.param({"authorization": ""}, id="empty-authorization"),
        pytest.param({"cookie": "gk_pref=1; token=my-session"}, id="another-cookie-named-gk"),
    ],
)
async def test_own_credentials_that_merely_contain_gk_are_forwarded(headers: dict[str, str]) -> None:
    gw, recorder, _ = await policy_gateway(**SERVICE)
    response = await post(gw, TEAMS, **headers)
    assert response.status_code == 200
    assert recorder.seen and SERVICE_BASIC not in recorder.authorizations()
