"""Text messages sent off the request path: a queue and one daemon worker thread per process.

A webhook only puts a text in the outbox and answers; the worker sends it with the twilio client
(5 s per request), tries again after network errors, 5xx and 429 (never after a 4xx refusal), and
reports its outcome (sent, or failed with a masked reason) to `report`, which records it; the webhook
records the text as queued.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ivr.core.numbers import mask
from ivr.notify.sms import TextSender, masked

log = logging.getLogger(__name__)
ATTEMPTS = 3  # one try and two retries
BACKOFF = 0.5  # seconds before the first retry, doubled before each next one
MOST_WAITING = 1000  # texts queued in one process; beyond this a text is refused rather than memory grown


@dataclass(frozen=True, slots=True)
class Text:
    """A text to send; `call`, `line` and `destination` say which call's record its outcome belongs to (empty for alerts)."""

    to: str
    sender: str
    body: str
    call: str = ""
    line: str = ""
    destination: str = ""
    key: str = field(default_factory=lambda: uuid.uuid4().hex)  # tells this text's facts from another's


Report = Callable[[Text, dict[str, Any]], None]
"""Told the outcome of a text: its SMS fact's detail (status sent or failed)."""


class Outbox:
    """Queues texts and sends them on a daemon thread of this process; `put` never waits for Twilio."""

    def __init__(
        self, sender: TextSender, report: Report | None = None, attempts: int = ATTEMPTS, backoff: float = BACKOFF
    ) -> None:
        self.sender = sender
        self._report = report
        self._attempts = max(attempts, 1)
        self._backoff = backoff
        self._queue: queue.Queue[Text] = queue.Queue(MOST_WAITING)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._pid = 0

    @property
    def enabled(self) -> bool:
        """Whether texts can be sent at all (account SID and auth token are set)."""
        return self.sender.enabled

    def put(self, text: Text) -> bool:
        """Queue `text`; False when texting is off or the queue is full (the caller's webhook records which)."""
        if not self.enabled:
            log.warning("text to %s not queued: texting is not configured", mask(text.to))
            return False
        with self._lock:
            self._pending += 1
        try:
            self._queue.put_nowait(text)
        except queue.Full:
            self._done()
            log.error("text to %s not queued: %d texts are waiting already", mask(text.to), MOST_WAITING)
            return False
        self._ensure_worker()
        return True

    def send(self, to: str, sender: str, body: str) -> bool:
        """Queue a text that belongs to no call (an administrator's alert); True when queued."""
        return self.put(Text(to, sender, body))

    def drain(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds for every queued text to be finished; True when none is left."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker after the text in hand (texts still queued are dropped)."""
        self._stop.set()
        worker = self._worker
        if worker is not None:
            worker.join(timeout)

    def _ensure_worker(self) -> None:
        # A forked web worker (gunicorn) inherits no running thread: each process starts its own.
        with self._lock:
            if self._worker is not None and self._worker.is_alive() and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._worker = threading.Thread(target=self._run, name="ivr-texts", daemon=True)
            self._worker.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                text = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self._tell(text, self._deliver(text))
            except Exception:  # noqa: BLE001 - the worker must outlive any one text; no message text: it may hold numbers
                log.error("text %s to %s: unexpected failure", text.key[:8], mask(text.to))
            finally:
                self._done()

    def _deliver(self, text: Text) -> dict[str, Any]:
        delay = self._backoff
        for number in range(1, self._attempts + 1):
            outcome = self.sender.attempt(text.to, text.sender, text.body)
            if outcome.sent:
                log.info("text %s sent to %s (attempt %d)", text.key[:8], mask(text.to), number)
                return {**_detail(text), "status": "sent", "sent": True, "attempts": number}
            log.warning("text %s to %s failed (attempt %d): %s", text.key[:8], mask(text.to), number, outcome.reason)
            if not outcome.retry or number == self._attempts or self._stop.wait(delay):
                return _failed(text, outcome.reason, number)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def _tell(self, text: Text, detail: dict[str, Any]) -> None:
        if self._report is None:
            return
        try:
            self._report(text, detail)
        except Exception:  # noqa: BLE001 - a record that cannot be written never stops a text
            log.error("the outcome of text %s could not be recorded", text.key[:8])


def _detail(text: Text) -> dict[str, Any]:
    return {"to_masked": mask(text.to), "destination": text.destination}


def _failed(text: Text, reason: str, attempts: int) -> dict[str, Any]:
    return {**_detail(text), "status": "failed", "sent": False, "attempts": attempts, "reason": masked(reason)}
