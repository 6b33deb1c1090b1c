"""`ivr simulate --strict`: Twilio's documented rules, each broken once by a hand-made document, and every shipped path kept to them.

The rules come from Twilio's TwiML pages: <Number> (the url document may hold only Play, Say,
Gather and Hangup; at most ten Numbers in a Dial), <Gather> (nests Say, Play and Pause; timeout and
numDigits positive; finishOnKey one key or none; no input falls through), <Dial> (no action: the
next verb once the dialled call ends; timeout 5-600).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from ivr.cli import main
from ivr.core.flow import CallFlow, Reply
from ivr.core.verbs import Gather, Redirect, Say
from ivr.services import services_of
from ivr.simulate import BASE, MAX_STEPS, Caller, Simulation, Simulator, problems, simulate
from tests.builders import (
    CRT_OUT_OF_HOURS,
    GOOD_RULES,
    HANTS_PUBLIC,
    IOW_PUBLIC,
    MASH,
    WILTS_OUT_OF_HOURS,
    at,
    screened_copy,
    shipped,
    write_line,
)
from tests.conftest import validate_twiml

OFFICE = at("2027-03-03T11:00")  # a Wednesday: MASH and the CRT are open
NIGHT = at("2027-03-04T03:00")  # a Thursday night: Standby in Wiltshire, Out of Hours in Hampshire and the Isle of Wight
START = f"{BASE}/voice/wiltshire"
SCREEN = f"{BASE}/screen"
LINES = ("wiltshire", "hampshire", "isle-of-wight")
OUTCOMES = ("completed", "no-answer", "busy", "unaccepted", "machine")
# Whether the caller ends up connected, by how every team answers. No shipped team is screened by a
# person, so one who picks up and presses nothing is connected (direct, or machine detection hears a
# human). A voicemail ("machine") is connected only where a direct number comes in the chain: not checked.
CONNECTS = {"completed": True, "no-answer": False, "busy": False, "unaccepted": True, "machine": None}


def doc(*verbs: str) -> str:
    """A TwiML document of the given verbs, as Twilio would read it."""
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


def dial(*numbers: str, action: str = "", screen: str = "", timeout: str = "25") -> str:
    """A <Dial> of `numbers`, with an action and a screening URL if given."""
    url = f' url="{screen}"' if screen else ""
    nouns = "".join(f"<Number{url}>{n}</Number>" for n in numbers)
    act = f' action="{action}"' if action else ""
    return f'<Dial timeout="{timeout}"{act}>{nouns}</Dial>'


class Documents:
    """Stands in for the app: each URL (without its query) answers with a fixed document; records what was asked."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, dict[str, str]]] = []

    def __call__(self, url: str, params: dict[str, str], _headers: dict[str, str]) -> tuple[int, str]:
        self.asked.append((url, params))
        return 200, self.answers[url.split("?")[0]]


@pytest.fixture(scope="module")
def wiltshire() -> CallFlow:
    cfg = shipped()
    return CallFlow(cfg.line("wiltshire"))


def play(
    flow: CallFlow, answers: dict[str, str], keys: str = "", statuses: tuple[str, ...] = (), strict: bool = True
) -> Simulation:
    """Play a call through hand-made documents."""
    return Caller(Documents(answers), "token", flow, BASE, OFFICE, keys, "+447911123456", list(statuses), strict=strict).run()


# -- each rule, broken by a hand-made document --------------------------------------------------

SAY = "<Say>Hello.</Say>"


