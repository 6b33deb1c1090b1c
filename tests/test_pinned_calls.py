"""Pinned call behaviour through the signed webhooks: diversions, closed services, acceptance and the call record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ivr.app import create_app
from ivr.records.recorder import Recorder
from ivr.records.story import tell
from ivr.services import services_of
from tests.builders import shipped_copy, write_files
from tests.conftest import FrozenClock, Twilio, london

# Numbers from the pages (see /work/shared/seeds/README.md), and as Polly reads them.
MASH = "+443004560108"
WILTS_OUT_OF_HOURS = "+443004560100"
MASH_SPOKEN = "zero three zero zero, four five six, zero one zero eight"
SEND = "special educational needs and disabilities (SEND)"  # the service's name in schedules/wiltshire.yaml
URGENT = "If you are worried that a child is at risk, press 1."

# The test line offers the urgent service on key 1 (every flow must) and its holiday clubs on key 2.
TEST_FLOW = """\
line: test
name: Test line
greeting: You have reached the test line.
warning: If a child is in immediate danger, hang up and call 999.
front_door: office
start: main
menus:
  main:
    options:
      - {key: "1", service: child-at-risk, label: "If you are worried a child is at risk"}
      - {key: "2", service: clubs, label: "For holiday clubs"}
"""

# Office and night team as in the builders; `interim` is a team that no rule names; the clubs
# close for the summer (every weekday from 19 July to 6 August 2027 is a council closure).
SUMMER = "\n".join(
    f"  - {{date: 2027-{month:02d}-{day:02d}, name: summer closure}}"
    for month, days in ((7, (19, 20, 21, 22, 23, 26, 27, 28, 29, 30)), (8, (2, 3, 4, 5, 6)))
    for day in days
)
TEST_SCHEDULE = f"""\
line: test
timezone: Europe/London
destinations:
  office: {{name: the office, number: 0300 456 0108}}
  night: {{name: the night team, number: 0300 456 0100}}
  interim: {{name: the interim duty team, number: 01249 707900}}
  clubs: {{name: the holiday clubs team, number: 01225 713090}}
services:
  child-at-risk:
    name: worried about a child
    always_open: true
    fallback: [night]
    rules:
      - {{to: office, days: mon-fri, time: "09:00-17:00"}}
      - {{to: night, time: "00:00-24:00", on: any}}
  clubs:
    name: holiday clubs
    rules:
      - {{to: clubs, days: mon-fri, time: "09:00-17:00"}}
closures:
{SUMMER}
overrides:
  - {{services: [child-at-risk], to: interim, from: 2027-03-03T09:00, until: 2027-03-03T17:00, reason: office move}}
"""


@pytest.fixture
def test_line(tmp_path: Path, settings: dict[str, Any]) -> Any:
    """The app serving the small test line above."""
    folder = write_files(tmp_path / "config", schedule=TEST_SCHEDULE, flow=TEST_FLOW)
    return create_app({**settings, "IVR_CONFIG_DIR": str(folder), "IVR_DEFAULT_LINE": "test"})


# -- 3. a diversion to a team that no rule names -------------------------------------------------


def test_diversion_to_a_team_no_rule_names_rings_that_team(test_line: Any, clock: FrozenClock) -> None:
    """During the diversion the urgent key rings the interim team (01249 707900) alone, then the service's fallback."""
    caller = Twilio(test_line.test_client())
    clock.at = london("2027-03-03T11:00")
    first = caller.press(caller.post("/voice/test"), "1")
    assert first.dialled() == ["+441249707900"]
    assert first.says() == ["Connecting you to the interim duty team."]
    assert caller.dial_result(first, "no-answer").dialled() == [WILTS_OUT_OF_HOURS]


def test_after_the_diversion_the_rules_ring_again(test_line: Any, clock: FrozenClock) -> None:
    """At 17:00 the diversion is over: the urgent key rings the night team the rules name."""
    caller = Twilio(test_line.test_client())
    clock.at = london("2027-03-03T17:00")
    assert caller.press(caller.post("/voice/test"), "1").dialled() == [WILTS_OUT_OF_HOURS]


# -- 4. the closed-service message ---------------------------------------------------------------


GOODBYE = "Thank you for calling. Goodbye."  # after the closed message, when nothing is pressed


