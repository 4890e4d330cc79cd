"""Whose credentials go upstream: one answer per request, worked out here and nowhere else.

* The caller's own Bifrost credentials (an ``Authorization`` header that is not a gateway key, or the
  ``token`` cookie) are forwarded as they are, and win over anything else.
* A backend that presents a gateway key (``X-Gateway-Key: gk_...`` or ``Authorization: Bearer gk_...``)
  is authenticated by the gateway; the service credential goes upstream in its place. The key itself
  never leaves the gateway: one sent anywhere else (the ``token`` cookie, another ``Authorization``
  scheme, no scheme) is refused rather than forwarded as the caller's own credential.
* The holder of a Bifrost virtual key (``x-bf-vk: <value>`` or ``Authorization: Bearer sk-bf-...``) is a
  ``VIRTUAL_KEY`` caller: no credentials go upstream for it, never the service credential; its key goes to
  Bifrost's quota route only (``myVirtualKey``), and every other field is refused before anything is sent
  (``app.schema.self_service.guard``). A key sent with any other credential is ambiguous (400); one sent
  where the gateway does not read it (the ``token`` cookie, another scheme, Bifrost's ``x-api-key``,
  ``x-goog-api-key`` or ``api-key``) is refused rather than ignored or forwarded as somebody's token.
* Anybody else is anonymous and goes upstream without credentials, unless the operator set
  ``ALLOW_ANONYMOUS_SERVICE_CREDENTIALS``.

Login and logout never use the service credential: they get ``session_headers``, which carry the
caller's own credentials or none.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Protocol

from app.bifrost.quota import is_key_value
from app.keys import KEY_PREFIX, KeyRing
from app.schema.caller import ANONYMOUS, Caller, CallerKind
from app.settings import Settings
from app.web.cookies import InvalidTokenCookie, token_cookie
from app.web.shared_queries import caller_identity

__all__ = [
    "REMEMBERED_BYTES",
    "REMEMBERED_CALLERS",
    "CallerPolicy",
    "CallerRefused",
    "IdentifiedCaller",
    "service_headers",
]

GATEWAY_KEY_HEADER = "x-gateway-key"
VIRTUAL_KEY_HEADER = "x-bf-vk"
VIRTUAL_KEY_PREFIX = "sk-bf-"
# Headers Bifrost's inference routes read a virtual key from; the gateway does not, so a key there is refused.
_UNREAD_KEY_HEADERS = frozenset({b"x-api-key", b"x-goog-api-key", b"api-key"})
# Every header ``identify`` reads: what it answers depends on these alone.
_READ_HEADERS = frozenset({b"authorization", b"cookie", b"x-gateway-key", b"x-bf-vk"}) | _UNREAD_KEY_HEADERS
REMEMBERED_CALLERS = 1024
"""Sets of credential headers whose caller is remembered (the most recently used)."""
REMEMBERED_BYTES = 4096
"""The largest set of credential headers remembered: the memory holds their bytes, and a set may be as large as
the request head (``MAX_HEADER_BYTES``, a cookie header of unrelated cookies), so a client sending distinct
large ones would otherwise pin ``REMEMBERED_CALLERS`` heads. Larger sets are worked out for each request."""
_OWN_CREDENTIALS = Caller(CallerKind.OWN_CREDENTIALS, can_reveal=True)
_NONE: Mapping[str, str] = MappingProxyType({})


class _Headers(Protocol):
    @property
    def raw(self) -> list[tuple[bytes, bytes]]: ...


class CallerRefused(Exception):
    """The request's credentials are refused at the edge: HTTP status, message and code."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


_MISPLACED_KEY = "send a gateway key as X-Gateway-Key or Authorization: Bearer, nowhere else"
_MISPLACED_VIRTUAL_KEY = "send a virtual key as x-bf-vk or Authorization: Bearer, nowhere else"
_AMBIGUOUS_VIRTUAL_KEY = "send a virtual key alone, without a gateway key or Bifrost credentials"


