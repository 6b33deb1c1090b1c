"""Rendering a Dial: each <Number> with its extension as sendDigits, and the callerId only when there is one."""

from __future__ import annotations

import pytest

from ivr.core.verbs import Dial
from ivr.web.twiml import render
from tests.conftest import validate_twiml

MASH = "+443004560108"
OUT_OF_HOURS = "+443004560100"
BASE = "https://ivr.example.org"


def numbers_of(twiml: str) -> list[tuple[str, dict[str, str]]]:
    """Each <Number> of the document's one <Dial>: its text and its attributes."""
    dial = validate_twiml(twiml).find("Dial")
    assert dial is not None, twiml
    return [((n.text or "").strip(), dict(n.attrib)) for n in dial.iter("Number")]


def test_an_extension_is_keyed_in_one_second_after_the_number_answers() -> None:
    """A team's extension becomes <Number sendDigits="ww2">: two half-second waits, then the extension."""
    twiml = render([Dial(MASH, "", "", None, 25, extensions=("2",))], "Polly.Amy", "en-GB", BASE)
    assert numbers_of(twiml) == [(MASH, {"sendDigits": "ww2"})]


def test_a_number_without_an_extension_has_no_send_digits() -> None:
    """No extension, no sendDigits attribute at all."""
    twiml = render([Dial(MASH, "", "", None, 25)], "Polly.Amy", "en-GB", BASE)
    assert numbers_of(twiml) == [(MASH, {})]


def test_numbers_rung_at_once_each_keep_their_own_extension() -> None:
    """Of numbers rung together, each carries its own extension; one without keeps none."""
    dial = Dial(MASH, "", "", None, 25, (OUT_OF_HOURS, MASH), ("", "", "31"))
    twiml = render([dial], "Polly.Amy", "en-GB", BASE)
    assert numbers_of(twiml) == [(MASH, {}), (OUT_OF_HOURS, {}), (MASH, {"sendDigits": "ww31"})]


def test_a_screened_number_keeps_its_screening_and_its_extension() -> None:
    """sendDigits sits beside the screening URL and status callbacks on the same <Number>."""
    dial = Dial(MASH, "/voice/test/dialled/x", "/voice/test/screen/x", "+447911123456", 25, extensions=("2",))
    twiml = render([dial], "Polly.Amy", "en-GB", BASE)
    assert numbers_of(twiml) == [
        (
            MASH,
            {
                "sendDigits": "ww2",
                "url": f"{BASE}/voice/test/screen/x",
                "method": "POST",
                "statusCallback": f"{BASE}/voice/status",
                "statusCallbackEvent": "initiated ringing answered completed",
                "statusCallbackMethod": "POST",
            },
        )
    ]


@pytest.mark.parametrize(
    ("caller_id", "attribute"),
    [("+447911123456", "+447911123456"), ("+441225000000", "+441225000000"), (None, None)],
    ids=["caller", "line_number", "withheld"],
)
def test_caller_id_is_rendered_only_when_there_is_one(caller_id: str | None, attribute: str | None) -> None:
    """A callerId is written as given; None writes no callerId, so Twilio keeps a withheld caller withheld."""
    twiml = render([Dial(MASH, "", "", caller_id, 25)], "Polly.Amy", "en-GB", BASE)
    dial = validate_twiml(twiml).find("Dial")
    assert dial is not None and dial.get("callerId") == attribute


def test_extensions_must_match_the_numbers_rung() -> None:
    """A Dial with a different count of extensions than numbers is a programming error, refused at once."""
    with pytest.raises(ValueError, match="3 extensions for 2 numbers"):
        Dial(MASH, "", "", None, 25, (OUT_OF_HOURS,), ("1", "2", "3"))


def test_no_extension_at_all_is_one_value() -> None:
    """A Dial given only empty extensions equals one given none, so plain Dials compare as before."""
    assert Dial(MASH, "", "", None, 25, (OUT_OF_HOURS,), ("", "")) == Dial(MASH, "", "", None, 25, (OUT_OF_HOURS,))
