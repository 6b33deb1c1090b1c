"""The three shipped lines against the councils' pages: every documented change, bank holidays and the 2027 clock changes.

The expected hours and numbers are transcribed here from the pages (see /work/shared/seeds), not read from the files.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.builders import (
    CRT_OUT_OF_HOURS,
    HANTS_PROFESSIONALS,
    HANTS_PUBLIC,
    IOW_PROFESSIONALS,
    IOW_PUBLIC,
    LADO,
    LONDON,
    MASH,
    WILTS_OUT_OF_HOURS,
    assert_routes_to,
    at,
    same_instant,
    shipped,
    shipped_copy,
    utc,
)

WILTSHIRE = {"mash": MASH, "out-of-hours": WILTS_OUT_OF_HOURS, "standby": WILTS_OUT_OF_HOURS}
CRT = {
    "hampshire": {"crt-public": HANTS_PUBLIC, "crt-professionals": HANTS_PROFESSIONALS, "out-of-hours": CRT_OUT_OF_HOURS},
    "isle-of-wight": {"crt-public": IOW_PUBLIC, "crt-professionals": IOW_PROFESSIONALS, "out-of-hours": CRT_OUT_OF_HOURS},
}
MON_TO_THU = ("2027-03-01", "2027-03-02", "2027-03-03", "2027-03-04")
FRIDAY, SATURDAY, SUNDAY, NEXT_MONDAY = "2027-03-05", "2027-03-06", "2027-03-07", "2027-03-08"


def next_day(day: str) -> str:
    return (datetime.fromisoformat(day) + timedelta(days=1)).date().isoformat()


def minute_before_of_after(day: str, hhmm: str) -> tuple[datetime, datetime, datetime]:
    change = at(f"{day}T{hhmm}")
    return change - timedelta(minutes=1), change, change + timedelta(minutes=1)


# -- Wiltshire: MASH, Out of Hours and Social Work Standby, week of Monday 1 March 2027 ---------

# (day, HH:MM of the change, team before, team from then on, when the new answer next changes)
WILTSHIRE_CHANGES = [
    *[(day, "08:45", "standby", "mash", f"{day}T17:00") for day in MON_TO_THU],
    (FRIDAY, "08:45", "standby", "mash", f"{FRIDAY}T16:00"),
    *[(day, "17:00", "mash", "out-of-hours", f"{next_day(day)}T00:00") for day in MON_TO_THU],
    (FRIDAY, "16:00", "mash", "out-of-hours", f"{SATURDAY}T00:00"),  # Friday's earlier close
    *[
        (day, "00:00", "out-of-hours", "standby", f"{day}T08:45")
        for day in ("2027-03-02", "2027-03-03", "2027-03-04", FRIDAY, NEXT_MONDAY)
    ],
    (SATURDAY, "00:00", "out-of-hours", "standby", f"{SATURDAY}T09:00"),
    (SUNDAY, "00:00", "out-of-hours", "standby", f"{SUNDAY}T09:00"),
    (SATURDAY, "09:00", "standby", "out-of-hours", f"{SUNDAY}T00:00"),  # weekends 09:00-24:00
    (SUNDAY, "09:00", "standby", "out-of-hours", f"{NEXT_MONDAY}T00:00"),
]


@pytest.mark.parametrize(
    ("day", "hhmm", "before", "after", "until"),
    WILTSHIRE_CHANGES,
    ids=[f"{datetime.fromisoformat(d):%a}-{t}-{b}-to-{a}" for d, t, b, a, _ in WILTSHIRE_CHANGES],
)
def test_wiltshire_child_at_risk_changes_at_the_pages_times(day: str, hhmm: str, before: str, after: str, until: str) -> None:
    """Wiltshire hands over between Standby, MASH and Out of Hours at the minute the page gives, no earlier or later."""
    router = shipped().router("wiltshire")
    minute_before, minute_of, minute_after = minute_before_of_after(day, hhmm)
    assert_routes_to(router, "child-at-risk", minute_before, before, WILTSHIRE[before], until=minute_of)
    assert_routes_to(router, "child-at-risk", minute_of, after, WILTSHIRE[after], until=until)
    assert_routes_to(router, "child-at-risk", minute_after, after, WILTSHIRE[after], until=until)


@pytest.mark.parametrize(
    ("day", "expected", "until"),
    [
        (MON_TO_THU[0], "mash", "17:00"),
        (MON_TO_THU[3], "mash", "17:00"),
        (FRIDAY, "mash", "16:00"),
        (SATURDAY, "standby", "09:00"),
        (SUNDAY, "standby", "09:00"),
    ],
    ids=["monday", "thursday", "friday", "saturday", "sunday"],
)
def test_wiltshire_0845_to_0900_overlap(day: str, expected: str, until: str) -> None:
    """08:45-09:00: MASH on a working day (Standby hands over at 08:45), Standby at the weekend."""
    router = shipped().router("wiltshire")
    for minute in (45, 50, 59):
        assert_routes_to(router, "child-at-risk", f"{day}T08:{minute}", expected, WILTSHIRE[expected], until=f"{day}T{until}")
    after = "mash" if expected == "mash" else "out-of-hours"
    assert_routes_to(router, "child-at-risk", f"{day}T09:00", after, WILTSHIRE[after])


@pytest.mark.parametrize(
    ("when", "expected", "number"),
    [
        ("2027-03-03T10:00", "dofa", MASH),
        ("2027-03-05T16:00", "out-of-hours", WILTS_OUT_OF_HOURS),
        ("2027-03-03T03:00", "standby", WILTS_OUT_OF_HOURS),
        ("2027-03-06T12:00", "out-of-hours", WILTS_OUT_OF_HOURS),
    ],
    ids=["office_hours", "friday_1600", "night", "saturday"],
)
def test_wiltshire_dofa_follows_the_front_door(when: str, expected: str, number: str) -> None:
    """Allegations about staff reach the DOFA in front-door hours, Out of Hours and Standby otherwise."""
    assert_routes_to(shipped().router("wiltshire"), "allegation-about-staff", when, expected, number)


def test_wiltshire_send_is_closed_out_of_hours_and_says_when_it_opens() -> None:
    """SEND has no out-of-hours team: closed at Friday 16:00, reopening Monday 08:45."""
    assert_routes_to(shipped().router("wiltshire"), "send", "2027-03-05T16:00", None, until="2027-03-08T08:45")
    assert_routes_to(shipped().router("wiltshire"), "send", "2027-03-08T08:45", "send-duty", MASH, until="2027-03-08T17:00")


# -- Hampshire and the Isle of Wight: the Children's Reception Team -----------------------------

CRT_CHANGES = [
    *[(day, "08:30", "out-of-hours", "crt", f"{day}T17:00") for day in MON_TO_THU],
    (FRIDAY, "08:30", "out-of-hours", "crt", f"{FRIDAY}T16:30"),
    *[(day, "17:00", "crt", "out-of-hours", f"{next_day(day)}T08:30") for day in MON_TO_THU],
    (FRIDAY, "16:30", "crt", "out-of-hours", f"{NEXT_MONDAY}T08:30"),  # Friday's earlier close, then the weekend
]


@pytest.mark.parametrize("line", ["hampshire", "isle-of-wight"])
@pytest.mark.parametrize(
    ("service", "office"),
    [("child-at-risk", "crt-public"), ("professionals", "crt-professionals")],
    ids=["public", "professionals"],
)
@pytest.mark.parametrize(
    ("day", "hhmm", "before", "after", "until"),
    CRT_CHANGES,
    ids=[f"{datetime.fromisoformat(d):%a}-{t}" for d, t, _, _, _ in CRT_CHANGES],
)
def test_crt_lines_change_at_office_hours(
    line: str, service: str, office: str, day: str, hhmm: str, before: str, after: str, until: str
) -> None:
    """CRT public and professionals' lines Mon-Thu 08:30-17:00, Fri 08:30-16:30, Out of Hours otherwise, on their own numbers."""
    router = shipped().router(line)
    numbers = CRT[line]
    before, after = (office if team == "crt" else team for team in (before, after))
    minute_before, minute_of, minute_after = minute_before_of_after(day, hhmm)
    assert_routes_to(router, service, minute_before, before, numbers[before], until=minute_of)
    assert_routes_to(router, service, minute_of, after, numbers[after], until=until)
    assert_routes_to(router, service, minute_after, after, numbers[after], until=until)