@pytest.mark.parametrize(
    ("screening", "rule"),
    [
        (doc("<Gather numDigits='1' action='/ok'><Say>Press 1.</Say></Gather>", "<Redirect>/again</Redirect>"), "<Redirect>"),
        (doc(SAY, dial("+441000000001")), "<Dial>"),
        (doc("<Pause length='1'/>", SAY), "<Pause>"),
        (doc("<Record/>"), "<Record>"),
    ],
    ids=["redirect", "dial", "pause", "record"],
)
def test_the_number_url_document_allows_only_play_say_gather_hangup(wiltshire: CallFlow, screening: str, rule: str) -> None:
    """A <Number url> document with any verb but Play, Say, Gather and Hangup fails the call at that document."""
    answers = {START: doc(dial(MASH, action="/dialled", screen=SCREEN)), SCREEN: screening}
    result = play(wiltshire, answers, statuses=("completed",))
    assert result.broken == f"/screen: {rule} is not allowed in the <Number url> document"
    assert result.connected_to is None


def test_the_same_verbs_pass_in_the_callers_call(wiltshire: CallFlow) -> None:
    """Redirect and Pause are fine in the caller's own call: the rule is about the context."""
    answers = {START: doc("<Pause length='1'/>", "<Redirect>/next</Redirect>"), f"{BASE}/next": doc(SAY, "<Hangup/>")}
    assert play(wiltshire, answers).broken is None


def test_a_screening_document_of_play_say_gather_hangup_passes(wiltshire: CallFlow) -> None:
    """The shape the app now serves (Gather, Gather, Hangup) passes, and pressing 1 connects."""
    gather = "<Gather numDigits='1' timeout='8' action='/screened'><Say>Press 1.</Say></Gather>"
    answers = {
        START: doc(dial(MASH, action="/dialled", screen=SCREEN)),
        SCREEN: doc(gather, gather, "<Hangup/>"),
        f"{BASE}/screened": doc("<Say>Connecting.</Say>"),
        f"{BASE}/dialled": doc("<Hangup/>"),
    }
    result = play(wiltshire, answers, statuses=("completed",))
    assert result.broken is None and result.connected_to == MASH


def test_an_unknown_verb_fails_the_call(wiltshire: CallFlow) -> None:
    """A verb Twilio does not know is refused."""
    result = play(wiltshire, {START: doc("<Speak>Hello.</Speak>")})
    assert result.broken == "/voice/wiltshire: <Speak> is not allowed in the caller's call"


def test_a_twilio_verb_the_simulator_cannot_play_fails_the_call(wiltshire: CallFlow) -> None:
    """A real verb with no simulation (Record) fails the strict call rather than being skipped silently."""
    result = play(wiltshire, {START: doc("<Record/>")})
    assert result.broken == "/voice/wiltshire: <Record> cannot be simulated"


@pytest.mark.parametrize(
    ("nested", "expected"),
    [
        ("<Redirect>/x</Redirect>", "<Redirect> cannot be nested in <Gather>"),
        ("<Gather><Say>Again.</Say></Gather>", "<Gather> cannot be nested in <Gather>"),
        (dial(MASH), "<Dial> cannot be nested in <Gather>"),
    ],
    ids=["redirect", "gather", "dial"],
)
def test_gather_nests_only_say_play_pause(wiltshire: CallFlow, nested: str, expected: str) -> None:
    """Anything but Say, Play and Pause inside a Gather fails the call."""
    result = play(wiltshire, {START: doc(f"<Gather numDigits='1'>{nested}</Gather>")})
    assert result.broken == f"/voice/wiltshire: {expected}"


def test_gather_may_nest_say_play_and_pause(wiltshire: CallFlow) -> None:
    """Say, Play and Pause inside a Gather pass."""
    inside = "<Say>Press 1.</Say><Pause length='2'/><Play>https://example.org/tone.mp3</Play>"
    assert play(wiltshire, {START: doc(f"<Gather numDigits='1'>{inside}</Gather>", "<Hangup/>")}).broken is None


def test_dial_holds_only_its_nouns(wiltshire: CallFlow) -> None:
    """A Say inside a Dial fails the call."""
    result = play(wiltshire, {START: doc(f"<Dial><Say>Hi.</Say><Number>{MASH}</Number></Dial>")})
    assert result.broken == "/voice/wiltshire: <Say> cannot be nested in <Dial>"


