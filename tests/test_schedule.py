"""The routing engine with plain values: precedence, day kinds, `until`, timelines, gaps and the clocks."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.core.errors import UnknownService
from ivr.core.model import ALL_WEEKDAYS, Closure, DayKind, Decision, Override, Rule
from ivr.core.schedule import Router, local_instant, parse_instant
from tests.builders import (
    ANY_DAY,
    LONDON,
    assert_routes_to,
    at,
    plain_router,
    rule,
    same_instant,
    utc,
)

WEEKDAYS = range(5)
SERVICE = "child-at-risk"


def diversion(start: datetime, end: datetime | None, to: str = "diverted", label: str = "override 1") -> Override:
    return Override(frozenset({SERVICE}), to, start, end, "test diversion", label)


def answer(decision: Decision) -> tuple[str | None, str, bool]:
    """What a caller would notice change: the team, the rule that chose it, and whether it is a diversion."""
    return (decision.destination.key if decision.destination else None, decision.rule, decision.override)


def one_second_before(instant: datetime) -> datetime:
    """Real-time arithmetic: subtracting from an aware London datetime would move the wall clock instead."""
    return (instant.astimezone(UTC) - timedelta(seconds=1)).astimezone(LONDON)


# -- which rule wins ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "expected"),
    [(("office", "night"), "office"), (("night", "office"), "night")],
    ids=["office_listed_first", "night_listed_first"],
)
def test_first_matching_rule_wins(order: tuple[str, str], expected: str) -> None:
    """Where two rules cover the same minute, the one listed first takes the call."""
    spans = {"office": "08:45-17:00", "night": "00:00-24:00"}
    router = plain_router([rule(key, spans[key], kinds=ANY_DAY) for key in order])
    assert_routes_to(router, SERVICE, "2027-03-03T10:00", expected)
    assert_routes_to(router, SERVICE, "2027-03-03T08:44", "night")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2027-03-01", "office"),
        ("2027-03-02", "night"),
        ("2027-03-03", "office"),
        ("2027-03-04", "night"),
        ("2027-03-05", "office"),
        ("2027-03-06", "night"),
        ("2027-03-07", "night"),
    ],
    ids=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
)
def test_a_rule_applies_only_on_its_weekdays(day: str, expected: str) -> None:
    """A rule for Mon, Wed and Fri takes calls on those days and no others."""
    router = plain_router([rule("office", "09:00-17:00", {0, 2, 4}), rule("night", "00:00-24:00", kinds=ANY_DAY)])
    assert_routes_to(router, SERVICE, f"{day}T12:00", expected)


@pytest.mark.parametrize(
    ("when", "expected", "until"),
    [
        ("2027-03-03T23:59", "night", "2027-03-04T00:00"),
        ("2027-03-04T00:00", "office", "2027-03-04T17:00"),
        ("2027-03-03T17:00", "night", "2027-03-04T00:00"),
    ],
    ids=["last_minute", "midnight", "start"],
)
def test_an_end_of_2400_covers_the_last_minute_of_the_day(when: str, expected: str, until: str) -> None:
    """A rule ending 24:00 covers 23:59 and hands over at the next midnight."""
    router = plain_router([rule("night", "17:00-24:00", kinds=ANY_DAY), rule("office", "00:00-17:00", kinds=ANY_DAY)])
    assert_routes_to(router, SERVICE, when, expected, until=until)


@pytest.mark.parametrize(
    ("day", "expected"),
    [("2027-03-25", "ordinary"), ("2027-03-26", "bank-holiday"), ("2027-03-24", "closure")],
    ids=["ordinary_day", "good_friday", "closure_day"],
)
def test_a_rule_applies_only_on_its_kinds_of_day(day: str, expected: str) -> None:
    """Each rule answers only on the kinds of day it lists: ordinary, bank holiday or closure."""
    rules = [
        rule("office", "00:00-24:00", kinds={DayKind.ORDINARY}, label="ordinary"),
        rule("holiday", "00:00-24:00", kinds={DayKind.BANK_HOLIDAY}, label="bank-holiday"),
        rule("closed", "00:00-24:00", kinds={DayKind.CLOSURE}, label="closure"),
    ]
    router = plain_router(rules, closures=[Closure(date(2027, 3, 24), 0, 1440, "training day")])
    for hhmm in ("00:00", "12:00", "23:59"):
        assert router.route(SERVICE, at(f"{day}T{hhmm}")).rule == expected


# -- precedence: override > closure > bank holiday > weekly rules ------------------------------

PRECEDENCE = plain_router(
    [
        rule("office", "09:00-17:00", WEEKDAYS),
        rule("holiday", "09:00-17:00", kinds={DayKind.BANK_HOLIDAY}),
        rule("closed", "00:00-24:00", kinds={DayKind.CLOSURE}),
        rule("night", "00:00-24:00", kinds=ANY_DAY),
    ],
    closures=[
        Closure(date(2026, 12, 24), 13 * 60, 1440, "Christmas Eve afternoon"),
        Closure(date(2026, 12, 28), 0, 1440, "Boxing Day substitute, offices shut"),
        Closure(date(2026, 12, 30), 0, 1440, "Between the holidays"),
    ],
    overrides=[
        diversion(at("2026-12-29T09:00"), at("2026-12-29T12:00")),
        diversion(at("2026-12-30T09:00"), at("2027-01-01T17:00"), label="override 2"),
    ],
)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-12-23T10:00", "office"),
        ("2026-12-24T12:59", "office"),
        ("2026-12-24T13:00", "closed"),
        ("2026-12-24T20:00", "closed"),
        ("2026-12-25T10:00", "holiday"),
        ("2026-12-25T20:00", "night"),
        ("2026-12-28T10:00", "closed"),
        ("2026-12-29T08:59", "night"),
        ("2026-12-29T10:00", "diverted"),
        ("2026-12-29T12:00", "office"),
        ("2026-12-30T10:00", "diverted"),
        ("2027-01-01T10:00", "diverted"),
        ("2027-01-01T17:00", "night"),
    ],
    ids=[
        "ordinary_day",
        "christmas_eve_before_1300",
        "christmas_eve_part_day_closure",
        "christmas_eve_evening",
        "christmas_day_bank_holiday",
        "bank_holiday_outside_its_rule",
        "closure_beats_bank_holiday",
        "before_the_override",
        "override_beats_weekly_rule",
        "override_over",
        "override_beats_closure",
        "override_beats_bank_holiday",
        "second_override_over",
    ],
)
def test_precedence_override_closure_bank_holiday_weekly(when: str, expected: str) -> None:
    """An override beats a closure, which beats a bank holiday, which beats the weekly rules."""
    assert_routes_to(PRECEDENCE, SERVICE, when, expected)


def test_part_day_closure_ends_the_morning_answer_at_its_start() -> None:
    """On Christmas Eve closed from 13:00, the office answers until exactly 13:00."""
    assert_routes_to(PRECEDENCE, SERVICE, "2026-12-24T10:00", "office", until="2026-12-24T13:00")
    assert_routes_to(PRECEDENCE, SERVICE, "2026-12-24T13:00", "closed", until="2026-12-25T00:00")


def test_an_override_names_itself_and_holds_until_it_ends() -> None:
    """A decision made by an override says so, by its label, until the override's end."""
    decision = PRECEDENCE.route(SERVICE, at("2026-12-29T10:00"))
    assert answer(decision) == ("diverted", "override 1", True)
    assert same_instant(decision.until, at("2026-12-29T12:00"))


