"""Instants written in configuration files and on the command line, and the wall-clock
readings that the clock changes make ambiguous."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ivr.core.schedule import parse_instant


def instant(text: str, tz: ZoneInfo) -> datetime:
    """ISO 8601 date and time; without an offset, wall-clock time in `tz`; T24:00 is the next midnight.

    Raises ValueError (OverflowError for a time past the calendar's end)."""
    match = _ISO.match(text.strip())
    if not match:
        # fromisoformat alone would read forms nobody means, e.g. forty 1s as 1111-11-11T11:11:11.111111.
        raise ValueError(f"{text!r} is not an ISO 8601 date and time")
    day, clock, offset = match.group("day", "clock", "offset")
    if clock and clock.startswith("24"):
        if clock.strip("0:.") != "24":
            raise ValueError(f"{text!r} is not an ISO 8601 date and time")
        day, clock = (date.fromisoformat(day) + timedelta(days=1)).isoformat(), "00:00"
    return parse_instant(f"{day}T{clock or '00:00'}{offset or ''}", tz)


_ISO = re.compile(
    r"^(?P<day>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<clock>\d{2}(?::\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?))?"
    r"(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?$"
)


def readings_of(text: str, tz: ZoneInfo) -> tuple[datetime, datetime, bool] | None:
    """clock_readings() of a valid instant() text when it is a local time without an offset."""
    match = _ISO.match(text.strip())
    if match is None or match.group("offset") or not match.group("clock") or match.group("clock").startswith("24"):
        return None
    return clock_readings(datetime.fromisoformat(f"{match.group('day')}T{match.group('clock')}"), tz)


def clock_readings(naive: datetime, tz: ZoneInfo) -> tuple[datetime, datetime, bool] | None:
    """The two instants a wall-clock reading in `tz` may mean when the clocks change around it,
    and whether it really happens twice (False: it never happens); None for an ordinary reading."""
    early, late = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if early.utcoffset() == late.utcoffset():
        return None
    happens = early.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive
    return early, late, happens


def reading(value: datetime, tz: ZoneInfo) -> str:
    """'2027-03-28T01:30+00:00 (02:30 BST)': a reading with the wall clock it really is."""
    real = value.astimezone(UTC).astimezone(tz)
    return f"{stamp(value)} ({real:%H:%M %Z})"


def stamp(value: datetime) -> str:
    """ISO 8601 to the minute, or to the second when there are seconds."""
    return value.isoformat(timespec="minutes" if not value.second and not value.microsecond else "seconds")
