"""Texting a team's details from a call: offered only when it can work, sent off the request path, recorded, read again by voice."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import pytest
from twilio.http.response import Response as TwilioResponse

from ivr.app import create_app
from ivr.services import services_of
from tests.conftest import RecordingHttpClient, Twilio

CALLER = "+447911123456"
TEXT_OFFER = "To have these details sent to you by text message, press 1."
READ_AGAIN = (
    "We will send them by text message now. In case it does not arrive, here they are again: "
    "Email noworries dot nhswiltshire at nhs dot net. "
    "Web w w w dot facebook dot com slash NoWorriesWiltshire. "
    "To hear them again, press 9. To go back to the menu, press 0."
)


class SlowHttpClient(RecordingHttpClient):
    """Twilio taking 3 s to answer each request."""

    def request(self, method: str, uri: str, data: Any = None, **kwargs: Any) -> TwilioResponse:
        """Sleep 3 s, then answer 201 like the recording client."""
        time.sleep(3)
        return super().request(method, uri, data, **kwargs)


class RefusingHttpClient(RecordingHttpClient):
    """Twilio refusing every text with a 400 whose message quotes the caller's number."""

    def request(self, method: str, uri: str, data: Any = None, **kwargs: Any) -> TwilioResponse:
        """Record the request and answer 400 (error 21211, naming the number)."""
        self.requests.append({"method": method, "url": uri, "data": dict(data or {})})
        body = {"code": 21211, "message": f"The 'To' number {CALLER} is not a valid phone number.", "status": 400}
        return TwilioResponse(400, json.dumps(body))


def details(twilio: Twilio) -> Any:
    """Wiltshire's No Worries details (key 5 of the main menu)."""
    return twilio.press(twilio.post("/voice/wiltshire"), "5")


def sms_facts(app: Any, twilio: Twilio) -> dict[str, dict[str, Any]]:
    """The SMS facts of the test call by status, once the outbox has finished (bounded wait); the frozen clock gives all one time."""
    assert services_of(app).outbox.drain(10)
    story = services_of(app).store.story(twilio.params["CallSid"])
    facts = [event.detail for event in story.events if event.kind == "sms"]
    by_status = {fact["status"]: fact for fact in facts}
    assert len(by_status) == len(facts), facts
    return by_status


def test_a_mobile_caller_is_offered_a_text_and_hears_the_details_again(twilio: Twilio, app: Any, http_client: Any) -> None:
    """A mobile caller hears the text offer; 1 reads the details again at once, and the text is sent and recorded."""
    offered = details(twilio)
    assert TEXT_OFFER in offered.text()
    assert twilio.press(offered, "1").text() == READ_AGAIN
    assert sms_facts(app, twilio) == {
        "queued": {"to_masked": "*********456", "destination": "sexual-health", "status": "queued"},
        "sent": {"to_masked": "*********456", "destination": "sexual-health", "status": "sent", "sent": True, "attempts": 1},
    }
    assert [request["data"]["To"] for request in http_client.requests] == [CALLER]


@pytest.mark.parametrize("caller", ["+441225000001", "anonymous"], ids=["landline", "withheld"])
def test_no_text_for_a_landline_or_withheld_caller(twilio: Twilio, app: Any, http_client: Any, caller: str) -> None:
    """A landline or withheld caller hears no text offer, and 1 reads the details again without texting."""
    twilio.params["From"] = caller
    offered = details(twilio)
    assert "text message" not in offered.text()
    assert "text message" not in twilio.press(offered, "1").text()
    assert sms_facts(app, twilio) == {} and http_client.requests == []


def test_no_text_when_texting_is_not_configured(settings: dict[str, Any], http_client: Any) -> None:
    """Without TWILIO_ACCOUNT_SID the prompt does not mention texting and 1 sends nothing."""
    app = create_app({**settings, "TWILIO_ACCOUNT_SID": ""})
    twilio = Twilio(app.test_client())
    offered = details(twilio)
    assert "text message" not in offered.text()
    assert "noworries dot nhswiltshire" in twilio.press(offered, "1").text()
    assert sms_facts(app, twilio) == {} and http_client.requests == []


