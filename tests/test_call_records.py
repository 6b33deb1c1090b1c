"""What the webhooks and `ivr simulate` leave in the call records (the store itself: test_store.py)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from ivr.cli import main
from ivr.records.store import CallStore
from ivr.services import services_of
from tests.conftest import Twilio

CALLER = "+447911123456"


def test_simulated_call_recorded_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ivr simulate` leaves no record; with --record the call is kept, marked simulated, and told back."""
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["simulate", "wiltshire", "--at", "2026-12-26T02:14", "--keys", "1", "--json"]) == 0
    capsys.readouterr()
    store = CallStore(None, instance_path=tmp_path)
    store.upgrade()
    assert store.calls() == []
    assert main(["simulate", "wiltshire", "--at", "2026-12-26T02:14", "--keys", "1", "--record", "--json"]) == 0
    sid = json.loads(capsys.readouterr().out)["call_sid"]
    (call,) = store.calls()
    assert call.call_sid == sid and call.simulated is True
    assert main(["calls", "show", sid]) == 0
    told = capsys.readouterr().out
    assert "simulated" in told and "Routed child-at-risk to standby" in told


@pytest.mark.usefixtures("app")
def test_logs_never_hold_a_full_caller_number(twilio: Twilio, caplog: pytest.LogCaptureFixture) -> None:
    """Whatever the webhooks log, the caller's number appears only masked."""
    with caplog.at_level(logging.DEBUG):
        menu = twilio.post("/voice/wiltshire")
        twilio.press(twilio.press(menu, "5"), "1")
        twilio.post("/voice/status", CallStatus="completed")
    assert caplog.records, "the webhooks log something"
    assert all(CALLER not in r.getMessage() for r in caplog.records)
    assert any("*********456" in r.getMessage() for r in caplog.records)


def test_webhooks_record_the_call_and_its_decisions(twilio: Twilio, app: Any) -> None:
    """A call through the webhooks leaves its start, key, routing decision (with configuration) and dial, as Twilio reported it."""
    menu = twilio.post("/voice/wiltshire")
    dial = twilio.press(menu, "1")
    twilio.dial_result(dial, "completed", DialCallDuration="75", DialBridged="true")
    story = services_of(app).store.story(twilio.params["CallSid"])
    digest = services_of(app).live.current().config.digest
    assert story.call.line == "wiltshire" and story.call.config_digest == digest and story.call.outcome == "connected"
    kinds = [e.kind for e in story.events]
    assert kinds == ["menu", "key", "route", "dial", "end"]  # MASH is `answer: direct`: no screening, so no "screen"
    route = story.events[2].detail
    assert route["destination"] == "mash" and route["config_digest"] == digest and route["rule"].startswith("rule 1: MASH")
    assert story.events[3].detail == {
        "attempt": 1,
        "destination": "mash",
        "number": "+443004560108",
        "status": "completed",
        "duration": "75",
        "answer": "direct",
        "bridged": True,
    }


def test_status_callbacks_are_recorded_once_under_the_callers_call(twilio: Twilio, app: Any) -> None:
    """A dialled leg's status lands on the caller's call (retries once); the call's own end sets its outcome."""
    twilio.press(twilio.post("/voice/hampshire"), "1")
    parent = twilio.params["CallSid"]
    leg = {"CallSid": "CA" + "7" * 32, "ParentCallSid": parent}
    for status in ("ringing", "no-answer", "no-answer"):  # the last is Twilio retrying
        assert twilio.post("/voice/status", CallStatus=status, **leg).status == 200
    twilio.post("/voice/status", CallStatus="completed", CallDuration="40")
    story = services_of(app).store.story(parent)
    statuses = [e.detail["status"] for e in story.events if e.kind == "status"]
    assert statuses == ["ringing", "no-answer"]
    assert story.call.outcome == "completed" and story.call.ended_at is not None