def test_dial_rings_at_most_ten_numbers(wiltshire: CallFlow) -> None:
    """Eleven Numbers in one Dial fail the call; ten pass."""
    eleven = [f"+4410000000{n:02d}" for n in range(11)]
    assert play(wiltshire, {START: doc(dial(*eleven))}).broken == "/voice/wiltshire: <Dial> holds more than 10 <Number>s"
    assert play(wiltshire, {START: doc(dial(*eleven[:10]))}).broken is None


@pytest.mark.parametrize(
    ("verb", "expected"),
    [
        ("<Gather timeout='0'/>", "<Gather timeout='0'> is not at least 1"),
        ("<Gather numDigits='0'/>", "<Gather numDigits='0'> is not at least 1"),
        ("<Gather numDigits='two'/>", "<Gather numDigits='two'> is not at least 1"),
        ("<Gather finishOnKey='##'/>", "<Gather finishOnKey='##'> is not one of"),
        ("<Gather finishOnKey='x'/>", "<Gather finishOnKey='x'> is not one of"),
        ("<Gather method='PUT'/>", "<Gather method='PUT'> is not one of 'GET', 'POST'"),
        (dial(MASH, timeout="4"), "<Dial timeout='4'> is outside 5-600"),
        (dial(MASH, timeout="601"), "<Dial timeout='601'> is outside 5-600"),
        (
            f"<Dial answerOnBridge='yes'><Number>{MASH}</Number></Dial>",
            "<Dial answerOnBridge='yes'> is not one of 'false', 'true'",
        ),
        (
            f"<Dial><Number machineDetectionTimeout='61'>{MASH}</Number></Dial>",
            "<Number machineDetectionTimeout='61'> is outside 3-60",
        ),
        (f"<Dial><Number statusCallbackEvent='ringing bridged'>{MASH}</Number></Dial>", "<Number statusCallbackEvent="),
        (f"<Dial><Number sendDigits='12a'>{MASH}</Number></Dial>", "<Number sendDigits='12a'> holds keys other than"),
        ("<Pause length='0'/>", "<Pause length='0'> is not at least 1"),
    ],
    ids=[
        "gather-timeout-0",
        "gather-numdigits-0",
        "gather-numdigits-text",
        "finish-on-two-keys",
        "finish-on-a-letter",
        "gather-method",
        "dial-timeout-4",
        "dial-timeout-601",
        "answer-on-bridge",
        "amd-timeout",
        "status-event",
        "send-digits",
        "pause-length",
    ],
)
def test_attribute_out_of_range_fails_the_call(wiltshire: CallFlow, verb: str, expected: str) -> None:
    """An attribute outside its documented range or values fails the call."""
    result = play(wiltshire, {START: doc(verb, "<Hangup/>")})
    assert result.broken is not None and result.broken.startswith(f"/voice/wiltshire: {expected}")


@pytest.mark.parametrize(
    "verb",
    [
        "<Gather timeout='1' numDigits='20' finishOnKey=''/>",
        "<Gather finishOnKey='*'/>",
        dial(MASH, timeout="5"),
        dial(MASH, timeout="600"),
        f"<Dial><Number sendDigits='wwww1234#' statusCallbackEvent='initiated answered'>{MASH}</Number></Dial>",
    ],
    ids=["gather-edges", "finish-on-star", "dial-timeout-5", "dial-timeout-600", "number-attributes"],
)
def test_attributes_at_the_edges_of_their_range_pass(wiltshire: CallFlow, verb: str) -> None:
    """Values the pages allow, at the ends of each range, pass."""
    assert play(wiltshire, {START: doc(verb, "<Hangup/>")}).broken is None


