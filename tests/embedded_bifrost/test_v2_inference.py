"""v2 ``POST /v1/chat/completions``: the mock provider, Bifrost's checks in order, charging and the log row."""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bifrost_helpers import client_for

from app.embedded_bifrost import BifrostApp, create_app
from app.embedded_bifrost.timestamps import NANOS_PER_SECOND, parse_rfc3339

GOV = "/api/governance"
VKS = f"{GOV}/virtual-keys"
CHAT = "/v1/chat/completions"
HELLO = [{"role": "user", "content": "Hello there"}]  # 11 characters: 3 prompt tokens, 8 completion tokens
# gpt-4o-mini: USD 0.15 per million prompt tokens, 0.60 per million completion tokens
HELLO_MINI_COST = (3 * 0.15 + 8 * 0.60) / 1_000_000
LONG = [{"role": "user", "content": "x" * 4000}]  # 1000 prompt tokens, 256 completion tokens (the cap)
LONG_4O_COST = (1000 * 2.50 + 256 * 10.00) / 1_000_000  # gpt-4o: 2.50 and 10.00
OPENAI_ALL = {"provider": "openai", "allowed_models": ["*"], "key_ids": ["*"]}
NOT_FOUND = "virtual key not found. The provided virtual key does not exist or has been revoked."
REQUIRED = "virtual key is required. Provide a virtual key via the x-bf-vk header."


@pytest.fixture
def app() -> BifrostApp:
    return create_app(generation="v2", vk_rotation_cooldown="5m")


@pytest.fixture
async def client(app: BifrostApp) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as http:
        yield http


def db_of(app: BifrostApp) -> sqlite3.Connection:
    return app.context.store.db


async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any], kind: str) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 200, response.text
    entity: dict[str, Any] = response.json()[kind]
    return entity


async def key(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": f"key-{time.monotonic_ns()}", "provider_configs": [OPENAI_ALL], **fields}
    return await created(client, VKS, body, "virtual_key")


async def chat(
    client: httpx.AsyncClient,
    value: str | None,
    model: str = "openai/gpt-4o-mini",
    messages: list[dict[str, Any]] = HELLO,
    header: str = "x-bf-vk",
    **extra: Any,
) -> httpx.Response:
    headers = {} if value is None else {header: value}
    return await client.post(CHAT, json={"model": model, "messages": messages, **extra}, headers=headers)


def refusal_of(response: httpx.Response) -> tuple[int, str, str]:
    """The status, ``type`` and message of a refusal, checking the rest of the envelope."""
    body = response.json()
    assert set(body) == {"type", "is_bifrost_error", "status_code", "error", "extra_fields"}
    assert body["is_bifrost_error"] is False and body["status_code"] == response.status_code
    assert set(body["extra_fields"]) == {"provider", "model_requested", "request_type"}
    return response.status_code, body["type"], body["error"]["message"]


def message_of(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"is_bifrost_error", "status_code", "error", "extra_fields"}
    return response.status_code, body["error"]["message"]


async def reread(client: httpx.AsyncClient, vk_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"{VKS}/{vk_id}")).json()["virtual_key"]
    return body


def log_rows(app: BifrostApp) -> list[sqlite3.Row]:
    return db_of(app).execute("SELECT * FROM logs ORDER BY timestamp").fetchall()


# The mock provider and the answer


async def test_completion_answers_openai_shape_with_deterministic_tokens(
    app: BifrostApp, client: httpx.AsyncClient
) -> None:
    vk = await key(client)
    first = await chat(client, vk["value"])
    second = await chat(client, vk["value"])
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["object"] == "chat.completion" and body["model"] == "gpt-4o-mini"
    assert body["usage"]["prompt_tokens"] == math.ceil(len("Hello there") / 4) == 3
    assert body["usage"]["completion_tokens"] == 8 and body["usage"]["total_tokens"] == 11
    assert body["usage"]["cost"] == pytest.approx(HELLO_MINI_COST, rel=1e-12)
    [choice] = body["choices"]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] == "stop"
    assert choice["message"]["content"] == second.json()["choices"][0]["message"]["content"]
    assert body["extra_fields"]["provider"] == "openai"
    assert body["id"] != second.json()["id"]


async def test_completion_tokens_are_capped_by_max_tokens(client: httpx.AsyncClient) -> None:
    vk = await key(client)
    capped = (await chat(client, vk["value"], messages=LONG, max_tokens=5)).json()
    assert capped["usage"]["completion_tokens"] == 5 and capped["choices"][0]["finish_reason"] == "length"
    long = (await chat(client, vk["value"], messages=LONG, max_tokens=10_000_000)).json()
    assert long["usage"]["completion_tokens"] == 256 and long["choices"][0]["finish_reason"] == "stop"


async def test_unknown_model_is_charged_the_default_price(app: BifrostApp, client: httpx.AsyncClient) -> None:
    vk = await key(client)
    body = (await chat(client, vk["value"], model="openai/o-future")).json()
    assert body["usage"]["cost"] == pytest.approx((3 * 1.00 + 8 * 2.00) / 1_000_000, rel=1e-12)


