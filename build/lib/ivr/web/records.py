"""Reading the call records for a page, within a time limit.

A page that reads the records (releases, calls) must still answer when the database is down or
frozen: a read runs on a daemon thread of its own and the page waits for it READ_SECONDS at most.
At most SLOTS reads are out at once, so a frozen server holds two threads, not one per page view.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app

from ivr.core.errors import IvrError

log = logging.getLogger(__name__)
READ_SECONDS = 1.0
SLOTS = 2
_EXTENSION = "ivr.records_reader"
T = TypeVar("T")


class RecordsUnavailable(IvrError, RuntimeError):
    """The call records could not be read in time; the page shows what it can without them."""


class RecordsReader:
    """Runs reads of the call records on threads of their own, giving up after `seconds`."""

    def __init__(self, seconds: float = READ_SECONDS, slots: int = SLOTS) -> None:
        self.seconds = seconds
        self._slots = threading.BoundedSemaphore(slots)

    def read(self, what: str, fn: Callable[[], T]) -> T:
        """`fn()`'s value; RecordsUnavailable if it fails or takes longer than the time limit. `what` names it in logs."""
        deadline = time.monotonic() + self.seconds
        if not self._slots.acquire(timeout=self.seconds):
            log.error("the call records are still busy with earlier reads: %s not read", what)
            raise RecordsUnavailable(f"The call records did not answer within {self.seconds:g} seconds.")
        found: list[T] = []
        failed: list[BaseException] = []

        def run() -> None:
            try:
                found.append(fn())
            except Exception as exc:  # noqa: BLE001 - any failure is the page's "could not be read"; logged below
                failed.append(exc)
            finally:
                self._slots.release()

        thread = threading.Thread(target=run, name="ivr-page-read", daemon=True)
        thread.start()
        thread.join(max(0.0, deadline - time.monotonic()))
        if found:
            return found[0]
        if failed:
            log.error("could not read %s from the call records", what, exc_info=failed[0])
            raise RecordsUnavailable("The call records could not be read.")
        log.error("the call records did not answer within %.1f s: %s not read", self.seconds, what)
        raise RecordsUnavailable(f"The call records did not answer within {self.seconds:g} seconds.")


def init_app(app: Flask, reader: RecordsReader | None = None) -> None:
    app.extensions[_EXTENSION] = reader or RecordsReader()


def records_reader(app: Flask | None = None) -> RecordsReader:
    """The app's reader (the current app's by default)."""
    found: RecordsReader = (app or current_app).extensions[_EXTENSION]
    return found


def read_records(what: str, fn: Callable[[], T]) -> T:
    """`fn()` run against the call records within the time limit; RecordsUnavailable otherwise."""
    return records_reader().read(what, fn)
