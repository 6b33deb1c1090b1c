"""Times in diversions and closures are real instants; local times the clocks make ambiguous warn, and route() agrees."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr import config
from tests.builders import assert_one_problem, assert_routes_to, at, config_problems, line_of, utc, write_files

SCHEDULE_FILE = "schedules/test.yaml"

# Sunday nights go to the night team; a closure day goes to the office, so a closure shows.
SCHEDULE = """\
line: test
timezone: Europe/London
destinations:
  office: {{name: the office, number: 0300 456 0108}}
  night: {{name: the night team, number: 0300 456 0100}}
  cover: {{name: the cover team, number: 0300 555 1373}}
services:
  child-at-risk:
    name: worried about a child
    always_open: true
    rules:
      - {{to: office, time: "00:00-24:00", on: closure}}
      - {{to: office, days: mon-fri, time: "09:00-17:00"}}
      - {{to: night, time: "00:00-24:00", on: any}}
  advice:
    name: advice
    rules:
      - {{to: office, days: mon-fri, time: "09:00-17:00"}}
{extra}
"""


def load(folder: Path, now: str = "2027-01-01T00:00") -> config.Config:
    return config.load(folder, now=at(now))


def with_overrides(folder: Path, *overrides: str) -> Path:
    """The test schedule with these overrides (one flow mapping each)."""
    return write_files(folder, schedule=SCHEDULE.format(extra="overrides:\n" + "".join(f"  - {o}\n" for o in overrides)))


def divert(start: str, until: str, to: str = "office", services: str = "[child-at-risk]", reason: str = "drill") -> str:
    return f"{{services: {services}, to: {to}, from: {start}, until: {until}, reason: {reason}}}"


# -- instants, not wall clocks -------------------------------------------------------------------


def test_a_half_hour_across_the_clocks_going_back_is_valid(tmp_path: Path) -> None:
    """01:45 BST until 01:15 GMT on 31 October 2027 is half an hour (00:45Z-01:15Z), not "ends before it starts"."""
    folder = with_overrides(tmp_path, divert("2027-10-31T01:45+01:00", "2027-10-31T01:15+00:00"))
    router = load(folder).router("test")
    assert_routes_to(router, "child-at-risk", utc("2027-10-31T00:44"), "night")
    assert_routes_to(router, "child-at-risk", utc("2027-10-31T00:45"), "office", until=utc("2027-10-31T01:15"))
    assert_routes_to(router, "child-at-risk", utc("2027-10-31T01:14"), "office")
    assert_routes_to(router, "child-at-risk", utc("2027-10-31T01:15"), "night")


def test_an_end_before_the_start_as_instants_is_refused(tmp_path: Path) -> None:
    """01:45+01:00 until 01:15+01:00 really ends first: refused at its line, with both instants."""
    folder = with_overrides(tmp_path, divert("2027-10-31T01:45+01:00", "2027-10-31T01:15+01:00"))
    assert_one_problem(
        config_problems(folder),
        SCHEDULE_FILE,
        line_of(folder / SCHEDULE_FILE, "- {services:"),
        "overrides[0].until",
        "ends before it starts (2027-10-31T01:15+01:00 is not after 2027-10-31T01:45+01:00); check the dates and offsets",
    )


def test_seconds_in_diversion_times_are_kept(tmp_path: Path) -> None:
    """A diversion from 09:00:30 to 12:00:30 starts and ends on those seconds, and its label and warning show them."""
    folder = with_overrides(tmp_path, divert("2027-03-04T09:00:30", "2027-03-04T12:00:30", to="night"))
    cfg = load(folder, now="2027-03-04T10:00")
    router = cfg.router("test")
    assert_routes_to(router, "child-at-risk", at("2027-03-04T09:00:15"), "office")
    assert_routes_to(router, "child-at-risk", at("2027-03-04T09:00:30"), "night", until=at("2027-03-04T12:00:30"))
    assert_routes_to(router, "child-at-risk", at("2027-03-04T12:00:29"), "night")
    assert_routes_to(router, "child-at-risk", at("2027-03-04T12:00:30"), "office")
    assert (
        "drill, 2027-03-04T09:00:30+00:00 until 2027-03-04T12:00:30+00:00 -> night"
        in router.route("child-at-risk", at("2027-03-04T10:00")).rule
    )
    line = line_of(folder / SCHEDULE_FILE, "- {services:")
    assert cfg.warnings == (f"{SCHEDULE_FILE}:{line}: override to 'night' ends within 24 hours, at 2027-03-04T12:00:30+00:00",)


# -- local times the clocks make ambiguous -----------------------------------------------------


@pytest.mark.parametrize(
    ("start", "until", "field", "warning", "before", "first_diverted"),
    [
        (
            "2027-10-31T01:30",
            "2027-10-31T05:00",
            "overrides[0].from",
            "2027-10-31T01:30 happens twice as the clocks go back, at 2027-10-31T01:30+01:00 and 2027-10-31T01:30+00:00; "
            "read as the first, 2027-10-31T01:30+01:00; write the offset to choose",
            "2027-10-31T00:29",
            "2027-10-31T00:30",
        ),
        (
            "2027-03-28T01:30",
            "2027-03-28T05:00",
            "overrides[0].from",
            "2027-03-28T01:30 does not happen: the clocks go forward; it could mean 2027-03-28T01:30+00:00 (02:30 BST) "
            "or 2027-03-28T01:30+01:00 (00:30 GMT); read as 2027-03-28T02:00+01:00, when the clocks change; "
            "write the offset to choose",
            "2027-03-28T00:59",
            "2027-03-28T01:00",
        ),
        (
            "2027-10-30T22:00",
            "2027-10-31T01:30",
            "overrides[0].until",
            "2027-10-31T01:30 happens twice as the clocks go back, at 2027-10-31T01:30+01:00 and 2027-10-31T01:30+00:00; "
            "read as the first, 2027-10-31T01:30+01:00; write the offset to choose",
            "2027-10-30T20:59",
            "2027-10-30T21:00",
        ),
    ],
    ids=["from_fall_back", "from_spring_forward", "until_fall_back"],
)
def test_a_local_time_that_happens_twice_or_never_warns_with_both_readings(
    tmp_path: Path, start: str, until: str, field: str, warning: str, before: str, first_diverted: str
) -> None:
    """A diversion time without an offset on a clock-change night warns with both readings and the one chosen; route() uses it."""
    folder = with_overrides(tmp_path, divert(start, until))
    cfg = load(folder)
    line = line_of(folder / SCHEDULE_FILE, "- {services:")
    assert cfg.warnings == (f"{SCHEDULE_FILE}:{line}: {field}: {warning}",)
    router = cfg.router("test")
    assert_routes_to(router, "child-at-risk", utc(before), "night")
    assert_routes_to(router, "child-at-risk", utc(first_diverted), "office")


def test_the_chosen_end_reading_is_where_route_stops(tmp_path: Path) -> None:
    """Until 01:30 on the night the clocks go back ends at the first 01:30 (00:30Z), as the warning says."""
    folder = with_overrides(tmp_path, divert("2027-10-30T22:00", "2027-10-31T01:30"))
    router = load(folder).router("test")
    assert_routes_to(router, "child-at-risk", utc("2027-10-31T00:29"), "office", until=utc("2027-10-31T00:30"))
    assert_routes_to(router, "child-at-risk", utc("2027-10-31T00:30"), "night")


@pytest.mark.parametrize(
    ("day", "warning", "before", "closed"),
    [
        (
            "2027-10-31",
            "01:30 on Sun 31 Oct 2027 happens twice as the clocks go back, at 2027-10-31T01:30+01:00 and "
            "2027-10-31T01:30+00:00; the closure starts at the first",
            "2027-10-31T00:29",
            "2027-10-31T00:30",
        ),
        (
            "2027-03-28",
            "01:30 on Sun 28 Mar 2027 does not happen: the clocks go forward; it could mean 2027-03-28T01:30+00:00 "
            "(02:30 BST) or 2027-03-28T01:30+01:00 (00:30 GMT); the closure starts when the clocks change",
            "2027-03-28T00:59",
            "2027-03-28T01:00",
        ),
    ],
    ids=["fall_back", "spring_forward"],
)
def test_a_closure_time_on_a_clock_change_day_warns(tmp_path: Path, day: str, warning: str, before: str, closed: str) -> None:
    """A part-day closure from 01:30 on a clock-change day warns which 01:30 it means; the closure starts there."""
    extra = f'closures:\n  - {{date: {day}, time: "01:30-24:00", name: Staff training}}\n'
    folder = write_files(tmp_path, schedule=SCHEDULE.format(extra=extra))
    cfg = load(folder)
    line = line_of(folder / SCHEDULE_FILE, "Staff training")
    assert cfg.warnings == (f"{SCHEDULE_FILE}:{line}: closures[0].time: {warning}",)
    router = cfg.router("test")
    assert_routes_to(router, "child-at-risk", utc(before), "night")
    assert_routes_to(router, "child-at-risk", utc(closed), "office")


# -- overlapping diversions --------------------------------------------------------------------

NIGHT_9_TO_12 = divert("2027-03-04T09:00", "2027-03-04T12:00", to="night", reason="training")
COVER_11_TO_13 = divert("2027-03-04T11:00", "2027-03-04T13:00", to="cover", reason="cover")


@pytest.mark.parametrize(
    ("first", "second", "winner", "only_second"),
    [
        (NIGHT_9_TO_12, COVER_11_TO_13, "night", ("2027-03-04T12:30", "cover")),
        (COVER_11_TO_13, NIGHT_9_TO_12, "cover", ("2027-03-04T10:00", "night")),
    ],
    ids=["night_listed_first", "cover_listed_first"],
)
def test_overlapping_diversions_warn_which_wins_and_route_agrees(
    tmp_path: Path, first: str, second: str, winner: str, only_second: tuple[str, str]
) -> None:
    """Two diversions of child-at-risk overlapping 11:00-12:00 warn that the first listed wins; route() sends calls there."""
    folder = with_overrides(tmp_path, first, second)
    cfg = load(folder)
    path = folder / SCHEDULE_FILE
    first_line, second_line = line_of(path, first), line_of(path, second)
    assert cfg.warnings == (
        f"{SCHEDULE_FILE}:{second_line}: overrides[1]: overlaps overrides[0] (line {first_line}) for child-at-risk "
        f"from 2027-03-04T11:00+00:00 until 2027-03-04T12:00+00:00; overrides[0], listed first, wins there "
        f"(calls go to '{winner}'); list the one that should win first",
    )
    router = cfg.router("test")
    assert_routes_to(router, "child-at-risk", "2027-03-04T11:30", winner)
    assert_routes_to(router, "child-at-risk", *only_second)


@pytest.mark.parametrize(
    "second",
    [
        divert("2027-03-04T12:00", "2027-03-04T13:00", to="cover"),
        divert("2027-03-04T11:00", "2027-03-04T13:00", to="cover", services="[advice]"),
    ],
    ids=["one_ends_as_the_other_starts", "different_services"],
)
def test_diversions_that_do_not_overlap_for_a_service_do_not_warn(tmp_path: Path, second: str) -> None:
    """Diversions that only touch, or that divert different services, load without a warning."""
    assert load(with_overrides(tmp_path, NIGHT_9_TO_12, second)).warnings == ()


def test_an_overlap_with_a_diversion_until_further_notice_says_so(tmp_path: Path) -> None:
    """Two open-ended diversions overlap from the later start until further notice (the first is on line 20)."""
    folder = with_overrides(
        tmp_path,
        divert("2027-03-04T09:00", "further notice", to="night"),
        divert("2027-03-05T09:00", "further notice", to="cover"),
    )
    overlap = [w for w in load(folder).warnings if "overlaps" in w]
    assert [w.split(": ", 2)[2] for w in overlap] == [
        "overlaps overrides[0] (line 20) for child-at-risk from 2027-03-05T09:00+00:00 until further notice; "
        "overrides[0], listed first, wins there (calls go to 'night'); list the one that should win first"
    ]
