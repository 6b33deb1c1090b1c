"""How pages write times, dates and numbers."""

from __future__ import annotations

from datetime import date

import pytest

from ivr.core.model import Destination, Interval
from ivr.web.formats import day, hours, phone, when
from tests.conftest import london


@pytest.mark.parametrize(
    "at, expected",
    [("2026-12-02T09:00", "Wed 2 Dec 09:00"), ("2027-03-28T03:00", "Sun 28 Mar 03:00"), ("2026-10-25T01:30", "Sun 25 Oct 01:30")],
    ids=["winter", "after_spring_forward", "fall_back"],
)
def test_when_is_london_wall_clock(at: str, expected: str) -> None:
    """'Wed 2 Dec 09:00': no leading zero, 24-hour clock, London time."""
    assert when(london(at)) == expected


def test_when_nothing_changes() -> None:
    """An answer with no change ahead says so."""
    assert when(None) == "no change ahead"


def test_day() -> None:
    """'Fri 25 Dec 2026' from a date or an instant."""
    assert day(date(2026, 12, 25)) == "Fri 25 Dec 2026" == day(london("2026-12-25T23:59"))


def test_hours_end_at_midnight_as_24_00() -> None:
    """An interval to the end of its day ends at 24:00, not 00:00."""
    stretch = Interval(london("2026-12-25T09:00"), london("2026-12-26T00:00"), None, "rule")
    assert hours(stretch) == "09:00\u201324:00"


@pytest.mark.parametrize(
    "destination, expected",
    [
        (Destination("mash", "MASH", "+443004560108"), "0300 456 0108"),
        (Destination("lado", "LADO", "+441962876364", extension="2"), "01962 876364 ext 2"),
        (Destination("nw", "No Worries", None, email="noworries.nhswiltshire@nhs.net"), "noworries.nhswiltshire@nhs.net"),
        (None, ""),
    ],
    ids=["number", "extension", "email_only", "nobody"],
)
def test_phone_as_people_dial_it(destination: Destination | None, expected: str) -> None:
    """National format, with the extension; email when there is no number."""
    assert phone(destination) == expected
