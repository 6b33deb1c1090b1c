"""Phone numbers: parse to E.164 (a team's with its extension), tell a withheld caller, format for display and speech."""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import phonenumbers

from ivr.core.errors import IvrError

REGION = "GB"
_DIGIT_WORDS = dict(zip("0123456789", ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]))

# What a written number may hold besides its digits. phonenumbers is lenient on purpose: it reads
# letters as a vanity number's keypad digits and skips text before the number ('MASH 0300 456 0108'
# parses), so anything else is refused here rather than silently dropped.
_NOT_NUMBER_TEXT = re.compile(r"[^\d\s+()\-]+(?:\s+[^\d\s+()\-]+)*")
# An extension as administrators write it after the number: 'ext 2', 'ext. 2', 'x2' or ',2'.
_EXTENSION = re.compile(r"^(?P<number>.*?\d[\s)]*)(?:ext\.?|x|,)\s*(?P<extension>\d{1,10})\s*$", re.IGNORECASE)
EXTENSION_FORMS = "'ext 2', 'x2' or ',2'"

# Twilio's `From` for a caller who withheld their number. Twilio now passes the word itself
# ("Any Programmable Voice calls where the caller ID has been withheld will now display anonymous in
# the From field", changelog 17 May 2023; "e.g. ANONYMOUS, RESTRICTED, etc.", changelog 16 Nov 2022);
# before, it "translates the alpha string into digits" (same notice): the word spelt on a keypad,
# so 'anonymous' arrived as '+266696687'. Both forms of every word are recognised. Twilio names
# ANONYMOUS and RESTRICTED; the other words are not in its pages and are added to be safe: none is a
# number, and reading them as withheld never shows a team anything the caller may have hidden.
WITHHELD_WORDS = ("anonymous", "restricted", "private", "withheld", "blocked", "unknown", "unavailable")
_KEYS = ("", "", "abc", "def", "ghi", "jkl", "mno", "pqrs", "tuv", "wxyz")
_KEYPAD = {letter: str(key) for key, letters in enumerate(_KEYS) for letter in letters}
_WITHHELD = frozenset(WITHHELD_WORDS) | {"".join(_KEYPAD[c] for c in word) for word in WITHHELD_WORDS}


class InvalidNumber(IvrError, ValueError):
    """A phone number that is not a valid number for the region."""


class Dialled(NamedTuple):
    """A team's number in E.164 and the extension keyed in once it answers ('' for none)."""

    number: str
    extension: str = ""


@functools.lru_cache(maxsize=4096)  # parsing is slow and configurations repeat their numbers
def dialled(text: str, region: str = REGION) -> Dialled:
    """Parse a team's number as people write it, with an extension if any ('0300 456 0108 ext 2').

    Raises InvalidNumber naming what could not be read: nothing written is silently dropped.
    """
    text = str(text)
    match = _EXTENSION.match(text)
    number, extension = (match["number"], match["extension"]) if match else (text, "")
    return Dialled(_e164(text, number, region), extension)


def to_e164(text: str, region: str = REGION) -> str:
    """Parse a number as people write it ('0300 456 0108') into E.164 ('+443004560108'); no extension."""
    number, extension = dialled(text, region)
    if extension:
        raise InvalidNumber(f"{text!r} has an extension ({extension}); this number cannot take one")
    return number


def _e164(text: str, number: str, region: str) -> str:
    junk = [m.span() for m in _NOT_NUMBER_TEXT.finditer(number)]
    if junk:
        # From the first unreadable word to the last ('ext 2 then 4'); after an extension-looking
        # ending, that ending is suspect too ('ext 2 ext 3').
        start, end = junk[0][0], len(text) if len(number) < len(text) else junk[-1][1]
        start -= text[:start].endswith("(")  # keep a bracketed word whole: '(MASH)'
        end += text[end:].startswith(")")
        unread = text[start:end].strip()
        raise InvalidNumber(
            f"{text!r} is not a phone number: {unread!r} could not be read (an extension is written {EXTENSION_FORMS})"
        )
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"{text!r} is not a phone number ({exc})") from exc
    if not phonenumbers.is_valid_number(parsed) or phonenumbers.region_code_for_number(parsed) != region:
        raise InvalidNumber(f"{text!r} is not a valid {region} phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_withheld(text: str) -> bool:
    """Whether Twilio's `From` says the caller withheld their number ('anonymous', '+266696687', ...)."""
    return text.strip().lower().removeprefix("+") in _WITHHELD


class _Caller(NamedTuple):
    number: str  # E.164
    mobile: bool


@functools.lru_cache(maxsize=4096)  # every step of a call posts the same From: parse it once per call, not per step
def _caller(text: str) -> _Caller | None:
    """A caller's number read once: E.164 and whether it is a mobile; None when withheld, missing or not valid."""
    if is_withheld(text) or _NOT_NUMBER_TEXT.search(text):
        return None
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed) or parsed.extension:
        return None
    mobile = phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE
    return _Caller(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), mobile)


def caller_number(text: str) -> str | None:
    """A caller's number in E.164 if it is a real one (any country); None when withheld, missing or not valid."""
    found = _caller(text)
    return found.number if found else None


def is_mobile(e164: str) -> bool:
    """Whether a caller's number (E.164, as `caller_number` gives it) is a mobile, which can receive a text message.

    Twilio's From is already E.164, so this is the parse `caller_number` made at the call's first step.
    """
    found = _caller(e164)
    return found is not None and found.mobile


@functools.lru_cache(maxsize=4096)  # a team's number is read out on many steps of many calls
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