def test_an_expired_override_stops_applying_by_itself() -> None:
    """Once its end has passed, a diversion no longer applies, with nothing reloaded or removed."""
    router = plain_router(
        [rule("office", "09:00-17:00", WEEKDAYS), rule("night", "00:00-24:00", kinds=ANY_DAY)],
        overrides=[diversion(at("2027-03-03T09:00"), at("2027-03-03T12:00"))],
    )
    assert_routes_to(router, SERVICE, "2027-03-03T11:59", "diverted", until="2027-03-03T12:00")
    for later in ("2027-03-03T12:00", "2027-03-04T10:00", "2028-03-01T10:00"):
        decision = router.route(SERVICE, at(later))
        assert answer(decision) == ("office", "office 09:00-17:00", False)


def test_an_override_until_further_notice_applies_without_end() -> None:
    """A diversion with no end applies years later and gives no `until`."""
    router = plain_router([rule("office", "00:00-24:00", kinds=ANY_DAY)], overrides=[diversion(at("2027-03-03T09:00"), None)])
    assert_routes_to(router, SERVICE, "2027-03-03T08:59", "office", until="2027-03-03T09:00")
    for later in ("2027-03-03T09:00", "2031-12-25T03:00"):
        decision = router.route(SERVICE, at(later))
        assert answer(decision) == ("diverted", "override 1", True) and decision.until is None


