"""How an answer is confirmed, per destination: person (press 1), machine-detection (Twilio's AMD), direct.

Plain values as in test_flow.py, the rendered TwiML parsed, and strict simulations. Expected
URLs, numbers and verdicts are written out by hand from schedules/*.yaml and Twilio's pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from ivr import config
from ivr.core.facts import Fact, talked
from ivr.core.flow import CallFlow
from ivr.core.model import Answer
from ivr.core.state import Call, Chain, DialResult, Screening
from ivr.core.verbs import Dial, Hangup, Say
from ivr.simulate import CALLER as CALLERS_CALL
from ivr.simulate import problems, simulate
from ivr.web import twiml
from tests.builders import (
    CRT_OUT_OF_HOURS,
    FLOW,
    HANTS_PROFESSIONALS,
    HANTS_PUBLIC,
    LADO,
    MASH,
    WILTS_OUT_OF_HOURS,
    assert_one_problem,
    at,
    config_problems,
    shipped,
    write_files,
)
from tests.conftest import validate_twiml

OFFICE = at("2027-03-03T11:00")  # a Wednesday: every office is open
CALLER = "+447911123456"

# Three teams, one of each kind, rung in this order by the test line's urgent service.
SCHEDULE = """\
line: test
timezone: Europe/London
destinations:
  office: {name: the office, number: 01225 713090, answer: person}
  mobile: {name: the duty mobile, number: 07733 303124, answer: machine-detection}
  centre: {name: the contact centre, number: 0300 456 0100, answer: direct}
services:
  child-at-risk:
    name: worried about a child
    always_open: true
    fallback: [mobile, centre]
    rules:
      - {to: office, time: "00:00-24:00", on: any}
"""
VIA = "via=the+menu"


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> CallFlow:
    """The test line with a person-screened office, a machine-detected mobile and a direct contact centre."""
    folder = write_files(tmp_path_factory.mktemp("kinds"), schedule=SCHEDULE, flow=FLOW.format(line="test"))
    return CallFlow(config.load(folder, now=OFFICE).line("test"))


def call() -> Call:
    """The caller's call CA1 in office hours."""
    return Call("CA1", CALLER, "+441225000000", OFFICE)


def chain(*tried: str) -> Chain:
    """The urgent chain after dialling `tried`, one attempt each."""
    return Chain("child-at-risk", "the menu", tried, 1, len(tried))


def dials(reply: Any) -> list[Dial]:
    """The Dials of a reply."""
    return [v for v in reply.verbs if isinstance(v, Dial)]


# -- the schedule field -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "destination", "answer"),
    [
        ("wiltshire", "mash", Answer.DIRECT),
        ("wiltshire", "out-of-hours", Answer.DIRECT),
        ("wiltshire", "standby", Answer.DIRECT),
        ("wiltshire", "advocacy", Answer.DIRECT),
        ("wiltshire", "sst-north", Answer.MACHINE_DETECTION),
        ("wiltshire", "befriending-mobile", Answer.MACHINE_DETECTION),
        ("hampshire", "crt-public", Answer.DIRECT),
        ("hampshire", "crt-professionals", Answer.MACHINE_DETECTION),
        ("hampshire", "out-of-hours", Answer.DIRECT),
        ("hampshire", "lado", Answer.MACHINE_DETECTION),
        ("isle-of-wight", "crt-professionals", Answer.DIRECT),
        ("isle-of-wight", "lado", Answer.MACHINE_DETECTION),
    ],
)
def test_shipped_destinations_say_how_an_answer_is_confirmed(line: str, destination: str, answer: Answer) -> None:
    """0300 contact centres connect on pickup; teams' own phones that may go to voicemail are machine-detected."""
    assert shipped().line(line).schedule.destinations[destination].answer is answer


def test_a_destination_without_answer_is_screened_by_a_person(tmp_path: Path) -> None:
    """A council's own destination that names no `answer` keeps press-1 screening."""
    folder = write_files(tmp_path)
    assert config.load(folder, now=OFFICE).line("test").schedule.destinations["office"].answer is Answer.PERSON


