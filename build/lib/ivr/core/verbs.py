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
    """Ring `number` (and `at_once`, all together); the answerer's side runs the `screen` document first.

    `screen` '' connects on pickup. With `machine_detection` Twilio listens to who answered and
    posts its verdict (`AnsweredBy`) to the `screen` document, which hangs up on a machine.

    Without an `action` Twilio goes on with the next verb once the dialled call ends, however it ended.
    `caller_id` None leaves the caller ID to Twilio (the inbound caller's, withheld if they withheld it).
    """

    number: str
    action: str
    screen: str
    caller_id: str | None
    timeout: int
    at_once: tuple[str, ...] = ()  # rung at the same time as `number`: the first to answer is connected
    extensions: tuple[str, ...] = ()  # keyed in once each of `numbers` answers, in the same order ('' for none)
    machine_detection: bool = False

    def __post_init__(self) -> None:
        if not any(self.extensions):
            object.__setattr__(self, "extensions", ())  # no extension at all is one value, however it was written
        elif len(self.extensions) != len(self.numbers):
            raise ValueError(f"{len(self.extensions)} extensions for {len(self.numbers)} numbers")

    @property
    def numbers(self) -> tuple[str, ...]:
        """Every number this Dial rings."""
        return (self.number, *self.at_once)

    @property
    def rings(self) -> tuple[tuple[str, str], ...]:
        """Every number this Dial rings with the extension keyed in once it answers ('' for none)."""
        return tuple(zip(self.numbers, self.extensions or ("",) * len(self.numbers), strict=True))


@dataclass(frozen=True, slots=True)
class Redirect:
    """Continue the call at another webhook."""

    url: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """End this leg of the call."""


Verb = Say | Gather | Dial | Redirect | Hangup
