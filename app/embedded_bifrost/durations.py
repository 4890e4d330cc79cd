"""Bifrost's reset-duration grammar.

Bifrost accepts a number followed by ``d`` (days), ``w`` (weeks), ``M`` (30-day months) or ``Y`` (365-day
years), where the number may be fractional (``1.5d``); anything else must be a Go duration (``30s``, ``5m``,
``1h30m``, ``250ms``). Case matters: ``m`` is minutes and ``M`` is months. Zero and negative durations are
rejected.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["calendar_period_start", "format_go_duration", "parse_duration", "parse_go_duration_ns"]

_DAY = 86_400.0
_CALENDAR_UNITS = {"d": _DAY, "w": 7 * _DAY, "M": 30 * _DAY, "Y": 365 * _DAY}
_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,  # micro sign
    "\u03bcs": 1e-6,  # Greek small letter mu
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
# Go's float syntax in durations: digits with an optional fraction, at least one digit overall.
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_CALENDAR = re.compile(rf"\+?({_NUMBER})([dwMY])")
_GO_COMPONENT = re.compile(rf"({_NUMBER})(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_duration(text: str) -> float | None:
    """Parse a reset duration.

    Args:
        text: The duration as sent by a client, for example ``"1d"`` or ``"1h30m"``.

    Returns:
        The length in seconds, or ``None`` when the text is not a valid, strictly positive duration.

    Example:
        >>> parse_duration("1.5d")
        129600.0
        >>> parse_duration("0s") is None
        True
    """
    match = _CALENDAR.fullmatch(text)
    if match:
        seconds = float(match.group(1)) * _CALENDAR_UNITS[match.group(2)]
    else:
        parsed = _parse_go_duration(text)
        if parsed is None:
            return None
        seconds = parsed
    return seconds if seconds > 0 else None


def calendar_period_start(duration: str, at: dt.datetime | None = None) -> str | None:
    """The start of the calendar period containing ``at`` (default now) for a duration with a calendar unit.

    Days start at midnight UTC, weeks on Monday, months on the 1st, years on January 1st, whatever the count
    in front of the unit (Bifrost v2 snaps ``2d`` like ``1d``). Durations without a calendar unit (``1h``,
    ``30m``) have no calendar boundary.

    Returns:
        The boundary in the store's timestamp format, or ``None`` when the duration has no calendar unit.

    Example:
        >>> calendar_period_start("1M", dt.datetime(2026, 11, 29, 21, 5, tzinfo=dt.UTC))
        '2026-11-01T00:00:00.000000000Z'
        >>> calendar_period_start("1w", dt.datetime(2026, 11, 29, 21, 5, tzinfo=dt.UTC))
        '2026-11-23T00:00:00.000000000Z'
        >>> calendar_period_start("1h") is None
        True
    """
    unit = duration[-1:]
    if unit not in _CALENDAR_UNITS:
        return None
    day = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()
    if unit == "w":
        day -= dt.timedelta(days=day.weekday())
    elif unit == "M":
        day = day.replace(day=1)
    elif unit == "Y":
        day = day.replace(month=1, day=1)
    return f"{day.isoformat()}T00:00:00.000000000Z"


def _parse_go_duration(text: str) -> float | None:
    """Parse Go's ``time.ParseDuration`` syntax; ``None`` when it does not parse."""
    sign = 1.0
    rest = text
    if rest[:1] in ("+", "-"):
        sign = -1.0 if rest[0] == "-" else 1.0
        rest = rest[1:]
    if rest == "0":
        return 0.0
    if not rest:
        return None
    total = 0.0
    position = 0
    while position < len(rest):
        match = _GO_COMPONENT.match(rest, position)
        if match is None:
            return None
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        position = match.end()
    return sign * total


_GO_UNIT_NANOS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}
_GO_COMPONENT_PARTS = re.compile(r"([0-9]*)(?:\.([0-9]*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_INT64_MAX = 2**63 - 1


def parse_go_duration_ns(text: str) -> int | None:
    """Parse Go's ``time.ParseDuration`` syntax exactly, in integer nanoseconds (zero and negatives allowed).

    Example:
        >>> parse_go_duration_ns("1m30s"), parse_go_duration_ns("-1.5s"), parse_go_duration_ns("1d")
        (90000000000, -1500000000, None)
    """
    sign = 1
    rest = text
    if rest[:1] in ("+", "-"):
        sign = -1 if rest[0] == "-" else 1
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        return None
    total = 0
    position = 0
    while position < len(rest):
        match = _GO_COMPONENT_PARTS.match(rest, position)
        if match is None or not (match.group(1) or match.group(2)):
            return None
        unit = _GO_UNIT_NANOS[match.group(3)]
        whole = int(match.group(1) or 0)
        digits = match.group(2) or ""
        total += whole * unit + (int(digits) * unit // 10 ** len(digits) if digits else 0)
        if total > _INT64_MAX:
            return None
        position = match.end()
    return sign * total


def _fraction(value: int, scale: int) -> str:
    """``value / scale`` written as Go does: the integer part, then the fraction without trailing zeros."""
    whole, fraction = divmod(value, scale)
    if not fraction:
        return str(whole)
    return f"{whole}." + str(fraction).rjust(len(str(scale)) - 1, "0").rstrip("0")


def format_go_duration(nanos: int) -> str:
    """Write a duration as Go's ``time.Duration.String`` does (``"5m0s"``, ``"1.5s"``, ``"250ms"``, ``"0s"``).

    Example:
        >>> [format_go_duration(n) for n in (0, 300 * 10**9, 1_500_000_000, 250_000_000, 3_600 * 10**9)]
        ['0s', '5m0s', '1.5s', '250ms', '1h0m0s']
    """
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos < 1_000:
        return f"{sign}{nanos}ns"
    if nanos < 1_000_000:
        return f"{sign}{_fraction(nanos, 1_000)}\u00b5s"
    if nanos < 10**9:
        return f"{sign}{_fraction(nanos, 1_000_000)}ms"
    hours, rest = divmod(nanos, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    text = f"{_fraction(rest, 10**9)}s"
    if hours or minutes:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return sign + text
