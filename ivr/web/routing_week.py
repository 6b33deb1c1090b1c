"""A line's routing over seven days, for the week page: the days (bank holidays, closures, clock changes),
the diversions, and for each service who takes the calls when, and why.

Read from the line's compiled router (`Router.timeline` over [first day 00:00, +7 days) in the line's
zone); nothing here routes a call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from ivr.core.line import Line
from ivr.core.model import Closure, DayKind, Destination, Interval, Override, Service
from ivr.core.schedule import local_instant

DAYS = 7
_RULE_TARGET = re.compile(r" -> \S+ \(")  # "rule 3: ... -> standby (file:line)": the team is in its own column


@dataclass(frozen=True, slots=True)
class ClockChange:
    """The instant the clocks change, and the wall clock just before and after it ("01:00 GMT", "02:00 BST")."""

    at: datetime
    before: str
    after: str
    forward: bool


@dataclass(frozen=True, slots=True)
class DayClosure:
    """A council closure on one of the week's days, as real instants."""

    closure: Closure
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class WeekDay:
    """One local day of the week: its real start and end, and what is special about it."""

    day: date
    start: datetime
    end: datetime
    holiday: str | None  # the bank holiday's name
    closures: tuple[DayClosure, ...]
    clock_change: ClockChange | None

    @property
    def hours(self) -> float:
        """How long the day really is: 24, or 23 or 25 when the clocks change."""
        return (self.end.timestamp() - self.start.timestamp()) / 3600  # aware datetimes in one zone subtract as wall clocks

    @property
    def short(self) -> str:
        """'Fri 25 Dec'."""
        return _short(self.day)


@dataclass(frozen=True, slots=True)
class WeekDiversion:
    """A diversion in force at some time in the week."""

    override: Override
    destination: Destination
    services: tuple[Service, ...]


@dataclass(frozen=True, slots=True)
class Period:
    """One row of a service's table: a stretch of one day (or a run of whole days alike), who takes it, and why."""

    first: date
    last: date
    start: datetime
    end: datetime
    whole_days: bool
    destination: Destination | None
    occasion: str  # "Bank holiday: Christmas Day", "Council closure: Staff training day", or ""
    reason: str  # the rule or diversion that decides, in the schedule's words, with its file and line
    diverted: bool
    clock_change: ClockChange | None = None  # the clocks change within this row (then it is not joined to others)

    @property
    def length(self) -> str:
        """How long it really lasts: '8 hours', '10 hours 30 minutes'."""
        minutes = round((self.end.timestamp() - self.start.timestamp()) / 60)
        hours, rest = divmod(minutes, 60)
        return f"{hours} hour{'s' * (hours != 1)}" + (f" {rest} minutes" if rest else "")

    @property
    def days(self) -> str:
        """'Fri 25 Dec', or 'Mon 21 Dec to Thu 24 Dec' for a run of whole days."""
        one = _short(self.first)
        return one if self.first == self.last else f"{one} to {_short(self.last)}"


@dataclass(frozen=True, slots=True)
class ServiceWeek:
    """One service over the week: its intervals as the router gives them, and the table's rows."""

    service: Service
    intervals: tuple[Interval, ...]
    periods: tuple[Period, ...]

    @property
    def destinations(self) -> tuple[Destination | None, ...]:
        """Who takes its calls this week: in the order its rules name them, then any diversion's team; None (closed) last."""
        teams = {iv.destination.key: iv.destination for iv in self.intervals if iv.destination}
        named = dict.fromkeys([*(r.destination for r in self.service.rules if r.destination in teams), *teams])
        closed = any(iv.destination is None for iv in self.intervals)
        return tuple(teams[key] for key in named) + ((None,) if closed else ())


@dataclass(frozen=True, slots=True)
class Week:
    """What the week page shows for one line."""

    line: Line
    days: tuple[WeekDay, ...]
    diversions: tuple[WeekDiversion, ...]
    services: tuple[ServiceWeek, ...]

    @property
    def start(self) -> datetime:
        return self.days[0].start

    @property
    def end(self) -> datetime:
        return self.days[-1].end

    @property
    def first(self) -> date:
        return self.days[0].day

    @property
    def last(self) -> date:
        return self.days[-1].day

    @property
    def span(self) -> str:
        """'Mon 21 Dec to Sun 27 Dec 2026'; both years when the week crosses into the next."""
        first = self.days[0].short + (f" {self.first.year}" if self.first.year != self.last.year else "")
        return f"{first} to {self.days[-1].short} {self.last.year}"


def week_of(line: Line, first: date) -> Week:
    """`line`'s seven days from local midnight at the start of `first`."""
    days = tuple(_week_day(line, first + timedelta(days=n)) for n in range(DAYS))
    start, end = days[0].start, days[-1].end
    schedule = line.schedule
    services = sorted(schedule.services.values(), key=lambda s: not s.always_open)  # stable: file order kept
    diversions = tuple(
        WeekDiversion(o, schedule.destinations[o.destination], tuple(s for s in services if o.covers(s.key)))
        for o in sorted(schedule.overrides, key=lambda o: o.start)
        if o.start < end and (o.end is None or o.end > start)
    )
    return Week(line, days, diversions, tuple(_service_week(line, s, days) for s in services))


