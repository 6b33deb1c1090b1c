"""Phone numbers: parse to E.164, format for display, and format for speech."""

from __future__ import annotations

import functools

import phonenumbers

from ivr.core.errors import IvrError

REGION = "GB"
_DIGIT_WORDS = dict(zip("0123456789", ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]))


class InvalidNumber(IvrError, ValueError):
    """A phone number that is not a valid number for the region."""


@functools.lru_cache(maxsize=4096)  # parsing is slow and configurations repeat their numbers
def to_e164(text: str, region: str = REGION) -> str:
    """Parse a number as people write it ('0300 456 0108') into E.164 ('+443004560108')."""
    try:
        parsed = phonenumbers.parse(str(text), region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"{text!r} is not a phone number ({exc})") from exc
    if not phonenumbers.is_valid_number(parsed) or phonenumbers.region_code_for_number(parsed) != region:
        raise InvalidNumber(f"{text!r} is not a valid {region} phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def caller_number(text: str) -> str | None:
    """A caller's number in E.164 if it is a real one (any country); None when withheld."""
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def display(e164: str) -> str:
    """The national format a caller would write down: '0300 456 0108'."""
    parsed = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def spoken(e164: str) -> str:
    """Digits read one by one in the national groups, with a pause between groups."""
    groups = display(e164).split()
    return ", ".join(" ".join(_DIGIT_WORDS[d] for d in group if d.isdigit()) for group in groups)


_SYMBOL_WORDS = {"@": " at ", ".": " dot ", "/": " slash ", "-": " dash ", "_": " underscore "}


def spoken_address(text: str) -> str:
    """An email or web address read so that it can be written down: 'w w w dot ...'."""
    spelt = "".join(_SYMBOL_WORDS.get(c, c) for c in text)
    return " ".join("w w w" if word.lower() == "www" else word for word in spelt.split())


def mask(number: str) -> str:
    """A caller number safe for logs: only the last three digits survive."""
    digits = [c for c in number if c.isdigit()]
    if len(digits) <= 3:
        return "***"
    return "*" * (len(digits) - 3) + "".join(digits[-3:])
