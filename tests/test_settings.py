"""Settings: environment variables, defaults, and errors that name the setting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.generations import SEED, V1_5, V2
from app.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_use_embedded_bifrost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BIFROST_URL", raising=False)
    settings = load_settings()
    assert settings.uses_embedded_bifrost
    assert (settings.gateway_host, settings.gateway_port) == ("127.0.0.1", 8000)


def test_the_embedded_server_speaks_v2_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BIFROST_URL", raising=False)
    monkeypatch.delenv("EMBEDDED_BIFROST_GENERATION", raising=False)
    assert load_settings().embedded_generation is V2
    for name, generation in (("seed", SEED), (" V1.5 ", V1_5), ("current", V1_5), ("v2", V2)):
        monkeypatch.setenv("EMBEDDED_BIFROST_GENERATION", name)
        assert load_settings().embedded_generation is generation


def test_an_unknown_embedded_generation_lists_the_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDED_BIFROST_GENERATION", "v3")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert all(name in str(error.value) for name in ("'seed'", "'v1.5'", "'current'", "'v2'"))


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
        ("EMBEDDED_BIFROST_GENERATION", "v9"),
        ("EMBEDDED_BIFROST_GENERATION", "auto"),
        ("EMBEDDED_BIFROST_GENERATION", ""),
        ("MAX_QUERY_COST", "0"),
        ("MAX_QUERY_COST", "lots"),
        ("MAX_UPSTREAM_CALLS_PER_REQUEST", "0"),
        ("MAX_UPSTREAM_BYTES_PER_REQUEST", "100"),
        ("MAX_RESPONSE_BYTES", "-1"),
        ("IDEMPOTENCY_TTL", "0"),
        ("IDEMPOTENCY_WAIT", "-1"),
        ("REDIS_TIMEOUT", "0"),
        ("METRICS_TOKEN", "short"),
        ("METRICS_TOKEN", " " * 32),
        ("METRICS_PORT", "70000"),
        ("METRICS_OPERATION_NAMES", "TeamsPage, not-a-name"),
        ("METRICS_OPERATION_NAMES", "A" * 101),
        ("METRICS_OPERATION_NAMES", ",".join(f"Op{i}" for i in range(1001))),
        ("MAX_COST_IN_FLIGHT", "0"),
        ("QUEUE_ABOVE_COST", "-1"),
        ("LIVE_MAX_POLLED_IDS_PER_CLIENT", "0"),
        ("LIVE_MAX_POLLED_IDS_PER_CLIENT", "-5"),
        ("LIVE_MAX_POLLED_IDS_PER_CLIENT", "100001"),
        ("LIVE_MAX_POLLED_IDS_PER_CLIENT", "many"),
        ("LIVE_MAX_POLLED_IDS_PER_CLIENT", "1.5"),
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
        ({"GATEWAY_ENV": "production"}, "BIFROST_URL"),
        ({"GATEWAY_ENV": "production", "EMBEDDED_BIFROST": "false"}, "BIFROST_URL"),
        ({"EMBEDDED_BIFROST": "true", "BIFROST_URL": "http://b.test"}, "EMBEDDED_BIFROST"),
        ({"GATEWAY_PORT": "9000", "METRICS_PORT": "9000"}, "METRICS_PORT"),
        ({"GATEWAY_ENV": "production", "EMBEDDED_BIFROST": "true", "BIFROST_URL": "http://b.test"}, "EMBEDDED_BIFROST"),
        ({"REDIS_URL": "http://cache:6379"}, "REDIS_URL"),
        ({"IDEMPOTENCY_LEASE": "5", "UPSTREAM_TOTAL_TIMEOUT": "15"}, "IDEMPOTENCY_LEASE"),
        # A subscription LIVE_MAX_WATCHED_IDS allows would always be over the client's budget.
        ({"LIVE_MAX_POLLED_IDS_PER_CLIENT": "40"}, "LIVE_MAX_POLLED_IDS_PER_CLIENT"),
        ({"LIVE_MAX_WATCHED_IDS": "300"}, "LIVE_MAX_POLLED_IDS_PER_CLIENT"),
    ],
)
def test_conflicting_settings_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], name: str
) -> None:
    monkeypatch.delenv("BIFROST_URL", raising=False)
    monkeypatch.delenv("EMBEDDED_BIFROST", raising=False)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(f"invalid setting {name}: ")
    assert "settings:" not in message and "Value error" not in message


def test_the_polled_id_budget_defaults_to_four_of_the_largest_subscriptions(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.live_max_polled_ids_per_client == 200 == 4 * settings.live_max_watched_ids
    monkeypatch.setenv("LIVE_MAX_POLLED_IDS_PER_CLIENT", "50")
    assert load_settings().live_max_polled_ids_per_client == 50  # as low as one largest subscription


def test_metrics_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_PORT", "9464")
    monkeypatch.setenv("METRICS_TOKEN", "0123456789abcdef0123")
    monkeypatch.setenv("METRICS_OPERATION_NAMES", " TeamsPage , KeysPage,")
    settings = load_settings()
    assert (settings.metrics_port, settings.metrics_host) == (9464, "127.0.0.1")
    assert settings.metrics_token is not None and "0123" not in repr(settings)
    assert settings.metrics_operation_names == ["TeamsPage", "KeysPage"]


def test_production_serves_the_embedded_server_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BIFROST_URL", raising=False)
    monkeypatch.setenv("GATEWAY_ENV", "production")
    monkeypatch.setenv("EMBEDDED_BIFROST", "true")
    assert load_settings().uses_embedded_bifrost
    monkeypatch.setenv("BIFROST_URL", "http://127.0.0.1:8080")
    monkeypatch.delenv("EMBEDDED_BIFROST")
    settings = load_settings()
    assert not settings.uses_embedded_bifrost and settings.is_production


def test_development_still_defaults_to_the_embedded_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BIFROST_URL", raising=False)
    monkeypatch.delenv("EMBEDDED_BIFROST", raising=False)
    monkeypatch.delenv("GATEWAY_ENV", raising=False)
    assert load_settings().uses_embedded_bifrost


def _procfile_command() -> str:
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    return line.removeprefix("web:").strip()


def test_the_procfile_refuses_to_start_without_bifrost_url() -> None:
    """The Procfile's production profile fails loudly instead of serving in-memory demo data."""
    result = subprocess.run(
        ["/bin/sh", "-c", _procfile_command()],
        env={"PATH": str(Path(sys.executable).parent), "PORT": "0"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "BIFROST_URL" in result.stderr and "EMBEDDED_BIFROST=true" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_with_the_embedded_server_says_so_at_start_up() -> None:
    """Asked for explicitly, the embedded server runs in production, with a warning on stderr."""
    result = subprocess.run(
        [sys.executable, "-c", "import app.__main__ as m, uvicorn; uvicorn.run = lambda *a, **k: None; m.main()"],
        env={"PATH": "", "GATEWAY_ENV": "production", "EMBEDDED_BIFROST": "true"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "warning: GATEWAY_ENV=production serves the embedded Bifrost-compatible server" in result.stderr


def test_a_refused_redis_url_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "http://user:s3cret@cache:6379")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "s3cret" not in str(raised.value)
