"""What the `ivr` commands share: options, time parsing, and JSON shapes of decisions."""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr import config as config_module
from ivr.core.errors import IvrError
from ivr.core.model import Decision, Interval
from ivr.core.schedule import local_instant, parse_instant
from ivr.services import Settings

LONDON = ZoneInfo("Europe/London")


class UsageError(IvrError, ValueError):
    """Input on the command line that cannot be used."""


def load_config(args: argparse.Namespace, prove_coverage: bool = True) -> config_module.Config:
    """The configuration in --config, else in the folder the settings name (IVR_CONFIG_DIR)."""
    return config_module.load(args.config or Settings.from_env().config_dir, prove_coverage=prove_coverage)


def parse_time(text: str, tz: Any) -> datetime:
    """ISO 8601 date or date-time; without an offset, wall-clock time in `tz`."""
    try:
        if len(text.strip()) == 10:
            return local_instant(date.fromisoformat(text.strip()), 0, tz)
        return parse_instant(text, tz)
    except ValueError:
        raise UsageError(f"{text!r} is not an ISO 8601 date or time (2026-12-25T10:00)") from None


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
