"""Small configurations written to a temporary folder, plain-value routers, and assertions in the domain's words."""

from __future__ import annotations

import functools
import re
import shutil
import textwrap
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr import config
from ivr.core.errors import ConfigError, Problem
from ivr.core.model import ALL_WEEKDAYS, Closure, DayKind, Destination, Override, Rule, Schedule, Service
from ivr.core.schedule import Router

LONDON = ZoneInfo("Europe/London")
ANY_DAY = frozenset(DayKind)
ORDINARY = frozenset({DayKind.ORDINARY})

# The numbers the two source pages give, as E.164 (see /work/shared/seeds).
MASH = "+443004560108"
WILTS_OUT_OF_HOURS = "+443004560100"
HANTS_PUBLIC = "+443005551384"
HANTS_PROFESSIONALS = "+441329225379"
IOW_PUBLIC = "+443003000117"
IOW_PROFESSIONALS = "+443003000901"
CRT_OUT_OF_HOURS = "+443005551373"
LADO = "+441962876364"

FLOW = """\
line: {line}
name: Test line
greeting: You have reached the test line.
warning: If a child is in immediate danger, hang up and call 999.
front_door: office
start: main
menus:
  main:
    options:
      - {{key: "1", service: child-at-risk, label: "If you are worried a child is at risk"}}
"""

SCHEDULE = """\
line: {line}
timezone: Europe/London
destinations:
  office: {{name: the office, number: 0300 456 0108}}
  night: {{name: the night team, number: 0300 456 0100}}
services:
  child-at-risk:
    name: worried about a child
    always_open: true
    rules:
{rules}
{extra}
"""

# Rules that leave no gap: the office in weekday hours, the night team at every other time.
GOOD_RULES = """
- {to: office, days: mon-fri, time: "09:00-17:00"}
- {to: night, time: "00:00-24:00", on: any}
"""


# Weekly rules cover every ordinary day and bank holiday, but no rule is marked `closure`: a council
# closure on 1 June 2028 (beyond the 400-day proof from 1 January 2027) leaves the urgent route without one.
GAP_SCHEDULE = """\
line: test
timezone: Europe/London
destinations:
  office: {name: the office, number: 0300 456 0108}
  night: {name: the night team, number: 0300 456 0100}
  standby: {name: the standby team, number: 01962 876364}
services:
  child-at-risk:
    name: worried about a child
    always_open: true
    fallback: [standby]
    rules:
      - {to: office, days: mon-fri, time: "09:00-17:00"}
      - {to: night, time: "00:00-24:00", on: [ordinary, bank-holiday]}
  advice:
    name: general advice
    rules:
      - {to: office, days: mon-fri, time: "09:00-17:00"}
closures:
  - {date: 2028-06-01, name: office move}
"""
GAP_FLOW = (
    FLOW.format(line="test")
    + """\
      - {key: "2", service: advice, label: "For general advice"}
"""
)

# -- configuration files -----------------------------------------------------------------------


def write_line(folder: Path, rules: str, extra: str = "", line: str = "test", flow: str | None = None) -> Path:
    """Write schedules/<line>.yaml (with `rules` under child-at-risk) and flows/<line>.yaml."""
    (folder / "schedules").mkdir(parents=True, exist_ok=True)
    (folder / "flows").mkdir(parents=True, exist_ok=True)
    body = SCHEDULE.format(
        line=line, rules=textwrap.indent(textwrap.dedent(rules).strip(), " " * 6), extra=textwrap.dedent(extra)
    )
    (folder / "schedules" / f"{line}.yaml").write_text(body)
    (folder / "flows" / f"{line}.yaml").write_text(flow if flow is not None else FLOW.format(line=line))
    return folder


def write_files(folder: Path, line: str = "test", schedule: str | None = None, flow: str | None = None) -> Path:
    """Write a line's schedule and flow files verbatim (dedented); None writes the builder's default."""
    (folder / "schedules").mkdir(parents=True, exist_ok=True)
    (folder / "flows").mkdir(parents=True, exist_ok=True)
    if schedule is None:
        schedule = SCHEDULE.format(line=line, rules=textwrap.indent(textwrap.dedent(GOOD_RULES).strip(), " " * 6), extra="")
    (folder / "schedules" / f"{line}.yaml").write_text(textwrap.dedent(schedule))
    (folder / "flows" / f"{line}.yaml").write_text(textwrap.dedent(flow) if flow is not None else FLOW.format(line=line))
    return folder


def line_of(path: Path, needle: str) -> int:
    """The 1-based number of the first line of `path` that contains `needle`."""
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if needle in text:
            return number
    raise AssertionError(f"{needle!r} is not in {path}")


def router_for(folder: Path, line: str = "test", now: datetime | None = None) -> Router:
    return config.load(folder, now=now or datetime(2027, 1, 1, tzinfo=LONDON)).router(line)


def config_problems(folder: Path, now: datetime | None = None) -> list[Problem]:
    """The problems load() refuses `folder` with; fails the test if it loads."""
    with pytest.raises(ConfigError) as caught:
        config.load(folder, now=now or at("2027-01-01T00:00"))
    return caught.value.problems


def assert_one_problem(problems: list[Problem], path: str, line: int, field: str, message: str) -> None:
    """Exactly one problem, at `path`:`line`, naming `field`, its message containing `message`."""
    assert len(problems) == 1, "\n".join(map(str, problems))
    (problem,) = problems
    assert (problem.path, problem.line, problem.field) == (path, line, field), str(problem)
    assert message in problem.message, str(problem)
    assert str(problem).startswith(f"{path}:{line}: {field}: ") and "\n" not in str(problem)


