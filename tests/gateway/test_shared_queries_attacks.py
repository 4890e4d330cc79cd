"""Shared queries as a hostile or buggy client sees them: no answer ever reaches a caller that did not bring
the credentials, variables, media and cost choice it was computed with, and no client can make the sharing
grow, fail or leak."""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from typing import Any

import httpx
import orjson
import pytest

from app.schema.caller import ANONYMOUS, Caller, CallerKind
from app.web.shared_queries import query_key
from tests.gateway.guarded import ADMIN_KEY, BFF_KEY, KEYS
from tests.gateway.test_read_coalescing import DASHBOARD, LIST_KEYS, LIST_TEAMS, TEAMS, hold_lists, until
from tests.gateway.test_read_coalescing import KEYS as KEYS_PATH
from tests.gateway.test_shared_queries import TEAM, Shared, make_shared

KEY_VALUE = "query Key($id: ID!) { virtualKey(id: $id) { name masked: value shown: value(reveal: true) } }"
TWO_OPERATIONS = "query Teams { teams { totalCount } } query Keys { virtualKeys { totalCount } }"
JSON = "application/json"


@pytest.fixture
async def shared() -> Any:
    s = await make_shared()
    yield s
    await s.http.aclose()


async def named(shared: Shared, operation: str) -> httpx.Response:
    return await shared.http.post("/graphql", json={"query": TWO_OPERATIONS, "operationName": operation})


def key_of(variables: Any, caller: Caller = ANONYMOUS, credentials: dict[str, str] | None = None) -> Any:
    return query_key(TEAM, None, variables, caller, credentials or {}, JSON, False)


def test_variables_that_compare_equal_in_python_but_differ_in_json_have_different_keys() -> None:
    assert 1 == 1.0 and key_of({"id": 1}) != key_of({"id": 1.0})
    assert True == 1 and key_of({"id": True}) != key_of({"id": 1})
    assert 0.0 == -0.0 and key_of({"id": 0.0}) != key_of({"id": -0.0})
    composed, decomposed = unicodedata.normalize("NFC", "é"), unicodedata.normalize("NFD", "é")
    assert key_of({"id": composed}) != key_of({"id": decomposed})  # the upstream sees different bytes
    assert key_of({}) != key_of(None) and key_of({"id": None}) != key_of({})


def test_the_same_token_as_a_cookie_or_as_authorization_has_different_keys() -> None:
    own = Caller(CallerKind.OWN_CREDENTIALS)
    as_cookie = key_of(None, own, {"cookie": "token=t0k"})
    as_bearer = key_of(None, own, {"authorization": "Bearer t0k"})
    assert as_cookie != as_bearer
    assert key_of(None, own, {"authorization": "Bearer t0k"}) != key_of(None, own, {"authorization": "bearer t0k"})


def test_an_anonymous_caller_lent_the_service_credential_never_shares_with_a_gateway_key() -> None:
    lent = {"authorization": "Bearer service"}
    bff = Caller(CallerKind.GATEWAY_KEY, key_label="bff")
    admin = Caller(CallerKind.GATEWAY_KEY, key_label="admin", can_reveal=True)
    assert len({key_of(None, ANONYMOUS, lent), key_of(None, bff, lent), key_of(None, admin, lent)}) == 3


async def test_variables_nested_too_deep_to_canonicalise_still_get_their_answer(shared: Shared) -> None:
    deep: Any = "bottom"
    for _ in range(400):  # orjson reads 1,024 levels but writes 254: no key can be made, so it runs alone
        deep = [deep]
    reference = (await shared.post(DASHBOARD)).json()
    response = await shared.post(DASHBOARD, {"unused": deep})
    assert response.status_code == 200
    assert response.json() == reference
    assert shared.queries is not None and len(shared.queries) == 0


