"""REDIS_KEY_SECRET: required with REDIS_URL in production, long enough, never echoed, and the names it keys.

The Redis side (what replicas share, what a reader of Redis sees) is in ``tests/scale/test_redis_names.py``.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

import app.keyed_names
from app.keyed_names import KeyedNames, keyed_names, process_names
from app.live import credentials_digest
from app.schema.session.limiter import LoginLimiter
from app.settings import Settings, SettingsError, load_settings
from app.shared_state import SharedState
from app.web.idempotency import record_key

ROOT = Path(__file__).resolve().parent.parent
SECRET = "0123456789abcdef0123456789abcdef"
PRODUCTION = {"GATEWAY_ENV": "production", "BIFROST_URL": "http://bifrost.test", "REDIS_URL": "redis://cache:6379/0"}


def _environment(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name in ("REDIS_KEY_SECRET", "REDIS_URL", "GATEWAY_ENV", "BIFROST_URL", "EMBEDDED_BIFROST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_production_with_redis_and_no_secret_refuses_and_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch, PRODUCTION)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith("invalid setting REDIS_KEY_SECRET: is required when GATEWAY_ENV=production")
    assert "at least 32 characters" in message and "the same on every replica" in message


def test_production_with_redis_and_a_secret_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch, {**PRODUCTION, "REDIS_KEY_SECRET": SECRET})
    settings = load_settings()
    assert settings.redis_key_secret is not None and SECRET not in repr(settings)


@pytest.mark.parametrize(
    "environment",
    [{"GATEWAY_ENV": "production", "BIFROST_URL": "http://bifrost.test"}, {"REDIS_URL": "redis://cache:6379/0"}],
)
def test_the_secret_may_be_missing_without_redis_or_outside_production(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]
) -> None:
    _environment(monkeypatch, environment)
    assert load_settings().redis_key_secret is None


@pytest.mark.parametrize("secret", ["short", SECRET[:31], " " * 40, " " + SECRET[:31] + "\n"])
def test_a_secret_shorter_than_32_characters_is_refused_and_not_echoed(
    monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    _environment(monkeypatch, {"REDIS_KEY_SECRET": secret})
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith("invalid setting REDIS_KEY_SECRET: must be at least 32 characters")
    assert secret.strip() == "" or secret.strip() not in message


def _main(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m app``'s start-up with the servers replaced: it prints whether its workers got a secret."""
    stub = (
        "import os, app.__main__ as m; "
        "m._run_uvicorn = lambda s: print('workers get', len(os.environ.get('REDIS_KEY_SECRET', ''))); m.main()"
    )
    return subprocess.run(
        [sys.executable, "-c", stub],
        env={"PATH": "", "EMBEDDED_BIFROST": "true", **environment},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_the_process_refuses_production_with_redis_and_no_secret() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app"],
        env={"PATH": "", **PRODUCTION},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "error: invalid setting REDIS_KEY_SECRET: is required when GATEWAY_ENV=production" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_process_outside_production_gives_its_workers_one_secret_and_warns_once() -> None:
    result = _main({"REDIS_URL": "redis://127.0.0.1:1/0", "WEB_CONCURRENCY": "2"})
    assert result.returncode == 0, result.stderr
    assert "workers get 64" in result.stdout
    assert result.stderr.count("REDIS_KEY_SECRET is not set") == 1
    assert "other replicas share no idempotency keys, live pollers or login counts" in result.stderr


@pytest.mark.parametrize("environment", [{}, {"REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_KEY_SECRET": SECRET}])
def test_the_process_leaves_the_secret_alone_without_redis_or_with_one(environment: dict[str, str]) -> None:
    result = _main(environment)
    assert result.returncode == 0, result.stderr
    assert f"workers get {len(environment.get('REDIS_KEY_SECRET', ''))}" in result.stdout
    assert "REDIS_KEY_SECRET" not in result.stderr


def test_names_are_equal_under_one_secret_and_differ_under_another() -> None:
    one, same, other = KeyedNames(SECRET.encode()), KeyedNames(SECRET.encode()), KeyedNames(b"x" * 32)
    credentials = {"authorization": "Bearer t0ken"}
    assert record_key(one, credentials, "k") == record_key(same, credentials, "k")
    assert record_key(one, credentials, "k") != record_key(other, credentials, "k")
    assert credentials_digest(one, credentials) == credentials_digest(same, {"Authorization": "Bearer t0ken"})
    assert credentials_digest(one, credentials) != credentials_digest(other, credentials)


def test_names_of_different_things_or_splits_never_collide() -> None:
    names = KeyedNames(SECRET.encode())
    assert names.digest("login-username", "ab") != names.digest("live-credentials", "ab")
    assert names.digest("p", "a", "bc") != names.digest("p", "ab", "c") != names.digest("p", "abc")
    assert record_key(names, {"authorization": "a", "cookie": ""}, "k") != record_key(
        names, {"authorization": "", "cookie": "a"}, "k"
    )
    # Header values are any text: odd characters and lone surrogates still make a name.
    assert len(names.digest("p", "\udcff\x00é" * 1000)) == 64


def test_a_short_secret_makes_no_names() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        KeyedNames(b"x" * 31)
    assert SECRET not in repr(KeyedNames(SECRET.encode()))


def test_the_secret_is_read_stripped_so_every_replica_copy_agrees() -> None:
    padded = keyed_names(f"  {SECRET}\n", shared_through_redis=True)
    assert padded.digest("p", "x") == keyed_names(SECRET, shared_through_redis=True).digest("p", "x")


def test_without_a_secret_the_process_names_its_own_and_warns_once_with_redis(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(app.keyed_names, "_warned", False)
    with caplog.at_level(logging.WARNING, logger="app.shared_state"):
        assert keyed_names(None, shared_through_redis=False) is process_names()
        assert not caplog.records, "no Redis: nothing to share, nothing to say"
        for _ in range(2):
            assert keyed_names(None, shared_through_redis=True) is process_names()
    assert [record.getMessage()[:34] for record in caplog.records] == ["REDIS_KEY_SECRET is not set: the n"]
    assert "replicas do not share" in caplog.records[0].getMessage()


async def test_the_stores_use_the_configured_names(monkeypatch: pytest.MonkeyPatch) -> None:
    shared = SharedState.from_settings(Settings(redis_key_secret=SECRET))
    assert shared.names.digest("p", "x") == KeyedNames(SECRET.encode()).digest("p", "x")
    assert isinstance(shared.login_limiter, LoginLimiter) and shared.login_limiter.names is shared.names
    assert SharedState.from_settings(Settings()).names is process_names()
