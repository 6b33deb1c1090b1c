"""The vocabulary of call facts: the kinds stored in the call records never change."""

from __future__ import annotations

import pytest

from ivr.core.facts import Fact, talked

# The kinds the call records already hold, written out by hand: a renamed Fact would orphan them.
STORED_KINDS = ["menu", "key", "shortcut", "route", "dial", "screen", "status", "sms", "fallback", "end"]


def test_every_fact_is_stored_under_its_old_kind() -> None:
    """Each Fact's value is the kind string the records have always used, and no kind is missing."""
    assert [fact.value for fact in Fact] == STORED_KINDS


@pytest.mark.parametrize("kind", STORED_KINDS)
def test_a_stored_kind_reads_back_as_its_fact(kind: str) -> None:
    """A kind read from the database becomes the Fact of that name, equal to the text it came from."""
    fact = Fact.read(kind)
    assert isinstance(fact, Fact) and fact == kind


def test_an_unknown_kind_reads_back_as_text() -> None:
    """A kind this release does not know (misspelt, or a newer release's) stays its text, so it can still be shown."""
    assert Fact.read("surprise") == "surprise" and not isinstance(Fact.read("surprise"), Fact)


@pytest.mark.parametrize(
    ("dial", "expected"),
    [
        ({"status": "completed", "bridged": True}, True),
        ({"status": "no-answer", "bridged": True}, True),
        ({"status": "unaccepted", "bridged": False}, False),
        ({"status": "completed", "bridged": False}, False),
        ({"status": "completed", "bridged": None}, True),
        ({"status": "completed"}, True),
        ({"status": "answered"}, True),
        ({"status": "unaccepted"}, False),
        ({"status": "no-answer"}, False),
        ({"status": "busy"}, False),
        ({"status": "failed"}, False),
        ({"status": "canceled"}, False),
        ({"status": "in-progress"}, False),
        ({}, False),
    ],
    ids=[
        "bridged",
        "bridged-whatever-the-status",
        "unaccepted-not-bridged",
        "pickup-not-bridged",
        "bridged-unknown-pickup",
        "older-record-pickup",
        "older-record-answered",
        "older-record-unaccepted",
        "no-answer",
        "busy",
        "failed",
        "canceled",
        "in-progress-is-no-pickup",
        "empty",
    ],
)
def test_talked_reads_a_dial_fact(dial: dict[str, object], expected: bool) -> None:
    """A DIAL fact says the caller talked when Twilio bridged the call, or (unsaid) when its status is a pickup."""
    assert talked(dial) is expected
