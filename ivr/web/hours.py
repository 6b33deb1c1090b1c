"""Opening hours in plain words, read from a service's rules: "Mon-Thu 08:45-17:00, Fri 08:45-16:00".

What the quick card prints. The rules are read as a timetable (an ordinary week, and a bank holiday
of each weekday), so what the words say holds every week; dated closures and diversions are the week
page's to show. Wall-clock times, as the schedules are written.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.core.model import MINUTES_PER_DAY, DayKind, Destination, Service
from ivr.core.schedule import Router

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ALL_DAY = ((0, MINUTES_PER_DAY),)
ANY_TIME = "any time"
OTHER_TIMES = "at all other times"

Spans = tuple[tuple[int, int], ...]  # stretches of one day, in wall-clock minutes
Week = tuple[Spans, ...]  # Monday to Sunday


@dataclass(frozen=True, slots=True)
class Hours:
    """One destination's share of a service's timetable, in words."""

    destination: Destination
    when: str  # "Mon-Thu 08:45-17:00, Fri 08:45-16:00; not on bank holidays", "any time", "at all other times"


@dataclass(frozen=True, slots=True)
class ServiceHours:
    """Who answers a service and when; `closed` says what happens when no one does ("" if someone always does)."""

    service: Service
    hours: tuple[Hours, ...]
    closed: str

    @property
    def any_time(self) -> bool:
        """One team takes the calls at every minute of every kind of day."""
        return len(self.hours) == 1 and self.hours[0].when == ANY_TIME

    def of(self, destination: str) -> Hours | None:
        """The hours of one destination of this service."""
        return next((h for h in self.hours if h.destination.key == destination), None)

    def when(self, destination: str) -> str:
        """When `destination` takes this service's calls, in words that stand alone ("" if it never does)."""
        hours = self.of(destination)
        if hours is None:
            return ""
        if hours.when != OTHER_TIMES:
            return hours.when
        (other,) = (h.destination for h in self.hours if h.destination.key != destination)
        return f"when {other.name} is closed"


def service_hours(router: Router, service: Service) -> ServiceHours:
    """`service`'s timetable in words, destination by destination in the order its rules name them."""
    ordinary, holiday = _weeks(router, service.key, DayKind.ORDINARY), _weeks(router, service.key, DayKind.BANK_HOLIDAY)
    present = {*ordinary, *holiday}
    order = [key for key in dict.fromkeys(rule.destination for rule in service.rules) if key in present]  # file order
    gapless = all(
        sum(b - a for week in weeks.values() for a, b in week[weekday]) == MINUTES_PER_DAY
        for weeks in (ordinary, holiday)
        for weekday in range(7)
    )
    words = {key: _describe(ordinary.get(key, _EMPTY), holiday.get(key, _EMPTY)) for key in order}
    if gapless and len(order) == 2:
        # One team holds the office hours and the other everything else: say it as people do.
        larger = max(order, key=lambda key: _minutes(ordinary.get(key, _EMPTY)))
        words[larger] = OTHER_TIMES
    destinations = router.schedule.destinations
    hours = tuple(Hours(destinations[key], words[key]) for key in order)
    return ServiceHours(service, hours, "" if gapless else "Closed at other times")


_EMPTY: Week = ((),) * 7


def _weeks(router: Router, service: str, kind: DayKind) -> dict[str, Week]:
    """Destination key -> its stretches on each weekday of this kind of day, neighbours joined."""
    found: dict[str, list[list[tuple[int, int]]]] = {}
    for weekday in range(7):
        for start, end, rule in router.day_plan(service, weekday, kind):
            if rule is None:
                continue
            days = found.setdefault(rule.destination, [[] for _ in range(7)])
            spans = days[weekday]
            if spans and spans[-1][1] == start:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
    return {key: tuple(tuple(day) for day in days) for key, days in found.items()}


def _minutes(week: Week) -> int:
    return sum(b - a for day in week for a, b in day)


def _describe(ordinary: Week, holiday: Week) -> str:
    """A team's week in words: "Mon-Thu 17:00-24:00, Sat-Sun 09:00-24:00; bank holidays 09:00-24:00", or "any time"."""
    if all(day == ALL_DAY for day in (*ordinary, *holiday)):
        return ANY_TIME
    parts = [_week_words(ordinary)] if _minutes(ordinary) else []
    if holiday == ordinary:
        return "; ".join(parts)
    if not _minutes(holiday):
        parts.append("not on bank holidays")
    elif len(set(holiday)) == 1:  # the same whatever the weekday
        said = _spans_words(holiday[0])
        parts.append(f"bank holidays {said}" if _minutes(ordinary) else f"bank holidays only, {said}")
    else:
        said = _week_words(holiday)
        parts.append(f"bank holidays: {said}" if _minutes(ordinary) else f"bank holidays only: {said}")
    return "; ".join(parts)


def _week_words(week: Week) -> str:
    """Weekdays with the same hours together: "Mon-Thu 08:45-17:00, Fri 08:45-16:00"."""
    groups: dict[Spans, list[int]] = {}
    for weekday, spans in enumerate(week):
        if spans:
            groups.setdefault(spans, []).append(weekday)
    return ", ".join(f"{days_words(days)} {_spans_words(spans)}" for spans, days in groups.items())


def days_words(weekdays: list[int]) -> str:
    """Weekdays (0 is Monday) as people write them: "every day", "Mon-Thu", "Sat-Sun", "Mon, Wed-Fri"."""
    if len(weekdays) == 7:
        return "every day"
    runs: list[list[int]] = []
    for weekday in sorted(weekdays):
        if runs and runs[-1][-1] == weekday - 1:
            runs[-1].append(weekday)
        else:
            runs.append([weekday])
    return ", ".join(_DAYS[run[0]] if len(run) == 1 else f"{_DAYS[run[0]]}\u2013{_DAYS[run[-1]]}" for run in runs)


def _spans_words(spans: Spans) -> str:
    return " and ".join(f"{_hhmm(a)}\u2013{_hhmm(b)}" for a, b in spans)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
