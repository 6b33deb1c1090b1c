"""A line's schedule file: destinations, services and their rules, closures and overrides."""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from ivr.config import yamlfile
from ivr.config.coverage import stamp
from ivr.config.fields import KEY, Reader, brief, join, phone
from ivr.core.model import (
    ALL_WEEKDAYS,
    MINUTES_PER_DAY,
    WEEKDAY_NAMES,
    Closure,
    DayKind,
    Destination,
    Override,
    Rule,
    Schedule,
    Service,
)
from ivr.core.schedule import parse_instant

FURTHER_NOTICE = "further notice"
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")

_SCHEDULE_KEYS = ("line", "timezone", "destinations", "services")
_SCHEDULE_OPTIONAL = ("bank_holidays", "closures", "overrides")


def read_schedule(r: Reader, doc: yamlfile.Mapping, key: str) -> Schedule | None:
    r.fields(doc, "", _SCHEDULE_KEYS, _SCHEDULE_OPTIONAL)
    if r.text(doc, "line", "") != key:
        r.problem(doc.line_of("line"), "line", f"must be {brief(key)}, the file's name")
    tz_name = r.text(doc, "timezone", "", "Europe/London")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(doc.line_of("timezone"), "timezone", f"unknown time zone {brief(tz_name)}")
        tz = ZoneInfo("Europe/London")
    holidays_node = r.mapping(doc, "bank_holidays", "")
    r.fields(holidays_node, "bank_holidays", (), ("country", "subdivision"))
    country, subdivision = _bank_holidays(r, holidays_node)
    destinations = _destinations(r, r.mapping(doc, "destinations", ""))
    services = _services(r, r.mapping(doc, "services", ""), destinations)
    closures = _closures(r, r.sequence(doc, "closures", ""), tz)
    overrides = _overrides(r, r.sequence(doc, "overrides", ""), tz, destinations, services)
    return Schedule(
        line=key,
        timezone=tz_name,
        destinations=destinations,
        services=services,
        closures=tuple(closures),
        overrides=tuple(overrides),
        holiday_country=country,
        holiday_subdivision=subdivision,
        path=r.path,
    )


@functools.cache
def _holiday_calendars() -> dict[str, list[str]]:
    """Country codes the `holidays` package knows, each with its subdivision codes."""
    return holidays.list_supported_countries()


def _bank_holidays(r: Reader, node: yamlfile.Mapping) -> tuple[str, str]:
    """Country and subdivision for the `holidays` package; England (GB, ENG) unless told."""
    country = r.text(node, "country", "bank_holidays", "GB")
    subdivisions = _holiday_calendars().get(country)
    if subdivisions is None:
        r.problem(
            node.line_of("country"),
            "bank_holidays.country",
            f"{brief(country)} is not a country the holidays package knows (GB is the UK)",
        )
        return "GB", "ENG"
    subdivision = r.text(node, "subdivision", "bank_holidays", "ENG" if country == "GB" else "")
    if subdivision and subdivision not in subdivisions:
        known = ", ".join(subdivisions) or "none"
        r.problem(
            node.line_of("subdivision"),
            "bank_holidays.subdivision",
            f"{brief(subdivision)} is not a subdivision of {country} (known: {known})",
        )
    return country, subdivision


def _destinations(r: Reader, node: yamlfile.Mapping) -> dict[str, Destination]:
    result: dict[str, Destination] = {}
    if not node:
        r.problem(node.line, "destinations", "at least one destination is needed")
    for key, value in node.items():
        where = f"destinations.{key}"
        if not KEY.match(key):
            r.problem(node.line_of(key), where, f"{brief(key)} is not a key (lower-case words joined by '-')")
        item = r.fields(value, where, ("name",), ("number", "note", "email", "web"))
        if item is None:
            continue
        number = None
        if "number" in item:
            # A bad number keeps its text: the file is refused anyway, and None would make every
            # rule, fallback and override using this team report "has no number" a second time.
            text = r.text(item, "number", where)
            number = phone(r, text, item.line_of("number"), f"{where}.number") or text
        elif "email" not in item and "web" not in item:
            r.problem(item.line, where, "needs a number, an email or a web address")
        result[key] = Destination(
            key=key,
            name=r.text(item, "name", where),
            number=number,
            note=r.text(item, "note", where),
            email=r.text(item, "email", where),
            web=r.text(item, "web", where),
        )
    return result


