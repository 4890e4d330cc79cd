"""Gateway keys: configuration entries, constant-time lookup, and the command that makes a key."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.keys import KeyRing, entry_for, new_key, parse_gateway_keys
from app.settings import SettingsError, load_settings

DIGEST = "ab" * 32


def test_entries_are_parsed() -> None:
    keys = parse_gateway_keys(f" bff:{DIGEST} , admin-console:{DIGEST.upper()}:reveal ,")
    assert [(key.label, key.can_reveal) for key in keys] == [("bff", False), ("admin-console", True)]
    assert keys[1].digest == bytes.fromhex(DIGEST)
    assert parse_gateway_keys("") == ()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param("gk_Zq3v7N1cT8xW2eR5yU0iO9pA4sD6fG7h", "raw key", id="raw-key-pasted"),
        pytest.param(f"bff:{DIGEST}:admin", "<label>:<sha256 hex>[:reveal]", id="unknown-flag"),
        pytest.param(f"bff:{DIGEST[:-2]}", "64 hex", id="short-hash"),
        pytest.param(f"bff:{'zz' * 32}", "64 hex", id="not-hex"),
        pytest.param(f":{DIGEST}", "label", id="no-label"),
        pytest.param(f"b f:{DIGEST}", "label", id="space-in-label"),
        pytest.param(f"bff:{DIGEST},bff:{'cd' * 32}", "used twice", id="duplicate-label"),
        pytest.param("bff", "<label>:<sha256 hex>[:reveal]", id="no-hash"),
    ],
)
def test_bad_entries_are_named_by_position_without_echoing_them(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match="entry") as refused:
        parse_gateway_keys(raw)
    assert message in str(refused.value)
    assert "gk_Zq3v" not in str(refused.value) and DIGEST[:-2] not in str(refused.value)
    with pytest.raises(SettingsError, match="GATEWAY_API_KEYS"):
        load_settings(gateway_api_keys=raw)


def test_key_ring_finds_only_the_exact_key() -> None:
    first, first_entry = new_key("first")
    second, second_entry = new_key("second", can_reveal=True)
    ring = KeyRing(parse_gateway_keys(f"{first_entry},{second_entry}"))
    assert ring.find(first).label == "first"  # type: ignore[union-attr]
    found = ring.find(second)
    assert found is not None and found.label == "second" and found.can_reveal
    for wrong in ("", first[:-1], first + "x", first.upper(), " " + first, "gk_", "x" * 100_000):
        assert ring.find(wrong) is None
    assert KeyRing(()).find(first) is None


def test_new_keys_are_random_and_prefixed() -> None:
    keys = {new_key("k")[0] for _ in range(50)}
    assert len(keys) == 50 and all(key.startswith("gk_") and len(key) >= 40 for key in keys)
    assert entry_for("k", "gk_x", can_reveal=True).endswith(":reveal")
    with pytest.raises(ValueError, match="label"):
        new_key("no spaces")


def test_command_prints_a_key_and_the_entry_that_admits_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.keys", "new", "dashboard", "--reveal"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    key = next(value.strip() for name, value in lines.items() if name.startswith("key"))
    entry = next(value.strip() for name, value in lines.items() if "GATEWAY_API_KEYS" in name)
    found = KeyRing(load_settings(gateway_api_keys=entry).gateway_api_keys).find(key)
    assert found is not None and (found.label, found.can_reveal) == ("dashboard", True)
    assert key not in entry


def test_command_usage_errors_exit_2() -> None:
    for args in ([], ["new"], ["new", "bad label"], ["old", "x"]):
        result = subprocess.run([sys.executable, "-m", "app.keys", *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and result.stderr