def closed_words(when: str) -> str:
    return f"The service for {SEND} is closed at the moment. It opens again {when}. The number is {MASH_SPOKEN}. {URGENT}"


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2027-03-03T20:00", closed_words("tomorrow at 8:45 am")),
        ("2027-03-04T23:59", closed_words("tomorrow at 8:45 am")),
        ("2027-03-07T20:00", closed_words("tomorrow at 8:45 am")),
        ("2027-03-05T16:00", closed_words("on Monday at 8:45 am")),
        ("2027-03-05T20:00", closed_words("on Monday at 8:45 am")),
        ("2026-12-24T20:00", closed_words("on Tuesday at 8:45 am")),
        ("2027-03-04T02:00", closed_words("today at 8:45 am")),
    ],
    ids=[
        "wednesday-evening-tomorrow",
        "thursday-before-midnight-tomorrow",
        "sunday-evening-tomorrow",
        "friday-at-4pm-monday",
        "friday-evening-monday",
        "christmas-eve-tuesday-after-the-holidays",
        "small-hours-today",
    ],
)
def test_closed_send_says_when_it_reopens(twilio: Twilio, clock: FrozenClock, at: str, expected: str) -> None:
    """Wiltshire SEND out of hours: its own number, the day word and time it reopens, the urgent option, then a polite goodbye."""
    clock.at = london(at)
    answer = twilio.press(twilio.post("/voice/wiltshire"), "3")
    assert answer.says() == [expected, GOODBYE]
    assert answer.dialled() == []
    assert answer.redirect() is None and answer.doc[-1].tag == "Hangup"


@pytest.mark.parametrize(
    ("closures", "at", "when"),
    [
        (("2026-12-29", "2026-12-30", "2026-12-31"), "2026-12-24T20:00", "on Monday 4 January at 8:45 am"),
        (("2027-03-09", "2027-03-10", "2027-03-11", "2027-03-12"), "2027-03-08T20:00", "on Monday 15 March at 8:45 am"),
        (("2027-03-09", "2027-03-10", "2027-03-11"), "2027-03-08T20:00", "on Friday at 8:45 am"),
    ],
    ids=["christmas-closure-eleven-days", "a-week-exactly", "four-days"],
)
def test_closed_send_names_the_date_a_week_or_more_ahead(
    tmp_path: Path, settings: dict[str, Any], clock: FrozenClock, closures: tuple[str, ...], at: str, when: str
) -> None:
    """With council closures after it, SEND names the reopening date once it is seven or more days away."""
    folder = shipped_copy(tmp_path / "config")
    schedule = folder / "schedules" / "wiltshire.yaml"
    listed = "".join(f"\n  - {{date: {day}, name: council closure}}" for day in closures)
    schedule.write_text(schedule.read_text().replace("\nclosures: []", f"\nclosures:{listed}"))
    caller = Twilio(create_app({**settings, "IVR_CONFIG_DIR": str(folder)}).test_client())
    clock.at = london(at)
    assert caller.press(caller.post("/voice/wiltshire"), "3").says() == [closed_words(when), GOODBYE]


def test_key_1_during_the_closed_message_connects_child_at_risk(twilio: Twilio, clock: FrozenClock) -> None:
    """Pressing 1 while the closed message plays rings the child-at-risk team on duty (Out of Hours at 20:00)."""
    clock.at = london("2027-03-03T20:00")
    closed = twilio.press(twilio.post("/voice/wiltshire"), "3")
    assert twilio.press(closed, "1").dialled() == [WILTS_OUT_OF_HOURS]


# -- 8. a service closed for more than two weeks -------------------------------------------------


def test_service_closed_three_weeks_says_when_it_reopens(test_line: Any, clock: FrozenClock) -> None:
    """The clubs, closed from Friday 16 July to Monday 9 August 2027, say they open on Monday 9 August at 9 am, and their number."""
    caller = Twilio(test_line.test_client())
    clock.at = london("2027-07-16T18:00")
    answer = caller.press(caller.post("/voice/test"), "2")
    assert answer.says() == [
        "The service for holiday clubs is closed at the moment. It opens again on Monday 9 August at 9 am. "
        "The number is zero one two two five, seven one three zero nine zero. "
        "If you are worried that a child is at risk, press 1.",
        GOODBYE,
    ]


# -- 5. a caller who talked is not rung on when acceptance cannot be read -------------------------


class BrokenStore:
    """A call store whose acceptance records cannot be read."""

    def accepted(self, _sid: str, _attempt: int) -> bool:
        raise RuntimeError("database unreachable")


def test_recorder_says_unknown_when_the_store_fails() -> None:
    """Recorder.accepted is None (not False) when the store raises."""
    assert Recorder(BrokenStore()).accepted("CA1", 1) is None


@pytest.mark.parametrize("status", ["completed", "answered"])
def test_unreadable_acceptance_after_talking_ends_the_call(
    twilio: Twilio, app: Any, monkeypatch: pytest.MonkeyPatch, status: str
) -> None:
    """When acceptance cannot be read, an answered dial ends the call: no second team is rung."""
    first = twilio.press(twilio.post("/voice/wiltshire"), "1")
    assert first.dialled() == [MASH]
    monkeypatch.setattr(services_of(app).store, "accepted", BrokenStore().accepted)
    done = twilio.dial_result(first, status, DialCallDuration="95")
    assert done.dialled() == []
    assert done.says() == ["The call has ended. Goodbye."]
    assert done.doc.find("Hangup") is not None


