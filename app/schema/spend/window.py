"""The time range of a spend series, checked before anything is sent.

Bifrost silently ignores a ``start_time`` or ``end_time`` it cannot parse and answers all of history, so a
typo would read as a very expensive month. The gateway refuses instead, naming the argument:

- both ends carry a UTC offset (RFC 3339: ``2026-03-01T00:00:00Z``, ``2026-03-01T01:00:00+01:00``): a time
  without one names no instant;
- both lie between 1970-01-01 and 2262-01-01 UTC (Bifrost keeps times as nanoseconds in 64 bits);
- ``from`` is before ``to``, and they are at most ``MAX_SPAN`` apart (Bifrost's largest buckets are 30 days;
  a longer range is a different question, asked year by year).

Example:
    >>> from datetime import datetime, timedelta
    >>> start = datetime(2026, 3, 1, tzinfo=UTC)
    >>> SpendWindow.of(start, start + timedelta(days=7)).span
    datetime.timedelta(days=7)
    >>> SpendWindow.of(start, start)
    Traceback (most recent call last):
    ...
    app.schema.errors.GatewayError: to must be later than from
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.bifrost.analytics import LogQuery
from app.schema.errors import GatewayError, GatewayErrorCode

__all__ = ["EARLIEST", "LATEST", "MAX_SPAN", "SpendWindow", "bad_argument"]

MAX_SPAN = timedelta(days=366)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2262, 1, 1, tzinfo=UTC)


def bad_argument(argument: str, message: str) -> GatewayError:
    """The BAD_USER_INPUT error of one argument (``extensions.argument`` names it)."""
    return GatewayError(message, GatewayErrorCode.BAD_USER_INPUT, argument=argument)


@dataclass(frozen=True, slots=True)
class SpendWindow:
    """A checked ``[from, to]`` range, both ends in UTC (Bifrost's filter includes both)."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, start: datetime, end: datetime) -> SpendWindow:
        """Check ``from`` and ``to``.

        Raises:
            GatewayError: BAD_USER_INPUT naming ``from`` or ``to``.
        """
        checked = [_instant("from", start), _instant("to", end)]
        start, end = checked
        if start >= end:
            raise bad_argument("to", "to must be later than from")
        if end - start > MAX_SPAN:
            raise bad_argument("to", f"from and to must be at most {MAX_SPAN.days} days apart")
        return cls(start, end)

    @property
    def span(self) -> timedelta:
        """How long the range is."""
        return self.end - self.start

    def query(self, **filters: tuple[str, ...]) -> LogQuery:
        """The analytics query of this range with ``filters`` (``team_ids=("t1",)`` ...)."""
        return LogQuery(start_time=self.start, end_time=self.end, **filters)


def _instant(argument: str, moment: datetime) -> datetime:
    offset = moment.utcoffset() if moment.tzinfo is not None else None
    if offset is None:
        raise bad_argument(
            argument, f"{argument} must carry a UTC offset, as RFC 3339 asks (e.g. 2026-03-01T00:00:00Z)"
        )
    # Compared in naive UTC: converting a time near year 1 or 9999 with its offset may leave datetime's range.
    naive = moment.replace(tzinfo=None)
    if not (EARLIEST.replace(tzinfo=None) + offset <= naive < LATEST.replace(tzinfo=None) + offset):
        raise bad_argument(argument, f"{argument} must be between 1970-01-01 and 2262-01-01 UTC")
    return (naive - offset).replace(tzinfo=UTC)
