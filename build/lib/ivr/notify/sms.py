"""Text messages through the twilio REST client: one attempt at a time, its outcome classified, numbers masked."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ivr.core.numbers import mask

log = logging.getLogger(__name__)
SEND_TIMEOUT = 5.0  # seconds for one request to Twilio's REST API (twilio's HttpClient `timeout`)
# Runs of digits long enough to be a phone number, as Twilio's error messages quote them ('+447911123456', '07911 123456').
_NUMBER = re.compile(r"\+?\d[\d \-()]{5,}\d")


def masked(text: str) -> str:
    """`text` with every phone-number-like run of digits masked: only each one's last three digits survive."""
    return _NUMBER.sub(lambda m: mask(m.group()), text)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at sending: `sent`, or why not (`reason`, masked) and whether trying again may help (`retry`)."""

    sent: bool
    reason: str = ""
    retry: bool = False


class TextSender:
    """Sends a text message, or says why it cannot; never raises into a call."""

    def __init__(self, account_sid: str, auth_token: str, http_client: HttpClient | None = None) -> None:
        self.enabled = bool(account_sid and auth_token)
        self.http_client = http_client or TwilioHttpClient(timeout=SEND_TIMEOUT)
        if self.http_client.timeout is None:  # a client handed in without one still must not wait for ever
            self.http_client.timeout = SEND_TIMEOUT
        self._client = Client(account_sid, auth_token, http_client=self.http_client) if self.enabled else None

    def attempt(self, to: str, sender: str, body: str) -> Attempt:
        """Send `body` to `to` from `sender` (a Twilio number) once; network errors, 5xx and 429 may be retried."""
        if self._client is None:
            return Attempt(False, "texting is not configured (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)")
        try:
            self._client.messages.create(to=to, from_=sender, body=body)
        except TwilioRestException as exc:
            retry = exc.status >= 500 or exc.status == 429
            return Attempt(False, masked(f"Twilio answered {exc.status}: {exc.code or ''} {exc.msg}".replace("  ", " ")), retry)
        except (requests.RequestException, OSError) as exc:
            return Attempt(False, masked(f"network error: {type(exc).__name__}: {exc}"), True)
        except TwilioException as exc:
            return Attempt(False, masked(f"{type(exc).__name__}: {exc}"))
        return Attempt(True)

    def send(self, to: str, sender: str, body: str) -> bool:
        """Send once, synchronously, and log the outcome with the number masked; True when Twilio accepted it."""
        outcome = self.attempt(to, sender, body)
        if outcome.sent:
            log.info("text sent to %s", mask(to))
        else:
            log.error("text to %s failed: %s", mask(to), outcome.reason)
        return outcome.sent
