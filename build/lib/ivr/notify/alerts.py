"""Alerts for administrators: always to the log, and by text message when a number is set."""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger("ivr.alerts")
_SMS_LIMIT = 600  # characters; a text is for a person's phone, the log has the rest


class Texts(Protocol):
    """Sends or queues a text (ivr.notify.outbox.Outbox in the app, so an alert never waits for Twilio)."""

    def send(self, to: str, sender: str, body: str) -> bool: ...


class Alerts:
    """Raises alerts; remembers what it sent so tests and /healthz can tell."""

    def __init__(self, texts: Texts | None, to: str = "", sender: str = "") -> None:
        self._texts = texts
        self._to = to
        self._sender = sender
        self.sent: list[str] = []

    def alert(self, message: str) -> None:
        """Log `message` as an error and text it to the administrator if configured."""
        log.error("ALERT: %s", message)
        self.sent.append(message)
        if self._texts is not None and self._to and self._sender:
            self._texts.send(self._to, self._sender, f"Safeguarding line router: {message}"[:_SMS_LIMIT])