@pytest.mark.parametrize("line", ["hampshire", "isle-of-wight"])
@pytest.mark.parametrize(
    "when",
    [f"{SATURDAY}T10:00", f"{SUNDAY}T16:45", "2027-03-03T03:00", "2027-03-03T23:59"],
    ids=["saturday", "sunday", "night", "late_evening"],
)
def test_crt_lines_go_to_out_of_hours_at_all_other_times(line: str, when: str) -> None:
    """Nights and weekends go to the shared Out of Hours number on both lines and both services."""
    for service in ("child-at-risk", "professionals"):
        assert_routes_to(shipped().router(line), service, when, "out-of-hours", CRT_OUT_OF_HOURS)


@pytest.mark.parametrize("line", ["hampshire", "isle-of-wight"])
def test_lado_at_any_time(line: str) -> None:
    """The LADO's number, the only one the page gives, is connected at any hour."""
    for when in ("2027-03-03T10:00", "2027-03-06T03:00", "2026-12-25T12:00"):
        assert_routes_to(shipped().router(line), "allegation-about-staff", when, "lado", LADO)


# -- bank holidays -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "wiltshire", "crt"),
    [
        ("2026-12-24T10:00", "mash", "crt-public"),
        ("2026-12-25T08:50", "standby", "out-of-hours"),
        ("2026-12-25T09:00", "out-of-hours", "out-of-hours"),
        ("2026-12-25T16:30", "out-of-hours", "out-of-hours"),
        ("2026-12-26T10:00", "out-of-hours", "out-of-hours"),
        ("2026-12-28T08:50", "standby", "out-of-hours"),
        ("2026-12-28T10:00", "out-of-hours", "out-of-hours"),
        ("2026-12-29T08:50", "mash", "crt-public"),
        ("2027-12-25T10:00", "out-of-hours", "out-of-hours"),
        ("2027-12-26T10:00", "out-of-hours", "out-of-hours"),
        ("2027-12-27T10:00", "out-of-hours", "out-of-hours"),
        ("2027-12-28T10:00", "out-of-hours", "out-of-hours"),
        ("2027-12-29T10:00", "mash", "crt-public"),
        ("2027-03-25T10:00", "mash", "crt-public"),
        ("2027-03-26T08:50", "standby", "out-of-hours"),
        ("2027-03-26T10:00", "out-of-hours", "out-of-hours"),
        ("2027-03-29T10:00", "out-of-hours", "out-of-hours"),
        ("2027-03-30T08:50", "mash", "crt-public"),
    ],
    ids=[
        "christmas_eve_2026_working_day",
        "christmas_day_2026_no_mash_at_0845",
        "christmas_day_2026_0900",
        "christmas_day_2026_friday_afternoon",
        "boxing_day_2026_saturday",
        "boxing_day_substitute_mon_28_dec_0845",
        "boxing_day_substitute_mon_28_dec",
        "back_to_work_tue_29_dec_2026",
        "christmas_day_2027_saturday",
        "boxing_day_2027_sunday",
        "christmas_substitute_mon_27_dec_2027",
        "boxing_day_substitute_tue_28_dec_2027",
        "back_to_work_wed_29_dec_2027",
        "maundy_thursday_2027",
        "good_friday_2027_0845",
        "good_friday_2027",
        "easter_monday_2027",
        "easter_tuesday_2027",
    ],
)
def test_bank_holidays_are_out_of_office_hours(when: str, wiltshire: str, crt: str) -> None:
    """England's bank holidays and substitute days, from the `holidays` package, close the offices on every line."""
    assert_routes_to(shipped().router("wiltshire"), "child-at-risk", when, wiltshire, WILTSHIRE[wiltshire])
    for line, numbers in CRT.items():
        assert_routes_to(shipped().router(line), "child-at-risk", when, crt, numbers[crt])


