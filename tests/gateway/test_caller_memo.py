"""The caller a set of credential headers names is worked out once and remembered: the same answer every time.

Differential: whatever headers a client sends (any mix of credentials, hostile values, repeats, other
headers around them), a policy that remembers answers them as a fresh policy does, the second time too;
a refusal is refused again, never remembered as a caller.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from app.keys import KeyRing, entry_for, parse_gateway_keys
from app.web.callers import REMEMBERED_CALLERS, CallerPolicy, CallerRefused
from app.web.request_headers import RequestHeaders
from tests.gateway.document_variants import DIFFERENTIAL_SEED
from tests.gateway.guarded import ADMIN_KEY, BFF_KEY

KEYS = ",".join([entry_for("bff", BFF_KEY), entry_for("admin-console", ADMIN_KEY, can_reveal=True)])
VIRTUAL_KEY = "sk-bf-0123456789abcdef0123456789abcdef"
VALUES = [
    f"Bearer {BFF_KEY}",
    f"bearer {ADMIN_KEY}",
    "Bearer gk_not-configured-0123456789",
    "Bearer mine",
    "Basic YWRtaW46c2VjcmV0",
    f"Bearer {VIRTUAL_KEY}",
    VIRTUAL_KEY,
    "sk-bf-short",
    BFF_KEY,
    "token=abc",
    f"token={BFF_KEY}",
    f"token={VIRTUAL_KEY}",
    'token="unterminated',
    "token=a; token=b",
    "",
    " ",
    "é",
]
NAMES = [b"authorization", b"cookie", b"x-gateway-key", b"x-bf-vk", b"x-api-key", b"api-key", b"accept", b"x-other"]
HEADERS = st.lists(
    st.tuples(st.sampled_from(NAMES), st.sampled_from(VALUES).map(lambda value: value.encode("utf-8"))), max_size=4
)


def policy(*, lend: bool = False) -> CallerPolicy:
    return CallerPolicy(
        KeyRing(parse_gateway_keys(KEYS)),
        {"authorization": "Basic c3ZjOnN2Yw=="},
        anonymous_gets_service_credentials=lend,
    )


def answer(of: CallerPolicy, raw: list[Any]) -> Any:
    try:
        identified = of.identify(RequestHeaders({"headers": raw}))
    except CallerRefused as refused:
        return ("refused", refused.status, refused.code, refused.message)
    return (identified.caller, dict(identified.upstream), dict(identified.session))


@seed(DIFFERENTIAL_SEED)
@settings(max_examples=400, deadline=None)
@given(st.lists(HEADERS, min_size=1, max_size=6), st.booleans())
def test_a_remembering_policy_answers_as_a_fresh_one_every_time(requests: list[list[Any]], lend: bool) -> None:
    remembering = policy(lend=lend)
    for raw in requests + requests:  # each set of headers twice: the second is answered from memory
        assert answer(remembering, raw) == answer(policy(lend=lend), raw), raw


def test_the_same_credentials_give_the_same_caller_and_others_their_own() -> None:
    remembering = policy()
    mine = [(b"authorization", b"Bearer mine")]
    first = remembering.identify(RequestHeaders({"headers": mine}))
    assert remembering.identify(RequestHeaders({"headers": [(b"accept", b"*/*"), *mine]})) is first
    other = remembering.identify(RequestHeaders({"headers": [(b"authorization", b"Bearer yours")]}))
    assert dict(other.upstream) == {"authorization": "Bearer yours"}
    assert dict(first.upstream) == {"authorization": "Bearer mine"}


@pytest.mark.parametrize(
    "raw",
    [
        [(b"x-gateway-key", b"gk_not-configured-0123456789")],
        [(b"authorization", b"Bearer mine"), (b"authorization", b"Bearer mine")],
        [(b"x-api-key", VIRTUAL_KEY.encode())],
        [(b"cookie", f"token={BFF_KEY}".encode())],
    ],
)
def test_a_refusal_is_refused_again_and_never_remembered(raw: list[tuple[bytes, bytes]]) -> None:
    remembering = policy()
    for _ in range(3):
        with pytest.raises(CallerRefused):
            remembering.identify(RequestHeaders({"headers": raw}))
    assert remembering._identified.cache_info().currsize == 0


def test_headers_given_as_lists_are_read_like_tuples() -> None:
    # ASGI allows each header as a two-item list: the memory is keyed by values, never by the server's objects.
    remembering = policy()
    identified = remembering.identify(RequestHeaders({"headers": [[b"authorization", b"Bearer mine"]]}))
    assert dict(identified.upstream) == {"authorization": "Bearer mine"}


def test_what_is_remembered_is_bounded_whatever_clients_send() -> None:
    remembering = policy()
    for number in range(REMEMBERED_CALLERS + 50):
        remembering.identify(RequestHeaders({"headers": [(b"authorization", f"Bearer token-{number}".encode())]}))
    assert remembering._identified.cache_info().currsize == REMEMBERED_CALLERS
    # The oldest was forgotten, and is worked out again as before.
    again = remembering.identify(RequestHeaders({"headers": [(b"authorization", b"Bearer token-0")]}))
    assert dict(again.upstream) == {"authorization": "Bearer token-0"}
