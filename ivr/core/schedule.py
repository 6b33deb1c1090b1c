"""The routing engine: who takes a call for a service at an instant, and for how long.

Precedence, highest first:
  1. a dated override (a temporary diversion) that covers the service;
  2. a council closure (whole or part day): only rules that list `closure` apply;
  3. a bank holiday: only rules that list `bank-holiday` apply;
  4. otherwise the weekly rules for ordinary days.
Within a kind of day the first rule, in file order, that covers the minute wins.

Rules are local wall-clock times. Each local date is turned into real instants once, so a rule
00:00-09:00 lasts 8 real hours on the day the clocks go forward and 10 on the day they go back.
A wall time that never happens (the spring-forward hour) maps to the moment the clocks jump;
one that happens twice maps to its first occurrence.
"""

from __future__ import annotations

import heapq
import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from ivr.core.calendar import Calendar, DayPattern
from ivr.core.errors import UnknownService
from ivr.core.model import MINUTES_PER_DAY, DayKind, Decision, Interval, Override, Rule, Schedule, Service

LOOKAHEAD_DAYS = 400  # how far `until` looks for the next change before answering None
_FOREVER = float("inf")

# One rule's stretch of a day in local wall-clock minutes: (start, end, rule or None for a gap).
_WallSegment = tuple[int, int, Rule | None]


def local_instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The real instant at which the wall clock in `tz` first reads `day` + `minute`."""
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    aware = naive.replace(tzinfo=tz)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
        return aware
    # The wall time falls in the spring-forward gap: find the instant the clocks jump past it.
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = aware.astimezone(UTC)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0).astimezone(tz)


def parse_instant(text: str, tz: ZoneInfo) -> datetime:
    """ISO 8601; without an offset it is wall-clock time in `tz`. Raises ValueError."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        return local_instant(value.date(), value.hour * 60 + value.minute, tz) + timedelta(
            seconds=value.second, microseconds=value.microsecond
        )
    return value.astimezone(tz)


_clock_changes: dict[tuple[str, int], frozenset[date]] = {}


def _is_clock_change_day(day: date, tz: ZoneInfo) -> bool:
    """Whether the local day is not 24 hours long; worked out once per zone and year."""
    key = (tz.key, day.year)
    found = _clock_changes.get(key)
    if found is None:
        found = frozenset(
            d
            for d in (date(day.year, 1, 1) + timedelta(days=n) for n in range(366))
            if d.year == day.year
            and local_instant(d + timedelta(days=1), 0, tz).timestamp() - local_instant(d, 0, tz).timestamp() != 86400
        )
        _clock_changes[key] = found
    return day in found


@dataclass(frozen=True, slots=True)
class _Day:
    """A day's segments in real seconds after local midnight, ready for bisect.

    Every ordinary day with the same weekday and kinds shares one of these; only the two
    clock-change days a year get their own. `ends[-1]` is the day's real length.
    """

    starts: tuple[float, ...]
    ends: tuple[float, ...]
    rules: tuple[Rule | None, ...]


