"""The call pages: the calls recorded, newest first, narrowed by a GET form, and one call's story with its legal holds.

The form's fields are a typed value, CallFilter, read once from the query; what is wrong with it is said in
GOV.UK's error summary, never a failure. The records are read through the time-limited reader
(ivr/web/records.py), so a database that is down or frozen gives a page that says so. Caller numbers are
shown only as the story tells them: masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, render_template, request, url_for

from ivr.records.store import CallStore, CallSummary
from ivr.records.story import held, tell
from ivr.services import LONDON, current
from ivr.web.records import RecordsUnavailable, read_records

SHOWN = 100  # the newest calls that match; the filters narrow them
# How a call ended, as `ivr calls --outcome` takes it: (value, as the form offers it).
OUTCOMES = (
    ("connected", "connected: put through to a team"),
    ("completed", "completed"),
    ("busy", "busy"),
    ("no-answer", "no-answer"),
    ("failed", "failed"),
    ("canceled", "canceled"),
    ("none", "none: not ended yet"),
)
_PARTS = ("day", "month", "year")
FIRST_YEAR, LAST_YEAR = 1900, 2999  # four digits, and room for the day after the last day asked for


def register(bp: Blueprint) -> None:
    """Add /admin/calls and /admin/calls/<sid> (the URL other pages link a call by) to the admin blueprint."""
    bp.add_url_rule("/calls", view_func=calls)
    bp.add_url_rule("/calls/<sid>", view_func=call)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the form: the field the error summary links to, the message, the date parts to mark."""

    field: str
    text: str
    parts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DateTyped:
    """A GOV.UK date input as typed (day, month, year), read as a date or a problem in GOV.UK's words."""

    name: str  # "from" or "to": the fields are from-day, from-month, from-year
    label: str  # "Date from": how the error messages name it
    day: str = ""
    month: str = ""
    year: str = ""

    @property
    def empty(self) -> bool:
        return not (self.day or self.month or self.year)

    def value(self, part: str) -> str:
        """The day, month or year as typed."""
        return {"day": self.day, "month": self.month, "year": self.year}[part]

    def read(self) -> date | Problem | None:
        """The date typed; None when nothing was typed; else what is wrong."""
        if self.empty:
            return None
        missing = [part for part in _PARTS if not self.value(part)]
        if missing:
            said = " and ".join(missing)
            return Problem(f"{self.name}-{missing[0]}", f"{self.label} must include a {said}", tuple(missing))
        wrong = Problem(f"{self.name}-day", f"{self.label} must be a real date", _PARTS)
        numbers = (self.day, self.month, self.year)
        # Plain digits only (int() would take "1_0" and other scripts' digits), and a year the next day also has.
        if not all(part.isascii() and part.isdigit() for part in numbers) or not FIRST_YEAR <= int(self.year) <= LAST_YEAR:
            return wrong
        try:
            return date(int(self.year), int(self.month), int(self.day))
        except ValueError:
            return wrong


@dataclass(frozen=True, slots=True)
class Criteria:
    """What the store is asked for: CallStore.calls's filters, times as London midnights."""

    line: str | None = None
    service: str | None = None
    outcome: str | None = None  # "" for calls not ended yet
    since: datetime | None = None
    until: datetime | None = None
    held: bool = False

    def calls(self, store: CallStore, limit: int) -> list[CallSummary]:
        return store.calls(
            line=self.line,
            service=self.service,
            outcome=self.outcome,
            since=self.since,
            until=self.until,
            held=self.held,
            limit=limit,
        )


