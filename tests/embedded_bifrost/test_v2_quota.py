"""v2 ``GET /api/governance/virtual-keys/quota``: the key as its own credential, and what it answers."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bifrost_helpers import client_for, message_of

from app.embedded_bifrost import create_app

VKS = "/api/governance/virtual-keys"
QUOTA = f"{VKS}/quota"
MISSING = (
    "Missing virtual key. Provide it via x-bf-vk header, Authorization Bearer, x-api-key, x-goog-api-key,"
    " or api-key header."
)
KEY = {
    "name": "quota-key",
    "budgets": [{"max_limit": 10, "reset_duration": "1d"}, {"max_limit": 50, "reset_duration": "1M"}],
    "rate_limit": {"request_max_limit": 100, "request_reset_duration": "1m"},
    "provider_configs": [{"provider": "openai", "allowed_models": ["*"], "key_ids": ["*"]}],
}


@pytest.fixture
async def v2() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(generation="v2")) as client:
        yield client


async def _key(client: httpx.AsyncClient, body: dict[str, Any] = KEY) -> dict[str, Any]:
    response = await client.post(VKS, json=body)
    assert response.status_code == 200, response.text
    key: dict[str, Any] = response.json()["virtual_key"]
    return key


async def test_quota_answers_the_keys_limits(v2: httpx.AsyncClient) -> None:
    key = await _key(v2)
    response = await v2.get(QUOTA, headers={"x-bf-vk": key["value"]})
    assert response.status_code == 200
    body = response.json()
    # A Go map: keys sorted.
    assert list(body) == ["budgets", "is_active", "model_configs", "provider_configs", "rate_limit", "virtual_key_name"]
    assert body["virtual_key_name"] == "quota-key" and body["is_active"] is True
    assert [b["reset_duration"] for b in body["budgets"]] == ["1d", "1M"]
    for budget, own in zip(body["budgets"], key["budgets"], strict=True):
        assert budget == {**own, "per_model_usage": []}
    assert body["rate_limit"] == key["rate_limit"]
    assert body["provider_configs"] == key["provider_configs"]
    assert body["model_configs"] == []


async def test_quota_of_a_bare_key(v2: httpx.AsyncClient) -> None:
    key = await _key(v2, {"name": "bare", "is_active": False})
    body = (await v2.get(QUOTA, headers={"x-bf-vk": key["value"]})).json()
    assert body == {
        "budgets": [],
        "is_active": False,
        "model_configs": [],
        "provider_configs": [],
        "rate_limit": None,
        "virtual_key_name": "bare",
    }


@pytest.mark.parametrize(
    "headers",
    [
        lambda v: {"x-bf-vk": v},
        lambda v: {"authorization": f"Bearer {v}"},
        lambda v: {"authorization": f"bearer   {v}  "},
        lambda v: {"x-api-key": v},
        lambda v: {"x-goog-api-key": v},
        lambda v: {"api-key": v},
        lambda v: {"authorization": "Bearer not-a-key", "x-api-key": "nope", "api-key": v},
    ],
    ids=["x-bf-vk", "bearer", "bearer-lower-spaced", "x-api-key", "x-goog-api-key", "api-key", "first-prefixed"],
)
async def test_quota_credential_headers(v2: httpx.AsyncClient, headers: Any) -> None:
    key = await _key(v2)
    response = await v2.get(QUOTA, headers=headers(key["value"]))
    assert response.status_code == 200, response.text
    assert response.json()["virtual_key_name"] == "quota-key"


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer abc"}, {"authorization": "Basic c2stYmYtMTIz"}, {"x-api-key": "abc"},
     {"x-goog-api-key": "sk-b"}, {"api-key": "key-sk-bf-1"}, {"authorization": "Bearer "}, {"x-bf-vk": ""}],
    ids=["none", "bearer-unprefixed", "basic", "x-api-key-unprefixed", "short", "prefix-not-at-start", "empty-bearer",
         "empty-x-bf-vk"],
)  # fmt: skip
async def test_quota_without_a_usable_credential_is_401(v2: httpx.AsyncClient, headers: dict[str, str]) -> None:
    await _key(v2)
    response = await v2.get(QUOTA, headers=headers)
    assert response.status_code == 401
    assert message_of(response) == MISSING


@pytest.mark.parametrize(
    "headers",
    [{"x-bf-vk": "anything-at-all"}, {"x-bf-vk": "sk-bf-00000000-0000-4000-8000-000000000000"},
     {"authorization": "Bearer sk-bf-unknown"}, {"x-api-key": "SK-BF-unknown"}, {"x-bf-vk": "x" * 8000}],
    ids=["x-bf-vk-any-value", "x-bf-vk-unknown", "bearer-unknown", "prefix-any-case", "huge"],
)  # fmt: skip
async def test_quota_unknown_key_is_401(v2: httpx.AsyncClient, headers: dict[str, str]) -> None:
    await _key(v2)
    response = await v2.get(QUOTA, headers=headers)
    assert response.status_code == 401
    assert message_of(response) == "Virtual key not found"


async def test_quota_x_bf_vk_wins_over_other_headers(v2: httpx.AsyncClient) -> None:
    key = await _key(v2)
    response = await v2.get(QUOTA, headers={"x-bf-vk": "unknown", "authorization": f"Bearer {key['value']}"})
    assert response.status_code == 401
    assert message_of(response) == "Virtual key not found"


async def test_quota_prefix_is_checked_case_insensitively_but_the_value_exactly(v2: httpx.AsyncClient) -> None:
    key = await _key(v2)
    shouted = "SK-BF-" + key["value"][len("sk-bf-") :]
    response = await v2.get(QUOTA, headers={"x-api-key": shouted})
    assert message_of(response) == "Virtual key not found"


async def test_quota_answers_each_key_its_own(v2: httpx.AsyncClient) -> None:
    # Governance GETs are cached by path and query; the quota depends on a header and must not be.
    one = await _key(v2, {"name": "one"})
    two = await _key(v2, {"name": "two"})
    for key in (one, two, one):
        answer = (await v2.get(QUOTA, headers={"x-bf-vk": key["value"]})).json()
        assert answer["virtual_key_name"] == key["name"]
    assert (await v2.get(QUOTA)).status_code == 401


async def test_quota_needs_no_admin_auth_when_auth_is_on() -> None:
    admin = {"authorization": "Basic " + base64.b64encode(b"admin:s3cret").decode()}
    async with client_for(create_app(generation="v2", auth=("admin", "s3cret"))) as client:
        key = (await client.post(VKS, json={"name": "k"}, headers=admin)).json()["virtual_key"]
        response = await client.get(QUOTA, headers={"authorization": f"Bearer {key['value']}"})
        assert response.status_code == 200 and response.json()["virtual_key_name"] == "k"
        # Admin credentials are not a virtual key.
        refused = await client.get(QUOTA, headers=admin)
        assert refused.status_code == 401 and message_of(refused) == MISSING
        # The key opens the quota only: every other route still wants the admin.
        other = await client.get(f"{VKS}/{key['id']}", headers={"authorization": f"Bearer {key['value']}"})
        assert other.status_code == 401 and message_of(other) == "Unauthorized"


async def test_quota_of_a_deleted_key_is_401(v2: httpx.AsyncClient) -> None:
    key = await _key(v2)
    await v2.delete(f"{VKS}/{key['id']}")
    response = await v2.get(QUOTA, headers={"x-bf-vk": key["value"]})
    assert response.status_code == 401
    assert message_of(response) == "Virtual key not found"


@pytest.mark.parametrize("generation", ["seed", "current"])
async def test_older_generations_read_quota_as_a_key_id(generation: str) -> None:
    async with client_for(create_app(generation=generation)) as client:
        response = await client.get(QUOTA)
        assert response.status_code == 404
        assert message_of(response) == "Virtual key not found"
