"""Bifrost's reset-duration grammar, checked before anything is sent upstream.

A number (fractional allowed) followed by ``d`` (days), ``w`` (weeks), ``M`` (30-day months), ``Y``
(365-day years) or ``Q`` (quarters, Bifrost v1.6.10+; older upstreams answer with their own 400);
otherwise a Go duration (``30s``, ``5m``, ``1h30m``, ``250ms``). Case matters: ``m`` is minutes and
``M`` months. Zero and negative durations are refused.
"""

from __future__ import annotations

import re

__all__ = ["is_valid_reset_duration"]

_CALENDAR = re.compile(r"(\d+(?:\.\d+)?|\.\d+)[dwMYQ]")
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNIT_NS = {"ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}


def is_valid_reset_duration(value: str) -> bool:
    """True when Bifrost accepts ``value`` as a positive reset duration.

    Example:
        >>> [is_valid_reset_duration(v) for v in ("1h30m", "1.5d", "1M", "0s", "2x", "1D")]
        [True, True, True, False, False, False]
    """
    if len(value) > 64:
        return False
    if match := _CALENDAR.fullmatch(value):
        return float(match.group(1)) > 0
    total = 0.0
    position = 0
    while position < len(value):
        part = _GO_PART.match(value, position)
        if part is None:
            return False
        total += float(part.group(1)) * _GO_UNIT_NS[part.group(2)]
        position = part.end()
    return position > 0 and total >= 1
