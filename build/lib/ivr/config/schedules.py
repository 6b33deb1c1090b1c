"""A line's schedule file: destinations, services and their rules, closures and overrides."""

from __future__ import annotations

import functools
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from ivr.config import yamlfile
from ivr.config.diversions import read_closures, read_overrides
from ivr.config.fields import KEY, Reader, brief, team_phone, time_range
from ivr.core.model import (
    ALL_WEEKDAYS,
    WEEKDAY_NAMES,
    Answer,
    DayKind,
    Destination,
    Rule,
    Schedule,
    Service,
)

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
    closures = read_closures(r, r.sequence(doc, "closures", ""), tz)
    overrides = read_overrides(r, r.sequence(doc, "overrides", ""), tz, destinations, services)
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
        item = r.fields(value, where, ("name",), ("number", "note", "email", "web", "answer"))
        if item is None:
            continue
        number, extension = None, ""
        if "number" in item:
            # A bad number keeps its text: the file is refused anyway, and None would make every
            # rule, fallback and override using this team report "has no number" a second time.
            text = r.text(item, "number", where)
            found = team_phone(r, text, item.line_of("number"), f"{where}.number")
            number, extension = found if found else (text, "")
        elif "email" not in item and "web" not in item:
            r.problem(item.line, where, "needs a number, an email or a web address")
        result[key] = Destination(
            key=key,
            name=r.text(item, "name", where),
            number=number,
            note=r.text(item, "note", where),
            email=r.text(item, "email", where),
            web=r.text(item, "web", where),
            extension=extension,
            answer=_answer(r, item, where),
        )
    return result


def _answer(r: Reader, item: yamlfile.Mapping, where: str) -> Answer:
    """How the destination's answer is confirmed; an unknown word is refused at its line."""
    text = r.text(item, "answer", where, Answer.PERSON.value)
    try:
        return Answer(text)
    except ValueError:
        known = ", ".join(a.value for a in Answer)
        r.problem(item.line_of("answer"), f"{where}.answer", f"{brief(text)} is not a way to confirm an answer (known: {known})")
        return Answer.PERSON


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
    span = time_range(r, item, "time", where)
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
