"""Health and metrics for the people and machines that watch the router."""

from __future__ import annotations

import threading
import time
from collections import Counter

from flask import Blueprint, Response, jsonify

from ivr.services import current

bp = Blueprint("health", __name__)
_counts: Counter[str] = Counter()
_lock = threading.Lock()


def count(name: str) -> None:
    """Add one to a counter shown at /metrics (per worker process)."""
    with _lock:
        _counts[name] += 1


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


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format."""
    services = current()
    live = services.live
    working = live.working
    backlog = services.ingester.backlog()
    ingested = services.ingester.metrics()
    lines = [
        "# TYPE ivr_configuration_info gauge",
        f'ivr_configuration_info{{digest="{live.digest or ""}",source="{live.source}"}} 1',
        "# TYPE ivr_configuration_refused gauge",
        f"ivr_configuration_refused {1 if working is not None and working.refused else 0}",
        "# HELP ivr_records_backlog_files Journal files waiting for the database on this machine.",
        "# TYPE ivr_records_backlog_files gauge",
        f"ivr_records_backlog_files {backlog.files}",
        "# TYPE ivr_records_backlog_bytes gauge",
        f"ivr_records_backlog_bytes {backlog.bytes}",
        "# HELP ivr_records_backlog_oldest_seconds How long the oldest waiting call record has waited.",
        "# TYPE ivr_records_backlog_oldest_seconds gauge",
        f"ivr_records_backlog_oldest_seconds {backlog.oldest_seconds:.1f}",
        "# TYPE ivr_records_total counter",
        *(f'ivr_records_total{{what="{name}"}} {value}' for name, value in sorted(ingested.items())),
        "# TYPE ivr_events_total counter",
    ]
    with _lock:
        lines.extend(f'ivr_events_total{{event="{name}"}} {value}' for name, value in sorted(_counts.items()))
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")
