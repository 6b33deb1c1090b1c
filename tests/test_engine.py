"""The schedule engine with plain values: precedence, `until`, timelines, gaps and the clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr import config
from ivr.model import DayKind, Destination, Override, Rule, Schedule, Service
from ivr.schedule import Router, local_instant
from tests.builders import LONDON, assert_routes_to, at, router_for, shipped_copy, write_line

OFFICE = "+443004560108"
NIGHT = "+443004560100"


def plain_router(rules: list[Rule], overrides: tuple[Override, ...] = ()) -> Router:
    """A router built from values, no files."""
    destinations = {"office": Destination("office", "the office", OFFICE), "night": Destination("night", "the night team", NIGHT)}
    service = Service("child-at-risk", "worried about a child", tuple(rules), always_open=True)
    return Router(Schedule("plain", "Europe/London", destinations, {"child-at-risk": service}, overrides=overrides))


def rule(dest: str, start: str, end: str, days: range | set[int] = range(7), kinds: set[DayKind] | None = None, n: int = 1) -> Rule:
    def minutes(text: str) -> int:
        h, m = text.split(":")
        return int(h) * 60 + int(m)

    return Rule(dest, frozenset(days), minutes(start), minutes(end), frozenset(kinds or {DayKind.ORDINARY}), f"rule {n}")


ANY = set(DayKind)
WEEKDAYS = range(5)


def test_first_matching_rule_wins() -> None:
    """Where two rules overlap, the one listed first takes the call."""
    router = plain_router([rule("office", "08:45", "17:00", WEEKDAYS), rule("night", "00:00", "24:00", kinds=ANY, n=2)])
    assert_routes_to(router, "child-at-risk", "2027-03-03T08:50", "office")
    assert_routes_to(router, "child-at-risk", "2027-03-03T08:44", "night")
    assert_routes_to(router, "child-at-risk", "2027-03-06T10:00", "night")  # Saturday


def test_end_of_2400_covers_the_last_minute() -> None:
    """A rule ending 24:00 covers 23:59 and hands over at midnight."""
    router = plain_router([rule("night", "17:00", "24:00", kinds=ANY), rule("office", "00:00", "17:00", kinds=ANY, n=2)])
    assert_routes_to(router, "child-at-risk", "2027-03-03T23:59", "night")
    decision = router.route("child-at-risk", at("2027-03-03T23:59"))
    assert decision.until == at("2027-03-04T00:00")


def test_until_is_the_next_change() -> None:
    """`until` names the instant the answer changes, following it across midnight."""
    router = plain_router([rule("office", "09:00", "17:00", WEEKDAYS), rule("night", "00:00", "24:00", kinds=ANY, n=2)])
    friday_evening = router.route("child-at-risk", at("2027-03-05T18:00"))
    assert friday_evening.destination.key == "night"  # type: ignore[union-attr]
    assert friday_evening.until == at("2027-03-08T09:00"), "night runs through the weekend to Monday 09:00"


def test_bank_holiday_rules_apply_only_on_bank_holidays() -> None:
    """An ordinary-day rule does not apply on a bank holiday; a bank-holiday rule does."""
    router = plain_router([rule("office", "09:00", "17:00", WEEKDAYS), rule("night", "00:00", "24:00", kinds={DayKind.BANK_HOLIDAY, DayKind.ORDINARY}, n=2)])
    assert_routes_to(router, "child-at-risk", "2027-03-29T10:00", "night")  # Easter Monday
    assert_routes_to(router, "child-at-risk", "2027-03-30T10:00", "office")


def test_gap_is_found_by_interval_arithmetic() -> None:
    """coverage() returns exactly the uncovered stretch, to the minute."""
    router = plain_router([rule("office", "00:00", "12:00", kinds=ANY), rule("night", "12:01", "24:00", kinds=ANY, n=2)])
    gaps = router.coverage("child-at-risk", at("2027-03-03T00:00"), at("2027-03-04T00:00"))
    assert [(g.start, g.end) for g in gaps] == [(at("2027-03-03T12:00"), at("2027-03-03T12:01"))]


def test_timeline_is_contiguous_and_agrees_with_route() -> None:
    """Timeline intervals follow one another without gaps or overlaps, each matching route()."""
    router = plain_router([rule("office", "08:45", "17:00", WEEKDAYS), rule("night", "00:00", "24:00", kinds=ANY, n=2)])
    start, end = at("2027-03-24T00:00"), at("2027-04-03T00:00")
    intervals = router.timeline("child-at-risk", start, end)
    assert intervals[0].start == start and intervals[-1].end == end
    for before, after in zip(intervals, intervals[1:]):
        assert before.end == after.start
        assert (before.destination, before.rule) != (after.destination, after.rule)
    for iv in intervals:
        for instant in (iv.start, iv.end - timedelta(seconds=1)):
            assert router.route("child-at-risk", instant).destination == iv.destination


@pytest.mark.parametrize(
    ("day", "hours"),
    [("2027-03-28", 8), ("2027-10-31", 10), ("2027-03-03", 9)],
    ids=["spring_forward", "fall_back", "ordinary_day"],
)
def test_a_night_rule_lasts_real_hours(day: str, hours: int) -> None:
    """00:00-09:00 is 8 real hours when the clocks go forward, 10 when they go back."""
    router = plain_router([rule("night", "00:00", "09:00", kinds=ANY), rule("office", "09:00", "24:00", kinds=ANY, n=2)])
    (first, *_) = router.timeline("child-at-risk", at(f"{day}T00:00"), at(f"{day}T12:00"))
    assert first.destination.key == "night"  # type: ignore[union-attr]
    # Subtract in UTC: aware datetimes sharing a zone subtract by wall clock.
    assert first.end.astimezone(UTC) - first.start.astimezone(UTC) == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("wall", "fold", "expected"),
    [("2027-10-31T01:10", 0, "office"), ("2027-10-31T01:30", 0, "night"), ("2027-10-31T01:10", 1, "night"), ("2027-10-31T01:30", 1, "night")],
    ids=["fall_back_first_0110", "fall_back_first_0130", "fall_back_second_0110", "fall_back_second_0130"],
)
def test_boundary_inside_the_repeated_hour_is_crossed_once(wall: str, fold: int, expected: str) -> None:
    """A change at 01:20 on the fall-back day happens at the first 01:20; the repeated hour does not flip back."""
    router = plain_router([rule("office", "00:00", "01:20", kinds=ANY), rule("night", "01:20", "24:00", kinds=ANY, n=2)])
    assert_routes_to(router, "child-at-risk", at(wall, fold), expected)


@pytest.mark.parametrize(
    ("minute", "expected_utc"),
    [(90, "2027-03-28T01:00"), (60, "2027-03-28T01:00"), (120, "2027-03-28T01:00"), (59, "2027-03-28T00:59")],
    ids=["spring_forward_0130", "spring_forward_0100", "spring_forward_0200", "before_the_jump"],
)
def test_wall_times_in_the_missing_hour_map_to_the_jump(minute: int, expected_utc: str) -> None:
    """A local time that never happens is the moment the clocks jump past it."""
    instant = local_instant(at("2027-03-28T00:00").date(), minute, LONDON)
    assert instant.astimezone(UTC).replace(tzinfo=None) == datetime.fromisoformat(expected_utc)


def test_override_beats_rules_and_expires_by_itself() -> None:
    """A diversion takes calls while it lasts and stops applying when it ends."""
    diversion = Override(frozenset({"child-at-risk"}), "night", at("2027-03-03T09:00"), at("2027-03-03T12:00"), "training", "override 1")
    router = plain_router([rule("office", "08:45", "17:00", WEEKDAYS), rule("night", "00:00", "24:00", kinds=ANY, n=2)], (diversion,))
    during = router.route("child-at-risk", at("2027-03-03T10:00"))
    assert during.destination.key == "night" and during.override and during.until == at("2027-03-03T12:00")  # type: ignore[union-attr]
    assert_routes_to(router, "child-at-risk", "2027-03-03T12:00", "office")
    before = router.route("child-at-risk", at("2027-03-03T08:50"))
    assert before.until == at("2027-03-03T09:00"), "the coming diversion ends the current answer"


def test_override_until_further_notice_never_ends() -> None:
    """An open-ended diversion applies indefinitely and has no `until`."""
    diversion = Override(frozenset({"child-at-risk"}), "night", at("2027-03-03T09:00"), None, "phones down", "override 1")
    router = plain_router([rule("office", "00:00", "24:00", kinds=ANY)], (diversion,))
    decision = router.route("child-at-risk", at("2029-01-01T10:00"))
    assert decision.destination.key == "night" and decision.until is None  # type: ignore[union-attr]


def test_closure_beats_bank_holiday_and_part_day_closure(tmp_path: Path) -> None:
    """A part-day closure (Christmas Eve from 13:00) sends calls to the closure rule from 13:00."""
    write_line(tmp_path, """
        - {to: office, days: mon-fri, time: "09:00-17:00"}
        - {to: night, time: "00:00-24:00", on: any}
        """, extra="closures:\n  - {date: 2026-12-24, time: \"13:00-24:00\", name: Christmas Eve afternoon}\n")
    router = router_for(tmp_path, now=at("2026-12-01T00:00"))
    assert_routes_to(router, "child-at-risk", "2026-12-24T12:59", "office")
    assert_routes_to(router, "child-at-risk", "2026-12-24T13:00", "night")
    assert router.route("child-at-risk", at("2026-12-24T10:00")).until == at("2026-12-24T13:00")


ALWAYS_OPEN = [
    ("wiltshire", "child-at-risk"), ("wiltshire", "allegation-about-staff"),
    ("hampshire", "child-at-risk"), ("hampshire", "professionals"), ("isle-of-wight", "child-at-risk"),
]
SHIPPED = config.load()
YEAR_START = datetime(2027, 1, 1, tzinfo=UTC).timestamp()
YEAR_SECONDS = 365 * 24 * 3600


@settings(max_examples=300, deadline=None)
@given(case=st.sampled_from(ALWAYS_OPEN), offset=st.integers(0, YEAR_SECONDS - 1))
def test_every_instant_of_a_year_has_exactly_one_answer(case: tuple[str, str], offset: int) -> None:
    """For an always-open service, any instant of 2027 gets a destination that holds until `until`."""
    line, service = case
    router = SHIPPED.router(line)
    instant = datetime.fromtimestamp(YEAR_START + offset, UTC).astimezone(LONDON)
    decision = router.route(service, instant)
    assert decision.destination is not None and decision.destination.number
    assert decision.until is not None and decision.until > instant
    just_before = router.route(service, decision.until - timedelta(seconds=1))
    assert (just_before.destination, just_before.rule) == (decision.destination, decision.rule)
    after = router.route(service, decision.until)
    assert (after.destination, after.rule) != (decision.destination, decision.rule)


@st.composite
def rule_sets(draw: st.DrawFn) -> list[Rule]:
    count = draw(st.integers(1, 8))
    rules = []
    for n in range(count):
        start = draw(st.integers(0, 1439))
        end = draw(st.integers(start + 1, 1440))
        days = draw(st.frozensets(st.integers(0, 6), min_size=1))
        kinds = draw(st.frozensets(st.sampled_from(list(DayKind)), min_size=1))
        rules.append(Rule(draw(st.sampled_from(["office", "night"])), days, start, end, kinds, f"rule {n + 1}"))
    rules.append(Rule("night", frozenset(range(7)), 0, 1440, frozenset(DayKind), "catch-all"))
    return rules


@settings(max_examples=60, deadline=None)
@given(rules=rule_sets(), offset=st.integers(0, YEAR_SECONDS - 1))
def test_random_rules_made_total_always_answer(rules: list[Rule], offset: int) -> None:
    """Any rule set closed by a catch-all answers every instant, and route agrees with the timeline."""
    router = plain_router(rules)
    instant = datetime.fromtimestamp(YEAR_START + offset, UTC).astimezone(LONDON)
    decision = router.route("child-at-risk", instant)
    assert decision.destination is not None
    (interval,) = router.timeline("child-at-risk", instant, instant + timedelta(seconds=1))
    assert (interval.destination, interval.rule) == (decision.destination, decision.rule)
    assert router.coverage("child-at-risk", instant, instant + timedelta(days=3)) == []


def test_part_day_closure_with_the_shipped_wiltshire_rules(tmp_path: Path) -> None:
    """Christmas Eve closed from 13:00 (the README's example): MASH until 13:00, then Out of Hours."""
    shipped_copy(tmp_path)
    path = tmp_path / "schedules" / "wiltshire.yaml"
    path.write_text(path.read_text().replace("closures: []", 'closures:\n  - {date: 2026-12-24, time: "13:00-24:00", name: Christmas Eve afternoon}'))
    router = config.load(tmp_path, now=at("2026-12-01T00:00")).router("wiltshire")
    assert_routes_to(router, "child-at-risk", "2026-12-24T12:59", "mash")
    assert_routes_to(router, "child-at-risk", "2026-12-24T13:00", "out-of-hours")
    assert_routes_to(router, "child-at-risk", "2026-12-24T17:30", "out-of-hours")
    assert router.route("child-at-risk", at("2026-12-24T13:00")).until == at("2026-12-25T00:00")