def test_christmas_2026_in_wiltshire_hour_by_hour() -> None:
    """Christmas Day 2026: Standby to 09:00, Out of Hours to midnight, Standby again on Boxing Day morning."""
    router = shipped().router("wiltshire")
    assert_routes_to(router, "child-at-risk", "2026-12-24T17:00", "out-of-hours", until="2026-12-25T00:00")
    assert_routes_to(router, "child-at-risk", "2026-12-25T00:00", "standby", until="2026-12-25T09:00")
    assert_routes_to(router, "child-at-risk", "2026-12-25T09:00", "out-of-hours", until="2026-12-26T00:00")
    assert_routes_to(router, "child-at-risk", "2026-12-26T00:00", "standby", until="2026-12-26T09:00")


# -- the 2027 clock changes ----------------------------------------------------------------------

# (change, wall time, fold, Wiltshire's team, when it changes, as UTC); both changes fall on a Sunday.
CLOCK_CHANGE_CASES = [
    ("spring_forward", "2027-03-28T00:30", 0, "standby", "2027-03-28T08:00"),
    ("spring_forward", "2027-03-28T01:30", 0, "standby", "2027-03-28T08:00"),  # never on the clock: read as 01:30 GMT
    ("spring_forward", "2027-03-28T02:30", 0, "standby", "2027-03-28T08:00"),
    ("spring_forward", "2027-03-28T08:59", 0, "standby", "2027-03-28T08:00"),
    ("spring_forward", "2027-03-28T09:00", 0, "out-of-hours", "2027-03-28T23:00"),
    ("fall_back", "2027-10-31T00:30", 0, "standby", "2027-10-31T09:00"),
    ("fall_back", "2027-10-31T01:30", 0, "standby", "2027-10-31T09:00"),
    ("fall_back", "2027-10-31T01:30", 1, "standby", "2027-10-31T09:00"),
    ("fall_back", "2027-10-31T02:30", 0, "standby", "2027-10-31T09:00"),
    ("fall_back", "2027-10-31T08:59", 0, "standby", "2027-10-31T09:00"),
    ("fall_back", "2027-10-31T09:00", 0, "out-of-hours", "2027-11-01T00:00"),
]
CLOCK_CHANGE_IDS = [f"{change}-{wall[-5:]}-fold{fold}" for change, wall, fold, _, _ in CLOCK_CHANGE_CASES]
# The CRT next opens at 08:30 local on the next working day: Monday 29 March 2027 is Easter Monday.
CRT_OPENS_UTC = {"spring_forward": "2027-03-30T07:30", "fall_back": "2027-11-01T08:30"}