def test_overlapping_overrides_the_one_listed_first_wins() -> None:
    """Two diversions at once: the earlier-listed one takes the calls, the other resumes after it."""
    router = plain_router(
        [rule("office", "00:00-24:00", kinds=ANY_DAY)],
        overrides=[
            diversion(at("2027-03-03T10:00"), at("2027-03-03T11:00"), to="night", label="first"),
            diversion(at("2027-03-03T09:00"), at("2027-03-03T12:00"), label="second"),
        ],
    )
    assert_routes_to(router, SERVICE, "2027-03-03T09:30", "diverted", until="2027-03-03T10:00")
    assert_routes_to(router, SERVICE, "2027-03-03T10:30", "night", until="2027-03-03T11:00")
    assert_routes_to(router, SERVICE, "2027-03-03T11:30", "diverted", until="2027-03-03T12:00")
    assert_routes_to(router, SERVICE, "2027-03-03T12:00", "office")


# -- until ---------------------------------------------------------------------------------------

UNTIL = plain_router(
    [rule("office", "09:00-17:00", WEEKDAYS), rule("night", "00:00-24:00", kinds=ANY_DAY)],
    overrides=[diversion(at("2027-03-03T12:00"), at("2027-03-03T13:00"))],
)


@pytest.mark.parametrize(
    ("when", "expected", "until"),
    [
        ("2027-03-01T10:00", "office", "2027-03-01T17:00"),
        ("2027-03-01T17:00", "night", "2027-03-02T09:00"),
        ("2027-03-05T18:00", "night", "2027-03-08T09:00"),
        ("2027-03-03T10:00", "office", "2027-03-03T12:00"),
        ("2027-03-03T12:30", "diverted", "2027-03-03T13:00"),
        ("2027-03-03T13:00", "office", "2027-03-03T17:00"),
        ("2027-03-25T18:00", "night", "2027-03-30T09:00"),
    ],
    ids=[
        "office_to_evening",
        "across_midnight",
        "across_the_weekend",
        "until_an_override_starts",
        "until_an_override_ends",
        "after_an_override",
        "across_easter_and_the_clock_change",
    ],
)
def test_until_is_the_next_instant_the_answer_changes(when: str, expected: str, until: str) -> None:
    """`until` names the next change, following the same rule across midnights, weekends and bank holidays."""
    assert_routes_to(UNTIL, SERVICE, when, expected, until=until)


def test_until_is_none_when_nothing_ever_changes() -> None:
    """A single rule for every minute of every day never changes: `until` is None."""
    router = plain_router([rule("night", "00:00-24:00", kinds=ANY_DAY)])
    assert router.route(SERVICE, at("2027-03-03T10:00")).until is None


def test_a_closed_service_says_when_it_opens() -> None:
    """With no rule covering the instant, there is no destination and `until` is the opening."""
    router = plain_router([rule("office", "09:00-17:00", WEEKDAYS)], always_open=False)
    decision = router.route(SERVICE, at("2027-03-05T17:00"))
    assert decision.destination is None and not decision.is_open
    assert decision.rule == "no rule covers this time"
    assert same_instant(decision.until, at("2027-03-08T09:00"))


