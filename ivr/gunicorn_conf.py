"""gunicorn's settings for the router (`gunicorn -c python:ivr.gunicorn_conf ...`, as the Procfile runs it).

Metrics: prometheus_client's multiprocess mode needs a folder shared by the workers, empty at
start, named in PROMETHEUS_MULTIPROC_DIR before any worker imports it; a dead worker's gauges
are dropped (https://prometheus.github.io/client_python/multiprocess/).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

# Workers follow the live release from a thread of their own, started after the fork.
preload_app = False


def on_starting(_server: Any) -> None:
    """In the master, before any worker: an empty metrics folder (a given one is emptied)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="ivr-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    Path(folder).mkdir(parents=True, exist_ok=True)
    for old in Path(folder).glob("*.db"):
        old.unlink()


def child_exit(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