class _OverrideIndex:
    """Overrides for one service cut into elementary intervals, each with its winner.

    Built by one sweep over the boundaries; the earliest-listed override in force wins.
    """

    def __init__(self, overrides: list[Override]) -> None:
        starts = [o.start.timestamp() for o in overrides]
        ends = [_end(o) for o in overrides]
        edges = sorted(set(starts) | set(ends))
        self.bounds = edges
        self.winners: list[Override | None] = []
        by_start = sorted(range(len(overrides)), key=starts.__getitem__)
        in_force: list[int] = []  # heap of file positions; lower wins
        taken = 0
        for lo in edges[:-1]:
            while taken < len(by_start) and starts[by_start[taken]] <= lo:
                heapq.heappush(in_force, by_start[taken])
                taken += 1
            while in_force and ends[in_force[0]] <= lo:
                heapq.heappop(in_force)  # ended; those further down are dropped when they surface
            self.winners.append(overrides[in_force[0]] if in_force else None)
        # run_end[k]: where the answer of piece k stops, merging neighbours with the same winner.
        self.run_end: list[float] = [0.0] * len(self.winners)
        for k in range(len(self.winners) - 1, -1, -1):
            same = k + 1 < len(self.winners) and self.winners[k + 1] is self.winners[k]
            self.run_end[k] = self.run_end[k + 1] if same else edges[k + 1]

    def at(self, ts: float) -> tuple[Override | None, float]:
        """The override in force at `ts` and the instant that answer next changes."""
        k = bisect_right(self.bounds, ts) - 1
        if k < 0:
            return None, self.bounds[0] if self.bounds else _FOREVER
        if k >= len(self.winners):
            return None, _FOREVER
        winner = self.winners[k]
        return winner, self.run_end[k] if winner else self.bounds[k + 1]

    def pieces(self, lo: float, hi: float) -> Iterator[tuple[float, float, Override]]:
        """Stretches of [lo, hi) that an override governs."""
        first = max(bisect_right(self.bounds, lo) - 1, 0)
        for k in range(first, len(self.winners)):
            if self.bounds[k] >= hi:
                break
            a, b = max(self.bounds[k], lo), min(self.bounds[k + 1], hi)
            winner = self.winners[k]
            if winner is not None and a < b:
                yield a, b, winner


def _end(override: Override) -> float:
    return override.end.timestamp() if override.end else _FOREVER


