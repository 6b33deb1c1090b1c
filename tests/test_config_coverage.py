"""The 400-day gap proof: gaps reported as ranges of days, and the quick proof never hides a gap."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr import config
from ivr.core.schedule import Router
from tests.builders import at, config_problems, write_line

FIX = "; add a rule that covers these times"

# A one-minute gap every ordinary day and a one-hour gap on the closure day, Wednesday 10 February 2027.
DAILY_AND_CLOSURE_GAPS = """
- {to: office, time: "00:00-12:00", on: [ordinary, bank-holiday]}
- {to: night, time: "12:01-24:00", on: [ordinary, bank-holiday]}
- {to: night, time: "00:00-12:00", on: closure}
- {to: night, time: "13:00-24:00", on: closure}
"""


def messages(folder: Path) -> list[str]:
    """The messages of the problems load() refuses `folder` with, proving from 1 January 2027."""
    return [p.message for p in config_problems(folder, now=at("2027-01-01T00:00"))]


def test_an_irregular_gap_stays_on_its_own_line_between_two_runs(tmp_path: Path) -> None:
    """The closure day's 12:00-13:00 gap is its own line and splits the daily 12:00-12:01 gap into two ranges."""
    folder = write_line(tmp_path, DAILY_AND_CLOSURE_GAPS, extra="closures:\n  - {date: 2027-02-10, name: Training}\n")
    assert messages(folder) == [
        "always open, but no rule covers every day 12:00-12:01, Fri 1 Jan 2027 to Tue 9 Feb 2027: 40 days without a destination"
        + FIX,
        "always open, but no rule covers 2027-02-10T12:00+00:00 to 2027-02-10T13:00+00:00" + FIX,
        "always open, but no rule covers every day 12:00-12:01, Thu 11 Feb 2027 to Fri 4 Feb 2028: 359 days without a destination"
        + FIX,
    ]


def test_a_gap_over_midnight_every_night_is_one_range(tmp_path: Path) -> None:
    """23:00-01:00 uncovered every night is one range; the proof's clipped first and last stretches stand alone."""
    folder = write_line(tmp_path, '- {to: office, time: "01:00-23:00", on: any}')
    assert messages(folder) == [
        "always open, but no rule covers 2027-01-01T00:00+00:00 to 2027-01-01T01:00+00:00" + FIX,
        "always open, but no rule covers every day 23:00 to 01:00 the next day, Fri 1 Jan 2027 to Thu 3 Feb 2028: "
        "399 days without a destination" + FIX,
        "always open, but no rule covers 2028-02-04T23:00+00:00 to 2028-02-05T00:00+00:00" + FIX,
    ]


def test_the_shipped_lines_are_proved_without_walking_the_days(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every shipped always-open service has a rule for every minute of every kind of day, so no day-by-day walk is needed."""

    def walked(*args: object) -> None:
        raise AssertionError("the gap proof walked the days")

    monkeypatch.setattr(Router, "coverage", walked)
    assert sorted(config.load(config.PROJECT_DIR, now=at("2026-11-01T00:00")).lines) == [
        "hampshire",
        "isle-of-wight",
        "wiltshire",
    ]


NO_CLOSURE_RULE = '- {to: office, time: "00:00-24:00", on: [ordinary, bank-holiday]}'


@pytest.mark.parametrize(
    ("closures", "found"),
    [
        ("", []),
        (
            "closures:\n  - {date: 2027-02-10, name: Training}\n",
            ["always open, but no rule covers 2027-02-10T00:00+00:00 to 2027-02-11T00:00+00:00" + FIX],
        ),
    ],
    ids=["no_closure_in_the_400_days", "a_closure_in_the_400_days"],
)
def test_without_a_rule_for_closure_days_the_days_are_walked(tmp_path: Path, closures: str, found: list[str]) -> None:
    """No rule for closures is only a gap when a closure falls in the 400 days; the walk tells the two apart."""
    folder = write_line(tmp_path, NO_CLOSURE_RULE, extra=closures)
    if found:
        assert messages(folder) == found
    else:
        assert list(config.load(folder, now=at("2027-01-01T00:00")).lines) == ["test"]


def test_an_override_fills_a_gap_the_rules_leave(tmp_path: Path) -> None:
    """A diversion covering the closure day fills its gap, which the quick proof alone could not see."""
    extra = (
        "closures:\n  - {date: 2027-02-10, name: Training}\n"
        "overrides:\n  - {services: [child-at-risk], to: night, from: 2027-02-10T00:00, until: 2027-02-11T00:00, reason: cover}\n"
    )
    folder = write_line(tmp_path, NO_CLOSURE_RULE, extra=extra)
    assert list(config.load(folder, now=at("2027-01-01T00:00")).lines) == ["test"]
