"""What the webhooks and `ivr simulate` leave in the call records (the store itself: test_store.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ivr.app import create_app
from ivr.cli import main
from ivr.records.store import CallStore
from ivr.services import services_of
from tests.builders import screened_copy
from tests.conftest import Twilio
from tests.pg import postgres_schema

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


@pytest.fixture(params=["sqlite", "postgresql"])
def screened_app(request: pytest.FixtureRequest, settings: dict[str, Any], tmp_path: Path) -> Iterator[Any]:
    """The shipped lines with every team screened by a person (press 1), recording on SQLite or PostgreSQL."""
    folder = screened_copy(tmp_path / "screened")
    if request.param == "sqlite":
        yield create_app({**settings, "IVR_CONFIG_DIR": str(folder)})
    else:
        with postgres_schema() as url:
            app = create_app({**settings, "IVR_CONFIG_DIR": str(folder), "DATABASE_URL": url})
            yield app
            services_of(app).store.close()


def test_the_list_names_the_team_the_caller_talked_to_not_a_pickup(screened_app: Any) -> None:
    """Wed 11:00 in Wiltshire, MASH screened: its pickup is not accepted, Out of Hours accepts; a second call reaches nobody."""
    twilio = Twilio(screened_app.test_client())
    first = twilio.press(twilio.post("/voice/wiltshire"), "1")
    second = twilio.dial_result(first, "completed", DialBridged="false")  # MASH's voicemail picked up
    twilio.accept(second)
    twilio.dial_result(second, "completed", DialCallDuration="95", DialBridged="true")
    talked = twilio.params["CallSid"]
    twilio.params["CallSid"] = "CA" + "3" * 32
    first = twilio.press(twilio.post("/voice/wiltshire"), "1")
    twilio.dial_result(twilio.dial_result(first, "completed", DialBridged="false"), "no-answer", DialBridged="false")
    nobody = twilio.params["CallSid"]
    store = services_of(screened_app).store
    found = {c.call_sid: (c.service, c.services, c.answered_destination, c.outcome, c.path) for c in store.calls()}
    assert found == {
        talked: (
            "child-at-risk",
            ("child-at-risk",),
            "out-of-hours",
            "connected",
            "main>1 -> child-at-risk -> mash(unaccepted) -> out-of-hours(completed)",
        ),
        nobody: (
            "child-at-risk",
            ("child-at-risk",),
            None,
            None,
            "main>1 -> child-at-risk -> mash(unaccepted) -> out-of-hours(no-answer)",
        ),
    }
    assert [c.call_sid for c in store.calls(service="child-at-risk", outcome="connected")] == [talked]


def test_a_held_call_outlives_the_retention_purge(screened_app: Any) -> None:
    """The retention purge, 400 days on, removes a call recorded by the webhooks but keeps a held one with its story."""
    twilio = Twilio(screened_app.test_client())
    twilio.press(twilio.post("/voice/wiltshire"), "1")
    held = twilio.params["CallSid"]
    twilio.params["CallSid"] = "CA" + "4" * 32
    twilio.press(twilio.post("/voice/wiltshire"), "1")
    services = services_of(screened_app)
    (started,) = {c.started_at for c in services.store.calls()}
    assert services.store.hold(held, started, "alice", "police request 1234") is True
    assert services.store.purge(started + timedelta(days=400, seconds=1)) == 1
    (kept,) = services.store.calls()
    story = services.store.story(held)
    assert kept.call_sid == held and kept.held and story is not None
    assert [e.kind for e in story.events] == ["menu", "key", "route"]
