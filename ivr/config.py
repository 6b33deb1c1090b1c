"""Configuration files to validated, frozen lines; every problem names file, line and field.

Nothing is returned unless every file of every line is valid: a half-loaded configuration
never becomes live.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr import yamlfile
from ivr.errors import ConfigError, Problem, UnknownLine
from ivr.model import (
    ALL_WEEKDAYS,
    MINUTES_PER_DAY,
    WEEKDAY_NAMES,
    Closure,
    DayKind,
    Destination,
    Flow,
    Keys,
    Line,
    Menu,
    Option,
    Override,
    Rule,
    Schedule,
    Service,
    Shortcut,
)
from ivr.numbers import InvalidNumber, to_e164
from ivr.schedule import Router, local_instant

PROJECT_DIR = Path(__file__).resolve().parent.parent
COVERAGE_DAYS = 400  # an always-open service must have no gap this far ahead
FURTHER_NOTICE = "further notice"
_KEY = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def default_config_dir() -> Path:
    """`IVR_CONFIG_DIR`, else the project's own folder (which holds flows/ and schedules/)."""
    return Path(os.environ.get("IVR_CONFIG_DIR") or PROJECT_DIR)


@dataclass(frozen=True)
class Config:
    """Every line, validated together, with a digest that names this exact configuration."""

    lines: dict[str, Line]
    routers: dict[str, Router]
    digest: str
    warnings: tuple[str, ...] = ()
    directory: Path = field(default=PROJECT_DIR, compare=False)

    def line(self, key: str) -> Line:
        try:
            return self.lines[key]
        except KeyError:
            raise UnknownLine(key) from None

    def router(self, key: str) -> Router:
        self.line(key)
        return self.routers[key]

    def line_for_number(self, number: str) -> Line | None:
        """The line whose flow lists `number` (E.164) as one of its Twilio numbers."""
        return next((ln for ln in self.lines.values() if number in ln.flow.numbers), None)


def load(
    directory: Path | str | None = None, now: datetime | None = None, prove_coverage: bool = True
) -> Config:
    """Load and validate every line under `directory`; raise ConfigError listing all problems.

    `prove_coverage=False` skips only the gap check, for `ivr coverage`, which reports gaps itself.
    """
    base = Path(directory) if directory else default_config_dir()
    now = now or datetime.now(ZoneInfo("Europe/London"))
    problems: list[Problem] = []
    warnings: list[str] = []
    digest = hashlib.sha256()
    schedule_files = sorted((base / "schedules").glob("*.yaml"))
    flow_files = {p.stem: p for p in sorted((base / "flows").glob("*.yaml"))}
    if not schedule_files:
        problems.append(Problem(str(base / "schedules"), 0, "", "no schedule files (*.yaml)"))
    lines: dict[str, Line] = {}
    routers: dict[str, Router] = {}
    for schedule_path in schedule_files:
        key = schedule_path.stem
        flow_path = flow_files.pop(key, None)
        if flow_path is None:
            problems.append(Problem(_show(schedule_path, base), 0, "", f"no flows/{key}.yaml"))
            continue
        for path in (schedule_path, flow_path):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        found: list[Problem] = []
        schedule = _read_file(schedule_path, base, found, functools.partial(_schedule, key=key))
        flow = _read_file(flow_path, base, found, functools.partial(_flow, key=key, schedule=schedule))
        if schedule is not None and not found:
            router = Router(schedule)
            if prove_coverage:
                _check_coverage(schedule, router, now, _show(schedule_path, base), found)
            warnings.extend(_override_warnings(schedule, now, _show(schedule_path, base)))
            if flow is not None and not found:
                lines[key] = Line(key, flow, schedule)
                routers[key] = router
        problems.extend(found)
    for stray in flow_files.values():
        problems.append(Problem(_show(stray, base), 0, "", f"no schedules/{stray.stem}.yaml"))
    if problems:
        raise ConfigError(problems)
    return Config(lines, routers, digest.hexdigest()[:16], tuple(warnings), base)