async def test_content_parts_count_their_text_only(client: httpx.AsyncClient) -> None:
    vk = await key(client)
    parts = [{"role": "user", "content": [{"type": "text", "text": "x" * 40}, {"type": "image_url", "image_url": {}}]}]
    body = (await chat(client, vk["value"], messages=parts)).json()
    assert body["usage"]["prompt_tokens"] == 10


# Credentials


@pytest.mark.parametrize("header", ["x-bf-vk", "authorization", "x-api-key", "x-goog-api-key"])
async def test_each_key_header_authenticates(client: httpx.AsyncClient, header: str) -> None:
    vk = await key(client)
    value = f"Bearer {vk['value']}" if header == "authorization" else vk["value"]
    response = await chat(client, value, header=header)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("api-key", "{value}"),  # the quota endpoint reads it, inference does not
        ("x-bf-vk", "{bare}"),  # the sk-bf- prefix is required on every header
        ("authorization", "Basic {value}"),
        ("authorization", "{value}"),
        ("x-bf-vk", ""),
    ],
)
async def test_no_usable_key_is_virtual_key_required(
    app: BifrostApp, client: httpx.AsyncClient, header: str, value: str
) -> None:
    vk = await key(client)
    sent = value.format(value=vk["value"], bare=vk["value"].removeprefix("sk-bf-"))
    response = await chat(client, sent, header=header)
    assert refusal_of(response) == (401, "virtual_key_required", REQUIRED)
    assert log_rows(app) == []


@pytest.mark.parametrize(
    "value", ["sk-bf-not-a-key", "SK-BF-00000000-0000-4000-8000-000000000000", "sk-bf-" + "9" * 5000]
)
async def test_unknown_key_is_virtual_key_not_found(app: BifrostApp, client: httpx.AsyncClient, value: str) -> None:
    response = await chat(client, value)
    assert refusal_of(response) == (401, "virtual_key_not_found", NOT_FOUND)
    assert log_rows(app) == []


async def test_rotated_out_value_works_during_its_grace_period_only(app: BifrostApp, client: httpx.AsyncClient) -> None:
    vk = await key(client)
    start = time.time_ns()
    app.context.clock = lambda: start
    rotated = await created(client, f"{VKS}/{vk['id']}/rotate", {}, "virtual_key")
    assert (await chat(client, vk["value"])).status_code == 200
    assert (await chat(client, rotated["value"])).status_code == 200
    app.context.clock = lambda: start + 5 * 60 * NANOS_PER_SECOND
    assert refusal_of(await chat(client, vk["value"]))[1] == "virtual_key_not_found"
    assert (await chat(client, rotated["value"])).status_code == 200
    assert {row["virtual_key_id"] for row in log_rows(app)} == {vk["id"]}


# The key's state and lists


async def test_inactive_key_is_blocked(client: httpx.AsyncClient) -> None:
    vk = await key(client, is_active=False)
    assert refusal_of(await chat(client, vk["value"])) == (403, "virtual_key_blocked", "Virtual key is inactive")


async def test_expired_key_is_blocked_from_its_expiry_on(app: BifrostApp, client: httpx.AsyncClient) -> None:
    vk = await key(client, expires_at="2099-01-01T00:00:00Z")
    expiry = parse_rfc3339("2099-01-01T00:00:00Z")
    assert expiry is not None
    app.context.clock = lambda: expiry - 1
    assert (await chat(client, vk["value"])).status_code == 200
    app.context.clock = lambda: expiry
    assert refusal_of(await chat(client, vk["value"])) == (403, "virtual_key_blocked", "Virtual key has expired")


async def test_provider_not_configured_is_blocked(client: httpx.AsyncClient) -> None:
    vk = await key(client)
    response = await chat(client, vk["value"], model="anthropic/claude-haiku-4-5")
    assert refusal_of(response) == (403, "provider_blocked", "Provider 'anthropic' is not allowed for this virtual key")
    bare = await key(client, provider_configs=[])
    assert refusal_of(await chat(client, bare["value"]))[1] == "provider_blocked"


@pytest.mark.parametrize(
    ("config", "allowed"),
    [
        ({"allowed_models": ["gpt-4o"]}, False),
        ({"allowed_models": []}, False),  # v2: an empty list allows no model
        ({"allowed_models": ["*"], "blacklisted_models": ["gpt-4o-mini"]}, False),
        ({"allowed_models": ["gpt-4o-mini"], "blacklisted_models": ["*"]}, False),
        ({"allowed_models": ["gpt-4o-mini"]}, True),
    ],
)
async def test_model_lists(client: httpx.AsyncClient, config: dict[str, Any], allowed: bool) -> None:
    vk = await key(client, provider_configs=[{"provider": "openai", "key_ids": ["*"], **config}])
    response = await chat(client, vk["value"])
    if allowed:
        assert response.status_code == 200
    else:
        assert refusal_of(response) == (403, "model_blocked", "Model 'gpt-4o-mini' is not allowed for this virtual key")


