"""Helpers shared by the embedded Bifrost server's tests."""

from __future__ import annotations

import socket
from typing import Any

import httpx

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
