"""What the call flow asks the telephony layer to do, as plain values (no Twilio here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Say:
    """Speak text to whoever is on this leg of the call."""

    text: str


@dataclass(frozen=True, slots=True)
class Gather:
    """Speak `prompts` and collect keys (and speech, if `hints` is not None); a key interrupts."""

    action: str
    prompts: tuple[Say, ...]
    num_digits: int = 1
    timeout: int = 6
    finish_on_key: str = ""
    hints: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Dial:
    """Ring `number` (and `at_once`, all together); the answerer hears `screen` first and must accept.

    Without an `action` Twilio goes on with the next verb once the dialled call ends, however it ended.
    """

    number: str
    action: str
    screen: str
    caller_id: str | None
    timeout: int
    at_once: tuple[str, ...] = ()  # rung at the same time as `number`: the first to answer is connected

    @property
    def numbers(self) -> tuple[str, ...]:
        """Every number this Dial rings."""
        return (self.number, *self.at_once)


@dataclass(frozen=True, slots=True)
class Redirect:
    """Continue the call at another webhook."""

    url: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """End this leg of the call."""


Verb = Say | Gather | Dial | Redirect | Hangup
