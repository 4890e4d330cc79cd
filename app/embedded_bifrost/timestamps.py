"""RFC 3339 timestamps as Go reads and writes them, held as integer nanoseconds since the Unix epoch.

Bifrost decodes ``expires_at`` with Go's ``time.Parse(time.RFC3339, ...)`` (or ``time.Time``'s JSON decoder,
which is the same grammar): ``YYYY-MM-DDTHH:MM:SS``, an optional ``.`` and fraction, then ``Z`` or ``±hh:mm``.
The letters are upper-case, every field has its fixed width, and a field out of range (month 13, February 30,
hour 24, second 60) is an error. Go writes a ``time.Time`` in UTC as RFC 3339 with the fraction's trailing
zeros dropped (``RFC3339Nano``), which :func:`format_rfc3339` reproduces.

Nanoseconds as integers keep comparisons exact and cover years 0000-9999 without ``datetime``'s limits.
"""

from __future__ import annotations

import re

__all__ = ["NANOS_PER_SECOND", "format_rfc3339", "loaded", "parse_rfc3339", "stored"]

NANOS_PER_SECOND = 1_000_000_000
_SECONDS_PER_DAY = 86_400
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?(?:(Z)|([+-])(\d{2}):(\d{2}))", re.ASCII
)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """The (year, month, day) of a day count since 1970-01-01."""
    days += 719_468
    era = days // 146_097
    day_of_era = days - era * 146_097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + (3 if shifted_month < 10 else -9)
    return year_of_era + era * 400 + (month <= 2), month, day


def parse_rfc3339(text: str) -> int | None:
    """Parse an RFC 3339 timestamp the way Go's ``time.Parse(time.RFC3339, ...)`` does.

    Args:
        text: The timestamp as sent, for example ``"2030-01-01T00:00:00Z"``.

    Returns:
        Nanoseconds since the Unix epoch, or None when Go would refuse the text.

    Example:
        >>> parse_rfc3339("1970-01-01T01:00:00+01:00"), parse_rfc3339("2030-02-30T00:00:00Z")
        (0, None)
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    offset = 0
    if match.group(8) is None:
        offset_hours, offset_minutes = int(match.group(10)), int(match.group(11))
        if offset_hours > 23 or offset_minutes > 59:
            return None
        offset = (offset_hours * 3600 + offset_minutes * 60) * (-1 if match.group(9) == "-" else 1)
    seconds = _days_from_civil(year, month, day) * _SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - offset
    fraction = match.group(7) or ""
    return seconds * NANOS_PER_SECOND + int(fraction.ljust(9, "0") or 0)


def format_rfc3339(nanos: int) -> str:
    """Format nanoseconds since the epoch as Go writes a UTC ``time.Time`` in JSON (``RFC3339Nano``).

    Example:
        >>> format_rfc3339(0), format_rfc3339(1_500_000_000)
        ('1970-01-01T00:00:00Z', '1970-01-01T00:00:01.5Z')
    """
    seconds, fraction = divmod(nanos, NANOS_PER_SECOND)
    days, second_of_day = divmod(seconds, _SECONDS_PER_DAY)
    year, month, day = _civil_from_days(days)
    hour, rest = divmod(second_of_day, 3600)
    minute, second = divmod(rest, 60)
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    if fraction:
        text += "." + f"{fraction:09d}".rstrip("0")
    return text + "Z"


_SQLITE_INTEGER_MAX = 2**63 - 1


def stored(nanos: int | None) -> int | str | None:
    """A timestamp as the store keeps it: an integer where SQLite's 64 bits hold it (until 2262), else text.

    Go's ``time.Time`` reaches year 9999, nanoseconds in an int64 do not. The text carries a suffix so that
    SQLite's column affinity does not turn it into a REAL (which would round it); SQLite orders every integer
    before every text, and the digits are zero-padded, so a far-future expiry still sorts after the others.

    Example:
        >>> stored(1), stored(253402300799 * NANOS_PER_SECOND)
        (1, '253402300799000000000ns')
    """
    if nanos is None or nanos <= _SQLITE_INTEGER_MAX:
        return nanos
    return f"{nanos:021d}ns"


def loaded(value: int | str) -> int:
    """A timestamp ``stored`` wrote, back in nanoseconds.

    Example:
        >>> loaded(stored(253402300799 * NANOS_PER_SECOND)) == 253402300799 * NANOS_PER_SECOND, loaded(7)
        (True, 7)
    """
    return value if isinstance(value, int) else int(value.removesuffix("ns"))
