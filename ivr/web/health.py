"""Health for the people and machines that watch the router (metrics are in ivr.web.metrics)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify

from ivr.services import current

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Whether a configuration is live, which release and since when, and the working files' state.

    Never the problems themselves (nor any file's contents): this page needs no password. It
    answers 200 even when only static answers can be given, since taking this worker out of a
    load balancer would not help the caller; "ok": false says it.
    """
    services = current()
    live = services.live
    working = live.working
    if working is None:
        files = "unknown"
    elif working.refused:
        files = "refused"
    else:
        files = "same" if working.digest == live.digest else "differ"
    return jsonify(
        ok=live.current() is not None,
        release=live.digest,
        source=live.source,
        age_seconds=int(max(0.0, time.time() - live.since)),
        working_files=files,
        refused_problems=len(working.problems) if working else 0,
        # Call records waiting in this machine's journals for the database (its processes alike).
        records_backlog=services.ingester.backlog().as_json(),
        records_failing=services.ingester.failing,
    )
