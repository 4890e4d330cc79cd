"""RFC 3339 timestamps as Go's ``time.Parse(time.RFC3339, ...)`` reads them and ``RFC3339Nano`` writes them."""

from __future__ import annotations

import datetime

import pytest

from app.embedded_bifrost.timestamps import format_rfc3339, parse_rfc3339


def _nanos(text: str) -> int:
    moment = datetime.datetime.fromisoformat(text)
    return int(moment.timestamp()) * 10**9 + moment.microsecond * 1000


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("2030-01-01T00:00:00Z", "2030-01-01T00:00:00Z"),
        ("2030-01-01T05:30:00+05:30", "2030-01-01T00:00:00Z"),
        ("2029-12-31T23:00:00-01:00", "2030-01-01T00:00:00Z"),
        ("2030-01-01T00:00:00.5Z", "2030-01-01T00:00:00.5Z"),
        ("2030-01-01T00:00:00.000000001Z", "2030-01-01T00:00:00.000000001Z"),
        ("2030-01-01T00:00:00.1234567891234Z", "2030-01-01T00:00:00.123456789Z"),  # Go keeps nine digits
        ("2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z"),
        ("2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z"),
        ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
        ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
    ],
)
def test_parse_and_write(text: str, written: str) -> None:
    nanos = parse_rfc3339(text)
    assert nanos is not None
    assert format_rfc3339(nanos) == written


def test_parse_agrees_with_datetime() -> None:
    for text in ("2030-06-15T08:09:10.123456+02:00", "1999-12-31T23:59:59.999999-11:30", "2038-01-19T03:14:08Z"):
        assert parse_rfc3339(text) == _nanos(text.replace("Z", "+00:00"))


@pytest.mark.parametrize(
    "text",
    [
        "", "2030-01-01", "2030-01-01T00:00:00", "2030-01-01 00:00:00Z", "2030-01-01t00:00:00Z",
        "2030-01-01T00:00:00z", "2030-1-01T00:00:00Z", "30-01-01T00:00:00Z", "2030-13-01T00:00:00Z",
        "2030-00-01T00:00:00Z", "2030-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2030-04-31T00:00:00Z",
        "2030-01-00T00:00:00Z", "2030-01-01T24:00:00Z", "2030-01-01T00:60:00Z", "2030-01-01T00:00:60Z",
        "2030-01-01T00:00:00+24:00", "2030-01-01T00:00:00+05:60", "2030-01-01T00:00:00+0530",
        "2030-01-01T00:00:00.Z", "2030-01-01T00:00:00,5Z", " 2030-01-01T00:00:00Z", "2030-01-01T00:00:00Z ",
        "2030-01-01T00:00:00Z\n", "tomorrow", "1893456000", "\u0662030-01-01T00:00:00Z",
    ],
)  # fmt: skip
def test_parse_refuses(text: str) -> None:
    assert parse_rfc3339(text) is None
