"""What the Now page shows for a line: who takes each service now, tonight's hand-overs, diversions,
closures and the next bank holidays. Read from the line's compiled router; nothing here routes a call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ivr.core.line import Line
from ivr.core.model import MINUTES_PER_DAY, Closure, DayKind, Decision, Destination, Interval, Override, Service
from ivr.core.schedule import Router, local_instant

MORNING_MINUTE = 9 * 60  # "tonight" runs to 09:00, when every shipped line's night arrangement has ended
SMALL_HOURS = timedelta(hours=6)  # before 06:00, "the morning" is this one, not tomorrow's
HOLIDAYS_SHOWN = 4
HOLIDAYS_LOOKAHEAD_DAYS = 400
_ORDINARY_DAY = ((0, MINUTES_PER_DAY, DayKind.ORDINARY),)


@dataclass(frozen=True, slots=True)
class ServiceNow:
    """One service: who takes it now and until when (`decision.until`; when closed, when it opens)."""

    service: Service
    decision: Decision


@dataclass(frozen=True, slots=True)
class Diversion:
    """A temporary diversion in force now or still to come."""

    override: Override
    destination: Destination
    services: tuple[Service, ...]
    in_force: bool


@dataclass(frozen=True, slots=True)
class ClosureNow:
    """A council closure in force now or still to come, as real instants."""

    closure: Closure
    start: datetime
    end: datetime
    in_force: bool


@dataclass(frozen=True, slots=True)
class BankHoliday:
    """A coming bank holiday: the urgent service's day, and the other services' days where they differ from an ordinary one."""

    day: date
    name: str
    urgent: tuple[Interval, ...]
    changed: tuple[tuple[Service, tuple[Interval, ...]], ...]
    compared_with: date | None  # the ordinary day of the same weekday it was compared with


@dataclass(frozen=True, slots=True)
class LineNow:
    """Everything the Now page shows for one line."""

    key: str
    name: str
    urgent: Service
    now: Decision  # the urgent service now
    tonight: tuple[Interval, ...]  # the urgent service from now to `morning`; the first is now's
    morning: datetime
    services: tuple[ServiceNow, ...]  # always-open services first, then in file order
    diversions: tuple[Diversion, ...]
    closures: tuple[ClosureNow, ...]
    holidays: tuple[BankHoliday, ...]

    @property
    def handovers(self) -> tuple[Interval, ...]:
        """Tonight's changes of hands, each from its start."""
        return self.tonight[1:]


def line_now(line: Line, now: datetime) -> LineNow:
    """The Now page's view of `line` at the instant `now`."""
    router, schedule = line.router, line.schedule
    urgent = schedule.services[line.flow.urgent_service]
    morning = next_morning(now, router)
    services = sorted(schedule.services.values(), key=lambda s: not s.always_open)  # stable: file order kept
    return LineNow(
        key=line.key,
        name=line.flow.name,
        urgent=urgent,
        now=router.route(urgent.key, now),
        tonight=tuple(router.timeline(urgent.key, now, morning)),
        morning=morning,
        services=tuple(ServiceNow(s, router.route(s.key, now)) for s in services),
        diversions=_diversions(line, now),
        closures=_closures(line, now),
        holidays=_bank_holidays(line, now),
    )


def next_morning(now: datetime, router: Router) -> datetime:
    """09:00 tomorrow in the line's time zone; in the small hours, 09:00 today."""
    local = (now.astimezone(router.tz) - SMALL_HOURS).date()
    return local_instant(local + timedelta(days=1), MORNING_MINUTE, router.tz)


def _diversions(line: Line, now: datetime) -> tuple[Diversion, ...]:
    schedule = line.schedule
    found = [
        Diversion(
            o,
            schedule.destinations[o.destination],
            tuple(s for s in schedule.services.values() if o.covers(s.key)),
            o.start <= now,
        )
        for o in schedule.overrides
        if o.end is None or o.end > now
    ]
    return tuple(sorted(found, key=lambda d: d.override.start))


def _closures(line: Line, now: datetime) -> tuple[ClosureNow, ...]:
    tz = line.router.tz
    found = []
    for closure in line.schedule.closures:
        start, end = local_instant(closure.day, closure.start, tz), local_instant(closure.day, closure.end, tz)
        if end > now:
            found.append(ClosureNow(closure, start, end, start <= now))
    return tuple(sorted(found, key=lambda c: c.start))


def _bank_holidays(line: Line, now: datetime) -> tuple[BankHoliday, ...]:
    router = line.router
    calendar = router.calendar
    today = now.astimezone(router.tz).date()
    found = []
    for offset in range(HOLIDAYS_LOOKAHEAD_DAYS):
        day = today + timedelta(days=offset)
        if not calendar.is_bank_holiday(day):
            continue
        ordinary = _ordinary_like(day, router)
        changed = tuple(
            (s, tuple(router.timeline(s.key, *_day_bounds(day, router))))
            for s in line.schedule.services.values()
            if s.key != line.flow.urgent_service
            and ordinary is not None
            and _day_plan(router, s.key, day) != _day_plan(router, s.key, ordinary)
        )
        urgent = tuple(router.timeline(line.flow.urgent_service, *_day_bounds(day, router)))
        found.append(BankHoliday(day, calendar.holiday_name(day) or "Bank holiday", urgent, changed, ordinary))
        if len(found) == HOLIDAYS_SHOWN:
            break
    return tuple(found)


def _ordinary_like(day: date, router: Router) -> date | None:
    """The nearest ordinary day (no holiday, no closure) with the same weekday, a week or more away."""
    for weeks in range(1, 6):
        for candidate in (day - timedelta(weeks=weeks), day + timedelta(weeks=weeks)):
            if router.calendar.pattern(candidate) == _ORDINARY_DAY:
                return candidate
    return None


def _day_bounds(day: date, router: Router) -> tuple[datetime, datetime]:
    return local_instant(day, 0, router.tz), local_instant(day + timedelta(days=1), 0, router.tz)


def _day_plan(router: Router, service: str, day: date) -> list[tuple[str, str, str | None]]:
    """A service's day as wall-clock stretches and destination keys, comparable between two dates."""
    return [
        (
            f"{iv.start.astimezone(router.tz):%H:%M}",
            f"{iv.end.astimezone(router.tz):%H:%M}",
            iv.destination.key if iv.destination else None,
        )
        for iv in router.timeline(service, *_day_bounds(day, router))
    ]