@pytest.mark.parametrize(
    ("verb", "expected"),
    [
        ("<Say></Say>", "<Say> has no text"),
        ("<Redirect></Redirect>", "<Redirect> has no URL"),
        ("<Dial></Dial>", "<Dial> names nothing to dial"),
        ("<Dial><Number></Number></Dial>", "<Number> has no number"),
    ],
    ids=["say", "redirect", "dial", "number"],
)
def test_empty_verbs_fail_the_call(wiltshire: CallFlow, verb: str, expected: str) -> None:
    """A Say with nothing to say, a Redirect or Dial with nowhere to go fail the call."""
    assert play(wiltshire, {START: doc(verb)}).broken == f"/voice/wiltshire: {expected}"


def test_a_document_that_is_not_a_response_fails_the_call(wiltshire: CallFlow) -> None:
    """The root element must be <Response>."""
    result = play(wiltshire, {START: "<Reply><Say>Hello.</Say></Reply>"})
    assert result.broken == "/voice/wiltshire: the document is <Reply>, not <Response>"


def test_problems_lists_every_rule_a_document_breaks() -> None:
    """One document breaking three rules is told all three."""
    bad = ElementTree.fromstring(doc("<Redirect>/x</Redirect>", "<Gather timeout='0'><Dial>+441</Dial></Gather>"))
    assert problems(bad, "the <Number url> document") == [
        "<Redirect> is not allowed in the <Number url> document",
        "<Gather timeout='0'> is not at least 1",
        "<Dial> cannot be nested in <Gather>",
    ]


# -- what Twilio does that our old reading did not ----------------------------------------------


def test_a_dial_without_action_goes_on_to_the_next_verb(wiltshire: CallFlow) -> None:
    """The old static answer (two Dials, no action): after a completed call Twilio rings the second team too."""
    answers = {START: doc(dial(MASH), dial(WILTS_OUT_OF_HOURS), "<Say>Nobody could take your call.</Say>")}
    strict = play(wiltshire, answers, statuses=("completed", "completed"))
    assert strict.dials == [[MASH], [WILTS_OUT_OF_HOURS]]
    assert strict.transcript[-2:] == ["  Caller hears: Nobody could take your call.", "  Call ends"]
    loose = play(wiltshire, answers, statuses=("completed", "completed"), strict=False)
    assert loose.dials == [[MASH]], "without --strict the old reading stays: the call ends at the Dial"


def test_a_gather_with_no_input_falls_through(wiltshire: CallFlow) -> None:
    """A Gather the caller lets pass goes on to the next verb, not to its action."""
    answers = {START: doc("<Gather numDigits='1' action='/pressed'><Say>Press 1.</Say></Gather>", "<Say>Fell through.</Say>")}
    documents = Documents(answers)
    result = Caller(documents, "token", wiltshire, BASE, OFFICE, "", "+447911123456", [], strict=True).run()
    assert "  Caller hears: Fell through." in result.transcript
    assert [url for url, _ in documents.asked] == [START]


def test_action_on_empty_result_posts_no_digits(wiltshire: CallFlow) -> None:
    """With actionOnEmptyResult the Gather posts to its action even with no input."""
    gather = "<Gather numDigits='1' actionOnEmptyResult='true' action='/pressed'><Say>Press 1.</Say></Gather>"
    documents = Documents({START: doc(gather, "<Say>Fell through.</Say>"), f"{BASE}/pressed": doc("<Hangup/>")})
    Caller(documents, "token", wiltshire, BASE, OFFICE, "", "+447911123456", [], strict=True).run()
    assert documents.asked[1] == (f"{BASE}/pressed", {**documents.asked[0][1], "Digits": ""})


def test_a_gather_without_action_posts_to_its_own_document(wiltshire: CallFlow) -> None:
    """With keys and no action, Twilio posts to the URL of the document that holds the Gather."""
    documents = Documents({START: doc("<Gather numDigits='1'><Say>Press 1.</Say></Gather>")})
    Caller(documents, "token", wiltshire, BASE, OFFICE, "1w", "+447911123456", [], strict=True).run()
    assert [url for url, _ in documents.asked] == [START, START]
    assert documents.asked[1][1]["Digits"] == "1"


