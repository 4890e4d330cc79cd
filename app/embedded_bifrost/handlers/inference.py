"""``POST /v1/chat/completions`` (v2): an OpenAI-compatible chat completion, governed by a virtual key.

The answer comes from the deterministic mock provider (:mod:`..mock_provider`), priced from the embedded
price table (:mod:`..pricing`). Around it, what Bifrost's governance plugin does (H-era order):

1. the body: not a JSON object, or a field of the wrong type -> 400 ``Invalid request format: ...``; a model
   without a provider that no provider config of the key takes -> 400 ``model should be in provider/model
   format``; no messages -> 400 ``Messages is required for chat completion`` (Bifrost's error envelope);
2. the credential: ``x-bf-vk``, ``Authorization: Bearer``, ``x-api-key`` or ``x-goog-api-key`` carrying an
   ``sk-bf-`` value (a rotated-out value works during its grace period); an unknown one -> 401
   ``virtual_key_not_found``; none -> 401 ``virtual_key_required`` (the embedded server always requires one);
3. provider governance, then global model configs;
4. the key inactive or expired -> 403 ``virtual_key_blocked``;
5. the provider not among the key's provider configs -> 403 ``provider_blocked``;
6. the model blacklisted or not allowed -> 403 ``model_blocked``;
7. rate limits, then 8. budgets of the key's provider config, the key, its team and its customer;
9. model configs scoped to the key.

A refusal answers ``{"type", "is_bifrost_error": false, "status_code", "error": {"message"}, "extra_fields"}``
with that status; it charges nothing and writes no log row. A success charges every limit on the path
(:mod:`..charging`) and writes one log row, in the same transaction as the window resets before the checks.
A bare ``model`` (no ``provider/``) goes to the key's provider config with a ``weight`` that allows it (the
heaviest, then the oldest), as Bifrost's load balancing would pick it when the weights are not tied.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson

from ..admission import Refusal, check_scopes
from ..charging import charge, log_request
from ..context import Context, Request, Response
from ..db import new_id
from ..errors import ApiError
from ..governed_scopes import global_scopes, key_model_scopes, key_scopes
from ..mock_provider import complete
from ..pricing import cost_of, price_of
from ..request_logs import LogRow
from ..rotation import VALUE_PREFIX, key_by_value
from ..timestamps import NANOS_PER_SECOND, loaded

__all__ = ["chat_completions", "inference_credential"]

_PREFIXED = VALUE_PREFIX.encode()
_KEY_HEADERS = (b"x-bf-vk", b"x-api-key", b"x-goog-api-key")
_REQUEST_TYPE = "chat_completion"
_NOT_FOUND = "virtual key not found. The provided virtual key does not exist or has been revoked."
_REQUIRED = "virtual key is required. Provide a virtual key via the x-bf-vk header."


@dataclass(frozen=True, slots=True)
class _Body:
    model: str
    messages: list[dict[str, Any]]
    max_tokens: int | None


def inference_credential(headers: dict[bytes, bytes]) -> str | None:
    """The virtual key an inference request presents: the first ``sk-bf-`` value among its key headers."""
    candidates = [headers.get(b"x-bf-vk", b"")]
    authorization = headers.get(b"authorization", b"")
    if authorization[:7].lower() == b"bearer ":
        candidates.append(authorization[7:].strip())
    candidates += [headers.get(name, b"") for name in _KEY_HEADERS[1:]]
    for value in candidates:
        if value[: len(_PREFIXED)].lower() == _PREFIXED:
            return value.decode("latin-1")
    return None


def _invalid(reason: str) -> ApiError:
    return ApiError(400, f"Invalid request format: {reason}")


def _parse(body: bytes) -> _Body:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _invalid("the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise _invalid("the body must be a JSON object")
    model = value.get("model")
    if model is not None and not isinstance(model, str):
        raise _invalid("model must be a string")
    messages = value.get("messages")
    if messages is not None and not (isinstance(messages, list) and all(isinstance(m, dict) for m in messages)):
        raise _invalid("messages must be an array of objects")
    for message in messages or []:
        if not isinstance(message.get("role", ""), str):
            raise _invalid("a message's role must be a string")
        if not isinstance(message.get("content"), str | list | None):
            raise _invalid("a message's content must be a string or an array of parts")
    max_tokens = None
    for field in ("max_completion_tokens", "max_tokens"):
        cap = value.get(field)
        if cap is None:
            continue
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise _invalid(f"{field} must be a positive integer")
        max_tokens = cap if max_tokens is None else max_tokens
    return _Body(model or "", messages or [], max_tokens)


def _refusal(refusal: Refusal, provider: str, model: str) -> Response:
    body = {
        "type": refusal.type,
        "is_bifrost_error": False,
        "status_code": refusal.status,
        "error": {"message": refusal.message},
        "extra_fields": {"provider": provider, "model_requested": model, "request_type": _REQUEST_TYPE},
    }
    return Response(refusal.status, orjson.dumps(body))


def _configs(db: sqlite3.Connection, key: sqlite3.Row) -> list[sqlite3.Row]:
    return db.execute("SELECT * FROM provider_configs WHERE virtual_key_id = ? ORDER BY id", (key["id"],)).fetchall()


def _blacklists(config: sqlite3.Row, model: str) -> bool:
    blacklisted = orjson.loads(config["blacklisted_models"])
    return "*" in blacklisted or model in blacklisted


def _allows(config: sqlite3.Row, model: str, empty_allows_all: bool) -> bool:
    if _blacklists(config, model):
        return False
    allowed = orjson.loads(config["allowed_models"])
    return "*" in allowed or model in allowed or (not allowed and empty_allows_all)


def _route(ctx: Context, model: str, key: sqlite3.Row) -> tuple[str, str]:
    """The provider and model a request names (``provider/model``), or that a bare model goes to."""
    provider, slash, name = model.partition("/")
    if slash and provider and name:
        return provider, name
    if not slash and model:
        empty_allows_all = ctx.generation.empty_allowed_models == "all"
        weighted = [c for c in _configs(ctx.store.db, key) if c["weight"] and _allows(c, model, empty_allows_all)]
        if weighted:
            best = max(weighted, key=lambda config: (config["weight"], -config["id"]))
            return best["provider"], model
    raise ApiError(400, "model should be in provider/model format")


def _key_refusal(ctx: Context, key: sqlite3.Row, provider: str, model: str, now: int) -> Refusal | None:
    """Steps 4 to 6: the key's state, then its provider and model lists."""
    if not key["is_active"]:
        return Refusal(403, "virtual_key_blocked", "Virtual key is inactive")
    if key["expires_at"] is not None and now >= loaded(key["expires_at"]):
        return Refusal(403, "virtual_key_blocked", "Virtual key has expired")
    configs = [config for config in _configs(ctx.store.db, key) if config["provider"] == provider]
    if not configs:
        return Refusal(403, "provider_blocked", f"Provider '{provider}' is not allowed for this virtual key")
    empty_allows_all = ctx.generation.empty_allowed_models == "all"
    # A blacklist of any of the provider's configs wins over the allow lists of the others.
    blacklisted = any(_blacklists(config, model) for config in configs)
    if blacklisted or not any(_allows(config, model, empty_allows_all) for config in configs):
        return Refusal(403, "model_blocked", f"Model '{model}' is not allowed for this virtual key")
    return None


