"""Phone numbers: every number on the source pages to E.164, extensions read, invalid ones refused, withheld callers told, read out in groups."""

from __future__ import annotations

import pytest

from ivr.core.errors import IvrError
from ivr.core.numbers import (
    Dialled,
    InvalidNumber,
    caller_number,
    dialled,
    display,
    is_withheld,
    mask,
    spoken,
    spoken_address,
    to_e164,
)

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
    ("written", "expected"),
    [
        ("0300 456 0108 ext 2", Dialled("+443004560108", "2")),
        ("0300 456 0108 ext2", Dialled("+443004560108", "2")),
        ("0300 456 0108 ext. 2", Dialled("+443004560108", "2")),
        ("0300 456 0108 EXT 2", Dialled("+443004560108", "2")),
        ("0300 456 0108 x2", Dialled("+443004560108", "2")),
        ("0300 456 0108 X 2", Dialled("+443004560108", "2")),
        ("0300 456 0108,2", Dialled("+443004560108", "2")),
        ("0300 456 0108 , 2", Dialled("+443004560108", "2")),
        ("+44 300 456 0108 x 4512", Dialled("+443004560108", "4512")),
        ("(01225) 713090 ext 31", Dialled("+441225713090", "31")),
        ("0300 456 0108", Dialled("+443004560108", "")),
    ],
    ids=[
        "ext_space",
        "ext_joined",
        "ext_dot",
        "ext_capitals",
        "x_joined",
        "x_capital_spaced",
        "comma",
        "comma_spaced",
        "international_four_digits",
        "brackets_two_digits",
        "no_extension",
    ],
)
def test_a_team_number_is_read_with_its_extension(written: str, expected: Dialled) -> None:
    """'ext 2', 'x2' and ',2' after a number are its extension, keyed in once it answers."""
    assert dialled(written) == expected


READ_ONLY = "(an extension is written 'ext 2', 'x2' or ',2')"


@pytest.mark.parametrize(
    ("written", "unread"),
    [
        ("0300 456 0108 (MASH)", "(MASH)"),
        ("MASH 0300 456 0108", "MASH"),
        ("0300 456 0108 option 3", "option"),
        ("0300 456 0108 ext two", "ext two"),
        ("0300 456 0108 extension 2", "extension"),
        ("0300 456 0108#2", "#"),
        ("0300 456 0108;ext=2", ";ext="),
        ("0300 456 0108 ,,2", ",,"),
        ("0300 456 0108 ext 2 ext 3", "ext 2 ext 3"),
        ("0300 456 0108 ext", "ext"),
        ("0300 456 0108 ext 2.", "ext 2."),
        ("MASH 0300 456 0108 (duty)", "MASH 0300 456 0108 (duty)"),
    ],
    ids=[
        "name_after",
        "name_before",
        "menu_option",
        "extension_in_words",
        "extension_spelt_out",
        "hash",
        "rfc3966",
        "two_commas",
        "two_extensions",
        "extension_without_digits",
        "full_stop_after",
        "words_before_and_after",
    ],
)
def test_what_cannot_be_read_in_a_number_is_refused_and_named(written: str, unread: str) -> None:
    """Nothing written beside a number is dropped: the unreadable part is named, with the forms an extension takes."""
    with pytest.raises(InvalidNumber) as caught:
        dialled(written)
    assert str(caught.value) == f"{written!r} is not a phone number: {unread!r} could not be read {READ_ONLY}"


def test_a_number_that_cannot_take_an_extension_refuses_one() -> None:
    """A Twilio number (to_e164) has no extension: one written is refused, not dropped."""
    with pytest.raises(InvalidNumber) as caught:
        to_e164("0300 456 0108 ext 2")
    assert str(caught.value) == "'0300 456 0108 ext 2' has an extension (2); this number cannot take one"


@pytest.mark.parametrize(
    ("sent", "withheld"),
    [
        ("anonymous", True),
        ("Anonymous", True),
        ("+266696687", True),
        ("266696687", True),
        ("restricted", True),
        ("+7378742833", True),
        ("private", True),
        ("unknown", True),
        ("unavailable", True),
        ("+86282452253", True),
        ("+447911123456", False),
        ("", False),
        ("garbage", False),
    ],
    ids=[
        "anonymous",
        "anonymous_capital",
        "anonymous_on_a_keypad",
        "anonymous_on_a_keypad_no_plus",
        "restricted",
        "restricted_on_a_keypad",
        "private",
        "unknown",
        "unavailable",
        "unavailable_on_a_keypad",
        "a_number",
        "empty",
        "junk",
    ],
)
def test_withheld_callers_are_told_by_twilios_words_and_their_keypad_spelling(sent: str, withheld: bool) -> None:
    """Twilio's From for a withheld caller is a word ('anonymous') or, formerly, that word on a keypad ('+266696687')."""
    assert is_withheld(sent) is withheld


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
        ("restricted", None),
        ("+7378742833", None),
        ("", None),
        ("+4479111234567", None),
        ("MASH +447911123456", None),
        ("+447911123456 ext 2", None),
    ],
    ids=[
        "uk_mobile",
        "national",
        "french_caller",
        "anonymous",
        "twilio_withheld",
        "restricted",
        "restricted_on_a_keypad",
        "empty",
        "too_long",
        "words_before",
        "extension",
    ],
)
def test_caller_number(text: str, expected: str | None) -> None:
    """A caller's number is kept in E.164 from any country; a withheld, invalid or embellished one is None."""
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
