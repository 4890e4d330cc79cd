"""TRUSTED_DOCUMENTS and TRUSTED_DOCUMENTS_MODE: read from the environment, refused with the setting named."""

from __future__ import annotations

import pytest

from app.settings import SettingsError, load_settings

SIGNED = "https://storage.example/manifest.json?signature=secret-0123456789"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TRUSTED_DOCUMENTS", "TRUSTED_DOCUMENTS_MODE", "GATEWAY_ENV", "BIFROST_URL", "EMBEDDED_BIFROST"):
        monkeypatch.delenv(name, raising=False)


def test_the_manifest_and_mode_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_DOCUMENTS", SIGNED)
    monkeypatch.setenv("TRUSTED_DOCUMENTS_MODE", "allow-unlisted")
    settings = load_settings()
    assert settings.trusted_documents is not None
    assert settings.trusted_documents.get_secret_value() == SIGNED
    assert settings.trusted_documents_mode == "allow-unlisted"
    assert "secret-0123456789" not in repr(settings)


def test_enforce_is_the_default_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_DOCUMENTS", "persisted-documents.json")
    assert load_settings().trusted_documents_mode == "enforce"


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"TRUSTED_DOCUMENTS_MODE": "enforce"}, "TRUSTED_DOCUMENTS_MODE: is set but TRUSTED_DOCUMENTS"),
        ({"TRUSTED_DOCUMENTS": "m.json", "TRUSTED_DOCUMENTS_MODE": "log"}, "TRUSTED_DOCUMENTS_MODE:"),
        ({"TRUSTED_DOCUMENTS": "   "}, "TRUSTED_DOCUMENTS: must be a file path or an http(s) URL"),
        ({"TRUSTED_DOCUMENTS": "ftp://files.example/m.json"}, "TRUSTED_DOCUMENTS: must be a file path or an http"),
        ({"TRUSTED_DOCUMENTS": "https://"}, "TRUSTED_DOCUMENTS: must be a file path or an http"),
        ({"TRUSTED_DOCUMENTS": "https://[::1/m.json"}, "TRUSTED_DOCUMENTS: must be a file path or an http"),
        (
            {"TRUSTED_DOCUMENTS": "http://cdn.example/m.json", "GATEWAY_ENV": "production"},
            "TRUSTED_DOCUMENTS: must be an https:// URL",
        ),
        (
            {"TRUSTED_DOCUMENTS": "http://localhost.cdn.example/m.json", "GATEWAY_ENV": "production"},
            "TRUSTED_DOCUMENTS: must be an https:// URL",
        ),
    ],
)
def test_a_bad_trusted_documents_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: str
) -> None:
    monkeypatch.setenv("BIFROST_URL", "http://bifrost.test")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert f"invalid setting {expected}" in str(refused.value)
    assert "cdn.example" not in str(refused.value)


@pytest.mark.parametrize(
    "location", ["https://cdn.example/m.json", "http://127.0.0.1:9000/m.json", "http://localhost/m.json", "/srv/m.json"]
)
def test_production_takes_https_loopback_http_or_a_file(monkeypatch: pytest.MonkeyPatch, location: str) -> None:
    monkeypatch.setenv("GATEWAY_ENV", "production")
    monkeypatch.setenv("BIFROST_URL", "http://bifrost.test")
    monkeypatch.setenv("TRUSTED_DOCUMENTS", location)
    assert load_settings().trusted_documents is not None
