"""What a log line may keep of text from outside: no URL, address, credential or secret; one bounded line."""

from __future__ import annotations

import pytest

from app.redaction import MAX_REDACTED_CHARS, redacted

SECRETS = [
    pytest.param("dsn=postgres://bifrost:hunter2@db:5432/bifrost", "hunter2", id="dsn-url"),
    pytest.param("connect bifrost:hunter2@db.internal/bifrost failed", "hunter2", id="userinfo-without-scheme"),
    pytest.param("password=hunter2 user=admin", "hunter2", id="password-assignment"),
    pytest.param('PASSWORD: "hunter 2"', "hunter 2", id="quoted-password"),
    pytest.param("api_key=abc123def&x=1", "abc123def", id="api-key"),
    pytest.param("client_secret: s3cr3t-value", "s3cr3t-value", id="client-secret"),
    pytest.param("header Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi", id="bearer"),
    pytest.param("Basic YWRtaW46aHVudGVyMg==", "YWRtaW46aHVudGVyMg", id="basic"),
    pytest.param("key sk-bf-6f1c2d3e-aaaa-bbbb-cccc-000011112222 rejected", "sk-bf-6f1c", id="bifrost-key"),
    pytest.param("opaque " + "Zm9vYmFyYmF6cXV4" * 3, "Zm9vYmFyYmF6cXV4", id="long-token"),
    pytest.param("see https://internal.example/admin?token=x", "internal.example", id="url"),
    pytest.param("dial tcp 10.1.2.3:5432: connection refused", "10.1.2.3", id="ipv4"),
    pytest.param("dial tcp [fd00::1]:5432: refused", "fd00::1", id="ipv6"),
    pytest.param("dial tcp db.internal:5432: i/o timeout", "db.internal", id="host-port"),
]


@pytest.mark.parametrize(("text", "secret"), SECRETS)
def test_secrets_and_addresses_are_removed(text: str, secret: str) -> None:
    assert secret not in redacted(text)


@pytest.mark.parametrize(
    "text",
    [
        "UNIQUE constraint failed: governance_virtual_keys.name",
        "failed to get MCP client: record not found",
        "team 0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c not found",
        "database is locked",
    ],
)
def test_what_helps_an_operator_is_kept(text: str) -> None:
    assert redacted(text) == text


def test_control_characters_cannot_forge_a_second_line() -> None:
    text = redacted('boom\n{"level": "info", "msg": "forged"}\r\x1b[2K\u2028x')
    assert not any(ord(c) < 32 or c in "\x7f\u2028\u2029" for c in text)


def test_length_is_bounded_even_for_huge_text() -> None:
    text = redacted("word " * 1_000_000)
    assert len(text) == MAX_REDACTED_CHARS
    assert text.endswith("…")


def test_a_secret_at_the_cut_is_removed_not_halved() -> None:
    text = "x" * (MAX_REDACTED_CHARS - 12) + " password=hunter2hunter2"
    assert "hunt" not in redacted(text)
