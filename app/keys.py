"""Gateway keys: how backends (BFFs) prove to the gateway who they are.

A gateway key is a random secret that starts with ``gk_``. Configuration never holds the key itself,
only ``<label>:<sha256 hex of the key>`` (``:reveal`` appended when the holder may read virtual-key
values), comma-separated in ``GATEWAY_API_KEYS``. A presented key is hashed once and compared with
every entry in constant time, without stopping at the first match.

``python -m app.keys new <label> [--reveal]`` prints a fresh key and the entry to configure for it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sys
from dataclasses import dataclass

__all__ = ["KEY_PREFIX", "GatewayKey", "KeyRing", "entry_for", "new_key", "parse_gateway_keys"]

KEY_PREFIX = "gk_"
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_MAX_KEY_CHARS = 512


@dataclass(frozen=True, slots=True)
class GatewayKey:
    """One configured key: who holds it, the SHA-256 of the key, and whether it may reveal key values.

    Example:
        >>> key = parse_gateway_keys("dashboard:" + "ab" * 32 + ":reveal")[0]
        >>> key.label, key.can_reveal
        ('dashboard', True)
    """

    label: str
    digest: bytes
    can_reveal: bool = False


def parse_gateway_keys(raw: str) -> tuple[GatewayKey, ...]:
    """The keys of a ``GATEWAY_API_KEYS`` value; a ValueError names the bad entry by position (never its text,
    which could be a raw key pasted by mistake)."""
    keys: list[GatewayKey] = []
    labels: set[str] = set()
    for position, entry in enumerate((part.strip() for part in raw.split(",")), start=1):
        if not entry:
            continue
        parts = entry.split(":")
        if entry.startswith(KEY_PREFIX):
            raise ValueError(f"entry {position} is a raw key; configure <label>:<sha256 hex of the key> instead")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "reveal"):
            raise ValueError(f"entry {position} must be <label>:<sha256 hex>[:reveal]")
        label, digest = parts[0], parts[1]
        if not _LABEL.fullmatch(label):
            raise ValueError(f"entry {position}: the label must be 1-64 letters, digits, '_', '.' or '-'")
        if not _DIGEST.fullmatch(digest):
            raise ValueError(f"entry {position}: the hash must be 64 hex digits (SHA-256 of the key)")
        if label in labels:
            raise ValueError(f"entry {position}: the label {label!r} is used twice")
        labels.add(label)
        keys.append(GatewayKey(label, bytes.fromhex(digest), can_reveal=len(parts) == 3))
    return tuple(keys)


class KeyRing:
    """The configured keys, checked in constant time.

    Example:
        >>> key, entry = new_key("bff")
        >>> ring = KeyRing(parse_gateway_keys(entry))
        >>> ring.find(key).label, ring.find("gk_wrong")
        ('bff', None)
    """

    def __init__(self, keys: tuple[GatewayKey, ...]) -> None:
        self.keys = keys

    def find(self, presented: str) -> GatewayKey | None:
        """The entry whose hash matches ``presented``, or None."""
        if len(presented) > _MAX_KEY_CHARS:
            return None  # no configured key is that long; hashing it would only cost time
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        found: GatewayKey | None = None
        for key in self.keys:
            # Every entry is compared, so the time taken does not say which one matched.
            if hmac.compare_digest(digest, key.digest):
                found = key
        return found


def entry_for(label: str, key: str, *, can_reveal: bool = False) -> str:
    """The ``GATEWAY_API_KEYS`` entry for ``key``.

    Example:
        >>> entry_for("bff", "gk_x")[:4]
        'bff:'
    """
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{label}:{digest}" + (":reveal" if can_reveal else "")


def new_key(label: str, *, can_reveal: bool = False) -> tuple[str, str]:
    """A fresh key (256 random bits) and its configuration entry."""
    if not _LABEL.fullmatch(label):
        raise ValueError("the label must be 1-64 letters, digits, '_', '.' or '-'")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, entry_for(label, key, can_reveal=can_reveal)


def main(argv: list[str]) -> int:
    """``new <label> [--reveal]``: print a new key and its entry."""
    args = [a for a in argv if a != "--reveal"]
    if len(args) != 2 or args[0] != "new":
        print("usage: python -m app.keys new <label> [--reveal]", file=sys.stderr)
        return 2
    try:
        key, entry = new_key(args[1], can_reveal="--reveal" in argv)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"key (give to the backend, shown once): {key}")
    print(f"GATEWAY_API_KEYS entry:                {entry}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