@pytest.mark.parametrize(("change", "wall", "fold", "expected", "until_utc"), CLOCK_CHANGE_CASES, ids=CLOCK_CHANGE_IDS)
def test_wiltshire_across_the_2027_clock_changes(
    change: str,  # noqa: ARG001 - named for the ids
    wall: str,
    fold: int,
    expected: str,
    until_utc: str,
) -> None:
    """Standby until 09:00 local and Out of Hours after, with `until` at the right real instant, either fold."""
    assert_routes_to(
        shipped().router("wiltshire"), "child-at-risk", at(wall, fold), expected, WILTSHIRE[expected], until=utc(until_utc)
    )


@pytest.mark.parametrize("line", ["hampshire", "isle-of-wight"])
@pytest.mark.parametrize(("change", "wall", "fold", "_wiltshire", "_until"), CLOCK_CHANGE_CASES, ids=CLOCK_CHANGE_IDS)
def test_crt_lines_across_the_2027_clock_changes(
    line: str, change: str, wall: str, fold: int, _wiltshire: str, _until: str
) -> None:
    """Sunday of a clock change: Out of Hours all day on the CRT lines, until 08:30 local on the next working day."""
    for service in ("child-at-risk", "professionals"):
        assert_routes_to(
            shipped().router(line), service, at(wall, fold), "out-of-hours", CRT_OUT_OF_HOURS, until=utc(CRT_OPENS_UTC[change])
        )


@pytest.mark.parametrize(("day", "hours"), [("2027-03-28", 8), ("2027-10-31", 10)], ids=["spring_forward", "fall_back"])
def test_wiltshire_standby_night_lasts_real_hours(day: str, hours: int) -> None:
    """Standby's midnight-to-09:00 is 8 real hours when the clocks go forward and 10 when they go back."""
    decision = shipped().router("wiltshire").route("child-at-risk", at(f"{day}T00:00"))
    assert decision.destination is not None and decision.destination.key == "standby"
    assert decision.until is not None and decision.until.timestamp() - decision.at.timestamp() == hours * 3600


# -- every instant of a year ---------------------------------------------------------------------

ALWAYS_OPEN = [
    ("wiltshire", "child-at-risk"),
    ("wiltshire", "allegation-about-staff"),
    ("hampshire", "child-at-risk"),
    ("hampshire", "professionals"),
    ("isle-of-wight", "child-at-risk"),
    ("isle-of-wight", "professionals"),
]


@pytest.mark.parametrize(("line", "service"), ALWAYS_OPEN, ids=[f"{ln}-{s}" for ln, s in ALWAYS_OPEN])
def test_always_open_services_have_no_gap_in_2027(line: str, service: str) -> None:
    """The 2027 timeline of each always-open service is contiguous and every interval dials a number."""
    router = shipped().router(line)
    start, end = at("2027-01-01T00:00"), at("2028-01-01T00:00")
    intervals = router.timeline(service, start, end)
    assert router.coverage(service, start, end) == []
    assert same_instant(intervals[0].start, start) and same_instant(intervals[-1].end, end)
    assert all(same_instant(a.end, b.start) for a, b in itertools.pairwise(intervals))
    assert all(iv.destination is not None and iv.destination.number for iv in intervals)