def _services(r: Reader, node: yamlfile.Mapping, destinations: dict[str, Destination]) -> dict[str, Service]:
    result: dict[str, Service] = {}
    for key, value in node.items():
        where = f"services.{key}"
        if not KEY.match(key):
            r.problem(node.line_of(key), where, f"{brief(key)} is not a key (lower-case words joined by '-')")
        item = r.fields(value, where, ("name", "rules"), ("always_open", "fallback", "note"))
        if item is None:
            continue
        rules = []
        rule_nodes = r.sequence(item, "rules", where)
        for index, rule_node in enumerate(rule_nodes):
            rule = _rule(r, rule_node, f"{where}.rules[{index}]", index + 1, destinations)
            if rule is not None:
                rules.append(rule)
        fallback = []
        fallback_node = r.sequence(item, "fallback", where)
        for index, dest in enumerate(fallback_node):
            if str(dest) not in destinations:
                r.problem(fallback_node.line_of(index), f"{where}.fallback[{index}]", f"unknown destination {brief(dest)}")
            elif destinations[str(dest)].number is None:
                r.problem(
                    fallback_node.line_of(index), f"{where}.fallback[{index}]", f"destination {brief(dest)} has no number to dial"
                )
            else:
                fallback.append(str(dest))
        always_open = r.flag(item, "always_open", where)
        if always_open:
            for rule in rules:
                if destinations.get(rule.destination) and destinations[rule.destination].number is None:
                    r.problem(item.line_of("rules"), where, f"always open, but {brief(rule.destination)} has no number to dial")
        result[key] = Service(
            key=key,
            name=r.text(item, "name", where),
            rules=tuple(rules),
            always_open=always_open,
            fallback=tuple(fallback),
            source=f"{r.path}:{node.line_of(key)}",
        )
    return result


def _rule(r: Reader, node: Any, where: str, number: int, destinations: dict[str, Destination]) -> Rule | None:
    item = r.fields(node, where, ("to", "time"), ("days", "on", "name"))
    if item is None:
        return None
    to = r.text(item, "to", where)
    if to and to not in destinations:
        r.problem(item.line_of("to"), f"{where}.to", f"unknown destination {brief(to)}")
    span = _time_range(r, item, "time", where)
    weekdays = _weekdays(r, item, where)
    kinds = _kinds(r, item, where)
    if span is None or weekdays is None or kinds is None:
        return None
    start, end = span
    name = r.text(item, "name", where)
    days_text = _describe_days(weekdays)
    kinds_text = "" if kinds == {DayKind.ORDINARY} else " on " + ", ".join(sorted(k.value for k in kinds))
    if kinds == set(DayKind):
        kinds_text = " on every kind of day"
    summary = f"{days_text} {_hhmm(start)}-{_hhmm(end)}{kinds_text} -> {to}"
    source = f"{r.path}:{item.line}"
    label = f"rule {number}: {name + ', ' if name else ''}{summary} ({source})"
    return Rule(to, frozenset(weekdays), start, end, frozenset(kinds), label, source)


def _clock(text: str) -> int | None:
    match = _TIME.match(text.strip())
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes


def _time_range(r: Reader, node: yamlfile.Mapping, key: str, where: str) -> tuple[int, int] | None:
    text = r.text(node, key, where)
    parts = text.split("-")
    field_name = join(where, key)
    if len(parts) != 2:
        r.problem(node.line_of(key), field_name, f"{brief(text)} is not a time range like 08:45-17:00")
        return None
    start, end = _clock(parts[0]), _clock(parts[1])
    for part, value in zip(parts, (start, end)):
        if value is None:
            r.problem(node.line_of(key), field_name, f"{brief(part.strip())} is not a time (HH:MM, 00:00 to 24:00)")
    if start is None or end is None:
        return None
    if start == MINUTES_PER_DAY:
        r.problem(node.line_of(key), field_name, "a range cannot start at 24:00")
        return None
    if end <= start:
        r.problem(
            node.line_of(key),
            field_name,
            f"end {parts[1].strip()} is not after start {parts[0].strip()} (use 24:00 for midnight)",
        )
        return None
    return start, end


# "mon" or "monday"; a word that merely starts like a day ("monkey") is not one.
_DAY_NAMES = {
    name: short
    for short in WEEKDAY_NAMES
    for name in (
        short,
        {
            "mon": "monday",
            "tue": "tuesday",
            "wed": "wednesday",
            "thu": "thursday",
            "fri": "friday",
            "sat": "saturday",
            "sun": "sunday",
        }[short],
    )
}