# -- the app under --strict ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulators() -> Iterator[dict[str, Simulator]]:
    """One app per line, through which that line's calls are played."""
    built = {line: Simulator() for line in LINES}
    yield built
    for simulator in built.values():
        simulator.close()


@pytest.mark.parametrize(
    ("line", "numbers"),
    [
        ("wiltshire", [MASH, WILTS_OUT_OF_HOURS]),
        ("hampshire", [HANTS_PUBLIC, CRT_OUT_OF_HOURS]),
        ("isle-of-wight", [IOW_PUBLIC, CRT_OUT_OF_HOURS]),
    ],
)
@pytest.mark.parametrize("outcome", ["completed", "no-answer", "busy"])
@pytest.mark.parametrize("when", [OFFICE, NIGHT], ids=["office", "night"])
def test_the_static_answer_rings_every_24_7_team_once_at_once(
    simulators: dict[str, Simulator], line: str, numbers: list[str], outcome: str, when: datetime
) -> None:
    """/voice/fallback: one Dial rings the line's 24/7 numbers together; after it, whatever the outcome, nobody else is rung."""
    simulator = simulators[line]
    simulator.at = when
    flow = services_flow(simulator, line)
    start = f"{BASE}/voice/fallback?line={line}"
    caller = Caller(
        simulator.post, simulator.token, flow, BASE, when, "", "+447911123456", [outcome] * 3, strict=True, start=start
    )
    result = caller.run()
    assert result.broken is None
    assert result.dials == [numbers]
    assert result.connected_to == (numbers[0] if outcome == "completed" else None)
    assert result.transcript[-2].startswith("  Caller hears: If nobody answered, please call again.")
    assert result.transcript[-1] == "  Call ends"
    validate_twiml(result.steps[0]["twiml"])


def services_flow(simulator: Simulator, line: str) -> CallFlow:
    """The flow the simulator's app serves for `line`."""
    snapshot = services_of(simulator.app).live.current()
    assert snapshot is not None
    return snapshot.flows[line]


def paths(flow: CallFlow) -> dict[str, str]:
    """Every way through a line's menus to a service, every shortcut, and silence: keys by a readable id."""
    found: dict[str, str] = {"silence": ""}

    def walk(menu: str, keys: str) -> None:
        for option in flow.flow.menus[menu].options:
            if option.menu:
                walk(option.menu, keys + option.key)
            else:
                found[f"{option.service}-by-{keys + option.key}"] = keys + option.key

    walk(flow.flow.start, "")
    shortcut = flow.flow.keys.shortcut
    found.update({f"shortcut-{code}": f"{shortcut}{code}" for code in flow.flow.shortcuts})
    return found


# Counted by hand from flows/*.yaml: menu leaves + shortcuts + silence.
PATHS = {"wiltshire": 18 + 10 + 1, "hampshire": 3 + 3 + 1, "isle-of-wight": 3 + 3 + 1}
# The ways to a service closed at NIGHT, from schedules/wiltshire.yaml (SEND and early support keep the front
# door's hours): the caller hears when it opens and, pressing nothing more, is told goodbye; nobody is rung.
CLOSED_AT_NIGHT = {("wiltshire", "send-by-3"), ("wiltshire", "early-support-by-64"), ("wiltshire", "shortcut-30")}