def test_an_unknown_answer_is_refused_with_its_file_and_line(tmp_path: Path) -> None:
    """`answer: voicemail` is refused at its own line, naming the three known ways."""
    folder = write_files(
        tmp_path, schedule=SCHEDULE.replace("answer: direct", "answer: voicemail"), flow=FLOW.format(line="test")
    )
    assert_one_problem(
        config_problems(folder),
        "schedules/test.yaml",
        6,
        "destinations.centre.answer",
        "'voicemail' is not a way to confirm an answer (known: person, machine-detection, direct)",
    )


# -- what each kind dials -----------------------------------------------------------------------


def test_a_person_is_screened_by_the_number_url(kinds: CallFlow) -> None:
    """`person`: the <Number url> is the press-1 screening document, with no machine detection."""
    assert dials(kinds.connect(chain(), call())) == [
        Dial(
            "+441225713090",
            f"/voice/test/dialled/child-at-risk?{VIA}&tried=office&round=1&attempt=1",
            f"/voice/test/screen/child-at-risk?call=CA1&attempt=1&{VIA}",
            CALLER,
            25,
        )
    ]


def test_machine_detection_posts_its_verdict_to_the_detected_document(kinds: CallFlow) -> None:
    """`machine-detection`: Twilio's AMD on the Number, its verdict going to /detected."""
    assert dials(kinds.connect(chain("office"), call())) == [
        Dial(
            "+447733303124",
            f"/voice/test/dialled/child-at-risk?{VIA}&tried=office%2Cmobile&round=1&attempt=2",
            f"/voice/test/detected/child-at-risk?call=CA1&attempt=2&{VIA}",
            CALLER,
            25,
            machine_detection=True,
        )
    ]


def test_a_direct_team_is_connected_on_pickup(kinds: CallFlow) -> None:
    """`direct`: no url at all, so whoever (or whatever) picks up is connected."""
    assert dials(kinds.connect(chain("office", "mobile"), call())) == [
        Dial(
            "+443004560100",
            f"/voice/test/dialled/child-at-risk?{VIA}&tried=office%2Cmobile%2Ccentre&round=1&attempt=3",
            "",
            CALLER,
            25,
        )
    ]


def _number(dial: Dial) -> dict[str, str]:
    """The attributes of the rendered <Number>, parsed and checked against Twilio's schema."""
    doc = validate_twiml(twiml.render([dial], "Polly.Amy", "en-GB", "https://ivr.example.org"))
    numbers = doc.findall("./Dial/Number")
    assert len(numbers) == 1
    return dict(numbers[0].attrib)


STATUS = {
    "statusCallback": "https://ivr.example.org/voice/status",
    "statusCallbackEvent": "initiated ringing answered completed",
    "statusCallbackMethod": "POST",
}


def test_person_renders_a_number_url_without_machine_detection() -> None:
    """<Number url method statusCallback...>, no machineDetection."""
    dial = Dial("+441225713090", "/voice/test/dialled/x", "/voice/test/screen/x", None, 25)
    assert _number(dial) == {"url": "https://ivr.example.org/voice/test/screen/x", "method": "POST", **STATUS}


def test_machine_detection_renders_enable_and_the_detected_url() -> None:
    """<Number machineDetection="Enable" url=...>: the url acts on AnsweredBy; Twilio's default timeout."""
    dial = Dial("+447733303124", "/voice/test/dialled/x", "/voice/test/detected/x", None, 25, machine_detection=True)
    assert _number(dial) == {
        "url": "https://ivr.example.org/voice/test/detected/x",
        "method": "POST",
        "machineDetection": "Enable",
        **STATUS,
    }


def test_direct_renders_a_number_without_url() -> None:
    """<Number statusCallback...> only: Twilio bridges on pickup."""
    dial = Dial("+443004560100", "/voice/test/dialled/x", "", None, 25)
    assert _number(dial) == STATUS


# -- the answerer's side of machine detection ---------------------------------------------------


@pytest.mark.parametrize("verdict", ["machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"])
def test_a_machine_is_hung_up_on(kinds: CallFlow, verdict: str) -> None:
    """A voicemail or fax verdict hangs up the answerer's leg before it is bridged; recorded as not accepted."""
    reply = kinds.detected(Screening("CA1", 2, "child-at-risk", "the menu"), verdict)
    assert reply.verbs == [Hangup()]
    assert reply.facts == [(Fact.SCREEN, {"attempt": 2, "accepted": False, "answered_by": verdict})]


