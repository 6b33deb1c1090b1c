"""The text outbox: sent off the request path with a timeout, retried on network errors, 5xx and 429, never on 4xx."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest
import requests
from twilio.http.response import Response as TwilioResponse

from ivr.notify.outbox import Outbox, Text
from ivr.notify.sms import SEND_TIMEOUT, TextSender, masked
from tests.conftest import RecordingHttpClient

SID = "AC" + "2" * 32
CALLER = "+447911123456"
LINE_NUMBER = "+441225000000"
REFUSAL = {"code": 21211, "message": f"The 'To' number {CALLER} is not a valid phone number.", "status": 400}


class ScriptedHttpClient(RecordingHttpClient):
    """Answers each request with the next status in `script` (an exception instance is raised instead)."""

    def __init__(self, *script: int | Exception) -> None:
        super().__init__()
        self.script = list(script)
        self.timeouts: list[Any] = []

    def request(self, method: str, uri: str, data: Any = None, **kwargs: Any) -> TwilioResponse:
        """Record the request and its timeout (its own when none is passed, as TwilioHttpClient does), then answer as scripted."""
        self.timeouts.append(kwargs.get("timeout") or self.timeout)
        answer = self.script.pop(0) if self.script else 201
        if isinstance(answer, Exception):
            self.requests.append({"method": method, "url": uri, "data": dict(data or {})})
            raise answer
        if answer == 201:
            return super().request(method, uri, data)
        self.requests.append({"method": method, "url": uri, "data": dict(data or {})})
        body = REFUSAL if answer == 400 else {"code": 20500, "message": "Internal error", "status": answer}
        return TwilioResponse(answer, json.dumps(body))


class Reports:
    """Collects what the outbox reports, as (call, detail)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, text: Text, detail: dict[str, Any]) -> None:
        self.seen.append((text.call, detail))


def outbox_with(client: ScriptedHttpClient, reports: Reports) -> Outbox:
    """An outbox sending through `client`, with no wait between retries."""
    return Outbox(TextSender(SID, "token", client), reports, attempts=3, backoff=0)


def a_text() -> Text:
    """No Worries' details for the caller of call CA1."""
    return Text(CALLER, LINE_NUMBER, "No Worries", call="CA1", line="wiltshire", destination="sexual-health")


def test_503_is_retried_then_sent() -> None:
    """Twilio answering 503 once is tried again; the second try is sent and recorded as sent after 2 attempts."""
    client, reports = ScriptedHttpClient(503), Reports()
    outbox = outbox_with(client, reports)
    assert outbox.put(a_text()) is True
    assert outbox.drain(5)
    assert len(client.requests) == 2
    assert reports.seen == [
        ("CA1", {"to_masked": "*********456", "destination": "sexual-health", "status": "sent", "sent": True, "attempts": 2})
    ]


def test_429_and_network_errors_are_retried_until_the_attempts_run_out() -> None:
    """429, then a connection error, then 500: three attempts, recorded failed with the last reason."""
    client, reports = (
        ScriptedHttpClient(429, requests.ConnectionError(f"cannot reach api.twilio.com for {CALLER}"), 500),
        Reports(),
    )
    outbox = outbox_with(client, reports)
    outbox.put(a_text())
    assert outbox.drain(5)
    assert len(client.requests) == 3
    assert reports.seen == [
        (
            "CA1",
            {
                "to_masked": "*********456",
                "destination": "sexual-health",
                "status": "failed",
                "sent": False,
                "attempts": 3,
                "reason": "Twilio answered 500: 20500 Unable to create record: Internal error",
            },
        )
    ]


def test_a_400_refusal_is_not_retried_and_no_log_line_holds_the_number(caplog: pytest.LogCaptureFixture) -> None:
    """A 400 naming the number is tried once; the record and every log line show only its last three digits."""
    caplog.set_level(logging.DEBUG)
    client, reports = ScriptedHttpClient(400), Reports()
    outbox = outbox_with(client, reports)
    outbox.put(a_text())
    assert outbox.drain(5)
    assert len(client.requests) == 1
    ((_, detail),) = reports.seen
    assert detail["status"] == "failed" and detail["attempts"] == 1
    assert (
        detail["reason"]
        == "Twilio answered 400: 21211 Unable to create record: The 'To' number *********456 is not a valid phone number."
    )
    assert "refused" not in caplog.text and "*********456 is not a valid" in caplog.text  # the refusal was logged, masked
    for needle in (CALLER, "7911123456", "07911 123456"):
        assert needle not in caplog.text
        assert needle not in json.dumps(reports.seen)


def test_each_request_has_a_five_second_timeout() -> None:
    """The twilio client is handed a 5 s timeout; a default TwilioHttpClient is built with one too."""
    client = ScriptedHttpClient()
    outbox = outbox_with(client, Reports())
    outbox.put(a_text())
    assert outbox.drain(5)
    assert client.timeouts == [5.0]
    assert SEND_TIMEOUT == 5.0 and TextSender(SID, "token").http_client.timeout == 5.0


def test_put_does_not_wait_for_a_slow_twilio() -> None:
    """While the worker waits on Twilio, `put` returns at once; the text is sent when Twilio answers."""
    release = threading.Event()

    class Stuck(ScriptedHttpClient):
        def request(self, method: str, uri: str, data: Any = None, **kwargs: Any) -> TwilioResponse:
            """Wait (at most 5 s) until the test lets go, then answer 201."""
            release.wait(5)
            return super().request(method, uri, data, **kwargs)

    client, reports = Stuck(), Reports()
    outbox = outbox_with(client, reports)
    assert outbox.put(a_text()) and outbox.put(a_text())
    assert outbox.drain(0.2) is False and reports.seen == []
    release.set()
    assert outbox.drain(5)
    assert [detail["status"] for _, detail in reports.seen] == ["sent", "sent"]


def test_without_configuration_nothing_is_queued() -> None:
    """No account SID: `put` answers False at once and nothing is sent or reported."""
    client, reports = ScriptedHttpClient(), Reports()
    outbox = Outbox(TextSender("", "token", client), reports)
    assert outbox.enabled is False and outbox.put(a_text()) is False
    assert outbox.drain(1) and client.requests == [] and reports.seen == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The 'To' number +447911123456 is not valid", "The 'To' number *********456 is not valid"),
        ("call 07911 123456 back", "call ********456 back"),
        ("error 21211 at 10:15", "error 21211 at 10:15"),
    ],
    ids=["e164", "national_with_space", "short_codes_kept"],
)
def test_numbers_in_messages_are_masked(text: str, expected: str) -> None:
    """Phone numbers inside an error message keep only their last three digits; short codes stay readable."""
    assert masked(text) == expected