def _weekdays(r: Reader, node: yamlfile.Mapping, where: str) -> set[int] | None:
    if "days" not in node:
        return set(ALL_WEEKDAYS)
    text = r.text(node, "days", where).lower()
    if text in ("every day", "daily", "all"):
        return set(ALL_WEEKDAYS)
    days: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        ends = [_DAY_NAMES.get(e.strip(), "") for e in part.split("-")]
        if len(ends) not in (1, 2) or not all(ends):
            r.problem(
                node.line_of("days"),
                f"{where}.days",
                f"{brief(part)} is not a weekday or range (mon, mon-fri, sat,sun, every day)",
            )
            return None
        first, last = WEEKDAY_NAMES.index(ends[0]), WEEKDAY_NAMES.index(ends[-1])
        if last < first:
            r.problem(node.line_of("days"), f"{where}.days", f"{brief(part)} runs backwards; write it as two ranges")
            return None
        days.update(range(first, last + 1))
    return days


def _kinds(r: Reader, node: yamlfile.Mapping, where: str) -> set[DayKind] | None:
    value = node.get("on", ["ordinary"])
    if value == "any":
        return set(DayKind)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        r.problem(
            node.line_of("on"),
            f"{where}.on",
            "expected a kind of day or a list of them (ordinary, bank-holiday, closure, or any)",
        )
        return None
    kinds = set()
    for name in value:
        try:
            kinds.add(DayKind(str(name)))
        except ValueError:
            r.problem(
                node.line_of("on"), f"{where}.on", f"{brief(name)} is not a kind of day (ordinary, bank-holiday, closure, or any)"
            )
            return None
    if not kinds:
        r.problem(node.line_of("on"), f"{where}.on", "names no kind of day, so the rule would never apply")
        return None
    return kinds


def _describe_days(days: set[int]) -> str:
    if days == set(ALL_WEEKDAYS):
        return "every day"
    names = [WEEKDAY_NAMES[d].capitalize() for d in sorted(days)]
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{names[0]}-{names[-1]}"
    return ",".join(names)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _closures(r: Reader, nodes: yamlfile.Sequence, tz: ZoneInfo) -> list[Closure]:
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
        span = _time_range(r, item, "time", where) if "time" in item else (0, MINUTES_PER_DAY)
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
            f"{shown} does not happen: the clocks go forward; it could mean {_reading(readings[0], tz)} or "
            f"{_reading(readings[1], tz)}; {what} when the clocks change",
        )


def clock_readings(naive: datetime, tz: ZoneInfo) -> tuple[datetime, datetime, bool] | None:
    """The two instants a wall-clock reading in `tz` may mean when the clocks change around it,
    and whether it really happens twice (False: it never happens); None for an ordinary reading."""
    early, late = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if early.utcoffset() == late.utcoffset():
        return None
    happens = early.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive
    return early, late, happens


def _reading(value: datetime, tz: ZoneInfo) -> str:
    """'2027-03-28T01:30+00:00 (02:30 BST)': a reading with the wall clock it really is."""
    real = value.astimezone(UTC).astimezone(tz)
    return f"{stamp(value)} ({real:%H:%M %Z})"


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


def _readings_of(text: str, tz: ZoneInfo) -> tuple[datetime, datetime, bool] | None:
    """clock_readings() of a valid instant() text when it is a local time without an offset."""
    match = _ISO.match(text.strip())
    if match is None or match.group("offset") or not match.group("clock") or match.group("clock").startswith("24"):
        return None
    return clock_readings(datetime.fromisoformat(f"{match.group('day')}T{match.group('clock')}"), tz)


def _read_instant(r: Reader, item: yamlfile.Mapping, key: str, where: str, tz: ZoneInfo) -> datetime | None:
    """A diversion's `from` or `until` as a real instant; warns when a local time is ambiguous."""
    text = r.text(item, key, where)
    try:
        value = instant(text, tz)
    except (ValueError, OverflowError):
        return None
    readings = _readings_of(text, tz)
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
                f"{text} does not happen: the clocks go forward; it could mean {_reading(early, tz)} or {_reading(late, tz)}; "
                f"read as {stamp(value)}, when the clocks change; write the offset to choose",
            )
    return value


def _overrides(
    r: Reader,
    nodes: yamlfile.Sequence,
    tz: ZoneInfo,
    destinations: dict[str, Destination],
    services: dict[str, Service],
) -> list[Override]:
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
