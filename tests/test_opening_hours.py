"""Every documented opening time of the shipped lines, at the minute before, of and after each change.

The expected hours are transcribed here from the councils' pages, not read from the files.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ivr import config
from tests.builders import LONDON, assert_routes_to, at

CONFIG = config.load()
WILTS = {"mash": "+443004560108", "out-of-hours": "+443004560100", "standby": "+443004560100"}
HANTS = {"crt-public": "+443005551384", "crt-professionals": "+441329225379", "out-of-hours": "+443005551373"}
IOW = {"crt-public": "+443003000117", "crt-professionals": "+443003000901", "out-of-hours": "+443005551373"}

# (day, HH:MM of the change, destination before, destination from then on), week of Mon 1 March 2027.
WILTSHIRE_CHANGES = [
    *[(day, "08:45", "standby", "mash") for day in ("2027-03-01", "2027-03-02", "2027-03-03", "2027-03-04", "2027-03-05")],
    *[(day, "17:00", "mash", "out-of-hours") for day in ("2027-03-01", "2027-03-02", "2027-03-03", "2027-03-04")],
    ("2027-03-05", "16:00", "mash", "out-of-hours"),  # Friday's earlier close
    *[(day, "00:00", "out-of-hours", "standby") for day in ("2027-03-02", "2027-03-03", "2027-03-04", "2027-03-05", "2027-03-06", "2027-03-07", "2027-03-08")],
    ("2027-03-06", "09:00", "standby", "out-of-hours"),  # Saturday
    ("2027-03-07", "09:00", "standby", "out-of-hours"),  # Sunday
]
CRT_CHANGES = [
    *[(day, "08:30", "out-of-hours", "crt") for day in ("2027-03-01", "2027-03-02", "2027-03-03", "2027-03-04", "2027-03-05")],
    *[(day, "17:00", "crt", "out-of-hours") for day in ("2027-03-01", "2027-03-02", "2027-03-03", "2027-03-04")],
    ("2027-03-05", "16:30", "crt", "out-of-hours"),  # Friday's earlier close
]


def _minutes(day: str, hhmm: str) -> tuple[datetime, datetime, datetime]:
    change = at(f"{day}T{hhmm}")
    return change - timedelta(minutes=1), change, change + timedelta(minutes=1)


@pytest.mark.parametrize(("day", "hhmm", "before", "after"), WILTSHIRE_CHANGES, ids=[f"{d}-{t}" for d, t, _, _ in WILTSHIRE_CHANGES])
def test_wiltshire_child_at_risk_changes(day: str, hhmm: str, before: str, after: str) -> None:
    """Wiltshire hands over between MASH, Out of Hours and Standby exactly at the page's times."""
    router = CONFIG.router("wiltshire")
    minute_before, minute_of, minute_after = _minutes(day, hhmm)
    assert_routes_to(router, "child-at-risk", minute_before, before, WILTS[before])
    assert_routes_to(router, "child-at-risk", minute_of, after, WILTS[after])
    assert_routes_to(router, "child-at-risk", minute_after, after, WILTS[after])
    assert router.route("child-at-risk", minute_before).until == minute_of


@pytest.mark.parametrize("line,numbers", [("hampshire", HANTS), ("isle-of-wight", IOW)], ids=["hampshire", "isle-of-wight"])
@pytest.mark.parametrize(("day", "hhmm", "before", "after"), CRT_CHANGES, ids=[f"{d}-{t}" for d, t, _, _ in CRT_CHANGES])
@pytest.mark.parametrize(("service", "office"), [("child-at-risk", "crt-public"), ("professionals", "crt-professionals")], ids=["public", "professionals"])
def test_crt_lines_change_at_office_hours(line: str, numbers: dict[str, str], day: str, hhmm: str, before: str, after: str, service: str, office: str) -> None:
    """Hampshire and the Isle of Wight: the CRT line in office hours, Out of Hours at all other times."""
    router = CONFIG.router(line)
    before, after = (office if d == "crt" else d for d in (before, after))
    minute_before, minute_of, minute_after = _minutes(day, hhmm)
    assert_routes_to(router, service, minute_before, before, numbers[before])
    assert_routes_to(router, service, minute_of, after, numbers[after])
    assert_routes_to(router, service, minute_after, after, numbers[after])


@pytest.mark.parametrize("line", ["hampshire", "isle-of-wight"])
@pytest.mark.parametrize("when", ["2027-03-06T10:00", "2027-03-07T12:00", "2027-03-03T03:00"], ids=["saturday", "sunday", "night"])
def test_crt_lines_out_of_hours_at_weekends_and_nights(line: str, when: str) -> None:
    """Weekends and nights go to the shared Out of Hours number."""
    assert_routes_to(CONFIG.router(line), "child-at-risk", when, "out-of-hours", "+443005551373")