class ServiceSchedule:
    """One service compiled for fast lookups: rule plans per kind of day, overrides indexed."""

    def __init__(self, schedule: Schedule, service: Service, calendar: Calendar) -> None:
        self.service = service
        self._schedule = schedule
        self._calendar = calendar
        self._tz = ZoneInfo(schedule.timezone)
        self._plans: dict[tuple[int, DayPattern], _Day] = {}
        self._clock_change_days: dict[date, _Day] = {}
        self._overrides = _OverrideIndex([o for o in schedule.overrides if o.covers(service.key)])
        self._constant = self._constant_rule()

    # -- lookups ---------------------------------------------------------------------------

    def route(self, at: datetime) -> Decision:
        """Who takes the call at `at` (an aware datetime), by which rule, and until when."""
        if at.tzinfo is None:
            raise ValueError("route() needs an aware datetime")
        ts = at.timestamp()
        override, override_until = self._overrides.at(ts)
        if override is not None:
            return self._decision(at, override.destination, override.label, override_until, True)
        local = at.astimezone(self._tz)
        day = local.date()
        if _is_clock_change_day(day, self._tz):
            midnight = local_instant(day, 0, self._tz).timestamp()
        else:
            midnight = ts - (local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6)
        plan = self._day(day)
        i = bisect_right(plan.starts, ts - midnight) - 1
        rule = plan.rules[i]
        until = min(self._rule_until(day, midnight, plan, i), override_until)
        return self._decision(at, rule.destination if rule else None, _label(rule), until, False)

    def timeline(self, start: datetime, end: datetime) -> list[Interval]:
        """Contiguous intervals from `start` to `end`, each with one answer, in order."""
        lo, hi = start.timestamp(), end.timestamp()
        pieces: list[tuple[float, float, Rule | Override | None]] = []
        day = start.astimezone(self._tz).date()
        midnight = local_instant(day, 0, self._tz).timestamp()
        while midnight < hi:
            plan = self._day(day)
            for a, b, rule in zip(plan.starts, plan.ends, plan.rules):
                if midnight + b > lo and midnight + a < hi:
                    pieces.append((max(midnight + a, lo), min(midnight + b, hi), rule))
            midnight += plan.ends[-1]
            day += timedelta(days=1)
        pieces = _overlay(pieces, list(self._overrides.pieces(lo, hi)))
        return [self._interval(a, b, what) for a, b, what in _merge(pieces)]

    def day_plan(self, weekday: int, kind: DayKind) -> tuple[tuple[int, int, Rule | None], ...]:
        """A whole day of one kind as wall-clock minutes and the rule answering each stretch (None: closed).

        What a timetable says, not what happens on a particular date: no overrides, no clock change.
        """
        return self._wall_plan(weekday, ((0, MINUTES_PER_DAY, kind),))

    def gaps(self, start: datetime, end: datetime) -> list[Interval]:
        """The stretches from `start` to `end` that no rule or override covers."""
        return [iv for iv in self.timeline(start, end) if iv.destination is None]

    # -- compilation -------------------------------------------------------------------------

    def _day(self, day: date) -> _Day:
        """The day's segments in real seconds after its local midnight."""
        if _is_clock_change_day(day, self._tz):
            cached = self._clock_change_days.get(day)
            if cached is None:
                cached = self._clock_change_days[day] = self._clock_change_day(day)
            return cached
        key = (day.weekday(), self._calendar.pattern(day))
        plan = self._plans.get(key)
        if plan is None:
            wall = self._wall_plan(*key)
            plan = self._plans[key] = _Day(
                tuple(a * 60.0 for a, _, _ in wall), tuple(b * 60.0 for _, b, _ in wall), tuple(r for _, _, r in wall)
            )
        return plan

    def _clock_change_day(self, day: date) -> _Day:
        midnight = local_instant(day, 0, self._tz).timestamp()
        real: list[tuple[float, float, Rule | None]] = []
        for a, b, rule in self._wall_plan(day.weekday(), self._calendar.pattern(day)):
            ta = local_instant(day, a, self._tz).timestamp() - midnight
            tb = local_instant(day, b, self._tz).timestamp() - midnight
            if ta < tb:  # a stretch wholly inside the spring-forward gap never happens
                real.append((ta, tb, rule))
        # Dropping such a stretch can leave one rule on both sides of it: join them, or
        # `until` would name the clock change although the answer does not change there.
        merged = _merge(real)
        return _Day(tuple(a for a, _, _ in merged), tuple(b for _, b, _ in merged), tuple(r for _, _, r in merged))

    def _wall_plan(self, weekday: int, pattern: DayPattern) -> tuple[_WallSegment, ...]:
        """A day's wall-clock segments for one weekday and pattern of kinds."""
        segments: list[_WallSegment] = []
        for run_start, run_end, kind in pattern:
            rules = [r for r in self.service.rules if r.applies(weekday, kind)]
            segments.extend(_paint(rules, run_start, run_end))
        return tuple(_merge(segments))

    def _constant_rule(self) -> Rule | None:
        """The rule that answers every minute of every kind of day, if there is one."""
        plans = {self._wall_plan(wd, ((0, MINUTES_PER_DAY, kind),)) for wd in range(7) for kind in DayKind}
        if len(plans) == 1:
            (only,) = plans
            if len(only) == 1 and only[0][2] is not None:
                return only[0][2]
        return None

    def _rule_until(self, day: date, midnight: float, plan: _Day, index: int) -> float:
        """When segment `index` of `day` ends, following the same rule across midnights."""
        rule = plan.rules[index]
        if rule is not None and rule is self._constant:
            return _FOREVER
        for _ in range(LOOKAHEAD_DAYS):
            if index < len(plan.rules) - 1:
                return midnight + plan.ends[index]
            following = self._day(day + timedelta(days=1))
            if following.rules[0] is not rule:
                return midnight + plan.ends[index]
            day, midnight, plan, index = day + timedelta(days=1), midnight + plan.ends[-1], following, 0
        return _FOREVER

    # -- building values ---------------------------------------------------------------------

    def _decision(self, at: datetime, key: str | None, label: str, until: float, override: bool) -> Decision:
        return Decision(
            service=self.service.key,
            at=at.astimezone(self._tz),
            destination=self._schedule.destinations[key] if key else None,
            rule=label,
            until=None if until == _FOREVER else datetime.fromtimestamp(until, self._tz),
            override=override,
        )

    def _interval(self, a: float, b: float, what: Rule | Override | None) -> Interval:
        return Interval(
            start=datetime.fromtimestamp(a, self._tz),
            end=datetime.fromtimestamp(b, self._tz),
            destination=self._schedule.destinations[what.destination] if what else None,
            rule=what.label if isinstance(what, Override) else _label(what),
            override=isinstance(what, Override),
        )


