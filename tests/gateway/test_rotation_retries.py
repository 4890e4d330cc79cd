"""Idempotent retries of key rotation (Bifrost v2): an answer lost after Bifrost rotated is never rotated twice.

The upstream is the embedded v2 server behind ``LossyUpstream`` (tests/gateway/lossy.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.generations import V2
from app.keys import entry_for
from app.settings import Settings
from app.web import create_app
from tests.gateway.conftest import REVEAL_KEY, Gateway
from tests.gateway.lossy import LossyUpstream

CREATE_KEY = """
mutation CreateKey($input: CreateVirtualKeyInput!) {
  createVirtualKey(input: $input) { virtualKey { id value(reveal: true) } userErrors { code } }
}
"""
ROTATE = """
mutation Rotate($id: ID!) {
  rotateVirtualKey(id: $id) { virtualKey { id value(reveal: true) rotatedAt } userErrors { field code } }
}
"""


@pytest.fixture
async def lossy() -> AsyncIterator[tuple[Gateway, LossyUpstream]]:
    upstream = create_embedded_bifrost(database=":memory:", generation="v2")
    wire = LossyUpstream(upstream)
    app = create_app(
        Settings(
            bifrost_url="http://bifrost.internal:8080",
            idempotency_wait=5,
            gateway_api_keys=entry_for("tests", REVEAL_KEY, can_reveal=True),
        ),
        transport=wire,
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
    yield Gateway(app=app, http=http, upstream=upstream, generation=V2), wire
    await http.aclose()


async def post(gw: Gateway, query: str, variables: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    headers = {"x-gateway-key": REVEAL_KEY}
    if key is not None:
        headers["idempotency-key"] = key
    response = await gw.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    return response.json()  # type: ignore[no-any-return]


async def test_a_retry_after_a_lost_rotation_answer_does_not_rotate_again(
    lossy: tuple[Gateway, LossyUpstream],
) -> None:
    gw, wire = lossy
    created = await post(gw, CREATE_KEY, {"input": {"name": "k"}})
    key = created["data"]["createVirtualKey"]["virtualKey"]
    rotate_path = f"/api/governance/virtual-keys/{key['id']}/rotate"
    wire.match, wire.lose_after = rotate_path, 1

    lost = await post(gw, ROTATE, {"id": key["id"]}, "rot-1")
    assert lost["data"] is None and lost["errors"][0]["extensions"]["code"] == "UPSTREAM_OUTCOME_UNKNOWN", lost
    assert len(gw.upstream_calls("POST", rotate_path)) == 1

    retry = await post(gw, ROTATE, {"id": key["id"]}, "rot-1")
    answer = retry["data"]["rotateVirtualKey"]
    assert answer["userErrors"] == [] and answer["virtualKey"]["rotatedAt"] is not None, retry
    assert answer["virtualKey"]["value"] != key["value"]  # the value the lost answer carried
    assert len(gw.upstream_calls("POST", rotate_path)) == 1  # read back, not rotated a second time


async def test_a_retry_after_a_rotation_that_never_left_rotates(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, wire = lossy
    created = await post(gw, CREATE_KEY, {"input": {"name": "k"}})
    key = created["data"]["createVirtualKey"]["virtualKey"]
    rotate_path = f"/api/governance/virtual-keys/{key['id']}/rotate"
    wire.match, wire.lose_before = rotate_path, 1

    failed = await post(gw, ROTATE, {"id": key["id"]}, "rot-2")
    assert failed["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE", failed

    retry = await post(gw, ROTATE, {"id": key["id"]}, "rot-2")
    answer = retry["data"]["rotateVirtualKey"]
    assert answer["userErrors"] == [] and answer["virtualKey"]["value"] != key["value"], retry
    assert len(gw.upstream_calls("POST", rotate_path)) == 1  # the one that reached Bifrost


ROTATE_MANY = """
mutation RotateMany($ids: [ID!]!) {
  rotateVirtualKeys(ids: $ids) { virtualKeys { id value(reveal: true) } userErrors { field code } }
}
"""


async def test_a_retried_bulk_rotation_rotates_only_the_keys_the_lost_attempt_did_not(
    lossy: tuple[Gateway, LossyUpstream],
) -> None:
    gw, wire = lossy
    keys = [
        (await post(gw, CREATE_KEY, {"input": {"name": name}}))["data"]["createVirtualKey"]["virtualKey"]
        for name in ("a", "b")
    ]
    ids = [key["id"] for key in keys]
    wire.match, wire.lose_after = "/api/governance/virtual-keys/rotate", 1
    lost = await post(gw, ROTATE_MANY, {"ids": ids}, "bulk-1")
    assert lost["errors"][0]["extensions"]["code"] == "UPSTREAM_OUTCOME_UNKNOWN", lost

    retry = await post(gw, ROTATE_MANY, {"ids": ids}, "bulk-1")
    answer = retry["data"]["rotateVirtualKeys"]
    assert answer["userErrors"] == [] and [k["id"] for k in answer["virtualKeys"]] == ids, retry
    assert all(new["value"] != old["value"] for new, old in zip(answer["virtualKeys"], keys, strict=True))
    assert len(gw.upstream_calls("POST", "/api/governance/virtual-keys/rotate")) == 1  # not rotated twice
