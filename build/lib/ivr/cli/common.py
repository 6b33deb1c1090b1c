"""What the `ivr` commands share: options, time parsing, and JSON shapes of decisions."""

from __future__ import annotations

import argparse
import getpass
import json
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr import config as config_module
from ivr.config import coverage
from ivr.config.instants import instant
from ivr.core.errors import IvrError
from ivr.core.model import Decision, Interval
from ivr.core.schedule import local_instant
from ivr.settings import Settings

LONDON = ZoneInfo("Europe/London")


class UsageError(IvrError, ValueError):
    """Input on the command line that cannot be used."""


def load_config(args: argparse.Namespace, prove_coverage: bool = True) -> config_module.Config:
    """The configuration in --config, else in the folder the settings name (IVR_CONFIG_DIR)."""
    return config_module.load(args.config or Settings.from_env().config_dir, prove_coverage=prove_coverage)


def load_for_preview(args: argparse.Namespace) -> config_module.Config:
    """The configuration even when an always-open service has a gap, so that a change can be
    tried before it is fixed; the gaps are printed on stderr as warnings. Other problems refuse."""
    cfg = config_module.load(args.config or Settings.from_env().config_dir, prove_coverage=False)
    now = datetime.now(LONDON)
    for line in cfg.lines.values():
        for problem in coverage.prove(line.schedule, line.router, now, line.schedule.path):
            print(f"warning: {problem} (ivr check refuses this)", file=sys.stderr)
    return cfg


def parse_time(text: str, tz: Any) -> datetime:
    """ISO 8601 date or date-time; without an offset, wall-clock time in `tz`; T24:00 ends the day."""
    try:
        if len(text.strip()) == 10:
            return local_instant(date.fromisoformat(text.strip()), 0, tz)
        return instant(text, tz)
    except OverflowError:
        raise UsageError(f"{text!r} is past the end of the calendar (9999-12-31)") from None
    except ValueError:
        raise UsageError(f"{text!r} is not an ISO 8601 date or time (2026-12-25T10:00)") from None


@contextmanager
def within_calendar(text: str) -> Iterator[None]:
    """Turn the engine running off the end of the calendar (it looks up to 400 days ahead) into one line."""
    try:
        yield
    except OverflowError:
        raise UsageError(
            f"{text!r} is too close to the end of the calendar (9999-12-31) to work out; choose an earlier date"
        ) from None


def person(by: str) -> str:
    """Who is acting: `--by` as given, else this user at this machine."""
    return by.strip() or f"{getpass.getuser()}@{socket.gethostname()}"


def emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data, indent=2) if getattr(args, "json", False) else text)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def decision_json(line: str, decision: Decision) -> dict[str, Any]:
    dest = decision.destination
    return {
        "line": line,
        "service": decision.service,
        "at": iso(decision.at),
        "destination": dest.key if dest else None,
        "name": dest.name if dest else None,
        "number": dest.number if dest else None,
        "rule": decision.rule,
        "until": iso(decision.until),
        "override": decision.override,
    }


def interval_json(iv: Interval) -> dict[str, Any]:
    dest = iv.destination
    return {
        "from": iso(iv.start),
        "until": iso(iv.end),
        "destination": dest.key if dest else None,
        "name": dest.name if dest else None,
        "number": dest.number if dest else None,
        "rule": iv.rule,
        "override": iv.override,
    }


def when(value: datetime | None) -> str:
    return value.strftime("%a %Y-%m-%d %H:%M %Z") if value else "no change ahead"


def days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 1 <= value <= 3660:
        raise argparse.ArgumentTypeError("days must be from 1 to 3660")
    return value