def test_unreadable_acceptance_without_an_answer_still_rings_on(
    twilio: Twilio, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When acceptance cannot be read but nobody answered, the next team in the chain is rung."""
    first = twilio.press(twilio.post("/voice/wiltshire"), "1")
    monkeypatch.setattr(services_of(app).store, "accepted", BrokenStore().accepted)
    assert twilio.dial_result(first, "no-answer").dialled() == [WILTS_OUT_OF_HOURS]


# -- 6. the call record names each dialled team and says who did not accept -----------------------


def test_record_names_each_dialled_team_and_the_unaccepted_answer(screened: Twilio) -> None:
    """Screened by a person (press 1): MASH answered by voicemail then Out of Hours unanswered: each dial names its team and number; the first 'not accepted'."""
    first = screened.press(screened.post("/voice/wiltshire"), "1")
    second = screened.dial_result(first, "completed", DialCallDuration="30")
    assert second.dialled() == [WILTS_OUT_OF_HOURS]
    screened.dial_result(second, "no-answer")
    story = services_of(screened.client.application).store.story(screened.params["CallSid"])
    dials = [e.detail for e in story.events if e.kind == "dial"]
    assert [(d["attempt"], d["destination"], d["number"], d["status"]) for d in dials] == [
        (1, "mash", MASH, "unaccepted"),
        (2, "out-of-hours", WILTS_OUT_OF_HOURS, "no-answer"),
    ]
    told = tell(story)
    assert f"11:00:00 Dialled mash {MASH}: answered but not accepted" in told
    assert f"11:00:00 Dialled out-of-hours {WILTS_OUT_OF_HOURS}: no-answer" in told


def test_record_says_the_answerer_did_not_accept(screened: Twilio) -> None:
    """Screened by a person (press 1): An answerer who twice presses a key other than 1 is told in the story as not accepting attempt 1."""
    first = screened.press(screened.post("/voice/wiltshire"), "1")
    number = next(first.doc.iter("Number"))
    leg = {"CallSid": "CA" + "9" * 32, "ParentCallSid": screened.params["CallSid"]}
    screen = screened.post(number.get("url") or "", **leg)
    again = screened.press(screen, "5", **leg)
    declined = screened.press(again, "5", **leg)
    assert declined.doc.find("Hangup") is not None
    screened.post("/voice/status", CallStatus="completed", CallDuration="40")
    told = tell(services_of(screened.client.application).store.story(screened.params["CallSid"]))
    assert "11:00:00 Answerer of attempt 1 did not accept the call" in told


def test_record_says_the_answerer_accepted_and_talked(screened: Twilio) -> None:
    """Screened by a person (press 1): An answerer who pressed 1 is told as accepting, with the team, number and talking time."""
    first = screened.press(screened.post("/voice/wiltshire"), "1")
    screened.accept(first)
    screened.dial_result(first, "completed", DialCallDuration="125")
    told = tell(services_of(screened.client.application).store.story(screened.params["CallSid"]))
    assert f"11:00:00 Dialled mash {MASH}: accepted, talked 2m05s" in told


def test_answerer_who_declines_does_not_end_the_call(screened: Twilio) -> None:
    """Screened by a person (press 1): An answerer who twice presses a key other than 1 has not accepted: when the dial ends the caller is rung on."""
    first = screened.press(screened.post("/voice/wiltshire"), "1")
    number = next(first.doc.iter("Number"))
    leg = {"CallSid": "CA" + "9" * 32, "ParentCallSid": screened.params["CallSid"]}
    screen = screened.post(number.get("url") or "", **leg)
    screened.press(screened.press(screen, "5", **leg), "5", **leg)
    assert screened.dial_result(first, "completed", DialCallDuration="12").dialled() == [WILTS_OUT_OF_HOURS]


def test_record_tells_machine_detection_and_what_twilio_reported(twilio: Twilio, app: Any) -> None:
    """Hampshire LADO answered by voicemail: the story says AMD heard a machine, and the dial was not bridged."""
    first = twilio.press(twilio.post("/voice/hampshire"), "2")
    number = next(first.doc.iter("Number"))
    leg = {"CallSid": "CA" + "9" * 32, "ParentCallSid": twilio.params["CallSid"]}
    twilio.post(number.get("url") or "", AnsweredBy="machine_start", **leg)
    ringing_on = tell(services_of(app).store.story(twilio.params["CallSid"]))
    assert "11:00:00 Machine detection on attempt 1 heard machine_start: hung up on as a machine" in ringing_on
    twilio.dial_result(first, "completed", DialBridged="false", DialCallDuration="4")
    story = services_of(app).store.story(twilio.params["CallSid"])
    (dial,) = [e.detail for e in story.events if e.kind == "dial"]
    assert (dial["destination"], dial["status"], dial["answer"], dial["bridged"]) == (
        "lado",
        "unaccepted",
        "machine-detection",
        False,
    )
    told = tell(story)
    assert "11:00:00 Dialled lado +441962876364: answered but not accepted" in told
    screen = [e.detail for e in story.events if e.kind == "screen"]
    assert screen == [{"attempt": 1, "accepted": False, "answered_by": "machine_start"}]
