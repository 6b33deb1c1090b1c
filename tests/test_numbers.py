"""Phone numbers: every number on the source pages to E.164, invalid ones refused, and read out in groups."""

from __future__ import annotations

import pytest

from ivr.core.errors import IvrError
from ivr.core.numbers import InvalidNumber, caller_number, display, mask, spoken, spoken_address, to_e164

# Every number on the two pages, as printed there, and its E.164 form.
PAGE_NUMBERS = [
    ("0300 456 0108", "+443004560108"),  # Wiltshire MASH, DOFA, SEND, Early Support
    ("0300 456 0100", "+443004560100"),  # Wiltshire Out of Hours
    ("01225 713090", "+441225713090"),  # disabled children
    ("0330 440 9000", "+443304409000"),  # The Advocacy People
    ("01249 707990", "+441249707990"),  # children in care, North
    ("01722 438165", "+441722438165"),  # children in care, South; Support and Safeguarding South
    ("01249 707900", "+441249707900"),  # Support and Safeguarding North
    ("01380 826250", "+441380826250"),  # Support and Safeguarding East
    ("01225 718555", "+441225718555"),  # Support and Safeguarding West
    ("0300 003 4561", "+443000034561"),  # childcare information
    ("01225 713934", "+441225713934"),  # befriending
    ("07733 303124", "+447733303124"),  # befriending, mobile
    ("0800 169 6136", "+448001696136"),  # young people's drugs and alcohol support
    ("01225 716890", "+441225716890"),  # education, employment and training
    ("01249 709400", "+441249709400"),  # Young People's Service
    ("01329 225379", "+441329225379"),  # Hampshire CRT professionals
    ("0300 555 1384", "+443005551384"),  # Hampshire CRT public
    ("0300 555 1373", "+443005551373"),  # Hampshire and Isle of Wight Out of Hours
    ("0300 300 0901", "+443003000901"),  # Isle of Wight CRT professionals
    ("0300 300 0117", "+443003000117"),  # Isle of Wight CRT public
    ("01962 876364", "+441962876364"),  # LADO
]


@pytest.mark.parametrize(("written", "e164"), PAGE_NUMBERS, ids=[w for w, _ in PAGE_NUMBERS])
def test_every_page_number_parses_to_e164(written: str, e164: str) -> None:
    """Each number as the pages print it becomes its E.164 form, and displays as printed."""
    assert to_e164(written) == e164
    assert display(e164) == written


@pytest.mark.parametrize(
    "written",
    ["+44 300 456 0108", "+443004560108", "0300-456-0108", "(0300) 456 0108", "0044 300 456 0108", " 0300 456 0108 "],
    ids=["international_spaced", "e164", "dashes", "brackets", "double_zero_prefix", "padded"],
)
def test_other_ways_of_writing_a_number(written: str) -> None:
    """The ways administrators write one number all give the same E.164."""
    assert to_e164(written) == "+443004560108"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0300 456 01", "is not a valid GB phone number"),
        ("0300 456 01089", "is not a valid GB phone number"),
        ("999", "is not a valid GB phone number"),
        ("112", "is not a valid GB phone number"),
        ("+33 1 42 68 53 00", "is not a valid GB phone number"),
        ("+1 202 555 0147", "is not a valid GB phone number"),
        ("hello", "is not a phone number"),
        ("", "is not a phone number"),
    ],
    ids=["too_short", "too_long", "emergency_999", "emergency_112", "french", "american", "words", "empty"],
)
def test_invalid_numbers_are_refused(text: str, message: str) -> None:
    """Numbers that are not valid UK numbers a team can be dialled on are refused, naming the text."""
    with pytest.raises(InvalidNumber, match=message) as caught:
        to_e164(text)
    assert repr(text) in str(caught.value)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, IvrError)


@pytest.mark.parametrize(
    ("e164", "words"),
    [
        ("+443004560108", "zero three zero zero, four five six, zero one zero eight"),
        ("+441225713090", "zero one two two five, seven one three zero nine zero"),
        ("+447733303124", "zero seven seven three three, three zero three one two four"),
        ("+448001696136", "zero eight zero zero, one six nine, six one three six"),
        ("+443005551373", "zero three zero zero, five five five, one three seven three"),
    ],
    ids=["0300_456_0108", "01225_713090", "07733_303124", "0800_169_6136", "0300_555_1373"],
)
def test_spoken_reads_digits_in_their_groups(e164: str, words: str) -> None:
    """A number is read digit by digit, a pause (comma) between the groups people write."""
    assert spoken(e164) == words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+447911123456", "+447911123456"),
        ("07911 123456", "+447911123456"),
        ("+33142685300", "+33142685300"),
        ("anonymous", None),
        ("+266696687", None),
        ("", None),
    ],
    ids=["uk_mobile", "national", "french_caller", "anonymous", "twilio_withheld", "empty"],
)
def test_caller_number(text: str, expected: str | None) -> None:
    """A caller's number is kept in E.164 from any country; a withheld one is None."""
    assert caller_number(text) == expected


@pytest.mark.parametrize(
    ("number", "masked"),
    [("+447911123456", "*********456"), ("12", "***"), ("", "***")],
    ids=["mobile", "too_short_to_show", "empty"],
)
def test_mask_keeps_only_the_last_three_digits(number: str, masked: str) -> None:
    """Logs show only the last three digits of a caller's number."""
    assert mask(number) == masked


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("dofaservice@wiltshire.gov.uk", "dofaservice at wiltshire dot gov dot uk"),
        ("www.theadvocacypeople.org.uk", "w w w dot theadvocacypeople dot org dot uk"),
    ],
    ids=["email", "web"],
)
def test_addresses_are_spelt_out(address: str, words: str) -> None:
    """Email and web addresses are read so that a caller can write them down."""
    assert spoken_address(address) == words