def chat_completions(ctx: Context, request: Request) -> Response:
    """POST /v1/chat/completions."""
    body = _parse(request.body)
    provider_named, slash, model_named = body.model.partition("/")
    if not body.model or (slash and not (provider_named and model_named)):
        raise ApiError(400, "model should be in provider/model format")
    if not body.messages:
        raise ApiError(400, "Messages is required for chat completion")
    value = inference_credential(request.headers)
    now = ctx.clock()
    with ctx.store.transaction() as db:
        key = key_by_value(db, value, now) if value else None
        if value and key is None:
            return _refusal(Refusal(401, "virtual_key_not_found", _NOT_FOUND), *_named(body.model))
        if key is None:
            return _refusal(Refusal(401, "virtual_key_required", _REQUIRED), *_named(body.model))
        provider, model = _route(ctx, body.model, key)
        scopes = global_scopes(db, provider, model, now)
        refusal = check_scopes(scopes) or _key_refusal(ctx, key, provider, model, now)
        if refusal is None:
            scopes += key_scopes(db, key, provider, now) + key_model_scopes(db, key, provider, model, now)
            refusal = check_scopes(scopes)
        if refusal is not None:
            return _refusal(refusal, provider, model)
        reply = complete(model, body.messages, body.max_tokens)
        cost = cost_of(price_of(provider, model), reply.prompt_tokens, reply.completion_tokens)
        charge(db, scopes, cost, reply.total_tokens)
        latency = 50.0 + reply.completion_tokens  # a plausible, deterministic latency in ms
        row = log_request(
            db,
            key,
            LogRow(
                id=new_id(), timestamp=now, provider=provider, model=model, status="success", cost=cost,
                prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens,
                total_tokens=reply.total_tokens, selected_key_id=_selected_key(db, key, provider), latency=latency,
            ),
        )  # fmt: skip
    answer = {
        "id": row.id,
        "object": "chat.completion",
        "created": now // NANOS_PER_SECOND,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.total_tokens,
            "cost": cost,
        },
        "system_fingerprint": "",
        "extra_fields": {
            "provider": provider,
            "model_requested": model,
            "request_type": _REQUEST_TYPE,
            "latency": int(latency),
        },
    }
    return Response(200, orjson.dumps(answer))


def _named(model: str) -> tuple[str, str]:
    """The provider and model a refused request named, for ``extra_fields`` (empty where it named none)."""
    provider, slash, name = model.partition("/")
    return (provider, name) if slash else ("", model)


def _selected_key(db: sqlite3.Connection, key: sqlite3.Row, provider: str) -> str | None:
    """The provider key the mock call would have used: the config's first key, else the provider's first."""
    row = db.execute(
        "SELECT k.key_id FROM provider_configs c JOIN provider_config_keys pk ON pk.provider_config_id = c.id"
        " JOIN keys k ON k.id = pk.key_row_id WHERE c.virtual_key_id = ? AND c.provider = ? ORDER BY k.id LIMIT 1",
        (key["id"], provider),
    ).fetchone()
    if row is None:
        row = db.execute("SELECT key_id FROM keys WHERE provider = ? ORDER BY id LIMIT 1", (provider,)).fetchone()
    return None if row is None else str(row[0])
