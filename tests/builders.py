"""Small configurations written to a temporary folder, and assertions in the domain's words."""

from __future__ import annotations

import shutil
import textwrap
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr import config
from ivr.schedule import Router

LONDON = ZoneInfo("Europe/London")

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


def write_line(folder: Path, rules: str, extra: str = "", line: str = "test", flow: str | None = None) -> Path:
    """Write schedules/<line>.yaml (with `rules` under child-at-risk) and flows/<line>.yaml."""
    (folder / "schedules").mkdir(parents=True, exist_ok=True)
    (folder / "flows").mkdir(parents=True, exist_ok=True)
    body = SCHEDULE.format(line=line, rules=textwrap.indent(textwrap.dedent(rules).strip(), " " * 6), extra=textwrap.dedent(extra))
    (folder / "schedules" / f"{line}.yaml").write_text(body)
    (folder / "flows" / f"{line}.yaml").write_text(flow if flow is not None else FLOW.format(line=line))
    return folder


def router_for(folder: Path, line: str = "test", now: datetime | None = None) -> Router:
    return config.load(folder, now=now or datetime(2027, 1, 1, tzinfo=LONDON)).router(line)


def at(text: str, fold: int = 0) -> datetime:
    """An aware Europe/London instant from 'YYYY-MM-DDTHH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON, fold=fold)


def assert_routes_to(router: Router, service: str, when: str | datetime, destination: str | None, number: str | None = None) -> None:
    """The call for `service` at `when` goes to `destination` (and to `number`, if given)."""
    instant = at(when) if isinstance(when, str) else when
    decision = router.route(service, instant)
    got = decision.destination.key if decision.destination else None
    assert got == destination, f"{service} at {instant.isoformat()}: expected {destination}, got {got} by {decision.rule}"
    if number is not None:
        assert decision.destination is not None and decision.destination.number == number


def shipped_copy(folder: Path) -> Path:
    """A copy of the shipped flows/ and schedules/ in `folder`, for tests that edit files."""
    for part in ("flows", "schedules"):
        shutil.copytree(config.PROJECT_DIR / part, folder / part)
    return folder
