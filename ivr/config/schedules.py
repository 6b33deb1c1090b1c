"""A line's schedule file: destinations, services and their rules, closures and overrides."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.config import yamlfile
from ivr.config.fields import KEY, Reader, join
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
from ivr.core.numbers import InvalidNumber, to_e164
from ivr.core.schedule import parse_instant

FURTHER_NOTICE = "further notice"
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")

_SCHEDULE_KEYS = ("line", "timezone", "destinations", "services")
_SCHEDULE_OPTIONAL = ("bank_holidays", "closures", "overrides")


def read_schedule(r: Reader, doc: yamlfile.Mapping, key: str) -> Schedule | None:
    r.fields(doc, "", _SCHEDULE_KEYS, _SCHEDULE_OPTIONAL)
    if r.text(doc, "line", "") != key:
        r.problem(doc.line_of("line"), "line", f"must be {key!r}, the file's name")
    tz_name = r.text(doc, "timezone", "", "Europe/London")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(doc.line_of("timezone"), "timezone", f"unknown time zone {tz_name!r}")
        tz = ZoneInfo("Europe/London")
    holidays_node = r.mapping(doc, "bank_holidays", "")
    r.fields(holidays_node, "bank_holidays", (), ("country", "subdivision"))
    country = r.text(holidays_node, "country", "bank_holidays", "GB")
    subdivision = r.text(holidays_node, "subdivision", "bank_holidays", "ENG")
    destinations = _destinations(r, r.mapping(doc, "destinations", ""))
    services = _services(r, r.mapping(doc, "services", ""), destinations)
    closures = _closures(r, r.sequence(doc, "closures", ""))
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


def _destinations(r: Reader, node: yamlfile.Mapping) -> dict[str, Destination]:
    result: dict[str, Destination] = {}
    if not node:
        r.problem(node.line, "destinations", "at least one destination is needed")
    for key, value in node.items():
        where = f"destinations.{key}"
        if not KEY.match(key):
            r.problem(node.line_of(key), where, f"{key!r} is not a key (lower-case words joined by '-')")
        item = r.fields(value, where, ("name",), ("number", "note", "email", "web"))
        if item is None:
            continue
        number = None
        if "number" in item:
            try:
                number = to_e164(r.text(item, "number", where))
            except InvalidNumber as exc:
                r.problem(item.line_of("number"), f"{where}.number", str(exc))
                # Keep the text: the file is refused anyway, and None would make every rule,
                # fallback and override using this team report "has no number" a second time.
                number = r.text(item, "number", where)
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
            r.problem(node.line_of(key), where, f"{key!r} is not a key (lower-case words joined by '-')")
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
                r.problem(fallback_node.line_of(index), f"{where}.fallback[{index}]", f"unknown destination {dest!r}")
            elif destinations[str(dest)].number is None:
                r.problem(
                    fallback_node.line_of(index), f"{where}.fallback[{index}]", f"destination {dest!r} has no number to dial"
                )
            else:
                fallback.append(str(dest))
        always_open = r.flag(item, "always_open", where)
        if always_open:
            for rule in rules:
                if destinations.get(rule.destination) and destinations[rule.destination].number is None:
                    r.problem(item.line_of("rules"), where, f"always open, but {rule.destination!r} has no number to dial")
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
        r.problem(item.line_of("to"), f"{where}.to", f"unknown destination {to!r}")
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
        r.problem(node.line_of(key), field_name, f"{text!r} is not a time range like 08:45-17:00")
        return None
    start, end = _clock(parts[0]), _clock(parts[1])
    for part, value in zip(parts, (start, end)):
        if value is None:
            r.problem(node.line_of(key), field_name, f"{part.strip()!r} is not a time (HH:MM, 00:00 to 24:00)")
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
                node.line_of("days"), f"{where}.days", f"{part!r} is not a weekday or range (mon, mon-fri, sat,sun, every day)"
            )
            return None
        first, last = WEEKDAY_NAMES.index(ends[0]), WEEKDAY_NAMES.index(ends[-1])
        if last < first:
            r.problem(node.line_of("days"), f"{where}.days", f"{part!r} runs backwards; write it as two ranges")
            return None
        days.update(range(first, last + 1))
    return days


def _kinds(r: Reader, node: yamlfile.Mapping, where: str) -> set[DayKind] | None:
    value = node.get("on", ["ordinary"])
    if value == "any":
        return set(DayKind)
    if isinstance(value, str):
        value = [value]
    kinds = set()
    for name in value:
        try:
            kinds.add(DayKind(str(name)))
        except ValueError:
            r.problem(
                node.line_of("on"), f"{where}.on", f"{name!r} is not a kind of day (ordinary, bank-holiday, closure, or any)"
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


def _closures(r: Reader, nodes: yamlfile.Sequence) -> list[Closure]:
    result = []
    for index, node in enumerate(nodes):
        where = f"closures[{index}]"
        item = r.fields(node, where, ("date", "name"), ("time",))
        if item is None:
            continue
        try:
            day = datetime.strptime(r.text(item, "date", where), "%Y-%m-%d").date()
        except ValueError:
            r.problem(item.line_of("date"), f"{where}.date", f"{item.get('date')!r} is not a date (YYYY-MM-DD)")
            continue
        span = _time_range(r, item, "time", where) if "time" in item else (0, MINUTES_PER_DAY)
        if span is not None:
            result.append(Closure(day, span[0], span[1], r.text(item, "name", where), f"{r.path}:{item.line}"))
    return result


def _overrides(
    r: Reader,
    nodes: yamlfile.Sequence,
    tz: ZoneInfo,
    destinations: dict[str, Destination],
    services: dict[str, Service],
) -> list[Override]:
    result = []
    for index, node in enumerate(nodes):
        where = f"overrides[{index}]"
        item = r.fields(node, where, ("services", "to", "from", "until", "reason"))
        if item is None:
            continue
        ok = True
        keys = item.get("services")
        keys = [keys] if isinstance(keys, str) else list(keys or [])
        if not keys:
            r.problem(item.line_of("services"), f"{where}.services", "names no service, so the diversion would divert nothing")
            ok = False
        for key in keys:
            if str(key) not in services:
                r.problem(item.line_of("services"), f"{where}.services", f"unknown service {key!r}")
                ok = False
        to = r.text(item, "to", where)
        if to not in destinations:
            r.problem(item.line_of("to"), f"{where}.to", f"unknown destination {to!r}")
            ok = False
        elif destinations[to].number is None:
            r.problem(item.line_of("to"), f"{where}.to", f"destination {to!r} has no number to dial")
            ok = False
        try:
            start = parse_instant(r.text(item, "from", where), tz)
        except ValueError:
            r.problem(item.line_of("from"), f"{where}.from", f"{item.get('from')!r} is not a date and time (2026-12-24T13:00)")
            continue
        until_text = r.text(item, "until", where)
        end = None
        if until_text.lower() != FURTHER_NOTICE:
            try:
                end = parse_instant(until_text, tz)
            except ValueError:
                r.problem(item.line_of("until"), f"{where}.until", f"{until_text!r} is not a date and time, or 'further notice'")
                continue
            if end <= start:
                r.problem(item.line_of("until"), f"{where}.until", "ends before it starts")
                continue
        if not r.text(item, "reason", where):
            r.problem(item.line_of("reason"), f"{where}.reason", "say why the calls are diverted")
            ok = False
        if ok:
            shown_end = end.isoformat(timespec="minutes") if end else FURTHER_NOTICE
            label = (
                f"override {index + 1}: {r.text(item, 'reason', where)}, "
                f"{start.isoformat(timespec='minutes')} until {shown_end} -> {to} ({r.path}:{item.line})"
            )
            result.append(
                Override(frozenset(map(str, keys)), to, start, end, r.text(item, "reason", where), label, f"{r.path}:{item.line}")
            )
    return result
