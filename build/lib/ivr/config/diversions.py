"""A schedule's dated entries: council closures and temporary diversions (overrides).

Their times are real instants: a local time the clocks make ambiguous is read as the engine
reads rules (the first of two, or the moment the clocks jump), with a warning that says so.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ivr.config import yamlfile
from ivr.config.fields import Reader, brief, time_range
from ivr.config.instants import clock_readings, instant, reading, readings_of, stamp
from ivr.core.model import MINUTES_PER_DAY, Closure, Destination, Override, Service

FURTHER_NOTICE = "further notice"


def read_closures(r: Reader, nodes: yamlfile.Sequence, tz: ZoneInfo) -> list[Closure]:
    """The council's closures, whole days or part days in local wall-clock time."""
    result = []
    for index, node in enumerate(nodes):
        where = f"closures[{index}]"
        item = r.fields(node, where, ("date", "name"), ("time",))
        if item is None:
            continue
        try:
            day = datetime.strptime(r.text(item, "date", where), "%Y-%m-%d").date()
        except ValueError:
            r.problem(item.line_of("date"), f"{where}.date", f"{brief(item.get('date'))} is not a date (YYYY-MM-DD)")
            continue
        span = time_range(r, item, "time", where) if "time" in item else (0, MINUTES_PER_DAY)
        if span is not None:
            for minute, edge in zip(span, ("starts", "ends")):
                _warn_clock_change(r, item.line_of("time"), f"{where}.time", day, minute, tz, f"the closure {edge}")
            result.append(Closure(day, span[0], span[1], r.text(item, "name", where), f"{r.path}:{item.line}"))
    return result


def _warn_clock_change(r: Reader, line: int, where: str, day: date, minute: int, tz: ZoneInfo, what: str) -> None:
    """Warn when a closure's wall-clock time happens twice or never on its date."""
    if minute in (0, MINUTES_PER_DAY):
        return
    naive = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute)
    readings = clock_readings(naive, tz)
    if readings is None:
        return
    shown = f"{naive:%H:%M} on {naive:%a} {naive.day} {naive:%b %Y}"
    if readings[2]:
        r.warn(
            line,
            where,
            f"{shown} happens twice as the clocks go back, at {stamp(readings[0])} and {stamp(readings[1])}; {what} at the first",
        )
    else:
        r.warn(
            line,
            where,
            f"{shown} does not happen: the clocks go forward; it could mean {reading(readings[0], tz)} or "
            f"{reading(readings[1], tz)}; {what} when the clocks change",
        )


def _read_instant(r: Reader, item: yamlfile.Mapping, key: str, where: str, tz: ZoneInfo) -> datetime | None:
    """A diversion's `from` or `until` as a real instant; warns when a local time is ambiguous."""
    text = r.text(item, key, where)
    try:
        value = instant(text, tz)
    except (ValueError, OverflowError):
        return None
    readings = readings_of(text, tz)
    if readings is not None:
        early, late, happens = readings
        if happens:
            r.warn(
                item.line_of(key),
                f"{where}.{key}",
                f"{text} happens twice as the clocks go back, at {stamp(early)} and {stamp(late)}; read as the first, "
                f"{stamp(value)}; write the offset to choose",
            )
        else:
            r.warn(
                item.line_of(key),
                f"{where}.{key}",
                f"{text} does not happen: the clocks go forward; it could mean {reading(early, tz)} or {reading(late, tz)}; "
                f"read as {stamp(value)}, when the clocks change; write the offset to choose",
            )
    return value


def read_overrides(
    r: Reader,
    nodes: yamlfile.Sequence,
    tz: ZoneInfo,
    destinations: dict[str, Destination],
    services: dict[str, Service],
) -> list[Override]:
    """The temporary diversions, each from an instant until an instant or further notice."""
    result = []
    lines: dict[int, tuple[int, int]] = {}  # id(override) -> (position in the file, line)
    for index, node in enumerate(nodes):
        where = f"overrides[{index}]"
        item = r.fields(node, where, ("services", "to", "from", "until", "reason"))
        if item is None:
            continue
        ok = True
        keys = item.get("services")
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list):
            r.problem(item.line_of("services"), f"{where}.services", "expected a list of service keys, like [child-at-risk]")
            keys, ok = [], False
        elif not keys:
            r.problem(item.line_of("services"), f"{where}.services", "names no service, so the diversion would divert nothing")
            ok = False
        for key in keys:
            if str(key) not in services:
                r.problem(item.line_of("services"), f"{where}.services", f"unknown service {brief(key)}")
                ok = False
        to = r.text(item, "to", where)
        if to not in destinations:
            r.problem(item.line_of("to"), f"{where}.to", f"unknown destination {brief(to)}")
            ok = False
        elif destinations[to].number is None:
            r.problem(item.line_of("to"), f"{where}.to", f"destination {brief(to)} has no number to dial")
            ok = False
        start = _read_instant(r, item, "from", where, tz)
        if start is None:
            r.problem(
                item.line_of("from"), f"{where}.from", f"{brief(item.get('from'))} is not a date and time (2026-12-24T13:00)"
            )
            continue
        until_text = r.text(item, "until", where)
        end = None
        if until_text.lower() != FURTHER_NOTICE:
            end = _read_instant(r, item, "until", where, tz)
            if end is None:
                r.problem(
                    item.line_of("until"), f"{where}.until", f"{brief(until_text)} is not a date and time, or 'further notice'"
                )
                continue
            # Instants, not wall clocks: 01:45+01:00 comes before 01:15+00:00 on the night the clocks go back.
            if end.timestamp() <= start.timestamp():
                r.problem(
                    item.line_of("until"),
                    f"{where}.until",
                    f"ends before it starts ({stamp(end)} is not after {stamp(start)}); check the dates and offsets",
                )
                continue
        if not r.text(item, "reason", where):
            r.problem(item.line_of("reason"), f"{where}.reason", "say why the calls are diverted")
            ok = False
        if ok:
            shown_end = stamp(end) if end else FURTHER_NOTICE
            label = (
                f"override {index + 1}: {r.text(item, 'reason', where)}, "
                f"{stamp(start)} until {shown_end} -> {to} ({r.path}:{item.line})"
            )
            override = Override(
                frozenset(map(str, keys)), to, start, end, r.text(item, "reason", where), label, f"{r.path}:{item.line}"
            )
            lines[id(override)] = (index, item.line)
            result.append(override)
    _warn_overlaps(r, result, lines)
    return result


def _warn_overlaps(r: Reader, overrides: list[Override], lines: dict[int, tuple[int, int]]) -> None:
    """Warn at the later of two diversions that overlap for a service: the engine applies the
    one listed first (ivr.core.schedule), so the later one does nothing while they overlap."""
    for later_pos, later in enumerate(overrides):
        for first in overrides[:later_pos]:
            shared = sorted(first.services & later.services)
            start = max(first.start, later.start, key=datetime.timestamp)
            ends = [o.end for o in (first, later) if o.end is not None]
            end = min(ends, key=datetime.timestamp) if ends else None
            if not shared or (end is not None and end.timestamp() <= start.timestamp()):
                continue
            first_index, first_line = lines[id(first)]
            later_index, later_line = lines[id(later)]
            r.warn(
                later_line,
                f"overrides[{later_index}]",
                f"overlaps overrides[{first_index}] (line {first_line}) for {', '.join(shared)} from {stamp(start)} "
                f"until {stamp(end) if end else FURTHER_NOTICE}; overrides[{first_index}], listed first, wins there "
                f"(calls go to {first.destination!r}); list the one that should win first",
            )
