"""Settings: environment variables, defaults, and errors that name the setting."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.settings import SettingsError, load_settings


def test_defaults_use_embedded_bifrost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BIFROST_URL", raising=False)
    settings = load_settings()
    assert settings.uses_embedded_bifrost
    assert (settings.gateway_host, settings.gateway_port) == ("127.0.0.1", 8000)


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIFROST_URL", "http://127.0.0.1:8080/")
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "http://a.test, http://b.test")
    settings = load_settings()
    assert settings.upstream_base_url == "http://127.0.0.1:8080"
    assert settings.cors_allow_origins == ["http://a.test", "http://b.test"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEWAY_PORT", "eighty"),
        ("BIFROST_URL", "not a url"),
        ("UPSTREAM_READ_TIMEOUT", "-1"),
        ("BIFROST_API_GENERATION", "v9"),
    ],
)
def test_invalid_setting_is_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_invalid_setting_stops_start_up() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app"],
        env={"GATEWAY_PORT": "x", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "GATEWAY_PORT" in result.stderr


@pytest.mark.parametrize(
    ("environment", "name"),
    [
        ({"UPSTREAM_CONNECT_TIMEOUT": "5", "UPSTREAM_TOTAL_TIMEOUT": "1"}, "UPSTREAM_TOTAL_TIMEOUT"),
        ({"MAX_DOCUMENT_BYTES": "4096", "MAX_BODY_BYTES": "2048"}, "MAX_DOCUMENT_BYTES"),
        (
            {"GATEWAY_ENV": "production", "CORS_ALLOW_ORIGINS": "*", "BIFROST_URL": "http://b.test"},
            "CORS_ALLOW_ORIGINS",
        ),
    ],
)
def test_conflicting_settings_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], name: str
) -> None:
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(f"invalid setting {name}: ")
    assert "settings:" not in message and "Value error" not in message