@pytest.mark.parametrize(("verdict", "recorded"), [("human", "human"), ("unknown", "unknown"), ("", "unknown")])
def test_a_person_or_an_unsure_verdict_is_connected(kinds: CallFlow, verdict: str, recorded: str) -> None:
    """human, unknown (or no verdict) hear where the call comes from, and the document ends: Twilio bridges."""
    reply = kinds.detected(Screening("CA1", 2, "child-at-risk", "the menu"), verdict)
    assert reply.verbs == [Say("A call from the Test line line: worried about a child.")]
    assert reply.facts == [(Fact.SCREEN, {"attempt": 2, "accepted": True, "answered_by": recorded})]


# -- the dial's result --------------------------------------------------------------------------

NUMBERS = {"office": "+441225713090", "mobile": "+447733303124", "centre": "+443004560100"}
KINDS = {"office": "person", "mobile": "machine-detection", "centre": "direct"}


@pytest.mark.parametrize("team", ["office", "mobile", "centre"])
@pytest.mark.parametrize("accepted", [True, False, None], ids=["accepted", "not-accepted", "unreadable"])
def test_dial_bridged_true_ends_the_call_whatever_was_recorded(kinds: CallFlow, team: str, accepted: bool | None) -> None:
    """DialBridged=true: the caller talked, so goodbye; never rung on, even with the record saying otherwise."""
    reply = kinds.dialled(chain(team), DialResult("completed", "75", accepted, bridged=True), call())
    assert reply.verbs == [Say("The call has ended. Goodbye."), Hangup()]
    assert reply.facts == [
        (
            Fact.DIAL,
            {
                "attempt": 1,
                "destination": team,
                "number": NUMBERS[team],
                "status": "completed",
                "duration": "75",
                "answer": KINDS[team],
                "bridged": True,
            },
        ),
        (Fact.END, {"outcome": "connected"}),
    ]


@pytest.mark.parametrize("team", ["office", "mobile"])
@pytest.mark.parametrize("accepted", [True, None], ids=["accepted", "unreadable"])
def test_dial_bridged_false_rings_the_next_team(kinds: CallFlow, team: str, accepted: bool | None) -> None:
    """DialBridged=false after a pickup (refused screening, a machine hung up on): the next team is rung."""
    reply = kinds.dialled(chain(team), DialResult("completed", "9", accepted, bridged=False), call())
    assert reply.verbs[0] == Say("There was no answer.")
    assert [d.number for d in dials(reply)] == ["+447733303124" if team == "office" else "+441225713090"]
    assert reply.facts[0][1]["status"] == "unaccepted" and reply.facts[0][1]["bridged"] is False


def test_a_direct_team_not_bridged_rings_the_next(kinds: CallFlow) -> None:
    """A direct team that was not bridged (no-answer, DialBridged=false) moves on to the next team."""
    reply = kinds.dialled(chain("office", "mobile", "centre"), DialResult("no-answer", "0", None, bridged=False), call())
    assert reply.verbs[0] == Say("There was no answer.")
    assert not dials(reply)  # all three tried: another round is offered


@pytest.mark.parametrize(
    ("team", "accepted", "talked"),
    [
        ("office", True, True),
        ("office", False, False),
        ("office", None, True),
        ("mobile", False, False),
        ("mobile", None, True),
        ("centre", False, True),
        ("centre", None, True),
    ],
    ids=["person-accepted", "person-refused", "person-unreadable", "amd-machine", "amd-unreadable", "direct", "direct-unread"],
)
def test_without_dial_bridged_the_status_and_record_decide(
    kinds: CallFlow, team: str, accepted: bool | None, talked: bool
) -> None:
    """No DialBridged: 'completed' ends the call unless the record says the screen or detection refused it; direct needs no record."""
    reply = kinds.dialled(chain(team), DialResult("completed", "40", accepted), call())
    assert (reply.verbs[-1] == Hangup()) is talked
    assert (reply.facts[-1] == (Fact.END, {"outcome": "connected"})) is talked