def test_route_refuses_a_naive_time_and_an_unknown_service() -> None:
    """route() needs an aware datetime and a service the line defines."""
    with pytest.raises(ValueError, match="aware"):
        UNTIL.route(SERVICE, datetime(2027, 3, 3, 10, 0))
    with pytest.raises(UnknownService, match="no-such-service"):
        UNTIL.route("no-such-service", at("2027-03-03T10:00"))


# -- timeline and coverage ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("router", "start", "end"),
    [
        (PRECEDENCE, "2026-12-20T00:00", "2027-01-05T00:00"),
        (UNTIL, "2027-03-24T06:30", "2027-04-02T00:00"),
        (UNTIL, "2027-10-28T00:00", "2027-11-03T11:11"),
    ],
    ids=["christmas_closures_and_overrides", "easter_and_spring_forward", "fall_back"],
)
def test_timeline_is_contiguous_ordered_and_agrees_with_route(router: Router, start: str, end: str) -> None:
    """Intervals follow one another without gap or overlap, each with the answer route() gives inside it."""
    lo, hi = at(start), at(end)
    intervals = router.timeline(SERVICE, lo, hi)
    assert len(intervals) > 5
    assert same_instant(intervals[0].start, lo) and same_instant(intervals[-1].end, hi)
    for before, after in itertools.pairwise(intervals):
        assert same_instant(before.end, after.start)
        key = (before.destination, before.rule, before.override)
        assert key != (after.destination, after.rule, after.override), "neighbours with one answer are merged"
    for iv in intervals:
        assert iv.start.timestamp() < iv.end.timestamp()
        middle = datetime.fromtimestamp((iv.start.timestamp() + iv.end.timestamp()) / 2, LONDON)
        for instant in (iv.start, middle, one_second_before(iv.end)):
            decision = router.route(SERVICE, instant)
            assert (decision.destination, decision.rule, decision.override) == (iv.destination, iv.rule, iv.override)
        if iv is not intervals[-1]:
            assert same_instant(router.route(SERVICE, iv.start).until, iv.end)


@pytest.mark.parametrize(
    ("rules", "closures", "start", "end", "gaps"),
    [
        (
            [rule("office", "00:00-12:00", kinds=ANY_DAY), rule("night", "12:01-24:00", kinds=ANY_DAY)],
            [],
            "2027-03-03T00:00",
            "2027-03-05T00:00",
            [("2027-03-03T12:00", "2027-03-03T12:01"), ("2027-03-04T12:00", "2027-03-04T12:01")],
        ),
        (
            [rule("night", "00:00-24:00")],
            [],
            "2027-03-25T00:00",
            "2027-04-01T00:00",
            [("2027-03-26T00:00", "2027-03-27T00:00"), ("2027-03-29T00:00", "2027-03-30T00:00")],
        ),
        (
            [rule("night", "00:00-24:00", WEEKDAYS, ANY_DAY)],
            [],
            "2027-03-01T00:00",
            "2027-03-08T00:00",
            [("2027-03-06T00:00", "2027-03-08T00:00")],
        ),
        (
            [rule("night", "00:00-24:00", kinds={DayKind.ORDINARY, DayKind.BANK_HOLIDAY})],
            [Closure(date(2027, 3, 3), 13 * 60, 1440, "half day")],
            "2027-03-01T00:00",
            "2027-03-08T00:00",
            [("2027-03-03T13:00", "2027-03-04T00:00")],
        ),
        (
            [rule("night", "00:00-01:00", kinds=ANY_DAY), rule("office", "02:00-24:00", kinds=ANY_DAY)],
            [],
            "2027-03-28T00:00",
            "2027-03-29T00:00",
            [],
        ),
        ([rule("night", "00:00-24:00", kinds=ANY_DAY)], [], "2027-01-01T00:00", "2028-01-01T00:00", []),
    ],
    ids=[
        "one_minute_a_day",
        "bank_holidays_uncovered",
        "weekend_uncovered",
        "closure_uncovered",
        "spring_forward_hour_is_no_gap",
        "no_gap_in_a_year",
    ],
)
def test_coverage_finds_the_gaps_exactly(
    rules: list[Rule], closures: list[Closure], start: str, end: str, gaps: list[tuple[str, str]]
) -> None:
    """coverage() returns exactly the uncovered stretches, to the minute, and nothing else."""
    router = plain_router(rules, closures=closures)
    found = router.coverage(SERVICE, at(start), at(end))
    assert [(g.start.timestamp(), g.end.timestamp()) for g in found] == [(at(a).timestamp(), at(b).timestamp()) for a, b in gaps]
    assert all(g.destination is None and g.rule == "no rule covers this time" for g in found)


