"""Opening hours in words, from rules built by hand: weekdays grouped, bank holidays, "at all other times", gaps."""

from __future__ import annotations

import pytest

from ivr.core.model import DayKind
from ivr.web.hours import days_words, service_hours
from tests.builders import ANY_DAY, plain_router, rule

MON_THU, FRI, WEEKEND = range(4), [4], [5, 6]
HOLIDAY = [DayKind.BANK_HOLIDAY]


def words(rules: list, always_open: bool = True) -> dict[str, str]:
    """Team key -> when it answers, for the one service of a plain router."""
    router = plain_router(rules, always_open=always_open)
    hours = service_hours(router, router.schedule.services["child-at-risk"])
    return {h.destination.key: h.when for h in hours.hours} | ({"(closed)": hours.closed} if hours.closed else {})


@pytest.mark.parametrize(
    "weekdays, said",
    [
        ([0, 1, 2, 3], "Mon\u2013Thu"),
        ([4], "Fri"),
        ([5, 6], "Sat\u2013Sun"),
        ([0, 2, 3, 4], "Mon, Wed\u2013Fri"),
        ([6, 0], "Mon, Sun"),
        (range(7), "every day"),
    ],
    ids=["mon_thu", "one_day", "weekend", "a_gap", "unordered", "all_seven"],
)
def test_weekdays_as_people_write_them(weekdays: list[int], said: str) -> None:
    """Runs of weekdays become ranges with an en dash; all seven are "every day"."""
    assert days_words(list(weekdays)) == said


def test_office_hours_and_at_all_other_times() -> None:
    """Two teams sharing every minute: the office's hours in full, the other "at all other times" (Hampshire's page)."""
    assert words(
        [
            rule("office", "08:30-17:00", MON_THU),
            rule("office", "08:30-16:30", FRI),
            rule("night", "00:00-24:00", kinds=ANY_DAY),
        ]
    ) == {
        "office": "Mon\u2013Thu 08:30\u201317:00, Fri 08:30\u201316:30; not on bank holidays",
        "night": "at all other times",
    }


def test_three_teams_each_with_their_hours() -> None:
    """Wiltshire's shape: the first rule wins the 08:45-09:00 overlap, and bank holidays are said once for all weekdays."""
    assert words(
        [
            rule("office", "08:45-17:00", MON_THU),
            rule("office", "08:45-16:00", FRI),
            rule("night", "00:00-09:00", kinds=ANY_DAY),
            rule("holiday", "17:00-24:00", MON_THU),
            rule("holiday", "16:00-24:00", FRI),
            rule("holiday", "09:00-24:00", WEEKEND),
            rule("holiday", "09:00-24:00", kinds=HOLIDAY),
        ]
    ) == {
        "office": "Mon\u2013Thu 08:45\u201317:00, Fri 08:45\u201316:00; not on bank holidays",
        "night": "Mon\u2013Fri 00:00\u201308:45, Sat\u2013Sun 00:00\u201309:00; bank holidays 00:00\u201309:00",
        "holiday": (
            "Mon\u2013Thu 17:00\u201324:00, Fri 16:00\u201324:00, Sat\u2013Sun 09:00\u201324:00; bank holidays 09:00\u201324:00"
        ),
    }


def test_any_time_and_closed_at_other_times() -> None:
    """A team on every kind of day all day is "any time"; a service with gaps says it is closed at other times."""
    assert words([rule("office", "00:00-24:00", kinds=ANY_DAY)]) == {"office": "any time"}
    assert words([rule("office", "09:00-17:00", range(5))], always_open=False) == {
        "office": "Mon\u2013Fri 09:00\u201317:00; not on bank holidays",
        "(closed)": "Closed at other times",
    }


def test_bank_holidays_only_and_two_stretches_a_day() -> None:
    """A team only on bank holidays says so; two stretches of one day are joined with "and"."""
    assert words(
        [
            rule("holiday", "10:00-14:00", kinds=HOLIDAY),
            rule("night", "00:00-08:00", range(5)),
            rule("night", "18:00-24:00", range(5)),
        ],
        always_open=False,
    ) == {
        "holiday": "bank holidays only, 10:00\u201314:00",
        "night": "Mon\u2013Fri 00:00\u201308:00 and 18:00\u201324:00; not on bank holidays",
        "(closed)": "Closed at other times",
    }
