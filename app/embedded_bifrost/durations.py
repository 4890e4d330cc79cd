"""Bifrost's reset-duration grammar.

Bifrost accepts a number followed by ``d`` (days), ``w`` (weeks), ``M`` (30-day months) or ``Y`` (365-day
years), where the number may be fractional (``1.5d``); anything else must be a Go duration (``30s``, ``5m``,
``1h30m``, ``250ms``). Case matters: ``m`` is minutes and ``M`` is months. Zero and negative durations are
rejected.
"""

from __future__ import annotations

import re

__all__ = ["parse_duration"]

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