def test_every_path_of_every_shipped_line_keeps_twilios_rules(simulators: dict[str, Simulator]) -> None:
    """Each option and shortcut of each line, in office hours and at night, with every dial outcome, breaks no rule and ends.

    Every way rings someone, except a closed service at night, where silence ends the call politely.
    """
    started = time.monotonic()
    played = 0
    failures: list[str] = []
    for line in LINES:
        simulator = simulators[line]
        ways = paths(services_flow(simulator, line))
        assert len(ways) == PATHS[line], sorted(ways)
        for when in (OFFICE, NIGHT):
            for outcome in OUTCOMES:
                for name, keys in ways.items():
                    result = simulator.call(line, when, keys, dial_statuses=(outcome,) * MAX_STEPS, strict=True)
                    played += 1
                    ended = result.transcript[-1] == "  Call ends" and len(result.steps) < MAX_STEPS
                    connected = result.connected_to is not None
                    rings = when == OFFICE or (line, name) not in CLOSED_AT_NIGHT
                    expected = CONNECTS[outcome] if rings else False
                    if (
                        result.broken
                        or not ended
                        or bool(result.dials) != rings
                        or (expected is not None and connected != expected)
                    ):
                        failures.append(f"{line} {when:%H:%M} {outcome} {name}: {result.broken or result.transcript[-3:]}")
    assert failures == []
    assert played == 2 * len(OUTCOMES) * sum(PATHS.values())
    assert time.monotonic() - started < 60


def test_the_old_screening_document_fails_under_strict(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`ivr simulate --strict` exits 1 on a screening document ending in Redirect; without --strict the call plays (MASH screened by a person)."""

    def old_screen(self: CallFlow, screening: Any) -> Reply:
        gather = Gather(self.url("screened", **screening.to_query()), (Say("Press 1."),), 1, 8)
        return Reply([gather, Redirect(self.url("screen", screening.service, **screening.heard_again().to_query()))])

    monkeypatch.setattr(CallFlow, "screen", old_screen)
    folder = str(screened_copy(tmp_path / "screened"))
    args = ["simulate", "wiltshire", "--at", "2027-03-03T11:00", "--keys", "1", "--dial-status", "unaccepted", "--config", folder]
    assert main(args) == 0
    capsys.readouterr()
    assert main([*args, "--strict"]) == 1
    out, err = capsys.readouterr()
    assert "Twilio would not play this: <Redirect> is not allowed in the <Number url> document" in out
    assert err.startswith("ivr simulate: Twilio would not play /voice/wiltshire/screen/child-at-risk?")


# -- teams on a switchboard's extensions ----------------------------------------------------------


def switchboard_line(folder: Path) -> Path:
    """A test line whose office is extension 2 and night team extension 3 of one switchboard."""
    write_line(folder, GOOD_RULES)
    path = folder / "schedules" / "test.yaml"
    text = path.read_text().replace("number: 0300 456 0108}", "number: 0300 456 0108 ext 2}")
    path.write_text(text.replace("number: 0300 456 0100}", "number: 0300 456 0108 x3}"))
    return folder


def rung(result: Simulation) -> list[tuple[str, str | None]]:
    """Every <Number> the call's documents dialled, with its sendDigits."""
    docs = [ElementTree.fromstring(step["twiml"]) for step in result.steps]
    return [((n.text or "").strip(), n.get("sendDigits")) for doc in docs for n in doc.iter("Number")]


def test_a_team_on_an_extension_is_rung_within_twilios_rules(tmp_path: Path) -> None:
    """Pressing 1 in office hours rings the switchboard with sendDigits 'ww2'; strict simulation finds nothing wrong."""
    folder = switchboard_line(tmp_path)
    result = simulate("test", OFFICE, "1", dial_statuses=("completed",), config_dir=str(folder), strict=True)
    assert result.broken is None
    assert rung(result) == [(MASH, "ww2")]
    assert result.connected_to == MASH


def test_the_static_answer_keys_in_each_extension_within_twilios_rules(tmp_path: Path) -> None:
    """/voice/fallback rings both extensions of the switchboard at once, each with its own sendDigits, under strict rules."""
    with Simulator(str(switchboard_line(tmp_path))) as simulator:
        simulator.at = OFFICE
        flow = services_flow(simulator, "test")
        start = f"{BASE}/voice/fallback?line=test"
        result = Caller(
            simulator.post, simulator.token, flow, BASE, OFFICE, "", "+447911123456", ["no-answer"], strict=True, start=start
        ).run()
    assert result.broken is None
    assert rung(result) == [(MASH, "ww2"), (MASH, "ww3")]
