"""Which kind of day each local minute is: council closure, bank holiday, or ordinary."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date

import holidays

from ivr.core.model import MINUTES_PER_DAY, Closure, DayKind

# A day's kinds as contiguous runs of local minutes: ((start, end, kind), ...) covering 0..1440.
DayPattern = tuple[tuple[int, int, DayKind], ...]


class Calendar:
    """Bank holidays from the `holidays` package plus the council's own closures.

    Precedence inside a day: a closure beats a bank holiday, which beats an ordinary day.
    Each date's pattern is worked out once and remembered, so a lookup is a dict access
    however many years the calendar spans.
    """

    def __init__(self, country: str, subdivision: str, closures: Iterable[Closure] = ()) -> None:
        self._holidays = holidays.country_holidays(country, subdiv=subdivision)
        self._closures: dict[date, list[tuple[int, int]]] = {}
        for closure in closures:
            self._closures.setdefault(closure.day, []).append((closure.start, closure.end))
        self._patterns: dict[date, DayPattern] = {}

    def is_bank_holiday(self, day: date) -> bool:
        return day in self._holidays

    def holiday_name(self, day: date) -> str | None:
        return self._holidays.get(day)

    def pattern(self, day: date) -> DayPattern:
        """The kind of every minute of `day`, as runs."""
        cached = self._patterns.get(day)
        if cached is None:
            cached = self._patterns[day] = self._build(day)
        return cached

    def _build(self, day: date) -> DayPattern:
        base = DayKind.BANK_HOLIDAY if self.is_bank_holiday(day) else DayKind.ORDINARY
        edges = {0, MINUTES_PER_DAY}
        closed = self._closures.get(day, [])
        for start, end in closed:
            edges.update((start, end))
        cuts = sorted(edges)
        runs: list[tuple[int, int, DayKind]] = []
        for start, end in itertools.pairwise(cuts):
            kind = DayKind.CLOSURE if any(s <= start and end <= e for s, e in closed) else base
            if runs and runs[-1][2] is kind:
                runs[-1] = (runs[-1][0], end, kind)
            else:
                runs.append((start, end, kind))
        return tuple(runs)
