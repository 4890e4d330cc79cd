"""Reset-duration grammar: calendar suffixes, Go durations, case, zero and negatives."""

from __future__ import annotations

import pytest

from app.embedded_bifrost.durations import parse_duration

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