@pytest.mark.parametrize(("when", "wiltshire", "hampshire"), [
    ("2026-12-25T08:59", "standby", "out-of-hours"),
    ("2026-12-25T10:00", "out-of-hours", "out-of-hours"),   # Christmas Day, a Friday
    ("2026-12-26T10:00", "out-of-hours", "out-of-hours"),   # Boxing Day, a Saturday
    ("2026-12-28T08:50", "standby", "out-of-hours"),        # Boxing Day substitute, Monday: no MASH at 08:45
    ("2026-12-28T10:00", "out-of-hours", "out-of-hours"),
    ("2026-12-29T10:00", "mash", "crt-public"),             # back to work
    ("2027-12-27T10:00", "out-of-hours", "out-of-hours"),   # Christmas 2027 substitute (Monday)
    ("2027-12-28T10:00", "out-of-hours", "out-of-hours"),   # Boxing Day 2027 substitute (Tuesday)
    ("2027-12-29T10:00", "mash", "crt-public"),
    ("2027-03-25T10:00", "mash", "crt-public"),             # the Thursday before Easter
    ("2027-03-26T10:00", "out-of-hours", "out-of-hours"),   # Good Friday
    ("2027-03-29T10:00", "out-of-hours", "out-of-hours"),   # Easter Monday
    ("2027-03-30T10:00", "mash", "crt-public"),
    ("2027-01-01T12:00", "out-of-hours", "out-of-hours"),   # New Year's Day
], ids=lambda v: v if v.startswith("20") else None)
def test_bank_holidays(when: str, wiltshire: str, hampshire: str) -> None:
    """England's bank holidays and their substitute days are out of office hours on every line."""
    assert_routes_to(CONFIG.router("wiltshire"), "child-at-risk", when, wiltshire)
    assert_routes_to(CONFIG.router("hampshire"), "child-at-risk", when, hampshire)


@pytest.mark.parametrize(("wall", "fold", "expected", "until_utc"), [
    ("2027-03-27T23:59", 0, "out-of-hours", "2027-03-28T00:00"),
    ("2027-03-28T00:30", 0, "standby", "2027-03-28T08:00"),
    ("2027-03-28T02:30", 0, "standby", "2027-03-28T08:00"),
    ("2027-03-28T08:59", 0, "standby", "2027-03-28T08:00"),
    ("2027-03-28T09:00", 0, "out-of-hours", "2027-03-28T23:00"),
    ("2027-10-31T00:30", 0, "standby", "2027-10-31T09:00"),
    ("2027-10-31T01:30", 0, "standby", "2027-10-31T09:00"),
    ("2027-10-31T01:30", 1, "standby", "2027-10-31T09:00"),
    ("2027-10-31T09:00", 0, "out-of-hours", "2027-11-01T00:00"),
    ("2027-11-01T08:45", 0, "mash", "2027-11-01T17:00"),
], ids=["spring_forward_2359_before", "spring_forward_0030", "spring_forward_0230", "spring_forward_0859", "spring_forward_0900",
        "fall_back_0030", "fall_back_first_0130", "fall_back_second_0130", "fall_back_0900", "fall_back_monday_0845"])
def test_2027_clock_changes(wall: str, fold: int, expected: str, until_utc: str) -> None:
    """Wiltshire across both 2027 clock changes: right team, and `until` at the right real instant."""
    router = CONFIG.router("wiltshire")
    decision = router.route("child-at-risk", at(wall, fold))
    assert decision.destination is not None and decision.destination.key == expected
    assert decision.until is not None
    assert decision.until.astimezone(UTC).replace(tzinfo=None) == datetime.fromisoformat(until_utc)


def test_overlap_0845_to_0900_goes_to_mash_on_working_days_only() -> None:
    """The 08:45-09:00 overlap of MASH and Standby: MASH on a working day, Standby at the weekend."""
    router = CONFIG.router("wiltshire")
    for minute in range(45, 60):
        assert_routes_to(router, "child-at-risk", at(f"2027-03-03T08:{minute:02d}"), "mash")
        assert_routes_to(router, "child-at-risk", at(f"2027-03-06T08:{minute:02d}"), "standby")


def test_wiltshire_dofa_follows_the_front_door() -> None:
    """DOFA in front door hours, Out of Hours and Standby outside them."""
    router = CONFIG.router("wiltshire")
    assert_routes_to(router, "allegation-about-staff", "2027-03-03T10:00", "dofa", "+443004560108")
    assert_routes_to(router, "allegation-about-staff", "2027-03-03T20:00", "out-of-hours")
    assert_routes_to(router, "allegation-about-staff", "2027-03-03T03:00", "standby")


def test_send_is_closed_out_of_hours_and_says_when_it_opens() -> None:
    """SEND has no out-of-hours route: closed, with `until` the next opening."""
    decision = CONFIG.router("wiltshire").route("send", at("2027-03-05T17:00"))
    assert decision.destination is None
    assert decision.until == at("2027-03-08T08:45")


def test_every_shipped_number_is_from_the_pages() -> None:
    """The shipped destinations hold exactly the numbers the two pages give."""
    pages = {
        "+443004560108", "+443004560100", "+443304409000", "+441225713090", "+441249707990", "+441722438165",
        "+441249707900", "+441380826250", "+441225718555", "+443000034561", "+441225713934", "+447733303124",
        "+448001696136", "+441225716890", "+441249709400", "+441329225379", "+443005551384", "+443003000901",
        "+443003000117", "+443005551373", "+441962876364",
    }
    shipped = {d.number for line in CONFIG.lines.values() for d in line.schedule.destinations.values() if d.number}
    assert shipped == pages
    assert all(not line.schedule.closures and not line.schedule.overrides for line in CONFIG.lines.values())


def test_local_time_is_london() -> None:
    """Decisions come back in Europe/London."""
    decision = CONFIG.router("hampshire").route("child-at-risk", datetime(2027, 7, 1, 8, 0, tzinfo=UTC))
    assert decision.at.tzinfo == LONDON and decision.destination.key == "crt-public"  # type: ignore[union-attr]
