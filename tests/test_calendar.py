"""The calendar: England's bank holidays from the `holidays` package, and the council's own closures."""

from __future__ import annotations

from datetime import date

import pytest

from ivr.core.calendar import Calendar
from ivr.core.model import Closure, DayKind

ORDINARY, BANK_HOLIDAY, CLOSURE = DayKind.ORDINARY, DayKind.BANK_HOLIDAY, DayKind.CLOSURE
ENGLAND = Calendar("GB", "ENG")


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 26), "Boxing Day"),
        (date(2026, 12, 28), "Boxing Day (observed)"),
        (date(2027, 12, 25), "Christmas Day"),
        (date(2027, 12, 26), "Boxing Day"),
        (date(2027, 12, 27), "Christmas Day (observed)"),
        (date(2027, 12, 28), "Boxing Day (observed)"),
        (date(2027, 3, 26), "Good Friday"),
        (date(2027, 3, 29), "Easter Monday"),
        (date(2027, 1, 1), "New Year's Day"),
        (date(2040, 4, 2), "Easter Monday"),
        (date(2100, 3, 29), "Easter Monday"),
    ],
    ids=lambda v: v.isoformat() if isinstance(v, date) else None,
)
def test_england_bank_holidays_and_substitute_days(day: date, name: str) -> None:
    """Bank holidays and their substitute days are known in any year, 2100 included: computed, never typed in."""
    assert ENGLAND.is_bank_holiday(day)
    assert ENGLAND.holiday_name(day) == name
    assert ENGLAND.pattern(day) == ((0, 1440, BANK_HOLIDAY),)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 12, 24),
        date(2026, 12, 29),
        date(2027, 3, 25),
        date(2027, 3, 28),
        date(2027, 3, 30),
        date(2026, 11, 30),
        date(2027, 7, 12),
    ],
    ids=[
        "christmas_eve",
        "after_boxing_day_substitute",
        "maundy_thursday",
        "easter_sunday",
        "easter_tuesday",
        "st_andrews_day",
        "battle_of_the_boyne",
    ],
)
def test_working_days_are_ordinary(day: date) -> None:
    """Days that are not bank holidays in England, even where they are elsewhere in the UK, are ordinary."""
    assert not ENGLAND.is_bank_holiday(day)
    assert ENGLAND.holiday_name(day) is None
    assert ENGLAND.pattern(day) == ((0, 1440, ORDINARY),)


@pytest.mark.parametrize(
    ("subdivision", "day"),
    [("SCT", date(2026, 11, 30)), ("NIR", date(2027, 7, 12))],
    ids=["scotland_st_andrews_day", "northern_ireland_boyne"],
)
def test_the_subdivision_is_honoured(subdivision: str, day: date) -> None:
    """A schedule's bank_holidays subdivision chooses that nation's holidays."""
    assert Calendar("GB", subdivision).is_bank_holiday(day)
    assert not ENGLAND.is_bank_holiday(day)


@pytest.mark.parametrize(
    ("closures", "day", "pattern"),
    [
        ([Closure(date(2027, 3, 3), 0, 1440, "training")], date(2027, 3, 3), ((0, 1440, CLOSURE),)),
        (
            [Closure(date(2026, 12, 24), 780, 1440, "Christmas Eve afternoon")],
            date(2026, 12, 24),
            ((0, 780, ORDINARY), (780, 1440, CLOSURE)),
        ),
        (
            [Closure(date(2027, 3, 3), 600, 720, "fire drill")],
            date(2027, 3, 3),
            ((0, 600, ORDINARY), (600, 720, CLOSURE), (720, 1440, ORDINARY)),
        ),
        ([Closure(date(2026, 12, 28), 0, 720, "morning")], date(2026, 12, 28), ((0, 720, CLOSURE), (720, 1440, BANK_HOLIDAY))),
        (
            [
                Closure(date(2027, 3, 3), 540, 660, "a"),
                Closure(date(2027, 3, 3), 600, 720, "b"),
                Closure(date(2027, 3, 3), 720, 780, "c"),
            ],
            date(2027, 3, 3),
            ((0, 540, ORDINARY), (540, 780, CLOSURE), (780, 1440, ORDINARY)),
        ),
        ([Closure(date(2027, 3, 3), 0, 1440, "training")], date(2027, 3, 4), ((0, 1440, ORDINARY),)),
    ],
    ids=[
        "whole_day",
        "part_day_from_1300",
        "middle_of_the_day",
        "closure_beats_bank_holiday",
        "overlapping_and_touching_closures_join",
        "the_next_day_is_untouched",
    ],
)
def test_closures_make_runs_of_minutes(closures: list[Closure], day: date, pattern: tuple[tuple[int, int, DayKind], ...]) -> None:
    """A day's pattern covers 00:00-24:00 in runs; a closure beats a bank holiday, which beats an ordinary day."""
    calendar = Calendar("GB", "ENG", closures)
    assert calendar.pattern(day) == pattern


def test_a_pattern_is_worked_out_once() -> None:
    """Looking the same date up again returns the remembered pattern, not a new one."""
    calendar = Calendar("GB", "ENG", [Closure(date(2026, 12, 24), 780, 1440, "Christmas Eve afternoon")])
    assert calendar.pattern(date(2026, 12, 24)) is calendar.pattern(date(2026, 12, 24))
