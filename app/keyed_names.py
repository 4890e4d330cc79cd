"""Names derived from credentials, keyed with the deployment's secret (HMAC-SHA-256 under ``REDIS_KEY_SECRET``).

Whatever the gateway names after a credential is named by an HMAC of it, never by a plain hash: an idempotency
record (the caller's Authorization, gateway key and session cookie), a live watch's lease, snapshot and channel
(the credentials its polls send), a login window (the username tried). Someone who can read Redis (a shared
instance, a snapshot, ``MONITOR``) then cannot test guesses of a token or a low-entropy credential against the
names offline: without the secret, a name says nothing.

Every replica with the same secret computes the same names, so they share records, pollers and counts; with
another secret, other names. Without ``REDIS_KEY_SECRET`` the names are keyed with a random secret of this
process (``process_names``): fine for a single gateway, but replicas then share nothing through Redis, so
production refuses ``REDIS_URL`` without it (``app.settings``).

Each name says what it is for (``purpose``), and each part is length-prefixed, so names of different things,
or of different splits of the same text, never collide.

Example:
    >>> names = KeyedNames(b"s" * 32)
    >>> names.digest("login-username", "admin") == KeyedNames(b"s" * 32).digest("login-username", "admin")
    True
    >>> names.digest("login-username", "admin") == KeyedNames(b"t" * 32).digest("login-username", "admin")
    False
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

__all__ = ["MIN_SECRET_CHARS", "KeyedNames", "keyed_names", "process_names"]

log = logging.getLogger("app.shared_state")

MIN_SECRET_CHARS = 32


class KeyedNames:
    """HMAC-SHA-256 digests under one secret.

    Args:
        secret: the key; at least ``MIN_SECRET_CHARS`` bytes.

    Example:
        >>> KeyedNames(b"k" * 32).digest("idempotency", "Bearer t", "order-1")[:8]
        '01965f1e'
    """

    __slots__ = ("_keyed",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(f"the secret must be at least {MIN_SECRET_CHARS} bytes")
        self._keyed = hmac.new(secret, digestmod=hashlib.sha256)  # copied per digest: the key is set up once

    def digest(self, purpose: str, *parts: str) -> str:
        """The lower-case hex HMAC of ``purpose`` and ``parts`` (any text, each length-prefixed)."""
        mac = self._keyed.copy()
        for part in (purpose, *parts):
            encoded = part.encode("utf-8", "surrogatepass")  # any str, injectively
            mac.update(b"%d:" % len(encoded))
            mac.update(encoded)
        return mac.hexdigest()

    def __repr__(self) -> str:
        return "KeyedNames(<secret>)"


_process: KeyedNames | None = None


def process_names() -> KeyedNames:
    """This process's own names: keyed with a random secret made once (nothing outside the process shares it)."""
    global _process
    if _process is None:
        _process = KeyedNames(secrets.token_bytes(32))
    return _process


_warned = False


def keyed_names(secret: str | None, *, shared_through_redis: bool) -> KeyedNames:
    """The names for ``REDIS_KEY_SECRET`` (``secret``), or this process's own without it.

    With Redis and no secret (allowed outside production only), one warning per process says that replicas do
    not share what Redis holds.

    Example:
        >>> keyed_names(None, shared_through_redis=False) is process_names()
        True
    """
    global _warned
    if secret is not None:
        # Stripped: a trailing newline on one replica's copy must not split the replicas' names.
        return KeyedNames(secret.strip().encode("utf-8", "surrogatepass"))
    if shared_through_redis and not _warned:
        _warned = True
        log.warning(
            "REDIS_KEY_SECRET is not set: the names this gateway writes into Redis are keyed with a random secret "
            "of this process, so replicas do not share idempotency keys, live pollers or login counts; set "
            "REDIS_KEY_SECRET (at least 32 characters, the same on every replica)"
        )
    return process_names()
