"""Read-only pages for administrators: what is live, who takes calls today, and recent calls."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, render_template, request

from ivr.core.schedule import local_instant
from ivr.records.story import tell
from ivr.services import current

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


@bp.before_request
def _authorised() -> Response | None:
    password = current().settings.admin_password
    if not password:
        if current().settings.development:
            return None  # development mode is announced at start
        abort(404)  # no password set: no admin pages in production
    auth = request.authorization
    given = auth.password if auth is not None and auth.type == "basic" else None
    if given is None or not hmac.compare_digest(given.encode(), password.encode()):
        return Response("Sign in to see the router's pages.", 401, {"WWW-Authenticate": 'Basic realm="ivr admin"'})
    return None


@bp.get("/")
def overview() -> str:
    """What is live now, for every line."""
    live = current().live
    snapshot = live.current()
    now = current().clock()
    lines = []
    for key, router in sorted(snapshot.config.routers.items()):
        day = now.astimezone(router.tz).date()
        start, end = local_instant(day, 0, router.tz), local_instant(day + timedelta(days=1), 0, router.tz)
        services = []
        for service in router.schedule.services.values():
            decision = router.route(service.key, now)
            services.append(
                {
                    "service": service,
                    "decision": decision,
                    "today": router.timeline(service.key, start, end) if service.always_open else [],
                }
            )
        lines.append(
            {
                "key": key,
                "name": snapshot.config.lines[key].flow.name,
                "services": services,
                "overrides": router.schedule.overrides,
                "closures": router.schedule.closures,
            }
        )
    calls = current().store.calls(limit=25)
    return render_template(
        "admin/overview.html",
        now=now,
        digest=snapshot.config.digest,
        refused=live.refused,
        warnings=snapshot.config.warnings,
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