YEAR_2027 = st.datetimes(min_value=datetime(2027, 1, 1), max_value=datetime(2027, 12, 31, 23, 59, 59), timezones=st.just(LONDON))
CLOCK_CHANGE_INSTANTS = st.sampled_from([at(wall, fold) for _, wall, fold, _, _ in CLOCK_CHANGE_CASES])


@settings(max_examples=300, deadline=None)
@given(case=st.sampled_from(ALWAYS_OPEN), instant=st.one_of(YEAR_2027, CLOCK_CHANGE_INSTANTS))
def test_every_instant_of_2027_has_exactly_one_team(case: tuple[str, str], instant: datetime) -> None:
    """Any instant of 2027, either fold of the repeated hour included, has one team that holds until `until`."""
    line, service = case
    router = shipped().router(line)
    decision = router.route(service, instant)
    assert decision.destination is not None and decision.destination.number
    assert decision.destination.key in {r.destination for r in router.schedule.services[service].rules}
    assert decision.until is not None and decision.until.timestamp() > instant.timestamp()
    second_later = instant.astimezone(UTC) + timedelta(seconds=1)
    first, *_ = router.timeline(service, instant, second_later)
    assert (first.destination, first.rule) == (decision.destination, decision.rule)
    assert first.end.timestamp() == min(decision.until.timestamp(), second_later.timestamp())
    just_before = max(instant, (decision.until.astimezone(UTC) - timedelta(seconds=1)).astimezone(LONDON), key=datetime.timestamp)
    again = router.route(service, just_before)
    assert (again.destination, again.rule) == (decision.destination, decision.rule)
    after = router.route(service, decision.until)
    assert (after.destination, after.rule) != (decision.destination, decision.rule)


# -- what the files hold -------------------------------------------------------------------------


def test_every_shipped_number_is_from_the_pages() -> None:
    """The shipped destinations hold exactly the numbers the two pages give, and nothing is diverted or closed."""
    pages = {
        "+443004560108",
        "+443004560100",
        "+443304409000",
        "+441225713090",
        "+441249707990",
        "+441722438165",
        "+441249707900",
        "+441380826250",
        "+441225718555",
        "+443000034561",
        "+441225713934",
        "+447733303124",
        "+448001696136",
        "+441225716890",
        "+441249709400",
        "+441329225379",
        "+443005551384",
        "+443003000901",
        "+443003000117",
        "+443005551373",
        "+441962876364",
    }
    lines = shipped().lines.values()
    assert {d.number for line in lines for d in line.schedule.destinations.values() if d.number} == pages
    assert all(not line.schedule.closures and not line.schedule.overrides for line in lines)


def test_decisions_come_back_in_london_time() -> None:
    """A UTC instant is answered in Europe/London: 07:30Z in summer is 08:30 BST, CRT office hours."""
    decision = shipped().router("hampshire").route("child-at-risk", utc("2027-07-01T07:30"))
    assert decision.at.tzinfo == LONDON and decision.at.hour == 8
    assert decision.destination is not None and decision.destination.key == "crt-public"


def test_part_day_closure_with_the_shipped_wiltshire_rules(tmp_path: Path) -> None:
    """Christmas Eve closed from 13:00 (the README's example): MASH until 13:00, then Out of Hours.

    Regression: a rule starting after the closure began (Out of Hours from 17:00) once crashed routing.
    """
    from ivr import config

    shipped_copy(tmp_path)
    path = tmp_path / "schedules" / "wiltshire.yaml"
    path.write_text(
        path.read_text().replace(
            "closures: []", 'closures:\n  - {date: 2026-12-24, time: "13:00-24:00", name: Christmas Eve afternoon}'
        )
    )
    router = config.load(tmp_path, now=at("2026-12-01T00:00")).router("wiltshire")
    assert_routes_to(router, "child-at-risk", "2026-12-24T12:59", "mash")
    assert_routes_to(router, "child-at-risk", "2026-12-24T13:00", "out-of-hours")
    assert_routes_to(router, "child-at-risk", "2026-12-24T17:30", "out-of-hours")
    assert router.route("child-at-risk", at("2026-12-24T13:00")).until == at("2026-12-25T00:00")