def _label(rule: Rule | None) -> str:
    return rule.label if rule else "no rule covers this time"


def _paint(rules: list[Rule], lo: int, hi: int) -> list[_WallSegment]:
    """Give each elementary stretch of [lo, hi) to the first rule covering it (interval sweep).

    Rules are laid down in order; a skip list of unclaimed pieces keeps this linear in the
    number of rules and boundaries, so a thousand rules still compile quickly.
    """
    cuts = sorted({lo, hi} | {min(max(x, lo), hi) for r in rules for x in (r.start, r.end)})
    owner: list[Rule | None] = [None] * (len(cuts) - 1)
    next_free = list(range(len(cuts)))

    def free_from(k: int) -> int:
        while next_free[k] != k:
            next_free[k] = next_free[next_free[k]]
            k = next_free[k]
        return k

    for rule in rules:
        if rule.end <= lo or rule.start >= hi:
            continue  # wholly outside this run of the day
        stop = bisect_left(cuts, min(rule.end, hi))
        k = free_from(bisect_left(cuts, max(rule.start, lo)))
        while k < stop:
            owner[k] = rule
            next_free[k] = k + 1
            k = free_from(k + 1)
    return [(a, b, owner[k]) for k, (a, b) in enumerate(itertools.pairwise(cuts))]


Piece = tuple[float, float, Rule | Override | None]  # a stretch of time (timestamps) and what answers in it
Edge = TypeVar("Edge", int, float)
What = TypeVar("What")


def _merge(pieces: list[tuple[Edge, Edge, What]]) -> list[tuple[Edge, Edge, What]]:
    """Join neighbouring pieces that share the same answer (compared by identity)."""
    merged: list[tuple[Edge, Edge, What]] = []
    for a, b, what in pieces:
        if merged and merged[-1][2] is what and merged[-1][1] == a:
            merged[-1] = (merged[-1][0], b, what)
        else:
            merged.append((a, b, what))
    return merged


def _overlay(base: list[Piece], top: list[Piece]) -> list[Piece]:
    """Pieces of `base` with `top` laid over them wherever `top` has something."""
    if not top:
        return base
    cuts = sorted({x for a, b, _ in base for x in (a, b)} | {x for a, b, _ in top for x in (a, b)})
    base_starts = [a for a, _, _ in base]
    top_starts = [a for a, _, _ in top]
    result = []
    for a, b in itertools.pairwise(cuts):
        t = bisect_right(top_starts, a) - 1
        if t >= 0 and top[t][1] >= b:
            result.append((a, b, top[t][2]))
            continue
        k = bisect_right(base_starts, a) - 1
        result.append((a, b, base[k][2]))
    return result


class Router:
    """A line's schedule compiled for routing: one ServiceSchedule per service."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.tz = ZoneInfo(schedule.timezone)
        self.calendar = Calendar(schedule.holiday_country, schedule.holiday_subdivision, schedule.closures)
        self._services = {key: ServiceSchedule(schedule, service, self.calendar) for key, service in schedule.services.items()}

    def service(self, key: str) -> ServiceSchedule:
        try:
            return self._services[key]
        except KeyError:
            raise UnknownService(self.schedule.line, key) from None

    def route(self, service: str, at: datetime) -> Decision:
        """Who takes a call for `service` at the aware instant `at`."""
        return self.service(service).route(at)

    def timeline(self, service: str, start: datetime, end: datetime) -> list[Interval]:
        """The answers for `service` from `start` to `end` as contiguous intervals."""
        return self.service(service).timeline(start, end)

    def day_plan(self, service: str, weekday: int, kind: DayKind) -> tuple[tuple[int, int, Rule | None], ...]:
        """`service`'s timetable for a weekday (0 is Monday) of one kind of day, in wall-clock minutes."""
        return self.service(service).day_plan(weekday, kind)

    def coverage(self, service: str, start: datetime, end: datetime) -> list[Interval]:
        """The gaps in `service` from `start` to `end`; empty means always covered."""
        return self.service(service).gaps(start, end)
