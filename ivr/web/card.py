"""The quick card for professionals, /card/<line>: shortcuts, the numbers behind them, opening hours and the
999 reminder, printed on one A4 page. Public: no password (ivr/web/access.py guards /admin only).

Every fact on it comes from the line's live configuration: the flow's warning, numbers and shortcuts,
and the schedule's teams and rules (ivr/web/hours.py puts the rules into words).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template

from ivr.core.line import Line
from ivr.core.model import Destination, Shortcut
from ivr.core.numbers import display
from ivr.services import current
from ivr.web.hours import ServiceHours, service_hours
from ivr.web.pages import problem_page

bp = Blueprint("card", __name__, url_prefix="/card")


@dataclass(frozen=True, slots=True)
class ShortcutRow:
    """A shortcut as the card prints it: the keys to press, the team it is for, and when that team answers."""

    keys: str
    shortcut: Shortcut
    team: Destination | None  # the team the shortcut is for (`expects`), else the service's only team
    when: str


@bp.get("/<line>")
def card(line: str) -> str | tuple[str, int]:
    """The line's quick card, from the live release."""
    services = current()
    snapshot = services.live.current()
    if snapshot is None:
        return problem_page("Not available", "The card cannot be shown just now. Try again later.", 503, public=True)
    found = snapshot.config.lines.get(line)
    if found is None:
        return problem_page("Page not found", f"There is no line called \u2018{line}\u2019.", 404, public=True)
    hours = {key: service_hours(found.router, service) for key, service in found.schedule.services.items()}
    return render_template(
        "card/card.html",
        flow=found.flow,
        numbers=[display(number) for number in found.flow.numbers],
        shortcuts=shortcut_rows(found, hours),
        hours=list(hours.values()),
        today=services.clock(),
    )


def shortcut_rows(line: Line, hours: dict[str, ServiceHours]) -> list[ShortcutRow]:
    """The line's shortcuts in the flow's order, each with its team and that team's hours for the shortcut's service."""
    rows = []
    for code, shortcut in line.flow.shortcuts.items():
        service = hours[shortcut.service]
        team_key = shortcut.expects or (service.hours[0].destination.key if len(service.hours) == 1 else "")
        team = line.schedule.destinations.get(team_key)
        rows.append(ShortcutRow(f"{line.flow.keys.shortcut}{code}", shortcut, team, service.when(team_key) if team else ""))
    return rows
