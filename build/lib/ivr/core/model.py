"""Frozen values the router is made of: destinations, rules, services, overrides, decisions."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime

MINUTES_PER_DAY = 24 * 60
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_WEEKDAYS = frozenset(range(7))


class DayKind(enum.Enum):
    """What sort of day a local minute belongs to; decides which rules may apply to it."""

    ORDINARY = "ordinary"
    BANK_HOLIDAY = "bank-holiday"
    CLOSURE = "closure"


class Answer(enum.Enum):
    """How a destination's answer is confirmed before the caller counts as connected (see README)."""

    PERSON = "person"  # press-1 screening in the <Number url> document: voicemail and queues cannot press 1
    MACHINE_DETECTION = "machine-detection"  # Twilio's AMD on <Number>: a machine is hung up on, a person connected
    DIRECT = "direct"  # connected on pickup: a contact centre's own queue or announcement takes the call


@dataclass(frozen=True, slots=True)
class Destination:
    """A real team that can take a call: a number to dial, or contact details to read out."""

    key: str
    name: str
    number: str | None = None  # E.164; None for a team reached only by email or web
    note: str = ""
    email: str = ""
    web: str = ""
    extension: str = ""  # digits keyed in once `number` answers (a switchboard's extension); '' for none
    answer: Answer = Answer.PERSON  # how an answer is confirmed; each shipped destination names its own


@dataclass(frozen=True, slots=True)
class Rule:
    """Send calls to `destination` on `weekdays`, from `start` to `end` minutes, on `kinds` of day."""

    destination: str
    weekdays: frozenset[int]
    start: int  # minutes after local midnight
    end: int  # exclusive; 1440 is 24:00
    kinds: frozenset[DayKind]
    label: str  # how decisions name this rule, e.g. "rule 3 (Mon-Thu 17:00-24:00)"
    source: str = ""  # file:line

    def applies(self, weekday: int, kind: DayKind) -> bool:
        return weekday in self.weekdays and kind in self.kinds


@dataclass(frozen=True, slots=True)
class Override:
    """A temporary diversion: from `start` until `end` (None: until further notice)."""

    services: frozenset[str]
    destination: str
    start: datetime
    end: datetime | None
    reason: str
    label: str
    source: str = ""

    def covers(self, service: str) -> bool:
        return service in self.services


@dataclass(frozen=True, slots=True)
class Closure:
    """A council closure on one local date, whole day or part (e.g. Christmas Eve from 13:00)."""

    day: date
    start: int
    end: int
    name: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class Service:
    """What a caller asked for; ordered rules choose the destination, first match wins."""

    key: str
    name: str
    rules: tuple[Rule, ...]
    always_open: bool = False
    fallback: tuple[str, ...] = ()  # destination keys tried in order when the first does not answer
    source: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """Who takes a call for `service` at instant `at`, why, and until when that holds."""

    service: str
    at: datetime
    destination: Destination | None  # None: no rule covers this instant (the service is closed)
    rule: str
    until: datetime | None  # None: no change within the look-ahead horizon
    override: bool = False

    @property
    def is_open(self) -> bool:
        return self.destination is not None


@dataclass(frozen=True, slots=True)
class Interval:
    """A stretch of time with one answer; `destination` None marks a gap."""

    start: datetime
    end: datetime
    destination: Destination | None
    rule: str
    override: bool = False


@dataclass(frozen=True, slots=True)
class Schedule:
    """A line's schedule file, validated: destinations, services, closures and overrides."""

    line: str
    timezone: str
    destinations: dict[str, Destination]
    services: dict[str, Service]
    closures: tuple[Closure, ...] = ()
    overrides: tuple[Override, ...] = ()
    holiday_country: str = "GB"
    holiday_subdivision: str = "ENG"
    path: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Option:
    """One keypad choice in a menu: connect a service, or open another menu."""

    key: str
    label: str  # read before "press N", e.g. "If you are worried about a child"
    service: str | None = None
    menu: str | None = None
    words: tuple[str, ...] = ()  # words or phrases a caller may say instead, when the menu takes speech; the first is offered


@dataclass(frozen=True, slots=True)
class Menu:
    """A prompt and its options; `speech` lets callers say one of an option's words instead of its key."""

    key: str
    intro: str
    options: tuple[Option, ...]
    speech: bool = False

    def option(self, key: str) -> Option | None:
        return next((o for o in self.options if o.key == key), None)


@dataclass(frozen=True, slots=True)
class Shortcut:
    """A professional's keypad code (typed after the shortcut key) straight to a service."""

    code: str
    name: str
    service: str
    expects: str  # the destination the professional is after; others are announced


@dataclass(frozen=True, slots=True)
class Keys:
    """The line's reserved keys."""

    repeat: str = "9"
    back: str = "0"
    shortcut: str = "*"


@dataclass(frozen=True, slots=True)
class Flow:
    """What callers of a line hear and press: greeting, warning, menus and shortcuts."""

    line: str
    name: str
    greeting: str
    warning: str
    start: str
    menus: dict[str, Menu]
    shortcuts: dict[str, Shortcut]
    front_door: str  # destination key read out when nobody answers
    urgent_service: str = "child-at-risk"
    numbers: tuple[str, ...] = ()  # the Twilio numbers (E.164) that ring this line
    voice: str = "Polly.Amy"
    language: str = "en-GB"
    keys: Keys = Keys()
    tries: int = 3
    path: str = field(default="", compare=False)
