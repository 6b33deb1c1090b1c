"""Read-only pages for administrators: what is live, who takes calls today, and recent calls.

Who may see them is decided before any of these run, for every path under /admin (ivr/web/access.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, render_template

from ivr.core.schedule import local_instant
from ivr.records.story import tell
from ivr.services import current

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
def overview() -> str:
    """What is live now, for every line."""
    services = current()
    live = services.live
    snapshot = live.current()
    now = services.clock()
    lines = []
    lines_live = snapshot.config.lines if snapshot else {}
    for key, line in sorted(lines_live.items()):
        router = line.router
        day = now.astimezone(router.tz).date()
        start, end = local_instant(day, 0, router.tz), local_instant(day + timedelta(days=1), 0, router.tz)
        rows = []
        for service in router.schedule.services.values():
            decision = router.route(service.key, now)
            rows.append(
                {
                    "service": service,
                    "decision": decision,
                    "today": router.timeline(service.key, start, end) if service.always_open else [],
                }
            )
        lines.append(
            {
                "key": key,
                "name": line.flow.name,
                "services": rows,
                "overrides": router.schedule.overrides,
                "closures": router.schedule.closures,
            }
        )
    try:
        calls = services.store.calls(limit=25)
        history = services.publisher.releases.history(limit=1)
    except Exception:  # the page still shows routing while the records are unreachable
        log.exception("the call records cannot be read for the admin page")
        calls, history = [], []
    return render_template(
        "admin/overview.html",
        now=now,
        digest=live.digest,
        source=live.source,
        release=history[0] if history and history[0].digest == live.digest else None,
        working=live.working,
        warnings=snapshot.config.warnings if snapshot else (),
        lines=lines,
        calls=calls,
    )


@bp.get("/calls/<sid>")
def call(sid: str) -> str:
    """One call's story in plain words."""
    story = current().store.story(sid)
    if story is None:
        abort(404)
    return render_template("admin/call.html", story=story, lines=tell(story))


def when(value: Any) -> str:
    return value.strftime("%a %d %b %H:%M") if value else "no change ahead"


bp.add_app_template_filter(when, "when")
