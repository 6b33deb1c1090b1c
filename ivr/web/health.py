"""Health and metrics for the people and machines that watch the router."""

from __future__ import annotations

import threading
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
    """200 while a valid configuration is live; says if a newer one was refused."""
    live = current().live
    snapshot = live.current()
    refused = live.refused
    return jsonify(
        status="ok",
        configuration=snapshot.config.digest,
        lines=sorted(snapshot.flows),
        refused_configuration=str(refused).splitlines() if refused else [],
    )


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format."""
    live = current().live
    snapshot = live.current()
    lines = [
        "# TYPE ivr_configuration_info gauge",
        f'ivr_configuration_info{{digest="{snapshot.config.digest}"}} 1',
        "# TYPE ivr_configuration_refused gauge",
        f"ivr_configuration_refused {1 if live.refused else 0}",
        "# TYPE ivr_events_total counter",
    ]
    with _lock:
        lines.extend(f'ivr_events_total{{event="{name}"}} {value}' for name, value in sorted(_counts.items()))
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")