def test_coverage_of_the_repeated_hour_counts_both_times_round() -> None:
    """01:00-02:00 uncovered on the fall-back day is a gap of two real hours, 00:00Z to 02:00Z."""
    router = plain_router([rule("night", "00:00-01:00", kinds=ANY_DAY), rule("office", "02:00-24:00", kinds=ANY_DAY)])
    (gap,) = router.coverage(SERVICE, at("2027-10-31T00:00"), at("2027-11-01T00:00"))
    assert (gap.start.astimezone(UTC), gap.end.astimezone(UTC)) == (utc("2027-10-31T00:00"), utc("2027-10-31T02:00"))


# -- the clocks change -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "hours"),
    [("2027-03-28", 8), ("2027-10-31", 10), ("2027-03-03", 9)],
    ids=["spring_forward", "fall_back", "ordinary_day"],
)
def test_a_rule_from_0000_to_0900_lasts_real_hours(day: str, hours: int) -> None:
    """00:00-09:00 is 8 real hours when the clocks go forward and 10 when they go back."""
    router = plain_router([rule("night", "00:00-09:00", kinds=ANY_DAY), rule("office", "09:00-24:00", kinds=ANY_DAY)])
    first = router.timeline(SERVICE, at(f"{day}T00:00"), at(f"{day}T12:00"))[0]
    assert first.destination is not None and first.destination.key == "night"
    assert first.end.timestamp() - first.start.timestamp() == hours * 3600
    decision = router.route(SERVICE, at(f"{day}T00:00"))
    assert decision.until is not None and decision.until.timestamp() - decision.at.timestamp() == hours * 3600


@pytest.mark.parametrize(
    ("minute", "expected_utc"),
    [
        (59, "2027-03-28T00:59"),
        (60, "2027-03-28T01:00"),
        (90, "2027-03-28T01:00"),
        (120, "2027-03-28T01:00"),
        (121, "2027-03-28T01:01"),
    ],
    ids=["spring_forward_0059", "spring_forward_0100", "spring_forward_0130", "spring_forward_0200", "spring_forward_0201"],
)
def test_a_wall_time_that_never_happens_is_the_moment_of_the_jump(minute: int, expected_utc: str) -> None:
    """A local time inside the missing hour maps to the instant the clocks jump past it."""
    assert local_instant(date(2027, 3, 28), minute, LONDON).astimezone(UTC) == utc(expected_utc)


@pytest.mark.parametrize(
    ("text", "expected_utc"),
    [
        ("2027-10-31T01:30", "2027-10-31T00:30"),
        ("2027-03-28T01:30", "2027-03-28T01:00"),
        ("2027-07-01T10:00", "2027-07-01T09:00"),
        ("2027-07-01T10:00+00:00", "2027-07-01T10:00"),
    ],
    ids=["fall_back_first_occurrence", "spring_forward_jump", "summer_wall_clock", "explicit_offset"],
)
def test_parse_instant_reads_wall_clock_time(text: str, expected_utc: str) -> None:
    """A time without an offset is London wall-clock time, first occurrence; with one, that instant."""
    assert parse_instant(text, LONDON).astimezone(UTC) == utc(expected_utc)


