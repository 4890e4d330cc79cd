"""The ``token`` cookie is read the way browsers send it, whatever else the Cookie header holds.

Unit cases pin the parser; end-to-end cases run real-world headers through the gateway to an upstream with
auth on, where a cookie that was not read would show as UNAUTHENTICATED (or, with the service credential
lent to anonymous callers, as data fetched under another identity).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.web.cookies import MAX_TOKEN_CHARS, InvalidTokenCookie, token_cookie
from tests.gateway.guarded import AUTH, SERVICE, policy_gateway

TEAMS = "{ teams(first: 1) { totalCount } }"
LOGIN = "mutation Login($u: String!, $p: String!) { login(username: $u, password: $p) { success } }"
CONSENT = 'consent={"necessary":true,"analytics":false}'
GA = "_ga=GA1.1.123456789.1700000000; _ga_ABC123=GS1.1.1700000000.1.1.1700000001.0.0.0"


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        pytest.param(["token=abc"], "abc", id="alone"),
        pytest.param([f"{CONSENT}; token=abc"], "abc", id="consent-json-before"),
        pytest.param([f"token=abc; {CONSENT}"], "abc", id="consent-json-after"),
        pytest.param([f"{GA}; token=abc; theme=dark"], "abc", id="analytics"),
        pytest.param(['prefs="a b \\"c\\""; token=abc'], "abc", id="quoted-escaped-neighbour"),
        pytest.param(["note=hello world; token=abc"], "abc", id="space-in-neighbour"),
        pytest.param(["path=C:\\temp; token=abc"], "abc", id="backslash-in-neighbour"),
        pytest.param(['token="abc"'], "abc", id="quoted-token"),
        pytest.param(["token=first; token=second"], "first", id="duplicates-first-wins"),
        pytest.param(["  token  =  abc  ;other=1"], "abc", id="whitespace"),
        pytest.param(["xtoken=no; token_x=no; Token=no"], None, id="similar-names"),
        pytest.param(["xtoken=no; token=yes"], "yes", id="similar-name-then-token"),
        pytest.param(["token="], None, id="empty"),
        pytest.param(['token=""'], None, id="empty-quoted"),
        pytest.param(["token"], None, id="no-equals"),
        pytest.param([";;; ; token=abc;;"], "abc", id="stray-separators"),
        pytest.param(["theme=dark", "token=abc"], "abc", id="second-cookie-header"),
        pytest.param(["token=a=b=="], "a=b==", id="equals-in-value"),
        pytest.param([], None, id="no-header"),
    ],
)
def test_token_cookie_is_found(headers: list[str], token: str | None) -> None:
    assert token_cookie(headers) == token


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("a b", id="space"),
        pytest.param('a"b', id="inner-quote"),
        pytest.param('"abc', id="unbalanced-quote"),
        pytest.param("a\\b", id="backslash"),
        pytest.param("a,b", id="comma"),
        pytest.param("a\tb", id="tab"),
        pytest.param("a\x00b", id="nul"),
        pytest.param("a\x7fb", id="del"),
        pytest.param("tök", id="non-ascii"),
        pytest.param("x" * (MAX_TOKEN_CHARS + 1), id="too-long"),
    ],
)
def test_token_cookie_that_cannot_be_a_token_is_invalid(value: str) -> None:
    with pytest.raises(InvalidTokenCookie):
        token_cookie([f"theme=dark; token={value}; other=1"])


def test_longest_allowed_token_is_read() -> None:
    assert token_cookie(["token=" + "x" * MAX_TOKEN_CHARS]) == "x" * MAX_TOKEN_CHARS


async def signed_in(**settings: Any) -> tuple[Any, Any, str]:
    gw, recorder, _ = await policy_gateway(**settings)
    login = await gw.http.post("/graphql", json={"query": LOGIN, "variables": {"u": AUTH[0], "p": AUTH[1]}})
    assert login.json() == {"data": {"login": {"success": True}}}
    token = login.cookies["token"]
    gw.http.cookies.clear()  # each test sends its own Cookie header
    recorder.seen.clear()
    return gw, recorder, token


@pytest.mark.parametrize(
    "template",
    [
        pytest.param(CONSENT + "; token={t}", id="consent-json"),
        pytest.param(GA + "; token={t}", id="analytics"),
        pytest.param('token="{t}"', id="quoted"),
        pytest.param("token={t}; token=stale", id="duplicate"),
        pytest.param('prefs="x\\"y"; token={t}; note=two words', id="odd-neighbours"),
    ],
)
async def test_real_world_cookie_headers_keep_the_callers_session(template: str) -> None:
    gw, recorder, token = await signed_in(**SERVICE)
    response = await gw.http.post("/graphql", json={"query": TEAMS}, headers={"cookie": template.replace("{t}", token)})
    assert response.json() == {"data": {"teams": {"totalCount": 0}}}
    assert [headers.get("cookie") for _, headers in recorder.seen] == [f"token={token}"] * len(recorder.seen)
    assert recorder.seen and all("authorization" not in headers for _, headers in recorder.seen)


@pytest.mark.parametrize(
    "cookie",
    [
        pytest.param(CONSENT + "; token=revoked", id="revoked-beside-consent"),
        pytest.param("token=revoked; token={t}", id="first-of-duplicates-is-revoked"),
        pytest.param("xtoken={t}", id="look-alike-name"),
        pytest.param("token=", id="empty"),
    ],
)
async def test_cookies_that_name_no_live_session_never_become_the_service(cookie: str) -> None:
    # The operator lends the service credential to anonymous callers: the worst case for a misread cookie.
    gw, recorder, token = await signed_in(**SERVICE, allow_anonymous_service_credentials=True)
    response = await gw.http.post("/graphql", json={"query": TEAMS}, headers={"cookie": cookie.replace("{t}", token)})
    body = response.json()
    if cookie in ("xtoken={t}", "token="):
        # No token at all: an anonymous caller, who gets what the operator opted in to.
        assert body == {"data": {"teams": {"totalCount": 0}}}
    else:
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert all(headers.get("cookie") == "token=revoked" for _, headers in recorder.seen)
        assert all("authorization" not in headers for _, headers in recorder.seen)


@pytest.mark.parametrize(
    "cookie",
    [
        pytest.param("token=a b", id="space"),
        pytest.param("token=a\\b", id="backslash"),
        pytest.param('token="abc', id="unbalanced-quote"),
        pytest.param("token=" + "x" * (MAX_TOKEN_CHARS + 1), id="too-long"),
    ],
)
async def test_invalid_token_cookie_is_refused_at_the_edge(cookie: str) -> None:
    gw, recorder, _ = await policy_gateway(**SERVICE, allow_anonymous_service_credentials=True)
    response = await gw.http.post("/graphql", json={"query": TEAMS}, headers={"cookie": f"{CONSENT}; {cookie}"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert recorder.seen == []
    assert "x" * 100 not in response.text


async def test_token_in_a_second_cookie_header_is_read() -> None:
    gw, recorder, token = await signed_in(**SERVICE)
    headers = [("cookie", CONSENT), ("cookie", f"token={token}")]
    response = await gw.http.post("/graphql", json={"query": TEAMS}, headers=httpx.Headers(headers))
    assert response.json() == {"data": {"teams": {"totalCount": 0}}}
    assert recorder.seen[-1][1]["cookie"] == f"token={token}"