def shipped_copy(folder: Path) -> Path:
    """A copy of the shipped flows/ and schedules/ in `folder`, for tests that edit files."""
    for part in ("flows", "schedules"):
        shutil.copytree(config.PROJECT_DIR / part, folder / part)
    return folder


def screened_copy(folder: Path) -> Path:
    """A copy of the shipped configuration in which every team is screened by a person (`answer: person`)."""
    shipped_copy(folder)
    for path in (folder / "schedules").glob("*.yaml"):
        path.write_text(re.sub(r"answer: (direct|machine-detection)", "answer: person", path.read_text()))
    return folder


SHIPPED_LINES = ("hampshire", "isle-of-wight", "wiltshire")


def twilio_number(n: int) -> str:
    """The n-th number (0-999) of Ofcom's drama range 020 7946 0000-0999, in E.164: never a real line."""
    assert 0 <= n < 1000
    return f"+442079460{n:03d}"


def synthetic_lines(folder: Path, count: int) -> list[str]:
    """`count` lines of the shipped shape: the three shipped lines copied in turn under new keys
    ("wiltshire-002"), each flow with its own Twilio number; returns the keys in order."""
    for part in ("flows", "schedules"):
        (folder / part).mkdir(parents=True, exist_ok=True)
    keys = []
    for n in range(count):
        source = SHIPPED_LINES[n % len(SHIPPED_LINES)]
        key = f"{source}-{n:03d}"
        for part in ("flows", "schedules"):
            text = (config.PROJECT_DIR / part / f"{source}.yaml").read_text()
            assert text.count(f"\nline: {source}\n") == 1
            text = text.replace(f"\nline: {source}\n", f"\nline: {key}\n")
            if part == "flows":
                assert text.count("\nnumbers: []\n") == 1
                text = text.replace("\nnumbers: []\n", f'\nnumbers: ["{twilio_number(n)}"]\n')
            (folder / part / f"{key}.yaml").write_text(text)
        keys.append(key)
    return keys


@functools.cache
def shipped() -> config.Config:
    """The shipped configuration, loaded once (its gap proof runs from 1 November 2026)."""
    return config.load(config.PROJECT_DIR, now=datetime(2026, 11, 1, tzinfo=LONDON))


# -- instants ----------------------------------------------------------------------------------


def at(text: str, fold: int = 0) -> datetime:
    """An aware Europe/London instant from 'YYYY-MM-DDTHH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON, fold=fold)


def utc(text: str) -> datetime:
    """An aware UTC instant from 'YYYY-MM-DDTHH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def same_instant(a: datetime | None, b: datetime | None) -> bool:
    """Equal as real instants; `==` on datetimes sharing a zone compares wall clocks and ignores fold."""
    if a is None or b is None:
        return a is b
    return a.timestamp() == b.timestamp()


# -- plain values ------------------------------------------------------------------------------

DESTINATIONS = {
    "office": Destination("office", "the office", MASH),
    "night": Destination("night", "the night team", WILTS_OUT_OF_HOURS),
    "holiday": Destination("holiday", "the bank holiday team", CRT_OUT_OF_HOURS),
    "closed": Destination("closed", "the closure team", LADO),
    "diverted": Destination("diverted", "the diversion", HANTS_PUBLIC),
}


def minutes(text: str) -> int:
    """'08:45' as minutes after midnight."""
    hours, mins = text.split(":")
    return int(hours) * 60 + int(mins)


def rule(to: str, time: str, days: Iterable[int] = ALL_WEEKDAYS, kinds: Iterable[DayKind] = ORDINARY, label: str = "") -> Rule:
    """A Rule from readable values: rule("office", "08:45-17:00", range(5))."""
    start, end = (minutes(t) for t in time.split("-"))
    return Rule(to, frozenset(days), start, end, frozenset(kinds), label or f"{to} {time}")


def plain_router(
    rules: Iterable[Rule], overrides: Iterable[Override] = (), closures: Iterable[Closure] = (), always_open: bool = True
) -> Router:
    """A router for one service, child-at-risk, built from values without any file."""
    service = Service("child-at-risk", "worried about a child", tuple(rules), always_open=always_open)
    return Router(Schedule("plain", "Europe/London", DESTINATIONS, {"child-at-risk": service}, tuple(closures), tuple(overrides)))


# -- assertions --------------------------------------------------------------------------------


def assert_routes_to(
    router: Router,
    service: str,
    when: str | datetime,
    destination: str | None,
    number: str | None = None,
    *,
    until: str | datetime | None = None,
) -> None:
    """The call for `service` at `when` goes to `destination` (and `number`, and holds `until`, if given)."""
    instant = at(when) if isinstance(when, str) else when
    decision = router.route(service, instant)
    got = decision.destination.key if decision.destination else None
    assert got == destination, f"{service} at {instant.isoformat()}: expected {destination}, got {got} by {decision.rule}"
    if number is not None:
        assert decision.destination is not None and decision.destination.number == number, (
            f"{service} at {instant.isoformat()}: expected {number}, got {decision.destination}"
        )
    if until is not None:
        expected = at(until) if isinstance(until, str) else until
        shown = decision.until.isoformat() if decision.until else None
        assert same_instant(decision.until, expected), (
            f"{service} at {instant.isoformat()}: until {shown}, expected {expected.isoformat()}"
        )
