"""What one webhook step knows: the call, what was pressed, a dial's result, and the caller's place.

Twilio keeps no state for us. Each step writes the caller's place into the URLs of its answer
(`Where` in the menus, `Chain` in the dial chain, `Screening` on the answerer's leg) and the next
step reads it back. Each value owns both directions and every limit on what it reads, so a URL
can never name more than the flow could have written: unknown keys are dropped, numbers are
clamped, text is cut short and kept printable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from ivr.core.errors import UnknownService
from ivr.core.model import Flow, Schedule
from ivr.core.numbers import caller_number, is_withheld

ROUNDS = 3  # times the whole chain is tried before the caller is let go
HEARINGS = 2  # times the answerer hears the screening message before their leg hangs up
MOST_ATTEMPTS = 1000  # dials in one call: far more than ROUNDS times any chain
VIA = "the menu"  # how the caller reached a service, when a URL does not say
VIA_LENGTH = 80
SID_LENGTH = 64
NUMBER_LENGTH = 32
DIGITS_LENGTH = 8
SPEECH_LENGTH = 200

Query = Mapping[str, str]  # a URL's query arguments, or a form's fields, as the web layer has them


@dataclass(frozen=True, slots=True)
class Call:
    """The call a step belongs to: its SID, the caller (E.164; None when withheld, missing or not valid), the number rung, the instant.

    `withheld` says the caller chose to withhold their number (Twilio's `From` 'anonymous' and the like);
    `texting` that this process can send text messages (the web layer's settings say so).
    """

    sid: str
    caller: str | None
    called: str
    now: datetime
    withheld: bool = False
    texting: bool = False

    @classmethod
    def from_form(cls, form: Query, now: datetime, texting: bool = False) -> Call:
        """The call as Twilio's webhook form describes it, at the instant `now`."""
        sent = form.get("From", "")[:NUMBER_LENGTH]
        return cls(
            sid=form.get("CallSid", "")[:SID_LENGTH],
            caller=caller_number(sent),
            called=form.get("To", "")[:NUMBER_LENGTH],
            now=now,
            withheld=is_withheld(sent),
            texting=texting,
        )

    # Who may be shown, and why:
    # - Twilio: a <Dial> callerId "must be the calling number, called number, or a validated outgoing
    #   number"; without one, a carrier's invalid caller ID "will be passed to the destination. This may
    #   cause some destination providers to reject the call" - "substitute them with a valid Caller ID"
    #   (twilio.com/docs/errors/13214). The called number (`To`) is the line's own Twilio number.
    # - Twilio, withheld callers: it will "persist the alpha string from the inbound call to the outbound
    #   <Dial> leg for calls where the caller ID is withheld", but "If the callerId parameter is used
    #   with the <Dial> verb, the outbound caller ID will reflect what was provided with callerId,
    #   regardless of the caller ID on the inbound call" (twilio.com/changelog, 16 Nov 2022). The <Dial>
    #   and <Number> pages list no privacy setting, so leaving callerId out is how it stays withheld.
    # - Ofcom: "CLI Data consists of the caller's line identity along with a privacy marking, which
    #   indicates whether the number can be shared with the recipient of the call ... it is also
    #   important that CLI Data is passed on reliably so that the privacy of individuals can be
    #   respected" (Guidance on the provision of CLI facilities, 2019). Ofcom's own words on a forwarded
    #   call presenting the original caller's number were not in the sources searched.
    def caller_id(self) -> str | None:
        """What a team's phone shows: the caller's valid number; None (Twilio keeps it withheld) for a
        withheld caller; for anything else (junk, nothing) the line's own Twilio number, if `To` holds one."""
        if self.caller:
            return self.caller
        if self.withheld:
            return None
        return caller_number(self.called)


@dataclass(frozen=True, slots=True)
class Heard:
    """What the person on the line pressed (Digits) or said (SpeechResult) at a prompt; empty when nothing."""

    digits: str = ""
    speech: str = ""

    @classmethod
    def from_form(cls, form: Query) -> Heard:
        """The keys and words Twilio's Gather posted."""
        return cls(form.get("Digits", "")[:DIGITS_LENGTH], form.get("SpeechResult", "")[:SPEECH_LENGTH])


@dataclass(frozen=True, slots=True)
class DialResult:
    """How a Dial ended: Twilio's status and duration, and whether the answerer pressed to accept.

    `accepted` is None when the record of acceptance could not be read.
    """

    status: str
    duration: str = ""
    accepted: bool | None = None
    bridged: bool | None = None  # Twilio's DialBridged; None when the request does not say

    @classmethod
    def from_form(cls, form: Query, accepted: bool | None = None) -> DialResult:
        """The result Twilio posts to a Dial's action, with the acceptance the records hold."""
        return cls(form.get("DialCallStatus", "")[:NUMBER_LENGTH], form.get("DialCallDuration", "")[:16], accepted, bridged(form))


def bridged(form: Query) -> bool | None:
    """Twilio's `DialBridged` on a Dial's action: "true" or "false"; None when absent or unreadable.

    The <Dial> page lists it beside DialCallStatus, DialCallSid and DialCallDuration: whether the
    dialled party was bridged to the caller (twilio.com/docs/voice/twiml/dial#action). A <Number url>
    document that hangs up leaves DialCallStatus "completed" (the leg was answered) but DialBridged
    "false", so only DialBridged tells a conversation from a refused or machine-answered leg.
    """
    value = form.get("DialBridged", "").strip().lower()
    return {"true": True, "false": False}.get(value)


@dataclass(frozen=True, slots=True)
class Where:
    """A caller's place in the menus: the trail of menus walked and the try number."""

    trail: tuple[str, ...]
    tries: int = 1

    @property
    def menu(self) -> str:
        """The menu the caller is in."""
        return self.trail[-1]

    def to_query(self) -> dict[str, str]:
        """The URL form: `trail=main.other&try=2`."""
        return {"trail": ".".join(self.trail), "try": str(self.tries)}

    @classmethod
    def from_query(cls, args: Query, flow: Flow, menu: str | None = None) -> Where:
        """The place a URL names, in `menu` (else the trail's last); unknown menus go, the try stays in the line's."""
        named = args.get("trail", "").split(".")
        menu = named[-1] if menu is None else menu
        trail = tuple(m for m in named if m in flow.menus)
        if not trail or trail[-1] != menu:
            trail = (*trail, menu) if menu in flow.menus else (flow.start,)
        return cls(trail, _number(args.get("try"), 1, 1, flow.tries))


@dataclass(frozen=True, slots=True)
class Chain:
    """A call's place in a service's dial chain: how the caller came, who was rung this round, the round, the dials made."""

    service: str
    via: str = VIA
    tried: tuple[str, ...] = ()  # destination keys, in the order rung this round
    round: int = 1
    attempt: int = 0  # dials made in the whole call; a dial's screening and result name it by this number

    def rung(self, destination: str) -> Chain:
        """The chain once `destination` has been dialled."""
        return replace(self, tried=(*self.tried, destination), attempt=self.attempt + 1)

    def next_round(self) -> Chain:
        """The whole chain once more, from its first destination."""
        return replace(self, tried=(), round=self.round + 1)

    def screening(self, call: str) -> Screening:
        """The answerer's leg of this chain's last dial, of the caller's call `call`."""
        return Screening(call, self.attempt, self.service, self.via)

    def to_query(self) -> dict[str, str]:
        """The URL form; a chain nobody has been rung on yet is only its `via`."""
        if (self.tried, self.round, self.attempt) == ((), 1, 0):
            return _present({"via": self.via})
        return _present({"via": self.via, "tried": ",".join(self.tried), "round": str(self.round), "attempt": str(self.attempt)})

    @classmethod
    def from_query(cls, args: Query, service: str, schedule: Schedule) -> Chain:
        """The chain of `service` a URL names; raises UnknownService for a service the schedule lacks."""
        if service not in schedule.services:
            raise UnknownService(schedule.line, service)
        tried = tuple(key for key in args.get("tried", "").split(",") if key in schedule.destinations)
        return cls(service, _via(args), tried, _number(args.get("round"), 1, 1, ROUNDS), _attempt(args))


@dataclass(frozen=True, slots=True)
class Screening:
    """The answerer's leg of one dial: the caller's call SID, which dial, the service, the way in, which hearing."""

    call: str
    attempt: int
    service: str
    via: str = VIA
    hearing: int = 1

    def heard_again(self) -> Screening:
        """The next hearing of the screening message."""
        return replace(self, hearing=self.hearing + 1)

    def to_query(self, service_in_path: bool = False) -> dict[str, str]:
        """The URL form. Under `/screen/<service>` the path names the service and a first hearing goes unsaid."""
        query = {"call": self.call, "attempt": str(self.attempt), "service": self.service, "via": self.via}
        if service_in_path:
            del query["service"]
        if not service_in_path or self.hearing > 1:
            query["try"] = str(self.hearing)
        return _present(query)

    @classmethod
    def from_query(cls, args: Query, schedule: Schedule, service: str | None = None, parent: str = "") -> Screening:
        """The leg a URL names; `service` comes from the path if given, and Twilio's ParentCallSid stands in for `call`."""
        service = args.get("service", "") if service is None else service
        if service not in schedule.services:
            raise UnknownService(schedule.line, service)
        call = args.get("call", "")[:SID_LENGTH] or parent[:SID_LENGTH]
        return cls(call, _attempt(args), service, _via(args), _number(args.get("try"), 1, 1, HEARINGS))


def _attempt(args: Query) -> int:
    return _number(args.get("attempt"), 0, 0, MOST_ATTEMPTS)


def _via(args: Query) -> str:
    # Printable only: it is read out to the answerer and written into TwiML.
    return "".join(c for c in args.get("via", VIA)[:VIA_LENGTH] if c.isprintable()) or VIA


def _number(text: str | None, default: int, lo: int, hi: int) -> int:
    try:
        return min(max(int(text or ""), lo), hi)
    except ValueError:
        return default


def _present(query: dict[str, str]) -> dict[str, str]:
    # An empty value says nothing; leaving it out keeps URLs short and as they always were.
    return {key: value for key, value in query.items() if value}
