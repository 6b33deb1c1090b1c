"""Pinned routing behaviour: `until` under nested diversions, long closures, and seconds kept in times."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.core.model import ALL_WEEKDAYS, DayKind, Destination, Override, Rule, Schedule, Service
from ivr.core.schedule import Router
from tests.builders import at, same_instant, shipped_copy

SERVICE = "child-at-risk"
WEEKDAYS = frozenset(range(5))
TEAMS = {
    "office": Destination("office", "the office", "+443004560108"),
    "night": Destination("night", "the night team", "+443004560100"),
    "team-a": Destination("team-a", "team A", "+441249707900"),
    "team-b": Destination("team-b", "team B", "+441380826250"),
}
OFFICE_HOURS = Rule("office", WEEKDAYS, 9 * 60, 17 * 60, frozenset({DayKind.ORDINARY}), "office 09:00-17:00")
NIGHT = Rule("night", ALL_WEEKDAYS, 0, 24 * 60, frozenset(DayKind), "night 00:00-24:00")


def divert(to: str, start: str, end: str, label: str) -> Override:
    return Override(frozenset({SERVICE}), to, at(start), at(end), label, label)


def router(rules: tuple[Rule, ...], *overrides: Override) -> Router:
    service = Service(SERVICE, "worried about a child", rules, always_open=True)
    return Router(Schedule("plain", "Europe/London", TEAMS, {SERVICE: service}, (), tuple(overrides)))


# Wednesday 3 March 2027: team A takes 09:00-17:00, team B 11:00-12:00 inside it (listed first, so it wins).
OUTER = divert("team-a", "2027-03-03T09:00", "2027-03-03T17:00", "outer")
INNER = divert("team-b", "2027-03-03T11:00", "2027-03-03T12:00", "inner")
NESTED = router((OFFICE_HOURS, NIGHT), INNER, OUTER)
NESTED_OVER_ONE_RULE = router((NIGHT,), INNER, OUTER)
INNER_HIDDEN = router((OFFICE_HOURS, NIGHT), OUTER, INNER)
# Team B from 16:00 to 18:00, running past the end of team A's diversion.
OVERHANG = router((OFFICE_HOURS, NIGHT), divert("team-b", "2027-03-03T16:00", "2027-03-03T18:00", "late"), OUTER)


@pytest.mark.parametrize(
    ("routes", "when", "expected", "until"),
    [
        (NESTED, "2027-03-03T08:00", "night", "2027-03-03T09:00"),
        (NESTED, "2027-03-03T10:00", "team-a", "2027-03-03T11:00"),
        (NESTED, "2027-03-03T11:30", "team-b", "2027-03-03T12:00"),
        (NESTED, "2027-03-03T12:30", "team-a", "2027-03-03T17:00"),
        (NESTED, "2027-03-03T17:00", "night", "2027-03-04T09:00"),
        (NESTED_OVER_ONE_RULE, "2027-03-03T08:00", "night", "2027-03-03T09:00"),
        (NESTED_OVER_ONE_RULE, "2027-03-03T12:30", "team-a", "2027-03-03T17:00"),
        (NESTED_OVER_ONE_RULE, "2027-03-03T17:00", "night", None),
        (INNER_HIDDEN, "2027-03-03T10:00", "team-a", "2027-03-03T17:00"),
        (INNER_HIDDEN, "2027-03-03T11:30", "team-a", "2027-03-03T17:00"),
        (OVERHANG, "2027-03-03T15:00", "team-a", "2027-03-03T16:00"),
        (OVERHANG, "2027-03-03T16:30", "team-b", "2027-03-03T18:00"),
        (OVERHANG, "2027-03-03T18:00", "night", "2027-03-04T09:00"),
    ],
    ids=[
        "before-both-until-outer-starts",
        "outer-until-inner-starts",
        "inner-until-inner-ends",
        "outer-again-until-outer-ends",
        "after-both-rules-again",
        "one-rule-until-outer-starts",
        "one-rule-outer-until-it-ends",
        "one-rule-after-both-never-changes",
        "outer-listed-first-hides-inner",
        "outer-listed-first-inside-inner",
        "overhang-outer-until-late-starts",
        "overhang-late-until-it-ends",
        "overhang-after-both",
    ],
)
def test_until_under_nested_diversions_names_the_next_change(routes: Router, when: str, expected: str, until: str | None) -> None:
    """With one diversion inside another, `until` is the next instant the answer really changes."""
    decision = routes.route(SERVICE, at(when))
    assert decision.destination is not None and decision.destination.key == expected
    assert decision.override is (expected.startswith("team-"))
    if until is None:
        assert decision.until is None
    else:
        assert same_instant(decision.until, at(until)), decision.until


# -- 8. a service closed for more than two weeks ---------------------------------------------------


def test_service_closed_for_months_names_its_reopening() -> None:
    """A service whose only rule is a bank-holiday one, asked in early January, opens at Good Friday 09:00."""
    service = Service(
        "clubs", "holiday clubs", (Rule("office", ALL_WEEKDAYS, 9 * 60, 17 * 60, frozenset({DayKind.BANK_HOLIDAY}), "bh"),)
    )
    routes = Router(Schedule("plain", "Europe/London", TEAMS, {"clubs": service}))
    decision = routes.route("clubs", at("2027-01-04T10:00"))
    assert decision.destination is None
    assert same_instant(decision.until, at("2027-03-26T09:00"))  # Good Friday 2027 is 26 March


def test_cli_route_names_the_reopening_after_a_long_closure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`ivr route` for Wiltshire SEND during a three-week closure says it opens on the first working day after it."""
    folder = shipped_copy(tmp_path / "config")
    schedule = folder / "schedules" / "wiltshire.yaml"
    days = [f"2027-07-{d:02d}" for d in (19, 20, 21, 22, 23, 26, 27, 28, 29, 30)] + [f"2027-08-0{d}" for d in (2, 3, 4, 5, 6)]
    listed = "".join(f"\n  - {{date: {day}, name: summer closure}}" for day in days)
    schedule.write_text(schedule.read_text().replace("\nclosures: []", f"\nclosures:{listed}"))
    assert main(["route", "wiltshire", "send", "--at", "2027-07-16T18:00", "--config", str(folder), "--json"]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert (decision["destination"], decision["until"]) == (None, "2027-08-09T08:45:00+01:00")


# -- 9. seconds are kept ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "expected", "stamp", "until"),
    [
        ("2026-11-24T16:59:59", "mash", "2026-11-24T16:59:59+00:00", "2026-11-24T17:00:00+00:00"),
        ("2026-11-24T17:00:00", "out-of-hours", "2026-11-24T17:00:00+00:00", "2026-11-25T00:00:00+00:00"),
        ("2026-11-24T08:44:59", "standby", "2026-11-24T08:44:59+00:00", "2026-11-24T08:45:00+00:00"),
    ],
    ids=["last-second-of-mash", "first-second-of-out-of-hours", "last-second-of-standby"],
)
def test_cli_route_keeps_the_seconds_of_at(
    capsys: pytest.CaptureFixture[str], when: str, expected: str, stamp: str, until: str
) -> None:
    """`ivr route --at` with seconds routes at that second and reports `at` with its seconds (Tuesday 24 November 2026)."""
    assert main(["route", "wiltshire", "child-at-risk", "--at", when, "--json"]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert (decision["destination"], decision["at"], decision["until"]) == (expected, stamp, until)


OVERRIDE = """overrides:
  - services: [child-at-risk]
    to: out-of-hours
    from: 2026-12-02T09:00:30
    until: 2026-12-02T12:00:45
    reason: MASH training morning
"""


@pytest.mark.parametrize(
    ("when", "expected", "override", "until"),
    [
        ("2026-12-02T09:00:29", "mash", False, "2026-12-02T09:00:30+00:00"),
        ("2026-12-02T09:00:30", "out-of-hours", True, "2026-12-02T12:00:45+00:00"),
        ("2026-12-02T12:00:44", "out-of-hours", True, "2026-12-02T12:00:45+00:00"),
        ("2026-12-02T12:00:45", "mash", False, "2026-12-02T17:00:00+00:00"),
    ],
    ids=["a-second-before", "from-its-second", "a-second-before-it-ends", "ended-at-its-second"],
)
def test_diversion_times_keep_their_seconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], when: str, expected: str, override: bool, until: str
) -> None:
    """A diversion from 09:00:30 to 12:00:45 starts and ends at those seconds, not at the minute."""
    folder = shipped_copy(tmp_path / "config")
    schedule = folder / "schedules" / "wiltshire.yaml"
    schedule.write_text(schedule.read_text().replace("\noverrides: []", "\n" + OVERRIDE))
    assert main(["route", "wiltshire", "child-at-risk", "--at", when, "--config", str(folder), "--json"]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert (decision["destination"], decision["override"], decision["until"]) == (expected, override, until)
