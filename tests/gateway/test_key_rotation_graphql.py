"""rotateVirtualKey and rotateVirtualKeys over the embedded v2 server: one upstream call each, the new value shown
only to callers allowed to reveal, per-id userErrors for the ids that failed (even when all failed), nothing of
Bifrost's internals in an answer, and an idempotent retry that does not rotate twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from app.keys import entry_for
from app.schema.virtual_keys.types import mask_secret
from app.settings import Settings
from app.web import create_app
from tests.gateway.arrange import MISSING_ID, FailingTransport, codes, result_of, upstream_get, upstream_post
from tests.gateway.conftest import REVEAL_KEY, REVEALING, Gateway, make_gateway
from tests.gateway.v2_documents import ROTATE_KEY, ROTATE_KEY_MASKED, ROTATE_KEYS

BFF_KEY = "gk_tests-bff-without-reveal-0123456789abcdefghijklmnop"
KEYS = ",".join([entry_for("tests", REVEAL_KEY, can_reveal=True), entry_for("bff", BFF_KEY)])


@pytest.fixture
async def v2() -> AsyncIterator[Gateway]:
    gw = await make_gateway("v2", gateway_api_keys=KEYS)
    yield gw
    await gw.http.aclose()


def rotations(gw: Gateway) -> list[Any]:
    return [record for record in gw.upstream_calls("POST") if record.path.endswith("/rotate")]


async def test_rotating_a_key_gives_it_a_new_value_in_one_call(v2: Gateway) -> None:
    key = await upstream_post(v2, "virtual-keys", {"name": "to-rotate"})
    payload = result_of(await v2.graphql(ROTATE_KEY, {"id": key["id"]}, headers=REVEALING), "rotateVirtualKey")
    assert payload["userErrors"] == []
    rotated = payload["virtualKey"]
    assert rotated["id"] == key["id"] and rotated["name"] == "to-rotate"
    assert rotated["shown"].startswith("sk-bf-") and rotated["shown"] != key["value"]
    assert rotated["value"] == "sk-bf-…" + rotated["shown"][-4:]
    stored = await upstream_get(v2, "virtual-keys", key["id"])
    assert stored is not None and stored["value"] == rotated["shown"]
    assert [record.path for record in rotations(v2)] == [f"/api/governance/virtual-keys/{key['id']}/rotate"]


async def test_rotating_a_missing_key_is_not_found_on_id(v2: Gateway) -> None:
    payload = result_of(await v2.graphql(ROTATE_KEY, {"id": MISSING_ID}, headers=REVEALING), "rotateVirtualKey")
    assert payload["virtualKey"] is None and codes(payload) == [(["id"], "NOT_FOUND")]
    assert len(rotations(v2)) == 1


@pytest.mark.parametrize("headers", [{}, {"x-gateway-key": BFF_KEY}], ids=["anonymous", "key-without-reveal"])
async def test_the_new_value_is_revealed_only_to_callers_allowed_to_reveal(
    v2: Gateway, headers: dict[str, str]
) -> None:
    key = await upstream_post(v2, "virtual-keys", {"name": "guarded"})
    body = (
        await v2.http.post("/graphql", json={"query": ROTATE_KEY, "variables": {"id": key["id"]}}, headers=headers)
    ).json()
    assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]
    stored = await upstream_get(v2, "virtual-keys", key["id"])
    assert stored is not None and stored["value"] != key["value"], "the key was rotated"
    assert stored["value"] not in str(body), "but its new value is not shown"
    masked = result_of(await v2.graphql(ROTATE_KEY_MASKED, {"id": key["id"]}, headers=headers), "rotateVirtualKey")
    assert masked["virtualKey"]["value"].startswith("sk-bf-…")


async def test_bulk_rotation_rotates_the_found_and_names_each_missing_id_by_index(v2: Gateway) -> None:
    first = await upstream_post(v2, "virtual-keys", {"name": "bulk-a"})
    second = await upstream_post(v2, "virtual-keys", {"name": "bulk-b"})
    ids = [first["id"], MISSING_ID, second["id"]]
    payload = result_of(await v2.graphql(ROTATE_KEYS, {"ids": ids}, headers=REVEALING), "rotateVirtualKeys")
    assert codes(payload) == [(["ids", "1"], "NOT_FOUND")]
    rotated = {key["id"]: key["shown"] for key in payload["virtualKeys"]}
    assert set(rotated) == {first["id"], second["id"]}
    assert rotated[first["id"]] != first["value"] and rotated[second["id"]] != second["value"]
    assert [record.path for record in rotations(v2)] == ["/api/governance/virtual-keys/rotate"]


async def test_bulk_rotation_where_every_id_fails_still_answers_per_id(v2: Gateway) -> None:
    other = "1c7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"
    body = await v2.graphql(ROTATE_KEYS, {"ids": [MISSING_ID, other]}, headers=REVEALING)
    payload = result_of(body, "rotateVirtualKeys")
    assert payload["virtualKeys"] == []
    assert codes(payload) == [(["ids", "0"], "NOT_FOUND"), (["ids", "1"], "NOT_FOUND")]


async def failing_bulk(answer: httpx.Response) -> Gateway:
    """A v2 gateway whose upstream answers the bulk rotation with ``answer``."""
    gw = await make_gateway("v2")
    transport = FailingTransport(
        gw.upstream, lambda request: answer if request.url.path == "/api/governance/virtual-keys/rotate" else None
    )
    app = create_app(Settings(bifrost_url="http://bifrost.internal:8080", gateway_api_keys=KEYS), transport=transport)
    return Gateway(
        app=app,
        http=httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway"),
        upstream=gw.upstream,
        generation=gw.generation,
    )


async def test_a_bulk_500_naming_no_id_is_a_system_error_without_bifrosts_text() -> None:
    leak = "pq: connection refused dsn=postgres://bifrost:hunter2@db:5432/bifrost"
    gw = await failing_bulk(httpx.Response(500, json={"error": {"message": leak}}))
    body = await gw.graphql(ROTATE_KEYS, {"ids": [MISSING_ID]}, headers=REVEALING)
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UPSTREAM_ERROR"]
    assert "hunter2" not in str(body) and "postgres" not in str(body)


async def test_a_per_id_failure_other_than_not_found_hides_bifrosts_text(caplog: pytest.LogCaptureFixture) -> None:
    leak = "failed to save: dsn=postgres://bifrost:hunter2@db:5432/bifrost"
    answer = {"message": "Failed to rotate virtual keys", "virtual_keys": [], "errors": {MISSING_ID: leak}}
    gw = await failing_bulk(httpx.Response(500, content=orjson.dumps(answer)))
    body = await gw.graphql(ROTATE_KEYS, {"ids": [MISSING_ID]}, headers=REVEALING)
    payload = result_of(body, "rotateVirtualKeys")
    assert codes(payload) == [(["ids", "0"], "UPSTREAM_FAILED")]
    assert "hunter2" not in str(body) and "postgres" not in str(body)
    assert "hunter2" not in caplog.text, "the log gets the text redacted"


async def test_a_retry_with_the_same_idempotency_key_does_not_rotate_again(v2: Gateway) -> None:
    key = await upstream_post(v2, "virtual-keys", {"name": "once"})
    headers = {**REVEALING, "idempotency-key": "rotate-once-1"}
    first = result_of(await v2.graphql(ROTATE_KEY, {"id": key["id"]}, headers=headers), "rotateVirtualKey")
    again = await v2.http.post("/graphql", json={"query": ROTATE_KEY, "variables": {"id": key["id"]}}, headers=headers)
    assert again.headers.get("idempotent-replayed") == "true"
    # The replay is the first answer with the new value masked: a revealed value is never remembered.
    withheld = {**first["virtualKey"], "shown": mask_secret(first["virtualKey"]["shown"])}
    assert again.json()["data"]["rotateVirtualKey"] == {**first, "virtualKey": withheld}
    assert again.json()["extensions"] == {"idempotency": {"secretsWithheld": True}}
    assert len(rotations(v2)) == 1