async def test_the_same_token_as_cookie_and_as_bearer_never_share_an_execution(shared: Shared) -> None:
    shared.gate.hold = hold_lists
    tasks = [
        *shared.spawn(DASHBOARD, 1, headers={"cookie": "token=same-token-value"}),
        *shared.spawn(DASHBOARD, 1, headers={"authorization": "Bearer same-token-value"}),
        *shared.spawn(DASHBOARD, 1, headers={"cookie": "token=same-token-value; theme=dark; other=1"}),
    ]
    await shared.gate.until_held(2)  # cookie and bearer: two executions, two credentials upstream
    await shared.until_following(1)  # the cookie with extra cookies sends the same credential: it shares
    shared.gate.release()
    responses = await asyncio.gather(*tasks)
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert responses[0].json() == responses[2].json()


async def test_duplicate_authorization_headers_are_refused_before_anything_is_shared(shared: Shared) -> None:
    shared.gate.hold = hold_lists
    leader = shared.spawn(DASHBOARD, 1, headers={"authorization": "Bearer alice"})
    await shared.gate.until_held(1)
    sent = len(shared.gate.sent)
    headers = [("authorization", "Bearer alice"), ("authorization", "Bearer mallory")]
    refused = await shared.http.post("/graphql", json={"query": DASHBOARD}, headers=headers)
    assert refused.status_code == 400 and "alice" not in refused.text
    assert shared.queries is not None and shared.queries.waiting() == 0
    assert len(shared.gate.sent) == sent
    shared.gate.release()
    assert (await leader[0]).status_code == 200


async def test_operation_name_picks_another_operation_and_never_shares(shared: Shared) -> None:
    reference = {name: (await named(shared, name)).json() for name in ("Teams", "Keys")}
    assert reference["Teams"] != reference["Keys"]
    shared.gate.hold = hold_lists
    teams = asyncio.create_task(named(shared, "Teams"))
    keys = asyncio.create_task(named(shared, "Keys"))
    await shared.gate.until_held(1)
    await shared.gate.until_held(1, LIST_KEYS)
    assert shared.queries is not None and shared.queries.waiting() == 0
    shared.gate.release()
    assert (await teams).json() == reference["Teams"] and (await keys).json() == reference["Keys"]


async def test_skip_and_include_by_variable_are_different_answers(shared: Shared) -> None:
    query = "query D($skip: Boolean!) { teams { totalCount } virtualKeys @skip(if: $skip) { totalCount } }"
    shared.gate.hold = hold_lists
    shown = shared.spawn(query, 1, {"skip": False})
    skipped = shared.spawn(query, 1, {"skip": True})
    await shared.gate.until_held(1)
    await until(lambda: shared.reads is not None and shared.reads.waiting() == 1)  # two executions, one read
    assert shared.queries is not None and shared.queries.waiting() == 0
    shared.gate.release()
    assert "virtualKeys" in (await shown[0]).json()["data"]
    assert "virtualKeys" not in (await skipped[0]).json()["data"]


async def test_a_get_follows_a_post_with_the_same_answer(shared: Shared) -> None:
    reference = await shared.post(DASHBOARD)
    shared.gate.hold = hold_lists
    leader = shared.spawn(DASHBOARD, 1)
    await shared.gate.until_held(1)
    follower = asyncio.create_task(shared.http.get("/graphql", params={"query": DASHBOARD}))
    await shared.until_following(1)
    shared.gate.release()
    answers = [await leader[0], await follower]
    assert all(r.status_code == 200 and r.json() == reference.json() for r in answers)
    assert answers[1].headers["content-type"] == reference.headers["content-type"]


async def test_a_follower_that_leaves_is_forgotten_and_the_others_get_their_answer(shared: Shared) -> None:
    reference = (await shared.post(DASHBOARD)).json()
    shared.gate.hold = hold_lists
    leader = shared.spawn(DASHBOARD, 1)
    await shared.gate.until_held(1)
    followers = shared.spawn(DASHBOARD, 3)
    await shared.until_following(3)
    followers[0].cancel()  # its client left
    await asyncio.wait([followers[0]])
    await shared.until_following(2)
    queries = shared.queries
    assert queries is not None
    # What it waited on is gone too: clients that come and go while a slow query runs leave nothing behind.
    assert sum(len(waiters) for waiters in queries._flights.values()) == 2
    shared.gate.release()
    responses = [await leader[0], *(await asyncio.gather(*followers[1:]))]
    assert all(r.status_code == 200 and r.json() == reference for r in responses)
    assert followers[0].cancelled()
    assert len(queries) == 0


