"""Text messages through the twilio REST client: contact details to callers, alerts to admins."""

from __future__ import annotations

import logging

from twilio.base.exceptions import TwilioException
from twilio.http import HttpClient
from twilio.rest import Client

from ivr.core.numbers import mask

log = logging.getLogger(__name__)


class TextSender:
    """Sends a text message, or says why it cannot; never raises into a call."""

    def __init__(self, account_sid: str, auth_token: str, http_client: HttpClient | None = None) -> None:
        self.enabled = bool(account_sid and auth_token)
        self._client = Client(account_sid, auth_token, http_client=http_client) if self.enabled else None

    def send(self, to: str, sender: str, body: str) -> bool:
        """Send `body` to `to` from `sender` (a Twilio number); True when Twilio accepted it."""
        if self._client is None:
            log.warning("text to %s not sent: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not both set", mask(to))
            return False
        try:
            self._client.messages.create(to=to, from_=sender, body=body)
        except TwilioException as exc:
            log.error("text to %s failed: %s", mask(to), exc)
            return False
        log.info("text sent to %s", mask(to))
        return True
