"""Read-only pages for administrators: what is live, who takes calls today, and recent calls; the
releases (ivr/web/releases_pages.py) and the calls (ivr/web/calls_pages.py) register their pages here.

Who may see them is decided before any of these run, for every path under /admin (ivr/web/access.py).
"""

from __future__ import annotations

import logging

from flask import Blueprint, render_template

from ivr.records.releases import LogEntry
from ivr.records.store import CallSummary
from ivr.services import Services, current
from ivr.web import calls_pages, formats, releases_pages
from ivr.web.now import line_now
from ivr.web.problems import grouped
from ivr.web.records import RecordsUnavailable, read_records

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")
RECENT_CALLS = 10
bp.add_app_template_filter(formats.stamp, "stamp")
releases_pages.register(bp)
calls_pages.register(bp)


@bp.get("/")
def overview() -> str:
    """Who takes the calls now and tonight on every line, what is planned, and what is live."""
    services = current()
    live = services.live
    snapshot = live.current()
    now = services.clock()
    lines = [line_now(line, now) for _, line in sorted(snapshot.config.lines.items())] if snapshot else []
    records_problem = ""
    try:
        history, calls = read_records("the admin page's release and calls", lambda: _records(services))
    except RecordsUnavailable as exc:  # the page still shows routing while the records are unreachable
        history, calls, records_problem = [], [], str(exc)
    return render_template(
        "admin/overview.html",
        now=now,
        digest=live.digest,
        source=live.source,
        release=next((entry for entry in history if entry.digest == live.digest), None),
        working=live.working,
        problems=grouped(live.working.problems) if live.working else [],
        warnings=snapshot.config.warnings if snapshot else (),
        lines=lines,
        calls=calls,
        records_problem=records_problem,
    )


def _records(services: Services) -> tuple[list[LogEntry], list[CallSummary]]:
    return services.publisher.releases.history(limit=1), services.store.calls(limit=RECENT_CALLS)
