"""The gap proof: an always-open service must have a destination at every instant ahead.

Gaps are reported as ranges: the same local times on consecutive dates make one line ("every
day 12:00-12:01, Fri 1 Jan 2027 to Fri 4 Feb 2028: 400 days"), not one line a day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ivr.config.instants import stamp
from ivr.core.errors import Problem
from ivr.core.model import MINUTES_PER_DAY, DayKind, Interval, Schedule, Service
from ivr.core.schedule import Router, local_instant

COVERAGE_DAYS = 400  # an always-open service must have no gap this far ahead


@dataclass(frozen=True, slots=True)
class GapRange:
    """Gaps at the same local times on consecutive dates (`daily` set), or one gap on its own."""

    gaps: tuple[Interval, ...]
    daily: str | None  # "12:00-12:01" for a run of two days or more; None for one gap

    @property
    def first_day(self) -> date:
        return self.gaps[0].start.date()

    @property
    def last_day(self) -> date:
        return self.gaps[-1].start.date()

    def describe(self) -> str:
        """'every day 12:00-12:01, Fri 1 Jan 2027 to Fri 4 Feb 2028: 400 days without a destination',
        or for one gap its two instants in ISO 8601."""
        if self.daily is None:
            gap = self.gaps[0]
            return f"{stamp(gap.start)} to {stamp(gap.end)}"
        return (
            f"every day {self.daily}, {_day(self.first_day)} to {_day(self.last_day)}: "
            f"{len(self.gaps)} days without a destination"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.gaps[0].start.isoformat(),
            "until": self.gaps[-1].end.isoformat(),
            "daily": self.daily,
            "days": len(self.gaps),
            "text": self.describe(),
        }


def merge_gaps(gaps: Sequence[Interval], tz: ZoneInfo) -> list[GapRange]:
    """Group gaps (in order) that fall at the same local times on consecutive dates."""
    runs: list[tuple[_Pattern | None, date, list[Interval]]] = []
    for gap in gaps:
        day = gap.start.astimezone(tz).date()
        if runs:
            pattern, last_day, found = runs[-1]
            if pattern is not None and last_day + timedelta(days=1) == day and _fits(pattern, gap, day, tz):
                found.append(gap)
                runs[-1] = (pattern, day, found)
                continue
        runs.append((_pattern(gap, tz), day, [gap]))
    return [GapRange(tuple(found), _describe(pattern) if len(found) > 1 and pattern else None) for pattern, _, found in runs]


def prove(schedule: Schedule, router: Router, now: datetime, path: str, days: int = COVERAGE_DAYS) -> list[Problem]:
    """One problem per range of gaps in each always-open service over `days` from `now`."""
    problems = []
    for service in schedule.services.values():
        if not service.always_open or _covers_every_kind_of_day(service):
            continue
        line = int(service.source.rsplit(":", 1)[1])
        gaps = router.coverage(service.key, now, now + timedelta(days=days))
        for found in merge_gaps(gaps, router.tz):
            problems.append(
                Problem(
                    path,
                    line,
                    f"services.{service.key}",
                    f"always open, but no rule covers {found.describe()}; add a rule that covers these times",
                )
            )
    return problems


def _covers_every_kind_of_day(service: Service) -> bool:
    """Whether the rules alone fill every minute of every weekday on every kind of day.

    Then no calendar of bank holidays and closures can leave a gap, and the proof needs no walk
    through the days; most always-open services end in a catch-all rule and pass here at once.
    Otherwise the engine's own timeline finds the gaps, if any, exactly.
    """
    for weekday in range(7):
        for kind in DayKind:
            covered = 0  # minutes from midnight known to be covered, rules taken in order of start
            for start, end in sorted((r.start, r.end) for r in service.rules if r.applies(weekday, kind)):
                if start > covered:
                    break
                covered = max(covered, end)
            if covered < MINUTES_PER_DAY:
                return False
    return True


# A gap's wall-clock times: (start, end) in seconds after local midnight, and whether it ends the next day.
_Pattern = tuple[int, int, bool]


def _pattern(gap: Interval, tz: ZoneInfo) -> _Pattern | None:
    """The gap's local start and end times; None when it spans more than one midnight."""
    start, end = gap.start.astimezone(tz), gap.end.astimezone(tz)
    days = (end.date() - start.date()).days
    if days > 1 or (days == 1 and end.time() != time(0) and end.time() >= start.time()):
        return None
    return _seconds(start.time()), _seconds(end.time()) or (86400 if days else 0), days == 1 and end.time() != time(0)


def _fits(pattern: _Pattern, gap: Interval, day: date, tz: ZoneInfo) -> bool:
    """Whether `gap` is the pattern's times on `day`, mapped to instants as the engine maps rules:
    so the night the clocks go forward, "until 01:00" ends at the jump, and still fits."""
    start, end, next_day = pattern
    return (
        _instant(day, start, tz) == gap.start.timestamp()
        and _instant(day + timedelta(days=1 if next_day else 0), end, tz) == gap.end.timestamp()
    )


def _instant(day: date, seconds: int, tz: ZoneInfo) -> float:
    return local_instant(day, seconds // 60, tz).timestamp() + seconds % 60


def _seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def _describe(pattern: _Pattern) -> str:
    start, end, next_day = pattern
    return f"{_clock(start)} to {_clock(end)} the next day" if next_day else f"{_clock(start)}-{_clock(end)}"


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}" if secs else f"{hours:02d}:{minutes:02d}"


def _day(value: date) -> str:
    return f"{value:%a} {value.day} {value:%b %Y}"
