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

from ivr.core.errors import Problem
from ivr.core.model import MINUTES_PER_DAY, DayKind, Interval, Schedule, Service
from ivr.core.schedule import Router

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
    """Group gaps (in order) by identical local start and end times on consecutive dates."""
    runs: list[tuple[str | None, date, list[Interval]]] = []
    for gap in gaps:
        times = _local_times(gap, tz)
        day = gap.start.astimezone(tz).date()
        if runs and times is not None and runs[-1][0] == times and runs[-1][1] + timedelta(days=1) == day:
            runs[-1][2].append(gap)
            runs[-1] = (times, day, runs[-1][2])
        else:
            runs.append((times, day, [gap]))
    return [GapRange(tuple(found), times if len(found) > 1 else None) for times, _, found in runs]


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


def stamp(value: datetime) -> str:
    """ISO 8601 to the minute, or to the second when there are seconds."""
    return value.isoformat(timespec="minutes" if not value.second and not value.microsecond else "seconds")


def _local_times(gap: Interval, tz: ZoneInfo) -> str | None:
    """'HH:MM-HH:MM' when the gap starts and ends on one local date (24:00 for its midnight)."""
    start, end = gap.start.astimezone(tz), gap.end.astimezone(tz)
    if end.date() == start.date():
        until = _clock(end.time())
    elif end.date() == start.date() + timedelta(days=1) and end.time() == time(0):
        until = "24:00"
    else:
        return None
    return f"{_clock(start.time())}-{until}"


def _clock(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _day(value: date) -> str:
    return f"{value:%a} {value.day} {value:%b %Y}"