def _show(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _read_file(path: Path, base: Path, problems: list[Problem], build: Callable[..., Any]) -> Any:
    shown = _show(path, base)
    try:
        doc = yamlfile.load(path.read_text(encoding="utf-8"))
    except yamlfile.YamlError as exc:
        problems.append(Problem(shown, exc.line, "", f"not valid YAML: {exc}"))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(shown, 0, "", f"cannot read: {exc}"))
        return None
    reader = _Reader(shown, problems)
    if not isinstance(doc, yamlfile.Mapping):
        reader.problem(1, "", "the file must be a mapping of keys to values")
        return None
    before = len(problems)
    result = build(reader, doc)
    return result if len(problems) == before else None


class _Reader:
    """Reads fields out of YAML mappings, noting each problem with its file, line and field."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems

    def problem(self, line: int, where: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, where, message))

    def fields(
        self, node: Any, where: str, required: Iterable[str], optional: Iterable[str] = ()
    ) -> yamlfile.Mapping | None:
        """Check `node` is a mapping with the required keys and nothing unknown."""
        if not isinstance(node, yamlfile.Mapping):
            self.problem(getattr(node, "line", 0), where, "expected a mapping of keys to values")
            return None
        required = tuple(required)
        allowed = set(required) | set(optional)
        for key in node:
            if key not in allowed:
                self.problem(node.line_of(key), _join(where, key), f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in node:
                self.problem(node.line, where or "(top level)", f"missing required key {key!r}")
        return node

    def text(self, node: yamlfile.Mapping, key: str, where: str, default: str = "") -> str:
        value = node.get(key, default)
        if value is None or isinstance(value, (dict, list)):
            self.problem(node.line_of(key), _join(where, key), "expected text")
            return default
        return str(value).strip()

    def key(self, node: yamlfile.Mapping, key: str, where: str) -> str:
        value = self.text(node, key, where)
        if value and not _KEY.match(value):
            self.problem(node.line_of(key), _join(where, key), f"{value!r} is not a key (lower-case words joined by '-')")
        return value

    def flag(self, node: yamlfile.Mapping, key: str, where: str, default: bool = False) -> bool:
        value = node.get(key, default)
        if not isinstance(value, bool):
            self.problem(node.line_of(key), _join(where, key), "expected true or false")
            return default
        return value

    def sequence(self, node: yamlfile.Mapping, key: str, where: str) -> yamlfile.Sequence:
        value = node.get(key)
        if value is None:
            empty = yamlfile.Sequence()
            empty.line, empty.item_lines = node.line_of(key), []
            return empty
        if not isinstance(value, yamlfile.Sequence):
            self.problem(node.line_of(key), _join(where, key), "expected a list")
            empty = yamlfile.Sequence()
            empty.line, empty.item_lines = node.line_of(key), []
            return empty
        return value

    def mapping(self, node: yamlfile.Mapping, key: str, where: str) -> yamlfile.Mapping:
        value = node.get(key)
        if not isinstance(value, yamlfile.Mapping):
            if value is not None:
                self.problem(node.line_of(key), _join(where, key), "expected a mapping")
            empty = yamlfile.Mapping()
            empty.line, empty.key_lines = node.line_of(key), {}
            return empty
        return value


def _join(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


# -- schedules ---------------------------------------------------------------------------------

_SCHEDULE_KEYS = ("line", "timezone", "destinations", "services")
_SCHEDULE_OPTIONAL = ("bank_holidays", "closures", "overrides")


def _schedule(r: _Reader, doc: yamlfile.Mapping, key: str) -> Schedule | None:
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


def _destinations(r: _Reader, node: yamlfile.Mapping) -> dict[str, Destination]:
    result: dict[str, Destination] = {}
    if not node:
        r.problem(node.line, "destinations", "at least one destination is needed")
    for key, value in node.items():
        where = f"destinations.{key}"
        if not _KEY.match(key):
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


def _services(
    r: _Reader, node: yamlfile.Mapping, destinations: dict[str, Destination]
) -> dict[str, Service]:
    result: dict[str, Service] = {}
    for key, value in node.items():
        where = f"services.{key}"
        if not _KEY.match(key):
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
                r.problem(fallback_node.line_of(index), f"{where}.fallback[{index}]", f"destination {dest!r} has no number to dial")
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


def _rule(
    r: _Reader, node: Any, where: str, number: int, destinations: dict[str, Destination]
) -> Rule | None:
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


def _time_range(r: _Reader, node: yamlfile.Mapping, key: str, where: str) -> tuple[int, int] | None:
    text = r.text(node, key, where)
    parts = text.split("-")
    field_name = _join(where, key)
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
        r.problem(node.line_of(key), field_name, f"end {parts[1].strip()} is not after start {parts[0].strip()} (use 24:00 for midnight)")
        return None
    return start, end


def _weekdays(r: _Reader, node: yamlfile.Mapping, where: str) -> set[int] | None:
    if "days" not in node:
        return set(ALL_WEEKDAYS)
    text = r.text(node, "days", where).lower()
    if text in ("every day", "daily", "all"):
        return set(ALL_WEEKDAYS)
    days: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        ends = [e.strip()[:3] for e in part.split("-")]
        if len(ends) not in (1, 2) or any(e not in WEEKDAY_NAMES for e in ends):
            r.problem(node.line_of("days"), f"{where}.days", f"{part!r} is not a weekday or range (mon, mon-fri, sat,sun, every day)")
            return None
        first, last = WEEKDAY_NAMES.index(ends[0]), WEEKDAY_NAMES.index(ends[-1])
        if last < first:
            r.problem(node.line_of("days"), f"{where}.days", f"{part!r} runs backwards; write it as two ranges")
            return None
        days.update(range(first, last + 1))
    return days


def _kinds(r: _Reader, node: yamlfile.Mapping, where: str) -> set[DayKind] | None:
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
            r.problem(node.line_of("on"), f"{where}.on", f"{name!r} is not a kind of day (ordinary, bank-holiday, closure, or any)")
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


def _closures(r: _Reader, nodes: yamlfile.Sequence) -> list[Closure]:
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


def parse_instant(text: str, tz: ZoneInfo) -> datetime:
    """ISO 8601; without an offset it is wall-clock time in `tz`. Raises ValueError."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        return local_instant(value.date(), value.hour * 60 + value.minute, tz) + timedelta(
            seconds=value.second, microseconds=value.microsecond
        )
    return value.astimezone(tz)


