"""updateVirtualKey's owners as they go upstream: never ``null`` (Bifrost's OpenAPI types team_id and customer_id
as strings), and detaching is a PUT that names neither owner, as CONTRACT.md documents for seed and v1.5;
an upstream whose ``/api/version`` says v2 reads owners by presence and is sent ``"team_id": ""``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.gateway.arrange import has_null, recording_gateway, result_of, upstream_get, upstream_post
from tests.gateway.conftest import Gateway

UPDATE_KEY = """
mutation UpdateVirtualKey($input: UpdateVirtualKeyInput!) {
  updateVirtualKey(input: $input) { virtualKey { id teamId customerId isActive } userErrors { field code } }
}
"""


@pytest.fixture(params=["seed", "current"])
async def recorded(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Gateway, list[tuple[str, str, Any]]]]:
    gw, sent = await recording_gateway(request.param)
    yield gw, sent
    await gw.http.aclose()


async def update(gw: Gateway, given: dict[str, Any]) -> dict[str, Any]:
    return result_of(await gw.graphql(UPDATE_KEY, {"input": given}), "updateVirtualKey")


async def owners_stored(gw: Gateway, key_id: str) -> tuple[str | None, str | None]:
    stored = await upstream_get(gw, "virtual-keys", key_id)
    assert stored is not None
    return stored.get("team_id"), stored.get("customer_id")


@pytest.mark.parametrize(
    "given", [{"teamId": None}, {"teamId": None, "customerId": None}, {"customerId": None, "teamId": None}]
)
async def test_detaching_from_a_team_names_neither_owner_and_sends_no_null(
    recorded: tuple[Gateway, list[tuple[str, str, Any]]], given: dict[str, Any]
) -> None:
    gw, sent = recorded
    team = await upstream_post(gw, "teams", {"name": "platform"})
    key = await upstream_post(gw, "virtual-keys", {"name": "k", "team_id": team["id"]})
    result = await update(gw, {"id": key["id"], **given})
    assert result["userErrors"] == [] and result["virtualKey"]["teamId"] is None
    [(method, _, body)] = sent
    assert method == "PUT" and not has_null(body)
    assert "team_id" not in body and "customer_id" not in body
    assert await owners_stored(gw, key["id"]) == (None, None)


async def test_detaching_from_a_customer_sends_no_null(recorded: tuple[Gateway, list[tuple[str, str, Any]]]) -> None:
    gw, sent = recorded
    customer = await upstream_post(gw, "customers", {"name": "Acme"})
    key = await upstream_post(gw, "virtual-keys", {"name": "k", "customer_id": customer["id"]})
    result = await update(gw, {"id": key["id"], "customerId": None, "isActive": False})
    assert result["virtualKey"] == {"id": key["id"], "teamId": None, "customerId": None, "isActive": False}
    [(_, _, body)] = sent
    assert body == {"is_active": False}
    assert await owners_stored(gw, key["id"]) == (None, None)


async def test_team_null_on_a_customer_key_keeps_the_customer(
    recorded: tuple[Gateway, list[tuple[str, str, Any]]],
) -> None:
    gw, sent = recorded
    customer = await upstream_post(gw, "customers", {"name": "Acme"})
    key = await upstream_post(gw, "virtual-keys", {"name": "k", "customer_id": customer["id"]})
    await update(gw, {"id": key["id"], "teamId": None})
    [(_, _, body)] = sent
    assert body == {"customer_id": customer["id"]}
    assert await owners_stored(gw, key["id"]) == (None, customer["id"])


async def test_a_key_without_owner_and_a_null_owner_sends_neither(
    recorded: tuple[Gateway, list[tuple[str, str, Any]]],
) -> None:
    gw, sent = recorded
    key = await upstream_post(gw, "virtual-keys", {"name": "k"})
    result = await update(gw, {"id": key["id"], "teamId": None})
    assert result["userErrors"] == []
    [(_, _, body)] = sent
    assert body == {}
    assert await owners_stored(gw, key["id"]) == (None, None)


@pytest.mark.parametrize(
    ("version", "detach"), [("v2.2.5", {"team_id": ""}), ("v1.5.2", {}), ("v1.4.0", {}), ("dev-build", {})]
)
async def test_the_detach_form_follows_the_upstream_version(version: str, detach: dict[str, str]) -> None:
    gw, sent = await recording_gateway("current", version=version)
    team = await upstream_post(gw, "teams", {"name": "platform"})
    key = await upstream_post(gw, "virtual-keys", {"name": "k", "team_id": team["id"]})
    await update(gw, {"id": key["id"], "teamId": None})
    [(_, _, body)] = sent
    assert body == detach and not has_null(body)
    # Keeping or moving an owner is the same body on every version.
    await update(gw, {"id": key["id"], "teamId": team["id"], "isActive": True})
    assert sent[-1][2] == {"team_id": team["id"], "is_active": True}
    await gw.http.aclose()