async def test_any_config_of_the_provider_may_allow_the_model_and_any_may_blacklist_it(
    client: httpx.AsyncClient,
) -> None:
    configs = [
        {"provider": "openai", "allowed_models": ["gpt-4o"], "key_ids": ["*"]},
        {"provider": "openai", "allowed_models": ["gpt-4o-mini"], "blacklisted_models": ["o1"], "key_ids": ["*"]},
    ]
    vk = await key(client, provider_configs=configs)
    assert (await chat(client, vk["value"])).status_code == 200
    assert (await chat(client, vk["value"], model="openai/gpt-4o")).status_code == 200
    assert refusal_of(await chat(client, vk["value"], model="openai/o1"))[1] == "model_blocked"


async def test_bare_model_goes_to_the_heaviest_config_that_allows_it(client: httpx.AsyncClient) -> None:
    configs = [
        {"provider": "openai", "weight": 0.2, "allowed_models": ["gpt-4o"], "key_ids": ["*"]},
        {"provider": "azure", "weight": 0.8, "allowed_models": ["gpt-4o"], "key_ids": ["*"]},
        {"provider": "anthropic", "weight": 0.9, "allowed_models": ["claude-haiku-4-5"], "key_ids": ["*"]},
    ]
    vk = await key(client, provider_configs=configs)
    response = await chat(client, vk["value"], model="gpt-4o")
    assert response.json()["extra_fields"]["provider"] == "azure"
    nowhere = await chat(client, vk["value"], model="gpt-9")
    assert message_of(nowhere) == (400, "model should be in provider/model format")


# Bad bodies: a 400 naming the problem, nothing charged or logged


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "Invalid request format: the body is not valid JSON"),
        (b"[]", "Invalid request format: the body must be a JSON object"),
        (b'{"model": 5, "messages": []}', "Invalid request format: model must be a string"),
        (
            b'{"model": "openai/gpt-4o", "messages": "hi"}',
            "Invalid request format: messages must be an array of objects",
        ),
        (
            b'{"model": "openai/gpt-4o", "messages": [1]}',
            "Invalid request format: messages must be an array of objects",
        ),
        (
            b'{"model": "openai/gpt-4o", "messages": [{"role": 1, "content": "x"}]}',
            "Invalid request format: a message's role must be a string",
        ),
        (
            b'{"model": "openai/gpt-4o", "messages": [{"role": "user", "content": 7}]}',
            "Invalid request format: a message's content must be a string or an array of parts",
        ),
        (
            b'{"model": "openai/gpt-4o", "messages": [{"role": "user"}], "max_tokens": 0}',
            "Invalid request format: max_tokens must be a positive integer",
        ),
        (
            b'{"model": "openai/gpt-4o", "messages": [{"role": "user"}], "max_completion_tokens": true}',
            "Invalid request format: max_completion_tokens must be a positive integer",
        ),
        (b'{"messages": [{"role": "user"}]}', "model should be in provider/model format"),
        (b'{"model": "openai/", "messages": [{"role": "user"}]}', "model should be in provider/model format"),
        (b'{"model": "/gpt-4o", "messages": [{"role": "user"}]}', "model should be in provider/model format"),
        (b'{"model": "openai/gpt-4o"}', "Messages is required for chat completion"),
        (b'{"model": "openai/gpt-4o", "messages": []}', "Messages is required for chat completion"),
    ],
)
async def test_bad_body_is_refused_before_anything(
    app: BifrostApp, client: httpx.AsyncClient, body: bytes, message: str
) -> None:
    vk = await key(client, budgets=[{"max_limit": 10, "reset_duration": "1d"}])
    response = await client.post(CHAT, content=body, headers={"x-bf-vk": vk["value"]})
    assert message_of(response) == (400, message)
    assert log_rows(app) == []
    assert (await reread(client, vk["id"]))["budgets"][0]["current_usage"] == 0


async def test_body_errors_come_before_the_credential(client: httpx.AsyncClient) -> None:
    response = await client.post(CHAT, content=b'{"model": "openai/gpt-4o"}')
    assert message_of(response) == (400, "Messages is required for chat completion")


@pytest.mark.parametrize("generation", ["seed", "current"])
async def test_older_generations_have_no_inference(generation: str) -> None:
    async with client_for(create_app(generation=generation)) as older:
        response = await older.post(CHAT, json={"model": "openai/gpt-4o", "messages": HELLO})
        assert response.status_code == 404


async def test_dashboard_auth_does_not_apply_to_inference() -> None:
    basic = httpx.BasicAuth("admin", "s3cret")
    async with client_for(create_app(generation="v2", auth=("admin", "s3cret"))) as guarded:
        response = await guarded.post(VKS, json={"name": "k", "provider_configs": [OPENAI_ALL]}, auth=basic)
        value = response.json()["virtual_key"]["value"]
        assert (await guarded.post(CHAT, json={"model": "openai/gpt-4o", "messages": HELLO})).status_code == 401
        assert (await chat(guarded, value)).status_code == 200
        assert (await guarded.get(VKS)).status_code == 401  # the key is no dashboard credential
