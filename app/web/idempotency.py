"""Idempotency keys for mutations: a retry with the same ``Idempotency-Key`` never writes twice.

The first POST of a mutation with a key runs; a retry with the same key, the same document and the same
variables gets the first answer again (with ``Idempotent-Replayed: true``); the same key with another body is
refused (422 ``IDEMPOTENCY_KEY_REUSED``); a retry while the first still runs waits for it, at most
``IDEMPOTENCY_WAIT`` seconds (then 409 ``IDEMPOTENCY_KEY_IN_USE``). Keys belong to the credentials that sent
them (an HMAC of the caller's Authorization, gateway key and session cookie under ``REDIS_KEY_SECRET``:
``app.keyed_names``; nothing is stored raw, nor hashed without the secret) and are kept for ``IDEMPOTENCY_TTL``.
The request's fingerprint is keyed the same way, as its variables may hold a secret.

What a run leaves behind (``Settle``):
* no errors: its answer, replayed to every retry (userErrors such as NAME_TAKEN are the write's answer too);
* an error on a field (the write's outcome is unknown, Bifrost was unreachable, ...) or the client leaving:
  "unknown", and the retry runs again with ``earlier_attempt_at`` set, so creates read back by name before
  writing and a delete of what is gone succeeds;
* a request error (variables that do not fit) or an answer that sets a cookie (a login): nothing; a retry runs
  afresh.

A revealed key value is never remembered: the first answer shows it, the remembered one has it masked (as
``value`` answers without ``reveal``) and says so with ``extensions.idempotency.secretsWithheld``, so a retry
reads it again with ``virtualKey(id) { value(reveal: true) }`` (``withhold_secrets``).

Queries ignore the header (they are safe to repeat), and so do ``login`` and ``logout``: a session is not a
governance write, and remembering a login would keep a hash of its password; the header must still be well
formed.

Example:
    >>> key = idempotency_key({"idempotency-key": "order-42"})
    >>> key
    'order-42'
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from starlette.responses import Response

from app.keyed_names import KeyedNames
from app.schema.virtual_keys.types import mask_secret
from app.shared_state import Answer, ClaimState, IdempotencyStore

__all__ = [
    "HEADER",
    "REPLAYED_HEADER",
    "IdempotencyProblem",
    "IdempotentMutations",
    "Settle",
    "caller_credentials",
    "fingerprint",
    "idempotency_key",
    "is_session_operation",
    "record_key",
    "settle_of",
    "withhold_secrets",
]

HEADER = "idempotency-key"
REPLAYED_HEADER = "idempotent-replayed"
_MAX_KEY = 255
_SESSION_FIELDS = frozenset({"login", "logout"})


class IdempotencyProblem(Exception):
    """A request refused because of its key: HTTP status, message, code and headers."""

    def __init__(self, status: int, message: str, code: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers


class Settle(enum.Enum):
    """What a key remembers of a run."""

    DONE = "done"
    UNKNOWN = "unknown"
    RELEASE = "release"


def idempotency_key(headers: Mapping[str, str]) -> str | None:
    """The request's key, None without one.

    Raises:
        IdempotencyProblem: 400 for more than one key, or one that is not 1-255 printable ASCII characters.
    """
    getlist = getattr(headers, "getlist", None)  # ``Headers`` (a test of ``isinstance`` is an ABC's: slower)
    if getlist is not None:
        values = getlist(HEADER)
        if len(values) > 1:
            raise IdempotencyProblem(400, "Idempotency-Key must be sent once", "BAD_IDEMPOTENCY_KEY")
    value = headers.get(HEADER)
    if value is None:
        return None
    if not 0 < len(value) <= _MAX_KEY or not all(" " <= char <= "~" for char in value):
        raise IdempotencyProblem(400, "Idempotency-Key must be 1-255 printable ASCII characters", "BAD_IDEMPOTENCY_KEY")
    return value


def is_session_operation(document: DocumentNode | None) -> bool:
    """True when a mutation of ``document`` selects ``login`` or ``logout`` at its root."""
    if document is None:
        return False
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    pending: list[SelectionSetNode] = [
        d.selection_set
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode) and d.operation is OperationType.MUTATION
    ]
    seen: set[str] = set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in _SESSION_FIELDS:
                    return True
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                if selection.name.value in fragments:
                    pending.append(fragments[selection.name.value].selection_set)
    return False


def fingerprint(query: str, operation_name: str | None, variables: Any) -> str:
    """What makes two requests "the same": the document, the operation and the variables (key order aside)."""
    return hashlib.sha256(orjson.dumps([query, operation_name, variables], option=orjson.OPT_SORT_KEYS)).hexdigest()


_CREDENTIALS = ("authorization", "x-gateway-key", "cookie")


def caller_credentials(headers: Mapping[str, str], forwarded: Mapping[str, str]) -> dict[str, str]:
    """The credentials the caller presented: its Authorization, its gateway key, its session cookie (only the
    ``token`` cookie, as forwarded; other cookies come and go).

    Example:
        >>> caller_credentials({"authorization": "Bearer t", "cookie": "a=1; token=x"}, {"cookie": "token=x"})
        {'authorization': 'Bearer t', 'x-gateway-key': '', 'cookie': 'token=x'}
    """
    return {
        "authorization": headers.get("authorization", ""),
        "x-gateway-key": headers.get("x-gateway-key", ""),
        "cookie": forwarded.get("cookie", ""),
    }


def record_key(names: KeyedNames, credentials: Mapping[str, str], key: str) -> str:
    """The store's name for ``key`` sent with these credentials: keyed with the deployment's secret, so neither
    a credential nor anything a guess could be checked against is ever stored.

    Example:
        >>> names = KeyedNames(b"s" * 32)
        >>> a, b = {"authorization": "Bearer a"}, {"authorization": "Bearer b"}
        >>> record_key(names, a, "k") == record_key(names, b, "k")
        False
    """
    return names.digest("idempotency", *(credentials.get(name, "") for name in _CREDENTIALS), key)


def settle_of(result: Any, sets_cookie: bool) -> Settle:
    """What to remember of an execution result (None: the client left before it ended)."""
    if result is None:
        return Settle.UNKNOWN
    if sets_cookie:
        return Settle.RELEASE
    if not result.errors:
        return Settle.DONE
    if result.data is None and all(error.path is None for error in result.errors):
        return Settle.RELEASE  # refused before anything ran
    return Settle.UNKNOWN


def withhold_secrets(body: dict[str, Any], revealed: set[str]) -> dict[str, Any]:
    """``body`` as it may be remembered: every string equal to a revealed value masked, and the answer marked.

    Example:
        >>> withhold_secrets({"data": {"value": "sk-bf-0123456789abcd"}}, {"sk-bf-0123456789abcd"})
        {'data': {'value': 'sk-bf-…abcd'}, 'extensions': {'idempotency': {'secretsWithheld': True}}}
    """

    def masked(value: Any) -> Any:
        if isinstance(value, str):
            return mask_secret(value) if value in revealed else value
        if isinstance(value, dict):
            return {name: masked(item) for name, item in value.items()}
        if isinstance(value, list):
            return [masked(item) for item in value]
        return value

    kept = masked(body)
    kept["extensions"] = {**kept.get("extensions", {}), "idempotency": {"secretsWithheld": True}}
    return kept


# What a run answers, what to remember of it, and the body to remember instead of the answer's (None: the same).
Run = Callable[[float | None], Awaitable[tuple[Response, Settle, bytes | None]]]


class IdempotentMutations:
    """Runs keyed mutations through a key store.

    Args:
        store: where records live (this process's, or Redis shared by the replicas).
        names: keys each record's name and fingerprint (``app.keyed_names``).
        wait: seconds a retry waits for a first request still running (``IDEMPOTENCY_WAIT``).

    Example:
        >>> from app.keyed_names import process_names
        >>> from app.shared_state import InProcessIdempotencyStore
        >>> store = InProcessIdempotencyStore(ttl=86400, lease=60)
        >>> mutations = IdempotentMutations(store, names=process_names(), wait=20)
    """

    def __init__(self, store: IdempotencyStore, *, names: KeyedNames, wait: float) -> None:
        self.store = store
        self.names = names
        self.wait = wait

    def stored_as(self, credentials: Mapping[str, str], key: str, same: str) -> tuple[str, str]:
        """The record's name and the request's fingerprint as the store keeps them: both keyed, as the
        fingerprint covers the variables, which may hold a secret."""
        return record_key(self.names, credentials, key), self.names.digest("idempotency-request", same)

    async def run(self, key: str, credentials: Mapping[str, str], same: str, execute: Run) -> Response:
        """Answer a keyed mutation: replay, wait, refuse, or ``execute(earlier_attempt_at)`` and remember.

        Raises:
            IdempotencyProblem: 422 for a reused key, 409 when the first request is still running.
        """
        name, same = self.stored_as(credentials, key, same)
        claim = await self.store.claim(name, same)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        poll = 0.005
        while claim.state is ClaimState.RUNNING:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise IdempotencyProblem(
                    409,
                    "a request with this Idempotency-Key is still running",
                    "IDEMPOTENCY_KEY_IN_USE",
                    {"retry-after": "1"},
                )
            await self.store.changed(name, min(poll, remaining))
            poll = min(poll * 2, 0.1)
            claim = await self.store.claim(name, same)
        if claim.state is ClaimState.MISMATCH:
            raise IdempotencyProblem(
                422, "Idempotency-Key was already used with a different request", "IDEMPOTENCY_KEY_REUSED"
            )
        if claim.state is ClaimState.DONE:
            assert claim.answer is not None
            return _replay(claim.answer)
        try:
            response, settle, remembered = await execute(
                claim.attempted_at if claim.state is ClaimState.CHECK else None
            )
        except BaseException:
            await self.store.unsure(name, claim)
            raise
        if settle is Settle.DONE:
            await self.store.finish(
                name,
                claim,
                Answer(
                    response.status_code,
                    response.media_type or "",
                    bytes(response.body) if remembered is None else remembered,
                ),
            )
        elif settle is Settle.UNKNOWN:
            await self.store.unsure(name, claim)
        else:
            await self.store.release(name, claim)
        return response


def _replay(answer: Answer) -> Response:
    return Response(
        answer.body, status_code=answer.status, media_type=answer.media_type, headers={REPLAYED_HEADER: "true"}
    )