def _week_day(line: Line, day: date) -> WeekDay:
    router = line.router
    tz = router.tz
    start, end = local_instant(day, 0, tz), local_instant(day + timedelta(days=1), 0, tz)
    closures = tuple(
        DayClosure(c, local_instant(day, c.start, tz), local_instant(day, c.end, tz))
        for c in sorted(line.schedule.closures, key=lambda c: c.start)
        if c.day == day
    )
    return WeekDay(day, start, end, router.calendar.holiday_name(day), closures, _clock_change(start, end))


def _clock_change(start: datetime, end: datetime) -> ClockChange | None:
    """The day's clock change, found by halving [start, end) until the offset changes within a second."""
    offset = start.utcoffset() or timedelta()
    if (end.utcoffset() or timedelta()) == offset:
        return None
    tz = start.tzinfo
    lo, hi = start.timestamp(), end.timestamp()
    while hi - lo > 1:
        mid = (lo + hi) / 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == offset:
            lo = mid
        else:
            hi = mid
    at, old = datetime.fromtimestamp(round(hi), tz), datetime.fromtimestamp(round(hi) - 1, tz)
    before = at.astimezone(timezone(offset))  # the wall clock as it would have read without the change
    forward = (at.utcoffset() or timedelta()) > offset
    return ClockChange(at, f"{before:%H:%M} {old.tzname()}", f"{at:%H:%M} {at.tzname()}", forward)


def _service_week(line: Line, service: Service, days: tuple[WeekDay, ...]) -> ServiceWeek:
    tz = line.router.tz
    intervals = tuple(line.router.timeline(service.key, days[0].start, days[-1].end))
    overrides = {o.label: o for o in line.schedule.overrides}
    pieces: list[Period] = []
    for day in days:
        for start, end, occasion in _occasions(line, day):
            for iv in intervals:
                # Compared as timestamps: two aware times in one zone compare by wall clock, which the
                # hour the clocks go back repeats.
                a, b = max(iv.start.timestamp(), start), min(iv.end.timestamp(), end)
                if a < b:
                    override = overrides.get(iv.rule) if iv.override else None
                    span = (datetime.fromtimestamp(a, tz), datetime.fromtimestamp(b, tz))
                    pieces.append(_period(day, *span, iv, occasion, override))
    return ServiceWeek(service, intervals, tuple(_join_whole_days(pieces)))


def _occasions(line: Line, day: WeekDay) -> list[tuple[float, float, str]]:
    """The day cut where its kind changes (a part-day closure), each stretch with what makes it special."""
    tz = line.router.tz
    found = []
    for lo, hi, kind in line.router.calendar.pattern(day.day):
        start, end = local_instant(day.day, lo, tz).timestamp(), local_instant(day.day, hi, tz).timestamp()
        if start >= end:  # wholly inside the hour the clocks skip
            continue
        if kind is DayKind.CLOSURE:
            occasion = "Council closure: " + "; ".join(
                c.closure.name for c in day.closures if c.closure.start <= lo < c.closure.end
            )
        elif kind is DayKind.BANK_HOLIDAY:
            occasion = f"Bank holiday: {day.holiday}"
        else:
            occasion = ""
        found.append((start, end, occasion))
    return found


def _period(day: WeekDay, start: datetime, end: datetime, iv: Interval, occasion: str, override: Override | None) -> Period:
    if override is not None:
        reason = f"diverted: {override.reason} ({override.source})"
    elif iv.destination is None:
        reason = "closed: no rule covers this time"
    else:
        reason = _RULE_TARGET.sub(" (", iv.rule)
    whole = start.timestamp() == day.start.timestamp() and end.timestamp() == day.end.timestamp()
    change = (
        day.clock_change if day.clock_change and start.timestamp() < day.clock_change.at.timestamp() < end.timestamp() else None
    )
    return Period(day.day, day.day, start, end, whole, iv.destination, occasion, reason, iv.override, change)


def _join_whole_days(pieces: list[Period]) -> list[Period]:
    """Whole days in a row with the same team for the same reason become one row."""
    joined: list[Period] = []
    for p in pieces:
        last = joined[-1] if joined else None
        if (
            last is not None
            and last.whole_days
            and p.whole_days
            and not (last.clock_change or p.clock_change)
            and (last.destination, last.occasion, last.reason, last.diverted) == (p.destination, p.occasion, p.reason, p.diverted)
        ):
            joined[-1] = Period(last.first, p.last, last.start, p.end, True, p.destination, p.occasion, p.reason, p.diverted)
        else:
            joined.append(p)
    return joined


def _short(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"
