"""Reset-duration grammar: calendar suffixes, Go durations, case, zero and negatives."""

from __future__ import annotations

import pytest

from app.embedded_bifrost.durations import format_go_duration, parse_duration, parse_go_duration_ns

DAY = 86_400.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1d", DAY),
        ("1.5d", 1.5 * DAY),
        ("2w", 14 * DAY),
        ("1M", 30 * DAY),
        ("1Y", 365 * DAY),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("250ms", 0.25),
        ("10us", 1e-5),
        ("10\u00b5s", 1e-5),
        ("100ns", 1e-7),
        (".5h", 1800.0),
    ],
)
def test_parse_duration_valid(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "2x", "1D", "1", "d", "0", "0s", "0d", "-1h", "-1d", "1h30", "1mh", "h", "1 d"])
def test_parse_duration_invalid(text: str) -> None:
    assert parse_duration(text) is None


def test_parse_duration_case_distinguishes_minutes_from_months() -> None:
    assert parse_duration("1m") == 60.0
    assert parse_duration("1M") == 30 * DAY


@pytest.mark.parametrize(
    ("text", "nanos"),
    [("0", 0), ("0s", 0), ("-0", 0), ("5m", 300 * 10**9), ("1m30s", 90 * 10**9), ("1.5s", 1_500_000_000),
     ("-1.5s", -1_500_000_000), ("+2h", 7200 * 10**9), (".5ms", 500_000), ("100ns", 100), ("1\u00b5s", 1000),
     ("2562047h", 2562047 * 3600 * 10**9)],
)  # fmt: skip
def test_parse_go_duration_ns(text: str, nanos: int) -> None:
    assert parse_go_duration_ns(text) == nanos


@pytest.mark.parametrize("text", ["", "5", "1d", "1w", "1M", "s", ".s", "1h 30m", "--1s", "9999999999999h", "1e3s"])
def test_parse_go_duration_ns_refuses(text: str) -> None:
    assert parse_go_duration_ns(text) is None


@pytest.mark.parametrize(
    ("nanos", "text"),
    [(0, "0s"), (1, "1ns"), (1500, "1.5\u00b5s"), (1_000_000, "1ms"), (1_500_000_000, "1.5s"), (60 * 10**9, "1m0s"),
     (3600 * 10**9, "1h0m0s"), (3723_500_000_000, "1h2m3.5s"), (-90 * 10**9, "-1m30s"),
     (720 * 3600 * 10**9, "720h0m0s")],
)  # fmt: skip
def test_format_go_duration(nanos: int, text: str) -> None:
    assert format_go_duration(nanos) == text