def _overrides(
    r: _Reader,
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
            result.append(Override(frozenset(map(str, keys)), to, start, end, r.text(item, "reason", where), label, f"{r.path}:{item.line}"))
    return result


def _check_coverage(schedule: Schedule, router: Router, now: datetime, path: str, problems: list[Problem]) -> None:
    for service in schedule.services.values():
        if not service.always_open:
            continue
        line = int(service.source.rsplit(":", 1)[1])
        for gap in router.coverage(service.key, now, now + timedelta(days=COVERAGE_DAYS)):
            problems.append(Problem(path, line, f"services.{service.key}", f"always open, but no rule covers {gap.start.isoformat(timespec='minutes')} to {gap.end.isoformat(timespec='minutes')}"))


def _override_warnings(schedule: Schedule, now: datetime, path: str) -> list[str]:
    warnings = []
    for override in schedule.overrides:
        where = f"{path}:{override.source.rsplit(':', 1)[1]}"
        if override.end is None:
            warnings.append(f"{where}: override to {override.destination!r} is in force until further notice ({override.reason}); remove it when it is no longer needed")
        elif override.end.timestamp() <= now.timestamp():
            warnings.append(f"{where}: override to {override.destination!r} ended {override.end.isoformat(timespec='minutes')}; it no longer applies and can be removed")
        elif override.end.timestamp() - now.timestamp() <= timedelta(hours=24).total_seconds():
            warnings.append(f"{where}: override to {override.destination!r} ends within 24 hours, at {override.end.isoformat(timespec='minutes')}")
    return warnings


# -- flows -------------------------------------------------------------------------------------

_FLOW_KEYS = ("line", "name", "greeting", "warning", "start", "menus", "front_door")
_FLOW_OPTIONAL = ("numbers", "voice", "language", "keys", "tries", "shortcuts", "urgent_service")


def _flow(r: _Reader, doc: yamlfile.Mapping, key: str, schedule: Schedule | None) -> Flow | None:
    r.fields(doc, "", _FLOW_KEYS, _FLOW_OPTIONAL)
    if r.text(doc, "line", "") != key:
        r.problem(doc.line_of("line"), "line", f"must be {key!r}, the file's name")
    keys_node = r.mapping(doc, "keys", "")
    r.fields(keys_node, "keys", (), ("repeat", "back", "shortcut"))
    keys = Keys(
        repeat=r.text(keys_node, "repeat", "keys", "9"),
        back=r.text(keys_node, "back", "keys", "0"),
        shortcut=r.text(keys_node, "shortcut", "keys", "*"),
    )
    reserved = {keys.repeat: "repeat", keys.back: "back", keys.shortcut: "shortcut"}
    if len(reserved) != 3 or not all(len(k) == 1 and k in "0123456789*#" for k in reserved):
        r.problem(keys_node.line, "keys", "repeat, back and shortcut must be three different single keys")
    numbers = []
    number_nodes = r.sequence(doc, "numbers", "")
    for index, text in enumerate(number_nodes):
        try:
            numbers.append(to_e164(str(text)))
        except InvalidNumber as exc:
            r.problem(number_nodes.line_of(index), f"numbers[{index}]", str(exc))
    services = schedule.services if schedule else None
    menu_node = r.mapping(doc, "menus", "")
    menus = _menus(r, menu_node, reserved, services)
    shortcuts = _shortcuts(r, r.sequence(doc, "shortcuts", ""), schedule)
    tries = doc.get("tries", 3)
    if not isinstance(tries, int) or not 1 <= tries <= 5:
        r.problem(doc.line_of("tries"), "tries", "expected a whole number from 1 to 5")
        tries = 3
    flow = Flow(
        line=key,
        name=r.text(doc, "name", ""),
        greeting=r.text(doc, "greeting", ""),
        warning=r.text(doc, "warning", ""),
        start=r.text(doc, "start", ""),
        menus=menus,
        shortcuts=shortcuts,
        front_door=r.text(doc, "front_door", ""),
        urgent_service=r.text(doc, "urgent_service", "", "child-at-risk"),
        numbers=tuple(numbers),
        voice=r.text(doc, "voice", "", "Polly.Amy"),
        language=r.text(doc, "language", "", "en-GB"),
        keys=keys,
        tries=tries,
        path=r.path,
    )
    if flow.start not in menus:
        r.problem(doc.line_of("start"), "start", f"unknown menu {flow.start!r}")
    if schedule is not None:
        front = schedule.destinations.get(flow.front_door)
        if front is None or front.number is None:
            r.problem(doc.line_of("front_door"), "front_door", f"{flow.front_door!r} is not a destination with a number")
        urgent = schedule.services.get(flow.urgent_service)
        if urgent is None or not urgent.always_open:
            r.problem(doc.line_of("urgent_service"), "urgent_service", f"{flow.urgent_service!r} must be a service marked always_open")
    _check_menu_exits(flow, {k: menu_node.line_of(k) for k in menus}, r)
    return flow


def _menus(
    r: _Reader, node: yamlfile.Mapping, reserved: dict[str, str], services: dict[str, Service] | None
) -> dict[str, Menu]:
    menus: dict[str, Menu] = {}
    for key, value in node.items():
        where = f"menus.{key}"
        item = r.fields(value, where, ("options",), ("intro", "speech"))
        if item is None:
            continue
        options: list[Option] = []
        option_nodes = r.sequence(item, "options", where)
        if not option_nodes:
            r.problem(item.line, where, "a menu needs at least one option")
        for index, option_node in enumerate(option_nodes):
            owhere = f"{where}.options[{index}]"
            option = r.fields(option_node, owhere, ("key", "label"), ("service", "menu", "word"))
            if option is None:
                continue
            digit = r.text(option, "key", owhere)
            if len(digit) != 1 or digit not in "0123456789#":
                r.problem(option.line_of("key"), f"{owhere}.key", f"{digit!r} is not a single keypad key")
            elif digit in reserved:
                r.problem(option.line_of("key"), f"{owhere}.key", f"{digit!r} is the line's {reserved[digit]} key")
            elif any(o.key == digit for o in options):
                r.problem(option.line_of("key"), f"{owhere}.key", f"duplicate key {digit!r} in menu {key!r}")
            if ("service" in option) == ("menu" in option):
                r.problem(option.line, owhere, "give exactly one of 'service' or 'menu'")
            service = r.text(option, "service", owhere)
            if service and services is not None and service not in services:
                r.problem(option.line_of("service"), f"{owhere}.service", f"unknown service {service!r}")
            target = r.text(option, "menu", owhere)
            if target and target not in node:
                r.problem(option.line_of("menu"), f"{owhere}.menu", f"unknown menu {target!r}")
            options.append(
                Option(
                    key=digit,
                    label=r.text(option, "label", owhere),
                    service=r.text(option, "service", owhere) or None,
                    menu=r.text(option, "menu", owhere) or None,
                    word=r.text(option, "word", owhere).lower(),
                )
            )
        menus[key] = Menu(key, r.text(item, "intro", where), tuple(options), r.flag(item, "speech", where))
    return menus


def _shortcuts(r: _Reader, nodes: yamlfile.Sequence, schedule: Schedule | None) -> dict[str, Shortcut]:
    result: dict[str, Shortcut] = {}
    for index, node in enumerate(nodes):
        where = f"shortcuts[{index}]"
        item = r.fields(node, where, ("code", "name", "service"), ("expects",))
        if item is None:
            continue
        code = r.text(item, "code", where)
        if not code.isdigit() or not 1 <= len(code) <= 4:
            r.problem(item.line_of("code"), f"{where}.code", f"{code!r} is not a code of 1 to 4 digits")
            continue
        clash = next((c for c in result if c.startswith(code) or code.startswith(c)), None)
        if clash is not None:
            r.problem(item.line_of("code"), f"{where}.code", f"{code!r} clashes with shortcut {clash!r} (one is the start of the other)")
            continue
        service, expects = r.text(item, "service", where), r.text(item, "expects", where)
        if schedule is not None and service not in schedule.services:
            r.problem(item.line_of("service"), f"{where}.service", f"unknown service {service!r}")
            continue
        if schedule is not None and expects and expects not in schedule.destinations:
            r.problem(item.line_of("expects"), f"{where}.expects", f"unknown destination {expects!r}")
            continue
        result[code] = Shortcut(code, r.text(item, "name", where), service, expects)
    return result


def _check_menu_exits(flow: Flow, lines: dict[str, int], r: _Reader) -> None:
    """Every menu must be reachable from the start and must lead, somehow, to a service."""
    leads_out = {m.key for m in flow.menus.values() if any(o.service for o in m.options)}
    changed = True
    while changed:
        changed = False
        for menu in flow.menus.values():
            if menu.key not in leads_out and any(o.menu in leads_out for o in menu.options):
                leads_out.add(menu.key)
                changed = True
    for menu in flow.menus.values():
        if menu.key not in leads_out:
            r.problem(lines[menu.key], f"menus.{menu.key}", "leads only back into menus: no option ever reaches a service")
    seen, todo = set(), [flow.start]
    while todo:
        key = todo.pop()
        if key in seen or key not in flow.menus:
            continue
        seen.add(key)
        todo.extend(o.menu for o in flow.menus[key].options if o.menu)
    for key in flow.menus:
        if key not in seen:
            r.problem(lines[key], f"menus.{key}", f"no option leads here from the start menu {flow.start!r}")