@dataclass(frozen=True, slots=True)
class IdentifiedCaller:
    """A caller and the credential headers to send upstream on its behalf."""

    caller: Caller
    upstream: Mapping[str, str]
    """For every governance call."""
    session: Mapping[str, str]
    """For login and logout: the caller's own credentials only."""
    # Worked out once per caller (a caller is remembered across its requests: ``CallerPolicy.identify``),
    # not on each request that reads them.
    log_name: str = field(init=False, repr=False, compare=False)
    """How the request's log line names the caller (``Caller.log_name``)."""
    is_key_holder: bool = field(init=False, repr=False, compare=False)
    """True for the holder of a virtual key (``Caller.is_key_holder``)."""
    sharing: tuple[object, ...] = field(init=False, repr=False, compare=False)
    """Who the caller is as far as a query's answer goes (``app.web.shared_queries.caller_identity``)."""

    def __post_init__(self) -> None:
        caller = self.caller
        object.__setattr__(self, "log_name", caller.log_name)
        object.__setattr__(self, "is_key_holder", caller.is_key_holder)
        object.__setattr__(self, "sharing", caller_identity(caller, self.credentials))

    @property
    def credentials(self) -> Mapping[str, str]:
        """Every credential header sent upstream on the caller's behalf: ``upstream`` and ``session`` together.

        Example:
            >>> IdentifiedCaller(ANONYMOUS, {"authorization": "Bearer svc"}, {}).credentials
            {'authorization': 'Bearer svc'}
        """
        if self.session is self.upstream or not self.session:
            return self.upstream  # a caller's own credentials go with both; otherwise login and logout get none
        return {**self.upstream, **self.session}


class CallerPolicy:
    """Turns a request's headers into an ``IdentifiedCaller``.

    Example:
        >>> from starlette.datastructures import Headers
        >>> policy = CallerPolicy(KeyRing(()), {"authorization": "Bearer svc"})
        >>> policy.identify(Headers({"authorization": "Bearer mine"})).upstream
        {'authorization': 'Bearer mine'}
    """

    def __init__(
        self, keys: KeyRing, service: Mapping[str, str], *, anonymous_gets_service_credentials: bool = False
    ) -> None:
        self.keys = keys
        lent: Mapping[str, str] = MappingProxyType(dict(service))
        # Gateway-key and anonymous callers are the same for every request: worked out once.
        self._anonymous = IdentifiedCaller(ANONYMOUS, lent if anonymous_gets_service_credentials else _NONE, _NONE)
        self._by_label = {
            key.label: IdentifiedCaller(
                Caller(CallerKind.GATEWAY_KEY, key_label=key.label, can_reveal=key.can_reveal), lent, _NONE
            )
            for key in keys.keys
        }
        # The keys are fixed for the policy's life, so what a set of credential headers says is too.
        self._identified = lru_cache(maxsize=REMEMBERED_CALLERS)(self._identify)

    @classmethod
    def from_settings(cls, settings: Settings) -> CallerPolicy:
        """The policy ``settings`` describe."""
        return cls(
            KeyRing(settings.gateway_api_keys),
            service_headers(settings),
            anonymous_gets_service_credentials=settings.allow_anonymous_service_credentials,
        )

    def identify(self, headers: _Headers) -> IdentifiedCaller:
        """Who is calling, from all of the request's headers.

        The answer depends on the credential headers alone (in their order), so it is remembered for the last
        ``REMEMBERED_CALLERS`` sets of them (of ``REMEMBERED_BYTES`` at most): a client sends the same ones with
        each request. A refusal is not remembered; nor is anything for a request without credentials (there is
        nothing to work out).

        Raises:
            CallerRefused: ambiguous credentials (400) or a gateway key or token cookie that is not valid (401).
        """
        # Any: a server may give each header as a list (ASGI allows it) where Starlette's stub says tuple; compiled
        # (app/native.py) the declared type would be checked.
        raw: list[Any] = headers.raw
        presented = tuple([(name, value) for name, value in raw if name in _READ_HEADERS])
        if not presented:
            return self._anonymous
        if len(presented) == 1:  # the usual case: one credential header, its size is its value's
            size = len(presented[0][1])
        else:
            size = sum([len(value) for _, value in presented])
        if size > REMEMBERED_BYTES:
            return self._identify(presented)
        return self._identified(presented)

    def _identify(self, presented: tuple[tuple[bytes, bytes], ...]) -> IdentifiedCaller:
        # One pass over the credential headers (names arrive lower-cased from ASGI servers).
        authorizations: list[bytes] = []
        keys: list[bytes] = []
        cookies: list[str] = []
        virtual_keys: list[bytes] = []
        for name, value in presented:
            if name == b"authorization":
                authorizations.append(value)
            elif name == b"cookie":
                cookies.append(value.decode("latin-1"))
            elif name == b"x-gateway-key":
                keys.append(value)
            elif name == b"x-bf-vk":
                virtual_keys.append(value)
            elif name in _UNREAD_KEY_HEADERS and _looks_like_virtual_key(value.decode("latin-1")):
                raise CallerRefused(401, _MISPLACED_VIRTUAL_KEY, "UNAUTHENTICATED")
        if not (authorizations or cookies or keys or virtual_keys):
            return self._anonymous
        authorization = _single(authorizations, "authorization")
        presented_key = _single(keys, GATEWAY_KEY_HEADER)
        virtual_key = _single(virtual_keys, VIRTUAL_KEY_HEADER)
        if authorization is not None and _is_virtual_key(authorization):
            if virtual_key is not None:
                raise CallerRefused(400, "send the virtual key in one header only", "BAD_REQUEST")
            virtual_key, authorization = authorization[7:], None
        elif authorization is not None and _looks_like_virtual_key(authorization.strip().rpartition(" ")[2]):
            raise CallerRefused(401, _MISPLACED_VIRTUAL_KEY, "UNAUTHENTICATED")
        if virtual_key is not None:
            return self._key_holder(virtual_key, authorization, presented_key, cookies)
        if authorization is not None and _is_gateway_key(authorization):
            if presented_key is not None:
                raise CallerRefused(400, "send the gateway key in one header only", "BAD_REQUEST")
            presented_key, authorization = authorization[7:].strip(), None
        elif authorization is not None and _looks_like_gateway_key(authorization.strip().rpartition(" ")[2]):
            # Forwarded as the caller's own credential, it would reach Bifrost.
            raise CallerRefused(401, _MISPLACED_KEY, "UNAUTHENTICATED")
        key = None
        if presented_key is not None:
            key = self.keys.find(presented_key.strip())
            if key is None:
                raise CallerRefused(401, "the gateway key is not valid", "UNAUTHENTICATED")
        try:
            token = token_cookie(cookies)
        except InvalidTokenCookie as error:
            raise CallerRefused(401, str(error), "UNAUTHENTICATED") from None
        if token is not None and _looks_like_gateway_key(token):
            raise CallerRefused(401, _MISPLACED_KEY, "UNAUTHENTICATED")
        if token is not None and _looks_like_virtual_key(token):
            raise CallerRefused(401, _MISPLACED_VIRTUAL_KEY, "UNAUTHENTICATED")
        own: dict[str, str] = {}
        if authorization is not None:
            own["authorization"] = authorization
        if token is not None:
            own["cookie"] = f"token={token}"
        if own:
            return IdentifiedCaller(_OWN_CREDENTIALS, own, own)
        if key is not None:
            return self._by_label[key.label]
        return self._anonymous

    @staticmethod
    def _key_holder(
        virtual_key: str, authorization: str | None, gateway_key: str | None, cookies: list[str]
    ) -> IdentifiedCaller:
        # Whose credentials would go upstream cannot be told when a key comes with anything else.
        if authorization is not None or gateway_key is not None:
            raise CallerRefused(400, _AMBIGUOUS_VIRTUAL_KEY, "BAD_REQUEST")
        try:
            token = token_cookie(cookies)
        except InvalidTokenCookie:
            token = ""  # a token cookie all the same, if not a valid one
        if token is not None:
            raise CallerRefused(400, _AMBIGUOUS_VIRTUAL_KEY, "BAD_REQUEST")
        value = virtual_key.strip()
        if not is_key_value(value):
            raise CallerRefused(401, "the virtual key is not valid", "UNAUTHENTICATED")
        return IdentifiedCaller(Caller(CallerKind.VIRTUAL_KEY, virtual_key=value), _NONE, _NONE)