def test_the_webhook_does_not_wait_for_a_slow_twilio(settings: dict[str, Any]) -> None:
    """With Twilio taking 3 s, pressing 1 is answered in well under 1 s; the text is sent afterwards."""
    slow = SlowHttpClient()
    app = create_app({**settings, "IVR_TWILIO_HTTP_CLIENT": slow})
    twilio = Twilio(app.test_client())
    offered = details(twilio)
    started = time.monotonic()
    answer = twilio.press(offered, "1")
    assert time.monotonic() - started < 1.0
    assert answer.text() == READ_AGAIN
    assert sorted(sms_facts(app, twilio)) == ["queued", "sent"]
    assert len(slow.requests) == 1


def test_a_refused_text_is_recorded_failed_and_never_logs_the_number(
    settings: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Twilio's 400 quoting the caller's number: tried once, recorded failed, and no log line holds the number."""
    caplog.set_level(logging.DEBUG)
    refusing = RefusingHttpClient()
    app = create_app({**settings, "IVR_TWILIO_HTTP_CLIENT": refusing})
    twilio = Twilio(app.test_client())
    assert twilio.press(details(twilio), "1").text() == READ_AGAIN
    facts = sms_facts(app, twilio)
    assert sorted(facts) == ["failed", "queued"]
    assert facts["failed"] == {
        "to_masked": "*********456",
        "destination": "sexual-health",
        "status": "failed",
        "sent": False,
        "attempts": 1,
        "reason": "Twilio answered 400: 21211 Unable to create record: The 'To' number *********456 is not a valid phone number.",
    }
    assert len(refusing.requests) == 1
    assert "failed (attempt 1)" in caplog.text  # the refusal was logged
    for needle in (CALLER, "7911123456"):
        assert needle not in caplog.text


def test_the_worker_is_a_daemon_thread() -> None:
    """The outbox's worker never keeps a process alive at exit."""
    from ivr.notify.outbox import Outbox, Text
    from ivr.notify.sms import TextSender

    outbox = Outbox(TextSender("AC" + "2" * 32, "token", RecordingHttpClient()))
    assert outbox.put(Text(CALLER, "+441225000000", "hello")) and outbox.drain(5)
    (worker,) = [t for t in threading.enumerate() if t.name == "ivr-texts" and t is outbox._worker]
    assert worker.daemon
    outbox.stop(5)
    assert not worker.is_alive()


def test_the_story_tells_a_queued_and_a_failed_text() -> None:
    """A call's story reads 'Queued a text ...' and 'Could not text ...: reason' for the outbox's facts."""
    from tests.test_calls_cli import told

    lines = told(
        [
            (1, "sms", {"to_masked": "*********456", "destination": "lado", "status": "queued"}),
            (
                2,
                "sms",
                {
                    "to_masked": "*********456",
                    "destination": "lado",
                    "status": "failed",
                    "sent": False,
                    "reason": "Twilio answered 400",
                },
            ),
        ]
    )
    assert lines[1:3] == [
        "02:14:06 Queued a text of lado's details to *********456",
        "02:14:07 Could not text lado's details to *********456: Twilio answered 400",
    ]


def test_alerts_are_texted_through_the_outbox(settings: dict[str, Any]) -> None:
    """An alert with Twilio taking 3 s returns at once; the worker texts it to the administrator."""
    slow = SlowHttpClient()
    app = create_app(
        {**settings, "IVR_TWILIO_HTTP_CLIENT": slow, "IVR_ALERT_NUMBER": "+447911000001", "IVR_ALERT_FROM": "+441225000000"}
    )
    started = time.monotonic()
    services_of(app).alerts.alert("records backlog")
    assert time.monotonic() - started < 1.0
    assert services_of(app).outbox.drain(10)
    assert [(r["data"]["To"], r["data"]["Body"]) for r in slow.requests] == [
        ("+447911000001", "Safeguarding line router: records backlog")
    ]
