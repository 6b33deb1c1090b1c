"""How pages write times, dates and numbers: London time, "Wed 2 Dec 09:00", numbers as people dial them.

Registered as template filters by ivr/web/pages.py: `when`, `day`, `hours`, `phone`, `unbroken`; `stamp` by ivr/web/admin.py.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ivr.core.model import Destination, Interval
from ivr.core.numbers import display
from ivr.services import LONDON


def when(value: datetime | None) -> str:
    """'Wed 2 Dec 09:00' in London time; 'no change ahead' for None (an answer that does not change)."""
    if value is None:
        return "no change ahead"
    local = value.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def day(value: date | datetime) -> str:
    """'Fri 25 Dec 2026' (a datetime: its London date)."""
    if isinstance(value, datetime):
        value = value.astimezone(LONDON).date()
    return f"{value:%a} {value.day} {value:%b %Y}"


def clock(value: datetime, start: datetime | None = None) -> str:
    """'17:00' in London time; the midnight that ends the day `start` is in is '24:00'."""
    local = value.astimezone(LONDON)
    midnight = local.time() == datetime.min.time()
    if start is not None and midnight and local.date() == start.astimezone(LONDON).date() + timedelta(days=1):
        return "24:00"
    return f"{local:%H:%M}"


def hours(interval: Interval) -> str:
    """'09:00-24:00' for an interval within one day."""
    return f"{clock(interval.start)}\u2013{clock(interval.end, interval.start)}"


def phone(destination: Destination | None) -> str:
    """The number to dial as people write it ('0300 456 0108', with ' ext 2' for a switchboard); else the email."""
    if destination is None:
        return ""
    if destination.number:
        number = display(destination.number)
        return f"{number} ext {destination.extension}" if destination.extension else number
    return destination.email or destination.web


def unbroken(text: str) -> str:
    """`text` with no-break spaces, so that a number stays on one line in a narrow table column."""
    return text.replace(" ", "\u00a0")


def stamp(value: datetime, seconds: bool = False) -> str:
    """'Wed 3 Mar 2027 10:00' in London time (with ':SS' if `seconds`): a moment in a record, year and all."""
    local = value.astimezone(LONDON)
    return f"{day(local)} {local:%H:%M:%S}" if seconds else f"{day(local)} {local:%H:%M}"