@pytest.mark.parametrize(
    ("wall", "fold", "expected"),
    [
        ("2027-10-31T01:10", 0, "office"),
        ("2027-10-31T01:30", 0, "night"),
        ("2027-10-31T01:10", 1, "night"),
        ("2027-10-31T01:30", 1, "night"),
    ],
    ids=["fall_back_first_0110", "fall_back_first_0130", "fall_back_second_0110", "fall_back_second_0130"],
)
def test_a_change_inside_the_repeated_hour_happens_once(wall: str, fold: int, expected: str) -> None:
    """A change at 01:20 on the fall-back day happens at the first 01:20; the second time round does not flip back."""
    router = plain_router([rule("office", "00:00-01:20", kinds=ANY_DAY), rule("night", "01:20-24:00", kinds=ANY_DAY)])
    assert_routes_to(router, SERVICE, at(wall, fold), expected)


def test_a_rule_wholly_inside_the_missing_hour_does_not_split_the_day() -> None:
    """A rule for 01:10-01:50 never happens on the spring-forward day; the rule around it runs on unbroken."""
    router = plain_router([rule("office", "01:10-01:50", kinds=ANY_DAY), rule("night", "00:00-24:00", kinds=ANY_DAY)])
    assert_routes_to(router, SERVICE, "2027-03-28T00:30", "night", until="2027-03-29T01:10")
    assert_routes_to(router, SERVICE, "2027-03-27T01:30", "office", until="2027-03-27T01:50")


# -- properties --------------------------------------------------------------------------------

YEAR_2027 = st.datetimes(min_value=datetime(2027, 1, 1), max_value=datetime(2027, 12, 31, 23, 59, 59), timezones=st.just(LONDON))
CLOCK_CHANGES = st.sampled_from(
    [at(f"2027-03-28T{hm}") for hm in ("00:00", "00:59", "01:00", "01:30", "02:00", "02:01", "08:59", "09:00")]
    + [at(f"2027-10-31T{hm}", fold) for hm in ("00:59", "01:00", "01:30", "01:59", "02:00") for fold in (0, 1)]
)
INSTANTS = st.one_of(YEAR_2027, CLOCK_CHANGES)
CLOCK = st.integers(0, 1439)


@st.composite
def total_rule_sets(draw: st.DrawFn) -> list[Rule]:
    """Up to eight random rules, closed by a catch-all so that every instant has an answer."""
    rules = []
    for n in range(draw(st.integers(0, 8))):
        start = draw(CLOCK)
        end = draw(st.integers(start + 1, 1440))
        days = draw(st.frozensets(st.integers(0, 6), min_size=1))
        kinds = draw(st.frozensets(st.sampled_from(list(DayKind)), min_size=1))
        rules.append(
            Rule(draw(st.sampled_from(["office", "night", "holiday", "closed"])), days, start, end, kinds, f"rule {n + 1}")
        )
    rules.append(Rule("night", ALL_WEEKDAYS, 0, 1440, ANY_DAY, "catch-all"))
    return rules


@st.composite
def closure_sets(draw: st.DrawFn) -> list[Closure]:
    days = draw(st.lists(st.dates(date(2027, 1, 1), date(2027, 12, 31)), max_size=4))
    days += draw(st.lists(st.sampled_from([date(2027, 3, 28), date(2027, 10, 31), date(2027, 3, 26)]), max_size=2))
    closures = []
    for day in days:
        start = draw(CLOCK)
        closures.append(Closure(day, start, draw(st.integers(start + 1, 1440)), "closure"))
    return closures


@st.composite
def override_sets(draw: st.DrawFn) -> list[Override]:
    overrides = []
    for n in range(draw(st.integers(0, 3))):
        start = draw(YEAR_2027)
        length = draw(st.none() | st.integers(60, 30 * 86400))
        end = None if length is None else (start.astimezone(UTC) + timedelta(seconds=length)).astimezone(LONDON)
        overrides.append(diversion(start, end, to=draw(st.sampled_from(["diverted", "office"])), label=f"override {n + 1}"))
    return overrides


