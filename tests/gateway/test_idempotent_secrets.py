"""Idempotency-Key and revealed key values: the first answer shows the secret once, the store never keeps it.

The upstream is the embedded v2 server (key rotation); the store is the in-process one, read through its own
``claim`` with the name the gateway gives the key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.generations import V2
from app.keys import entry_for
from app.schema.virtual_keys.types import mask_secret
from app.settings import Settings
from app.shared_state import ClaimState
from app.web import create_app
from app.web.idempotency import IdempotentMutations, caller_credentials, fingerprint
from tests.gateway.conftest import REVEAL_KEY, Gateway

CREATE_KEY = """
mutation CreateKey($input: CreateVirtualKeyInput!) {
  createVirtualKey(input: $input) { virtualKey { id name value(reveal: true) } userErrors { code } }
}
"""
CREATE_KEY_MASKED = """
mutation CreateKey($input: CreateVirtualKeyInput!) {
  createVirtualKey(input: $input) { virtualKey { id name value } userErrors { code } }
}
"""
ROTATE = """
mutation Rotate($id: ID!) {
  rotateVirtualKey(id: $id) { virtualKey { id value(reveal: true) again: value(reveal: true) } userErrors { code } }
}
"""
ROTATE_MANY = """
mutation RotateMany($ids: [ID!]!) {
  rotateVirtualKeys(ids: $ids) { virtualKeys { id value(reveal: true) } userErrors { field code } }
}
"""
READ_VALUE = "query Value($id: ID!) { virtualKey(id: $id) { value(reveal: true) } }"
WITHHELD = {"idempotency": {"secretsWithheld": True}}
HEADERS = {"x-gateway-key": REVEAL_KEY}


@pytest.fixture
async def gw() -> AsyncIterator[Gateway]:
    upstream = create_embedded_bifrost(database=":memory:", generation="v2")
    app = create_app(
        Settings(
            bifrost_url="http://bifrost.internal:8080",
            gateway_api_keys=entry_for("tests", REVEAL_KEY, can_reveal=True),
        ),
        transport=httpx.ASGITransport(app=upstream),
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
    yield Gateway(app=app, http=http, upstream=upstream, generation=V2)
    await http.aclose()


async def post(gw: Gateway, query: str, variables: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = dict(HEADERS)
    if key is not None:
        headers["idempotency-key"] = key
    return await gw.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


async def remembered(gw: Gateway, key: str, query: str, variables: dict[str, Any]) -> bytes:
    """The bytes the store keeps for ``key``, asked the way a retry asks."""
    store = gw.app.state.shared.idempotency
    keyed = IdempotentMutations(store, names=gw.app.state.shared.names, wait=1)
    name, same = keyed.stored_as(caller_credentials(HEADERS, {}), key, fingerprint(query, None, variables))
    claim = await store.claim(name, same)
    assert claim.state is ClaimState.DONE and claim.answer is not None, claim
    return bytes(claim.answer.body)


async def test_a_created_key_is_shown_once_and_never_stored(gw: Gateway) -> None:
    variables = {"input": {"name": "shown-once"}}
    first = await post(gw, CREATE_KEY, variables, "create-1")
    created = first.json()["data"]["createVirtualKey"]["virtualKey"]
    secret = created["value"]
    assert secret.startswith("sk-") and "…" not in secret, first.json()
    assert "extensions" not in first.json()

    stored = await remembered(gw, "create-1", CREATE_KEY, variables)
    assert secret.encode() not in stored
    assert secret[6:-4].encode() not in stored  # not even the middle of it

    retry = await post(gw, CREATE_KEY, variables, "create-1")
    assert retry.headers["idempotent-replayed"] == "true"
    body = retry.json()
    assert body["data"]["createVirtualKey"]["virtualKey"] == {**created, "value": mask_secret(secret)}
    assert body["extensions"] == WITHHELD
    assert len(gw.upstream_calls("POST", "/api/governance/virtual-keys")) == 1  # nothing created again

    read = await post(gw, READ_VALUE, {"id": created["id"]})  # what the marker tells the client to do
    assert read.json()["data"]["virtualKey"]["value"] == secret


async def test_a_rotated_value_is_shown_once_and_never_stored(gw: Gateway) -> None:
    created = (await post(gw, CREATE_KEY, {"input": {"name": "rotated"}})).json()["data"]["createVirtualKey"]
    key_id = created["virtualKey"]["id"]
    rotate_path = f"/api/governance/virtual-keys/{key_id}/rotate"

    first = (await post(gw, ROTATE, {"id": key_id}, "rotate-1")).json()
    rotated = first["data"]["rotateVirtualKey"]["virtualKey"]
    secret = rotated["value"]
    assert secret != created["virtualKey"]["value"] and rotated["again"] == secret and "…" not in secret, first

    stored = await remembered(gw, "rotate-1", ROTATE, {"id": key_id})
    assert secret.encode() not in stored

    retry = await post(gw, ROTATE, {"id": key_id}, "rotate-1")
    assert retry.headers["idempotent-replayed"] == "true"
    answer = retry.json()
    assert answer["data"]["rotateVirtualKey"]["virtualKey"] == {
        "id": key_id,
        "value": mask_secret(secret),
        "again": mask_secret(secret),  # every occurrence, aliases too
    }
    assert answer["extensions"] == WITHHELD
    assert len(gw.upstream_calls("POST", rotate_path)) == 1  # not rotated a second time


async def test_a_bulk_rotation_keeps_none_of_its_values(gw: Gateway) -> None:
    ids = []
    for name in ("bulk-a", "bulk-b"):
        ids.append((await post(gw, CREATE_KEY, {"input": {"name": name}})).json()["data"]["createVirtualKey"])
    key_ids = [created["virtualKey"]["id"] for created in ids]

    first = (await post(gw, ROTATE_MANY, {"ids": key_ids}, "bulk-1")).json()
    secrets = [key["value"] for key in first["data"]["rotateVirtualKeys"]["virtualKeys"]]
    assert len(secrets) == 2 and all("…" not in secret for secret in secrets), first

    stored = await remembered(gw, "bulk-1", ROTATE_MANY, {"ids": key_ids})
    assert not any(secret.encode() in stored for secret in secrets)
    retry = (await post(gw, ROTATE_MANY, {"ids": key_ids}, "bulk-1")).json()
    assert [key["value"] for key in retry["data"]["rotateVirtualKeys"]["virtualKeys"]] == [
        mask_secret(secret) for secret in secrets
    ]
    assert retry["extensions"] == WITHHELD


async def test_an_answer_without_a_revealed_value_is_replayed_byte_for_byte(gw: Gateway) -> None:
    variables = {"input": {"name": "masked-only"}}
    first = await post(gw, CREATE_KEY_MASKED, variables, "plain-1")
    assert "…" in first.json()["data"]["createVirtualKey"]["virtualKey"]["value"]
    assert await remembered(gw, "plain-1", CREATE_KEY_MASKED, variables) == first.content

    retry = await post(gw, CREATE_KEY_MASKED, variables, "plain-1")
    assert retry.content == first.content
    assert "extensions" not in orjson.loads(retry.content)


async def test_the_query_cost_extension_survives_next_to_the_marker(gw: Gateway) -> None:
    variables = {"input": {"name": "with-cost"}}
    headers = {**HEADERS, "idempotency-key": "cost-1", "x-query-cost": "1"}
    payload = {"query": CREATE_KEY, "variables": variables}
    first = (await gw.http.post("/graphql", json=payload, headers=headers)).json()
    assert "cost" in first["extensions"] and "idempotency" not in first["extensions"], first
    retry = (await gw.http.post("/graphql", json=payload, headers=headers)).json()
    assert retry["extensions"] == {**first["extensions"], **WITHHELD}


async def test_a_revealed_value_without_a_key_is_answered_unchanged(gw: Gateway) -> None:
    body = (await post(gw, CREATE_KEY, {"input": {"name": "no-key"}})).json()
    assert "…" not in body["data"]["createVirtualKey"]["virtualKey"]["value"] and "extensions" not in body