def service_headers(settings: Settings) -> dict[str, str]:
    """The service credential's ``Authorization`` header (empty when none is configured)."""
    if settings.bifrost_api_token is not None:
        return {"authorization": f"Bearer {settings.bifrost_api_token.get_secret_value()}"}
    if settings.bifrost_username is not None and settings.bifrost_password is not None:
        pair = f"{settings.bifrost_username}:{settings.bifrost_password.get_secret_value()}"
        return {"authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    return {}


def _single(values: list[bytes], name: str) -> str | None:
    if len(values) > 1:
        raise CallerRefused(400, f"send at most one {name} header", "BAD_REQUEST")
    return values[0].decode("latin-1") if values else None


def _is_gateway_key(authorization: str) -> bool:
    # Any case: a mistyped key is refused here rather than sent upstream as somebody's token.
    return authorization[:7].lower() == "bearer " and authorization[7:].strip().lower().startswith(KEY_PREFIX)


def _is_virtual_key(authorization: str) -> bool:
    # Any case, as Bifrost reads the prefix: a key in a bearer header is never forwarded as an admin's token.
    return authorization[:7].lower() == "bearer " and _looks_like_virtual_key(authorization[7:])


def _looks_like_virtual_key(credential: str) -> bool:
    return credential.strip()[: len(VIRTUAL_KEY_PREFIX)].lower() == VIRTUAL_KEY_PREFIX


def _looks_like_gateway_key(credential: str) -> bool:
    # Bifrost's own credentials never start so: session tokens are UUIDs, and Basic is base64 (no "_").
    return credential.strip()[:3].lower() == KEY_PREFIX