@dataclass(frozen=True, slots=True)
class CallFilter:
    """The filter form as sent: each field as typed, so that a refused one is shown back as it was."""

    line: str = ""
    service: str = ""
    outcome: str = ""
    date_from: DateTyped = field(default_factory=lambda: DateTyped("from", "Date from"))
    date_to: DateTyped = field(default_factory=lambda: DateTyped("to", "Date to"))
    held: bool = False

    @classmethod
    def from_query(cls, args: Mapping[str, str]) -> CallFilter:
        """The form's fields from a query string; anything missing is empty."""

        def text(name: str) -> str:
            return " ".join(str(args.get(name, "")).split())

        def typed(name: str, label: str) -> DateTyped:
            return DateTyped(name, label, *(text(f"{name}-{part}") for part in _PARTS))

        return cls(
            line=text("line"),
            service=text("service"),
            outcome=text("outcome"),
            date_from=typed("from", "Date from"),
            date_to=typed("to", "Date to"),
            held=bool(text("held")),
        )

    def criteria(self) -> Criteria | list[Problem]:
        """The store's filters, or every problem with the form, in the order of its fields."""
        problems: list[Problem] = []
        if self.outcome and self.outcome not in dict(OUTCOMES):
            problems.append(Problem("outcome", "Select how the calls ended from the list"))
        first, last = self.date_from.read(), self.date_to.read()
        problems += [found for found in (first, last) if isinstance(found, Problem)]
        if isinstance(first, date) and isinstance(last, date) and last < first:
            problems.append(Problem("to-day", "Date to must be the same as or after date from", _PARTS))
        if problems:
            return problems
        return Criteria(
            line=self.line or None,
            service=self.service or None,
            outcome=None if not self.outcome else "" if self.outcome == "none" else self.outcome,
            since=_midnight(first) if isinstance(first, date) else None,
            until=_midnight(last + timedelta(days=1)) if isinstance(last, date) else None,
            held=self.held,
        )

    @property
    def narrowed(self) -> bool:
        """Whether any filter is set."""
        return bool(self.line or self.service or self.outcome or self.held) or not (self.date_from.empty and self.date_to.empty)


def _midnight(day: date) -> datetime:
    # Midnight always happens in London: the clocks change at 01:00 and 02:00.
    return datetime.combine(day, time(), tzinfo=LONDON)


def calls() -> tuple[str, int] | str:
    """The calls that match the filters, newest first, at most SHOWN of them."""
    chosen = CallFilter.from_query(request.args)
    asked = chosen.criteria()
    page: dict[str, Any] = {"chosen": chosen, "options": _options(chosen), "shown": SHOWN}
    if not isinstance(asked, Criteria):
        return render_template("admin/calls.html", problems=asked, **page), 400
    store = current().store
    try:
        found = read_records("the calls for the calls page", lambda: asked.calls(store, SHOWN + 1))
    except RecordsUnavailable as exc:
        return render_template("admin/calls.html", records_problem=str(exc), **page), 503
    return render_template("admin/calls.html", calls=found[:SHOWN], more=len(found) > SHOWN, **page)


def _options(chosen: CallFilter) -> dict[str, list[dict[str, Any]]]:
    """The selects' items from the live configuration's lines and services; a value sent that it lacks is kept."""
    snapshot = current().live.current()
    lines = sorted(snapshot.config.lines.items()) if snapshot else []
    line_items = [(key, line.flow.name) for key, line in lines]
    service_keys = sorted({key for _, line in lines for key in line.schedule.services})
    return {
        "line": _items("Any line", line_items, chosen.line),
        "service": _items("Any service", [(key, key) for key in service_keys], chosen.service),
        "outcome": _items("Any outcome", list(OUTCOMES), chosen.outcome),
    }


def _items(anything: str, offered: list[tuple[str, str]], chosen: str) -> list[dict[str, Any]]:
    if chosen and chosen not in {value for value, _ in offered}:
        offered = [*offered, (chosen, chosen)]
    return [{"value": "", "text": anything}, *({"value": value, "text": text} for value, text in offered)]


def call(sid: str) -> tuple[str, int] | str:
    """One call's story in plain words (numbers masked as the story masks them), then its legal holds."""
    store = current().store
    try:
        story = read_records(f"the story of call {sid}", lambda: store.story(sid))
    except RecordsUnavailable as exc:
        return render_template("admin/call.html", sid=sid, problem=str(exc)), 503
    if story is None:
        return render_template("admin/not_found.html", back=url_for("admin.calls"), back_text="All calls"), 404
    told = tell(story)
    holds = story.call.holds
    # tell() ends with one line per hold; the page shows those under their own heading.
    return render_template(
        "admin/call.html",
        sid=sid,
        call=story.call,
        lines=told[: len(told) - len(holds)],
        holds=[held(h) for h in holds],
    )