@settings(max_examples=150, deadline=None)
@given(rules=total_rule_sets(), closures=closure_sets(), instant=INSTANTS)
def test_random_total_rule_sets_answer_every_instant_once(rules: list[Rule], closures: list[Closure], instant: datetime) -> None:
    """With a final catch-all, any instant of 2027 gets exactly one destination, held until `until`."""
    router = plain_router(rules, closures=closures)
    decision = router.route(SERVICE, instant)
    assert decision.destination is not None
    second_later = instant.astimezone(UTC) + timedelta(seconds=1)
    first, *_ = router.timeline(SERVICE, instant, second_later)
    assert (first.destination, first.rule) == (decision.destination, decision.rule)
    if decision.until is None:  # nothing changes: the catch-all answers everything from here on
        assert decision.rule == "catch-all"
        assert len(router.timeline(SERVICE, instant, instant.astimezone(UTC) + timedelta(days=300))) == 1
        return
    assert decision.until.timestamp() > instant.timestamp()
    assert first.end.timestamp() == min(decision.until.timestamp(), second_later.timestamp())
    probe = max(one_second_before(decision.until), instant, key=datetime.timestamp)
    assert answer(router.route(SERVICE, probe)) == answer(decision)
    assert answer(router.route(SERVICE, decision.until)) != answer(decision)


def reference_route(
    rules: list[Rule], closures: list[Closure], overrides: list[Override], instant: datetime
) -> tuple[str | None, str]:
    """The answer worked out the slow, obvious way, from the same facts and the `holidays` package."""
    ts = instant.timestamp()
    for override in overrides:
        if override.start.timestamp() <= ts and (override.end is None or ts < override.end.timestamp()):
            return override.destination, override.label
    day = instant.astimezone(LONDON).date()

    def real(minute: int) -> float:
        return local_instant(day, minute, LONDON).timestamp()

    kind = DayKind.BANK_HOLIDAY if day in holidays.country_holidays("GB", subdiv="ENG", years=day.year) else DayKind.ORDINARY
    if any(c.day == day and real(c.start) <= ts < real(c.end) for c in closures):
        kind = DayKind.CLOSURE
    for candidate in rules:
        if candidate.applies(day.weekday(), kind) and real(candidate.start) <= ts < real(candidate.end):
            return candidate.destination, candidate.label
    return None, "no rule covers this time"


@settings(max_examples=200, deadline=None)
@given(rules=total_rule_sets(), closures=closure_sets(), overrides=override_sets(), instant=INSTANTS)
def test_route_agrees_with_a_reference_model(
    rules: list[Rule], closures: list[Closure], overrides: list[Override], instant: datetime
) -> None:
    """The compiled engine gives the same team and rule as checking overrides, then each rule in order."""
    decision = plain_router(rules, closures=closures, overrides=overrides).route(SERVICE, instant)
    assert answer(decision)[:2] == reference_route(rules, closures, overrides, instant)


def test_day_plan_is_the_timetable_of_one_kind_of_day() -> None:
    """A weekday's plan by kind of day, first rule winning an overlap; no date, so no diversion and no clock change."""
    router = plain_router(
        [
            rule("office", "08:45-17:00", range(4)),
            rule("night", "00:00-09:00", kinds=ANY_DAY),
            rule("holiday", "09:00-24:00", kinds=[DayKind.BANK_HOLIDAY]),
        ],
        overrides=[diversion(at("2026-12-25T10:00"), None)],
        always_open=False,
    )
    plan = [(a, b, r.destination if r else None) for a, b, r in router.day_plan(SERVICE, 0, DayKind.ORDINARY)]
    assert plan == [(0, 525, "night"), (525, 1020, "office"), (1020, 1440, None)]
    holiday = [(a, b, r.destination if r else None) for a, b, r in router.day_plan(SERVICE, 4, DayKind.BANK_HOLIDAY)]
    assert holiday == [(0, 540, "night"), (540, 1440, "holiday")]
