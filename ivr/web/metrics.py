"""Metrics for Prometheus, through prometheus_client, right across gunicorn's workers.

With PROMETHEUS_MULTIPROC_DIR set (ivr/gunicorn_conf.py sets it for gunicorn), each worker
writes its counts to files there and /metrics adds every worker's up, so totals do not depend
on which worker is asked. Without it (a single process: `make run`, tests) they live in memory.
What is read at the moment of asking (the live release, the records backlog) is collected then.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ivr.services import Services, current

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)

WEBHOOKS = Counter("ivr_webhooks", "Webhooks answered, by step (the handler that answered).", ["step"])
LATENCY = Histogram(
    "ivr_webhook_seconds",
    "Time to answer a webhook, by step.",
    ["step"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
SAFE_ANSWERS = Counter("ivr_safe_answers", "Calls answered with a safe route or static answer, by why.", ["reason"])
FORBIDDEN = Counter("ivr_forbidden", "Webhooks refused: untrusted host or wrong signature.")
CALLS = Counter("ivr_calls", "Calls answered, by line.", ["line"])
OUTCOMES = Counter(
    "ivr_call_outcomes",
    "Calls the flow ended, by line, the service last dialled (or none) and outcome.",
    ["line", "service", "outcome"],
)
ROUTES = Counter(
    "ivr_routes", "Routing decisions, by line, service and destination (none: closed).", ["line", "service", "destination"]
)
# Counted by the clock's leader, once per release whoever made it live, and once per refused change.
RELEASES = Counter("ivr_releases", "Releases made live (publish, rollback) and changes refused (refused).", ["event"])


class _Now(Collector):
    """What is true at the moment of asking: the live release, the working files, the records backlog."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Any]:
        live = self.services.live
        working = live.working
        info = GaugeMetricFamily(
            "ivr_configuration_info", "The live release, and where it came from.", labels=["digest", "source"]
        )
        info.add_metric([live.digest or "", live.source], 1)
        yield info
        yield GaugeMetricFamily(
            "ivr_configuration_refused",
            "1 when the working files are refused (they differ from the live release and fail its proof).",
            value=1 if working is not None and working.refused else 0,
        )
        ingester = self.services.ingester
        backlog = ingester.backlog()
        yield GaugeMetricFamily(
            "ivr_records_backlog_files", "Journal files waiting for the database on this machine.", value=backlog.files
        )
        yield GaugeMetricFamily(
            "ivr_records_backlog_bytes", "Bytes of call records waiting for the database.", value=backlog.bytes
        )
        yield GaugeMetricFamily(
            "ivr_records_backlog_oldest_seconds",
            "How long the oldest waiting call record has waited.",
            value=backlog.oldest_seconds,
        )
        yield GaugeMetricFamily(
            "ivr_records_failing", "1 while the records database refuses or does not answer.", value=int(ingester.failing)
        )


def registry_for(services: Services) -> CollectorRegistry:
    """The registry /metrics shows: every worker's counts (multiprocess) or this process's, plus `_Now`."""
    registry = CollectorRegistry(auto_describe=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Process(REGISTRY))
    registry.register(_Now(services))
    return registry


class _Process(Collector):
    """This process's own metrics (the default registry), when there are no workers' files to add up."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Any]:
        yield from self.source.collect()


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format."""
    services = current()
    if services.metrics is None:
        services.metrics = registry_for(services)
    return Response(generate_latest(services.metrics), mimetype=CONTENT_TYPE_LATEST)
