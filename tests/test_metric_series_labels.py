"""Label values that are equal as Python values but not as text stay separate series, as prometheus-client has them.

``labels(1)``, ``labels(1.0)`` and ``labels(True)`` are one dictionary key (equal and of equal hash) but three
label texts (``"1"``, ``"1.0"``, ``"True"``): prometheus-client exposes three series. Also label text with a
newline, and counts that overflow to infinity, expose the same in both.
"""

from __future__ import annotations

import time

import pytest

from tests.test_metric_series import expositions


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 1764478203.25)


@pytest.mark.parametrize(
    "values",
    [[1, 1.0, True], [True, 1, 1.0], [0, 0.0, False, -0.0], [1.0, "1.0", 1], ["1", 1]],
    ids=["int-first", "bool-first", "zeros", "float-then-text", "text-then-int"],
)
@pytest.mark.parametrize("kind", ["count", "observe", "size"])
def test_values_equal_as_keys_but_not_as_text_are_separate_series(kind: str, values: list[object]) -> None:
    updates = [(kind, value, "ok", 1.0) for value in values]
    (expected, expected_open, _), (got, got_open, _) = expositions(updates)
    assert got == expected
    assert got_open == expected_open


def test_newlines_and_overflowing_counts_are_exposed_as_prometheus_exposes_them() -> None:
    updates = [
        ("count", "line\nbreak", 'q"\\', 1e308),
        ("count", "line\nbreak", 'q"\\', 1e308),  # overflows to +Inf
        ("observe", "line\nbreak", "\u2028", 1e308),
        ("observe", "line\nbreak", "\u2028", 1e308),
        ("size", "\x00", "tab\there", float("nan")),
    ]
    (expected, expected_open, _), (got, got_open, _) = expositions(updates)
    assert got == expected
    assert got_open == expected_open
