"""The week page, /admin/<line>/week?from=DATE: seven days of routing per service, as charts and tables.

Under /admin, so behind the password (ivr/web/access.py). Reads the live release, like the Now page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, render_template, request

from ivr.services import current
from ivr.web.chart import draw
from ivr.web.pages import problem_page
from ivr.web.routing_week import DAYS, week_of

bp = Blueprint("week", __name__, url_prefix="/admin")
FIRST_YEAR, LAST_YEAR = 2000, 2099  # beyond these nobody is planning rotas; and date arithmetic stays in range
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class WeekFrom:
    """The week's first day as its URL carries it: `?from=2026-12-21`."""

    day: date

    def to_query(self) -> dict[str, str]:
        return {"from": self.day.isoformat()}

    def moved(self, weeks: int) -> WeekFrom | None:
        """The week `weeks` later (earlier if negative); None outside the years a week can be asked for."""
        day = self.day + timedelta(days=DAYS * weeks)
        return WeekFrom(day) if FIRST_YEAR <= day.year <= LAST_YEAR else None

    @classmethod
    def from_query(cls, args: Mapping[str, str], today: date) -> tuple[WeekFrom, str]:
        """The day asked for; else this week's Monday, with what was wrong with the request ("" when nothing was)."""
        this_week = cls(today - timedelta(days=today.weekday()))
        if "from" not in args:
            return this_week, ""
        text = args["from"].strip()
        if not text:
            return this_week, "Enter the date the week starts from"
        try:
            day = date.fromisoformat(text) if _ISO_DAY.fullmatch(text) else None
        except ValueError:
            day = None
        if day is None:
            return this_week, "Enter a real date, for example 21/12/2026"
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            return this_week, f"Enter a date between {FIRST_YEAR} and {LAST_YEAR}"
        return cls(day), ""


@bp.get("/<line>/week")
def week(line: str) -> str | tuple[str, int]:
    """Seven days from `?from=` (default: this week's Monday) of who takes each service's calls, and why."""
    services = current()
    snapshot = services.live.current()
    if snapshot is None:
        return problem_page(
            "No valid configuration is live", "Fix the files and run ivr publish; then the week can be shown.", 503
        )
    found = snapshot.config.lines.get(line)
    if found is None:
        return problem_page("Page not found", f"There is no line called \u2018{line}\u2019.", 404)
    today = services.clock().astimezone(found.router.tz).date()
    start, error = WeekFrom.from_query(request.args, today)
    shown = week_of(found, start.day)
    return render_template(
        "admin/week.html",
        week=shown,
        sections=[(service_week, draw(shown, service_week)) for service_week in shown.services],
        error=error,
        start=start,
        previous=start.moved(-1),
        next=start.moved(1),
    )
