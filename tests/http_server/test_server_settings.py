"""The HTTP server's settings: validated and named when wrong, and handed to uvicorn as configured."""

from __future__ import annotations

import functools

import pytest

from app.http_limits import HttpLimits, LimitedHttpToolsProtocol, server_options
from app.settings import Settings, SettingsError, load_settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_HEADER_BYTES", "100"),
        ("MAX_HEADER_BYTES", "lots"),
        ("MAX_HEADER_COUNT", "0"),
        ("HEADER_TIMEOUT", "0"),
        ("BODY_TIMEOUT", "-1"),
        ("BODY_TIMEOUT", "nan"),
        ("SEND_TIMEOUT", "0"),
        ("KEEPALIVE_TIMEOUT", "inf"),
        ("HTTP_EDGE_LIMITS", "maybe"),
        ("HTTP_DIRECT_RESPONSES", "sometimes"),
        ("APQ_CACHE_BYTES", "-1"),
    ],
)
def test_invalid_server_setting_is_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_uvicorn_gets_the_limited_protocol_with_the_configured_limits() -> None:
    settings = Settings(
        max_header_bytes=4096,
        max_header_count=20,
        header_timeout=3,
        body_timeout=4,
        send_timeout=6,
        keepalive_timeout=2,
    )
    options = server_options(settings)
    protocol = options["http"]
    assert isinstance(protocol, functools.partial) and protocol.func is LimitedHttpToolsProtocol
    assert protocol.keywords == {"limits": HttpLimits(4096, 20, 3, 4, 6), "direct_responses": True}
    assert options["timeout_keep_alive"] == 2


def test_direct_responses_can_be_turned_off() -> None:
    protocol = server_options(Settings(http_direct_responses=False))["http"]
    assert protocol.keywords["direct_responses"] is False


def test_limits_can_be_turned_off() -> None:
    assert server_options(Settings(http_edge_limits=False))["http"] == "httptools"
