"""The services a process runs on, built once from its settings (ivr.settings).

`Settings` holds plain values only (text, numbers, flags, paths); `Services` holds the objects
built from them once per process, which the web handlers, the clock and the commands use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app

from ivr.live import LiveRelease, Publisher
from ivr.notify.alerts import Alerts
from ivr.notify.outbox import Outbox
from ivr.notify.sms import TextSender
from ivr.records.ingest import Ingester
from ivr.records.recorder import Recorder
from ivr.records.store import CallStore
from ivr.settings import Settings

LONDON = ZoneInfo("Europe/London")
_EXTENSION = "ivr"


@dataclass
class Services:
    """What one process of the router runs on, built once by `create_app`."""

    settings: Settings
    live: LiveRelease
    publisher: Publisher
    store: CallStore
    recorder: Recorder
    ingester: Ingester  # moves the journal into the database, off the call's path
    texts: TextSender
    outbox: Outbox  # texts sent off the request path, by this process's worker thread
    alerts: Alerts
    clock: Callable[[], datetime]  # the instant now, in London; tests freeze it
    static_twiml: str  # the answer of last resort, built while everything worked
    scheduler: Any = None  # the clock's scheduler when this process hosts it

    def install(self, app: Flask) -> None:
        app.extensions[_EXTENSION] = self


def london_now() -> datetime:
    """The instant now, as London's wall clock reads it."""
    return datetime.now(LONDON)


def services_of(app: Flask) -> Services:
    """The services `create_app` installed on `app`."""
    found: Services = app.extensions[_EXTENSION]
    return found


def current() -> Services:
    """The services of the app handling the current request."""
    found: Services = current_app.extensions[_EXTENSION]
    return found
