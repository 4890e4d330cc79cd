"""A client that leaves in the middle of its request body: an INFO line with its own outcome, never an ERROR."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.gateway.conftest import make_gateway

SCOPE = {
    "type": "http",
    "method": "POST",
    "path": "/graphql",
    "raw_path": b"/graphql",
    "query_string": b"",
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
    "http_version": "1.1",
    "scheme": "http",
    "server": ("gw", 80),
    "client": ("127.0.0.1", 5000),
    "root_path": "",
}


async def test_leaving_mid_body_is_logged_as_client_closed_not_as_an_error(caplog: pytest.LogCaptureFixture) -> None:
    gw = await make_gateway("current")
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"query": "{ __typ', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with caplog.at_level(logging.DEBUG):
        await asyncio.wait_for(gw.app(dict(SCOPE), receive, send), 5)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    request_lines = [r for r in caplog.records if r.getMessage() == "request"]
    assert len(request_lines) == 1
    assert request_lines[0].levelno == logging.INFO
    assert request_lines[0].outcome == "CLIENT_CLOSED_REQUEST"  # type: ignore[attr-defined]
    assert sent[0]["status"] == 499
    assert gw.upstream_calls() == []
    await gw.http.aclose()
