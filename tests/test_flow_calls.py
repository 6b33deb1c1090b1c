"""Whole calls through the call flow at its edges, played by the simulator under --strict: silence, closed services.

Expected numbers and words are written out from schedules/*.yaml, flows/*.yaml and the pages
(/work/shared/seeds/README.md), never asked of the flow.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from xml.etree import ElementTree

import pytest

from ivr.simulate import Simulation, Simulator
from tests.builders import CRT_OUT_OF_HOURS, HANTS_PUBLIC, IOW_PUBLIC, MASH, WILTS_OUT_OF_HOURS, at

WORDS_PER_MINUTE = 160  # a calm reading pace; Polly reads about this fast
FIRST_RING_WITHIN = 60  # seconds from the start of a silent call to the urgent route ringing
SILENT = "w" * 10  # the caller lets every prompt time out

OFFICE = at("2027-03-03T11:00")  # a Wednesday: MASH and the CRT are open
EVENING = at("2027-03-03T20:00")  # Out of Hours on every line
NIGHT = at("2027-03-04T02:00")  # Wiltshire's Standby (on the Out of Hours number), the CRT's Out of Hours
SATURDAY = at("2027-03-06T10:00")  # Out of Hours on every line


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    """One app serving the shipped lines, through which every call here is played."""
    with Simulator() as built:
        yield built


def seconds_to_first_dial(result: Simulation) -> tuple[float, ElementTree.Element]:
    """The time from the call's start to its first <Dial>, and that Dial, for a caller who presses nothing.

    Every Say is counted at WORDS_PER_MINUTE, and every Gather adds its timeout after its prompts:
    Twilio waits `timeout` seconds for a key once the nested Say has been read, then falls through to
    the next verb (twilio.com/docs/voice/twiml/gather: "By nesting <Say> ... while waiting for their input",
    "5 seconds of silence" by default).
    """
    seconds = 0.0
    for step in result.steps:
        for verb in ElementTree.fromstring(step["twiml"]):
            if verb.tag == "Dial":
                return seconds, verb
            if verb.tag == "Say":
                seconds += len((verb.text or "").split()) * 60 / WORDS_PER_MINUTE
            elif verb.tag == "Gather":
                words = sum(len((say.text or "").split()) for say in verb.iter("Say"))
                seconds += words * 60 / WORDS_PER_MINUTE + int(verb.get("timeout") or 5)
            elif verb.tag == "Redirect":
                break  # the next step is the Redirect's document
            else:
                raise AssertionError(f"a silent caller met <{verb.tag}> before any Dial: {step['path']}")
    raise AssertionError("no Dial in the call")


@pytest.mark.parametrize(
    ("line", "when", "number"),
    [
        pytest.param("wiltshire", OFFICE, MASH, id="wiltshire-office"),
        pytest.param("wiltshire", EVENING, WILTS_OUT_OF_HOURS, id="wiltshire-evening"),
        pytest.param("wiltshire", NIGHT, WILTS_OUT_OF_HOURS, id="wiltshire-night"),
        pytest.param("wiltshire", SATURDAY, WILTS_OUT_OF_HOURS, id="wiltshire-saturday"),
        pytest.param("hampshire", OFFICE, HANTS_PUBLIC, id="hampshire-office"),
        pytest.param("hampshire", NIGHT, CRT_OUT_OF_HOURS, id="hampshire-night"),
        pytest.param("hampshire", SATURDAY, CRT_OUT_OF_HOURS, id="hampshire-saturday"),
        pytest.param("isle-of-wight", OFFICE, IOW_PUBLIC, id="isle-of-wight-office"),
        pytest.param("isle-of-wight", NIGHT, CRT_OUT_OF_HOURS, id="isle-of-wight-night"),
        pytest.param("isle-of-wight", SATURDAY, CRT_OUT_OF_HOURS, id="isle-of-wight-saturday"),
    ],
)
def test_a_silent_caller_is_ringing_the_urgent_route_within_60_seconds(
    simulator: Simulator, line: str, when: datetime, number: str
) -> None:
    """Pressing nothing, a caller hears the greeting, the warning and the menu once, and the team on duty rings within 60 s."""
    result = simulator.call(line, when, SILENT, strict=True)
    assert result.broken is None
    seconds, dial = seconds_to_first_dial(result)
    assert [(n.text or "").strip() for n in dial.iter("Number")] == [number]
    assert f"/voice/{line}/dialled/child-at-risk" in (dial.get("action") or "")
    assert seconds < FIRST_RING_WITHIN, f"{line} at {when:%a %H:%M}: first ring after {seconds:.1f} s"


def test_silence_after_a_closed_service_ends_politely(simulator: Simulator) -> None:
    """SEND at 02:00: the caller hears when it opens; pressing nothing, they are told goodbye and nobody is rung."""
    result = simulator.call("wiltshire", NIGHT, "3" + SILENT, strict=True)
    assert result.broken is None and result.dials == []
    assert result.transcript[-3:] == [
        "  Caller presses nothing",
        "  Caller hears: Thank you for calling. Goodbye.",
        "  Call ends",
    ]


def test_the_urgent_key_during_a_closed_service_rings_the_team_on_duty(simulator: Simulator) -> None:
    """SEND at 02:00, then 1 while its closed message plays: the caller chose the child-at-risk route, and Standby rings."""
    result = simulator.call("wiltshire", NIGHT, "31", strict=True)
    assert result.broken is None and result.dials[0] == [WILTS_OUT_OF_HOURS]
