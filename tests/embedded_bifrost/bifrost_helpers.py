"""Helpers shared by the embedded Bifrost server's tests."""

from __future__ import annotations

import re
import socket
import time
from typing import Any

import httpx

from app.embedded_bifrost.catalog import SEEDED_KEYS

BASE_URL = "http://bifrost"


def client_for(app: Any) -> httpx.AsyncClient:
    """An HTTP client whose wire is the app itself."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=BASE_URL)


def message_of(response: httpx.Response) -> str:
    """The ``error.message`` of Bifrost's error envelope (asserting the envelope's shape on the way)."""
    body = response.json()
    assert body["is_bifrost_error"] is False
    assert body["status_code"] == response.status_code
    assert body["extra_fields"] == {}
    message: str = body["error"]["message"]
    return message


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_TIME = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z")
_CATALOG_IDS = {key[2].encode() for key in SEEDED_KEYS}


def normalise_answers(bodies: list[bytes]) -> bytes:
    """Answers joined by lines, generated ids and timestamps replaced by ``<id N>``/``<time N>`` in order of first
    appearance (which keeps which values are equal to which); the catalog's fixed key ids stay."""
    seen: dict[bytes, bytes] = {}

    def token(kind: str) -> Any:
        def replace(match: re.Match[bytes]) -> bytes:
            value = match.group(0)
            if value in _CATALOG_IDS:
                return value
            return seen.setdefault(value, f"<{kind} {len(seen)}>".encode())

        return replace

    return b"\n".join(_TIME.sub(token("time"), _UUID.sub(token("id"), body)) for body in bodies) + b"\n"


class FakeClock:
    """A settable clock for the embedded server (``app.state.context.clock``): time moves only when told.

    Example:
        >>> clock = FakeClock()
        >>> before = clock()
        >>> clock.advance(90)
        >>> clock() - before
        90000000000
    """

    def __init__(self) -> None:
        self.now_ns = time.time_ns()

    def __call__(self) -> int:
        return self.now_ns

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now_ns += int(seconds * 10**9)