async def test_an_upstream_error_is_not_kept_for_the_next_query(shared: Shared) -> None:
    shared.gate.hold = hold_lists
    shared.gate.answer = lambda request: (
        httpx.Response(500, json={"error": {"message": "busy"}}) if request.method == "GET" else None
    )
    failing = shared.spawn(DASHBOARD, 3)
    await shared.gate.until_held(1)
    await shared.until_following(2)
    shared.gate.release()
    assert all("errors" in r.json() for r in await asyncio.gather(*failing))
    shared.gate.answer = lambda request: None
    after = await shared.post(DASHBOARD)
    assert "errors" not in after.json() and after.json()["data"]["teams"]["totalCount"] == 10


async def test_a_document_that_fails_validation_or_the_cost_limit_never_waits_or_leads() -> None:
    shared = await make_shared(max_query_cost=5)
    try:
        invalid = await shared.post("{ teams { nope } }")
        costly = await shared.post(DASHBOARD)
        assert invalid.json()["errors"] and costly.json()["errors"]
        assert not [m for m, p, _ in shared.gate.sent if p in (TEAMS, KEYS_PATH)]  # nothing upstream
        assert shared.queries is not None and len(shared.queries) == 0 and shared.queries.shared == 0
    finally:
        await shared.http.aclose()


async def test_a_revealed_key_value_is_shared_only_among_callers_that_may_reveal_it() -> None:
    shared = await make_shared(gateway_api_keys=KEYS, bifrost_api_token="service-token-0123456789")
    try:
        upstream = httpx.AsyncClient(transport=shared.gate.inner, base_url="http://bifrost.internal")
        created = await upstream.post("/api/governance/virtual-keys", json={"name": "revealed"})
        key = created.json()["virtual_key"]
        one = f"GET {KEYS_PATH}/{key['id']}"
        shared.gate.hold = lambda request: request.url.path == f"{KEYS_PATH}/{key['id']}"
        admins = shared.spawn(KEY_VALUE, 2, {"id": key["id"]}, headers={"x-gateway-key": ADMIN_KEY})
        bff = shared.spawn(KEY_VALUE, 1, {"id": key["id"]}, headers={"x-gateway-key": BFF_KEY})
        await shared.until_following(1)  # the second admin, never the bff caller
        await until(lambda: shared.reads is not None and shared.reads.waiting() == 1)  # bff's own execution
        shared.gate.release(one)
        first, second = [r.json() for r in await asyncio.gather(*admins)]
        assert first == second and first["data"]["virtualKey"]["shown"] == key["value"]
        refused = (await bff[0]).json()
        assert key["value"] not in str(refused)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    finally:
        await shared.http.aclose()


async def test_logs_and_metrics_of_shared_queries_carry_no_credential(
    shared: Shared, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    shared.gate.hold = hold_lists
    secret = "sekrit-bearer-0123456789abcdef"
    tasks = [
        *shared.spawn(DASHBOARD, 3, headers={"authorization": f"Bearer {secret}"}),
        *shared.spawn(DASHBOARD, 2, headers={"cookie": f"token={secret}-cookie"}),
    ]
    await shared.gate.until_held(2)
    await shared.until_following(3)
    shared.gate.release(LIST_TEAMS, LIST_KEYS)
    await asyncio.gather(*tasks)
    metrics = (await shared.http.get("/metrics")).text
    assert secret not in metrics and secret not in caplog.text
    assert not any(secret in str(vars(record)) for record in caplog.records)


def test_huge_variables_make_a_key_without_failing() -> None:
    huge = {"id": "x" * 1_000_000, "list": list(range(10_000))}
    assert orjson.dumps(huge) and key_of(huge) == key_of(orjson.loads(orjson.dumps(huge)))