@pytest.mark.parametrize("team", ["office", "mobile", "centre"])
@pytest.mark.parametrize("status", ["completed", "answered", "no-answer", "busy", "failed", "canceled", "in-progress", ""])
@pytest.mark.parametrize("bridged", [True, False, None], ids=["bridged", "not-bridged", "unsaid"])
@pytest.mark.parametrize("accepted", [True, False, None], ids=["accepted", "not-accepted", "unreadable"])
def test_the_dial_fact_reads_back_as_talked_exactly_when_the_call_ended_connected(
    kinds: CallFlow, team: str, status: str, bridged: bool | None, accepted: bool | None
) -> None:
    """Whatever Twilio sends, the call records' reading of the DIAL fact (facts.talked) agrees with the flow's decision."""
    reply = kinds.dialled(chain(team), DialResult(status, "40", accepted, bridged), call())
    (kind, dial), *rest = reply.facts
    assert kind is Fact.DIAL
    assert talked(dial) is ((Fact.END, {"outcome": "connected"}) in rest)


# -- strict simulations of the shipped lines ----------------------------------------------------


def test_simulated_lado_voicemail_rings_out_of_hours() -> None:
    """Hampshire, 2 (LADO) whose voicemail answers: AMD hangs up on it and Out of Hours is rung and connected."""
    sim = simulate("hampshire", OFFICE, keys="2", dial_statuses=("machine", "completed"), strict=True)
    assert sim.broken is None
    assert sim.dials == [[LADO], [CRT_OUT_OF_HOURS]]
    assert sim.connected_to == CRT_OUT_OF_HOURS
    detected = next(step for step in sim.steps if "/detected/" in step["path"])
    assert detected["params"]["AnsweredBy"] == "machine_start"
    dialled = [step["params"] for step in sim.steps if "/dialled/" in step["path"]]
    assert [(p["DialCallStatus"], p["DialBridged"]) for p in dialled] == [("completed", "false"), ("completed", "true")]


def test_simulated_lado_person_is_connected_without_pressing() -> None:
    """Hampshire, 2 (LADO) answered by a person: connected on AMD's 'human', nobody presses 1."""
    sim = simulate("hampshire", OFFICE, keys="2", dial_statuses=("completed",), strict=True)
    assert sim.broken is None and sim.dials == [[LADO]] and sim.connected_to == LADO


def test_simulated_mash_contact_centre_is_connected_on_pickup() -> None:
    """Wiltshire MASH (direct) picks up: connected at once, with no screening document asked for."""
    sim = simulate("wiltshire", OFFICE, keys="1", dial_statuses=("completed",), strict=True)
    assert sim.broken is None and sim.dials == [[MASH]] and sim.connected_to == MASH
    assert not any("/screen" in step["path"] or "/detected/" in step["path"] for step in sim.steps)


def test_simulated_mash_unanswered_reaches_out_of_hours() -> None:
    """MASH not answering: Out of Hours (direct) is rung next and connected, the chain MASH -> Out of Hours."""
    sim = simulate("wiltshire", OFFICE, keys="1", dial_statuses=("no-answer", "completed"), strict=True)
    assert sim.broken is None and sim.dials == [[MASH], [WILTS_OUT_OF_HOURS]] and sim.connected_to == WILTS_OUT_OF_HOURS


def test_simulated_professionals_line_voicemail_rings_out_of_hours() -> None:
    """Hampshire professionals' line (machine-detection) answered by voicemail: Out of Hours is rung."""
    sim = simulate("hampshire", OFFICE, keys="3", dial_statuses=("machine", "completed"), strict=True)
    assert sim.broken is None and sim.dials == [[HANTS_PROFESSIONALS], [CRT_OUT_OF_HOURS]]


def test_simulated_public_line_is_a_contact_centre() -> None:
    """Hampshire public line (direct): one pickup is the conversation."""
    sim = simulate("hampshire", OFFICE, keys="1", dial_statuses=("completed",), strict=True)
    assert sim.broken is None and sim.dials == [[HANTS_PUBLIC]] and sim.connected_to == HANTS_PUBLIC


def test_strict_refuses_machine_detection_without_a_url() -> None:
    """A <Number machineDetection> with no url would bridge a machine: --strict names it."""
    doc = ElementTree.fromstring('<Response><Dial><Number machineDetection="Enable">+447733303124</Number></Dial></Response>')
    assert problems(doc, CALLERS_CALL) == ["<Number machineDetection> has no url to act on AnsweredBy"]
