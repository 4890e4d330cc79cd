"""Helpers shared by the embedded Bifrost server's tests."""

from __future__ import annotations

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
