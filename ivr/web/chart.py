"""The week page's chart of one service: a band per team across seven days, as numbers for the SVG template.

Drawn to real elapsed time: x is proportional to the seconds since the week began, so each day is as
wide as it is long (23 hours the day the clocks go forward, 25 the day they go back) and the moment
of the change is a line of its own. Everything here is geometry in the SVG's own units; the template
(templates/admin/week.html) only writes it out.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.core.schedule import local_instant
from ivr.web.formats import phone
from ivr.web.routing_week import ServiceWeek, Week

WIDTH = 960
HEADER = 44  # the day's name, then what is special about it
BAND = 40  # a team's name, then its bar
BAR_TOP, BAR_HEIGHT = 19, 16  # within a band
AXIS = 18  # hours of the day under the bands
TICK_HOURS = (6, 12, 18)
_CHAR_WIDTH = 6.4  # about the width of a character of the 12-unit note text, to shorten notes that would not fit


@dataclass(frozen=True, slots=True)
class Column:
    """One day: where it is, its name, its note (bank holiday, closure, clock change) and how it is shaded."""

    x: float
    width: float
    label: str
    note: str
    kind: str  # "holiday" for a bank holiday, else "even" or "odd" by position (alternate shading)


@dataclass(frozen=True, slots=True)
class Bar:
    """A stretch of time on a band; `diverted` when a diversion, not a rule, gives the calls to the team."""

    x: float
    width: float
    diverted: bool


@dataclass(frozen=True, slots=True)
class Band:
    """One team's row (or, with `closed`, the times no one takes the calls)."""

    y: float
    label: str
    bars: tuple[Bar, ...]
    closed: bool


@dataclass(frozen=True, slots=True)
class Mark:
    """A vertical line or span across the bands: a clock change (width 0) or a council closure."""

    x: float
    width: float
    label: str


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    """Everything the template draws for one service."""

    id: str
    title: str
    desc: str
    width: int
    height: int
    columns: tuple[Column, ...]
    bands: tuple[Band, ...]
    closures: tuple[Mark, ...]
    clock_changes: tuple[Mark, ...]
    ticks: tuple[Tick, ...]

    bar_top: int = BAR_TOP
    bar_height: int = BAR_HEIGHT

    @property
    def bands_top(self) -> int:
        return HEADER

    @property
    def bands_bottom(self) -> int:
        return self.height - AXIS


def draw(week: Week, service_week: ServiceWeek) -> Chart:
    """The chart of `service_week`, one band per team in the order of `ServiceWeek.destinations`."""
    lo, hi = week.start.timestamp(), week.end.timestamp()

    def x(ts: float) -> float:
        return round((ts - lo) / (hi - lo) * WIDTH, 1)

    columns = []
    for n, day in enumerate(week.days):
        left, right = x(day.start.timestamp()), x(day.end.timestamp())
        notes = [*([day.holiday] if day.holiday else []), *(c.closure.name for c in day.closures)]
        if day.clock_change:
            notes.append("Clocks go forward" if day.clock_change.forward else "Clocks go back")
        kind = "holiday" if day.holiday else ("even", "odd")[n % 2]
        columns.append(Column(left, round(right - left, 1), day.short, _fit("; ".join(notes), right - left), kind))
    bands = []
    for n, team in enumerate(service_week.destinations):
        key = team.key if team else None
        bars = tuple(
            Bar(x(iv.start.timestamp()), round(x(iv.end.timestamp()) - x(iv.start.timestamp()), 1), iv.override)
            for iv in service_week.intervals
            if (iv.destination.key if iv.destination else None) == key
        )
        label = f"{team.name}, {phone(team)}" if team and phone(team) else team.name if team else "Closed: no one takes the calls"
        bands.append(Band(HEADER + n * BAND, label, bars, team is None))
    height = HEADER + len(bands) * BAND + AXIS
    tz = week.line.router.tz
    ticks = tuple(
        Tick(x(local_instant(day.day, hour * 60, tz).timestamp()), f"{hour:02d}") for day in week.days for hour in TICK_HOURS
    )
    closures = tuple(
        Mark(x(c.start.timestamp()), round(x(c.end.timestamp()) - x(c.start.timestamp()), 1), c.closure.name)
        for day in week.days
        for c in day.closures
    )
    changes = tuple(
        Mark(x(day.clock_change.at.timestamp()), 0, f"{day.clock_change.before} to {day.clock_change.after}")
        for day in week.days
        if day.clock_change
    )
    name = service_week.service.name
    title = f"Who takes the calls: {name}, {week.span}"
    desc = (
        f"One band per team ({len(bands)}), days left to right, drawn to real elapsed time. "
        "The table after the chart gives the same periods with their reasons."
    )
    return Chart(
        f"chart-{service_week.service.key}",
        title,
        desc,
        WIDTH,
        height,
        tuple(columns),
        tuple(bands),
        closures,
        changes,
        ticks,
    )


def _fit(text: str, width: float) -> str:
    """`text` shortened with an ellipsis to about what fits in `width` units."""
    room = max(int(width / _CHAR_WIDTH) - 1, 1)
    return text if len(text) <= room else text[: room - 1].rstrip() + "\u2026"
