"""The call flow: from where a caller is and what they pressed, what they hear and who is rung.

Pure: given a line, its router and the values of one webhook step (ivr.core.state), each method
returns the verbs to play and the facts worth recording. Nothing here knows Flask, Twilio or the
database; every step's state travels in the webhook URL, so any worker can serve any step of any call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from ivr.core.facts import PICKED_UP, Detail, Fact
from ivr.core.line import Line
from ivr.core.model import Answer, Decision, Destination, Menu, Option, Schedule
from ivr.core.numbers import display, is_mobile, mask, spoken, spoken_address
from ivr.core.speech import Listener
from ivr.core.state import HEARINGS, ROUNDS, Call, Chain, DialResult, Heard, Screening, Where
from ivr.core.verbs import Dial, Gather, Hangup, Redirect, Say, Verb

DIAL_TIMEOUT = 25  # seconds a team's phone rings before the next in the chain is tried
SCREEN_TIMEOUT = 8  # seconds the answerer has to press 1
MOST_AT_ONCE = 10  # "up to ten <Number> nouns within a <Dial>" ring at once (twilio.com/docs/voice/twiml/number)
MENU_TIMEOUT = 6
ACCEPT_KEY = "1"
TEXT_KEY = "1"  # after a team's details: have them sent by text message
CODE_END = "#"  # ends a shortcut code
ANSWERED = PICKED_UP  # one set: the call records read a DIAL fact back with facts.talked()
NO_RULE = "no rule for an always-open service"  # the FALLBACK reason the web layer raises an alert for
GOODBYE = "Thank you for calling. Goodbye."
# Twilio's AnsweredBy (twilio.com/docs/voice/answering-machine-detection): machine_start, machine_end_beep,
# machine_end_silence, machine_end_other, human, fax, unknown. A machine or fax counts as no answer; "unknown"
# (detection timed out, or a short greeting) connects, since hanging up on a person is worse than a voicemail.
MACHINES = frozenset({"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"})

SendText = Callable[[str, str], bool]
"""Queue a text message (to, body) for sending; True when queued. The web layer's, handed to `details_input`."""


@dataclass(frozen=True)
class Reply:
    """Verbs for Twilio plus the facts for the call record."""

    verbs: list[Verb]
    facts: list[tuple[Fact, Detail]] = field(default_factory=list)


class CallFlow:
    """One line's call flow."""

    def __init__(self, line: Line) -> None:
        self.line = line
        self.flow = line.flow
        self.router = line.router
        self.base = f"/voice/{line.key}"
        self._urgent = line.schedule.services[self.flow.urgent_service]
        self._code_digits = max((len(c) for c in self.flow.shortcuts), default=1)
        # Each menu's spoken options are fixed for a configuration: build them once, not per call.
        self._prompts = {key: self._menu_prompts(menu) for key, menu in self.flow.menus.items()}
        # Speech: Twilio's `hints` take "words, phrases that have many words" (twilio.com/docs/voice/twiml/gather);
        # every word and phrase of every option, which ivr.core.speech then matches whole.
        self._hints = {
            key: tuple(w for o in menu.options for w in o.words) if menu.speech else None for key, menu in self.flow.menus.items()
        }
        self._listeners = {key: Listener(menu.options) for key, menu in self.flow.menus.items() if menu.speech}
        # Who to ring, in order, for every destination a service can be routed to.
        schedule = line.schedule
        self._dial_orders = {
            (service.key, first): dialable_once(schedule, [first, *service.fallback])
            for service in schedule.services.values()
            for first in {r.destination for r in service.rules}
            | {o.destination for o in schedule.overrides if o.covers(service.key)}
        }
        # An always-open service with no rule at some instant (a gap the proof did not reach) is never
        # "closed": its own fallbacks are rung, then the line's 24/7 list.
        every_hour = [d.key for d in round_the_clock(line)]
        self._gap_orders = {
            service.key: dialable_once(schedule, [*service.fallback, *every_hour])
            for service in schedule.services.values()
            if service.always_open
        }

    # -- URLs -------------------------------------------------------------------------------

    def url(self, *parts: str, **query: Any) -> str:
        """This line's webhook path for `parts`, with the non-empty `query` values."""
        path = "/".join([self.base, *(quote(p, safe="") for p in parts)])
        clean = {k: v for k, v in query.items() if v not in (None, "")}
        return f"{path}?{urlencode(clean)}" if clean else path

    # -- menus ------------------------------------------------------------------------------

    def answer(self) -> Reply:
        """A new call: greeting, the 999 warning, then the start menu, all interruptible."""
        where = Where((self.flow.start,))
        intro = (Say(self.flow.greeting), Say(self.flow.warning))
        return Reply(self._menu_verbs(where, intro), [(Fact.MENU, {"menu": self.flow.start})])

    def menu(self, where: Where) -> Reply:
        """Play the menu at the end of the trail; the start menu always begins with the 999 warning."""
        intro = (Say(self.flow.warning),) if where.menu == self.flow.start else ()
        return Reply(self._menu_verbs(where, intro), [(Fact.MENU, {"menu": where.menu})])

    def _menu_verbs(self, where: Where, intro: tuple[Say, ...]) -> list[Verb]:
        menu = self.flow.menus[where.menu]
        options, top_level, nested = self._prompts[menu.key]
        action = self.url("input", menu.key, **where.to_query())
        prompts = (*intro, *options, nested if len(where.trail) > 1 else top_level)
        # With no key pressed Twilio falls through to the Redirect (twilio.com/docs/voice/twiml/gather): `retry`.
        return [Gather(action, prompts, 1, MENU_TIMEOUT, "", self._hints[menu.key]), Redirect(action)]

    def _menu_prompts(self, menu: Menu) -> tuple[tuple[Say, ...], Say, Say]:
        """A menu's intro and options, and its closing line for the start menu and for sub-menus."""
        spoken_options = tuple(Say(_option_text(menu, option)) for option in menu.options)
        keys = self.flow.keys
        repeat = f"To hear these options again, press {_key_name(keys.repeat)}."
        back = f" To go back, press {_key_name(keys.back)}."
        return ((Say(menu.intro), *spoken_options) if menu.intro else spoken_options), Say(repeat), Say(repeat + back)

    def _said(self, menu: Menu, speech: str) -> Option | None:
        """The option the caller's words name, by whole words (ivr.core.speech); None if none or several."""
        listener = self._listeners.get(menu.key)
        return listener.choice(speech) if listener and speech else None

    def menu_input(self, where: Where, heard: Heard, call: Call) -> Reply:
        """What a key (or a spoken word) does in the menu at the end of the trail."""
        menu = self.flow.menus[where.menu]
        keys = self.flow.keys
        digits, speech = heard.digits, heard.speech
        pressed = {"menu": menu.key, "digits": digits} if digits else {"menu": menu.key, "speech": speech}
        facts: list[tuple[Fact, Detail]] = [(Fact.KEY, pressed)] if digits or speech else []
        if digits == keys.shortcut:
            return _with(facts, self.ask_code(where))
        if digits == keys.repeat:
            return _with(facts, self.menu(Where(where.trail)))
        if digits == keys.back:
            return _with(facts, self.menu(Where(where.trail[:-1] or where.trail)))
        option = menu.option(digits) if digits else self._said(menu, speech)
        if option is None:
            return _with(facts, self.retry(where, silent=not (digits or speech)))
        if option.menu:
            return _with(facts, self.menu(Where((*where.trail, option.menu))))
        assert option.service is not None
        chain = Chain(option.service, via=f"option {option.key} of the {menu.key} menu")
        return _with(facts, self.connect(chain, call))

    def retry(self, where: Where, silent: bool, keyed: bool = False) -> Reply:
        """No input (`silent`) or a wrong key: play the menu again; after the last try, connect the urgent route.

        Silence through the whole start menu connects at once: a caller who says nothing may be unable
        to speak, and a second hearing would keep them from a person for another half minute. `keyed`:
        the caller pressed a key in this step (the shortcut key, then no code), so they can press.
        """
        speechless = silent and not keyed and where.menu == self.flow.start
        if speechless or where.tries >= self.flow.tries:
            reason = f"{'no choice' if silent else 'no valid choice'} after {where.tries} tries"
            chain = Chain(self._urgent.key, via=f"after {where.tries} tries without a choice")
            connect = Redirect(self.url("connect", chain.service, **chain.to_query()))
            return Reply([Say("Connecting you to someone who can help."), connect], [(Fact.FALLBACK, {"reason": reason})])
        sorry = Say("Sorry, I did not hear a choice." if silent else "Sorry, that is not one of the options.")
        nxt = Where(where.trail, where.tries + 1)
        return Reply([sorry, Redirect(self.url("menu", nxt.menu, **nxt.to_query()))])

    # -- professional shortcuts -------------------------------------------------------------

    def ask_code(self, where: Where) -> Reply:
        """After the shortcut key: collect the code (the caller may already be typing it)."""
        action = self.url("code", **where.to_query())
        gather = Gather(action, (Say("Shortcut code."),), self._code_digits, 5, CODE_END)
        return Reply([gather, Redirect(action)])

    def code_input(self, where: Where, heard: Heard, call: Call) -> Reply:
        """A professional's code: straight to its service, which still obeys the schedule."""
        code = heard.digits.rstrip(CODE_END)
        shortcut = self.flow.shortcuts.get(code)
        if shortcut is None:
            retry = self.retry(where, silent=not code, keyed=True)
            return Reply(
                [Say("That code is not recognised."), *retry.verbs],
                [(Fact.KEY, {"menu": "shortcut", "digits": code}), *retry.facts],
            )
        facts: list[tuple[Fact, Detail]] = [(Fact.SHORTCUT, {"code": code, "service": shortcut.service})]
        decision = self.router.route(shortcut.service, call.now)
        lead: list[Verb] = []
        dest = decision.destination
        expected = shortcut.expects
        if dest is not None and expected and dest.key != expected:
            lead.append(
                Say(f"{_sentence(shortcut.name)} is not open at this time. You will be put through to {dest.name} instead.")
            )
        connect = self.connect(Chain(shortcut.service, via=f"professional shortcut {code}"), call, decision)
        return Reply([*lead, *connect.verbs], facts + connect.facts)

    # -- connecting -------------------------------------------------------------------------

    def connect(self, chain: Chain, call: Call, decision: Decision | None = None) -> Reply:
        """Route the chain's service now and ring its next destination not yet tried this round."""
        decision = decision or self.router.route(chain.service, call.now)
        facts: list[tuple[Fact, Detail]] = [(Fact.ROUTE, _route_fact(decision))]
        dest = decision.destination
        if dest is None and decision.service in self._gap_orders:
            # No rule covers this instant, although the service must always be open: never "closed".
            facts.append((Fact.FALLBACK, {"reason": NO_RULE, "service": decision.service}))
            order = self._gap_orders[decision.service]
        elif dest is None:
            return Reply(self._closed(decision, call.now), facts)
        elif dest.number is None:
            return Reply(self._details_verbs(dest, can_text(call)), facts)
        else:
            order = self.dial_order(decision)
        remaining = [d for d in order if d.key not in chain.tried]
        if not remaining:
            return Reply(self._exhausted(chain, call.now), facts)
        target = remaining[0]
        rung = chain.rung(target.key)
        say = Say(f"Connecting you to {target.name}." if not chain.tried else f"Trying {target.name}.")
        # How the answer is confirmed is the destination's own (README, "What callers hear"): press 1
        # (person), Twilio's verdict on who answered (machine-detection), or none at all (direct).
        answerer = {Answer.PERSON: "screen", Answer.MACHINE_DETECTION: "detected"}.get(target.answer)
        screening = rung.screening(call.sid).to_query(service_in_path=True)
        dial = Dial(
            number=target.number or "",
            action=self.url("dialled", chain.service, **rung.to_query()),
            screen=self.url(answerer, chain.service, **screening) if answerer else "",
            caller_id=call.caller_id(),
            timeout=DIAL_TIMEOUT,
            extensions=(target.extension,),
            machine_detection=target.answer is Answer.MACHINE_DETECTION,
        )
        return Reply([say, dial], facts)

    def dial_order(self, decision: Decision) -> list[Destination]:
        """The decision's destination, then the service's fallbacks, each number rung once."""
        if decision.destination is None:
            return []
        return self._dial_orders[(decision.service, decision.destination.key)]

    def dialled(self, chain: Chain, result: DialResult, call: Call) -> Reply:
        """The Dial finished: done if the caller talked to someone, else the next in the chain.

        Twilio's `DialBridged` decides when it is sent: a bridged caller has talked and is never rung
        on to someone else; a leg that was not bridged (screening refused, a machine hung up on) rings
        on. Without it, Twilio's status decides, and for a screened or detected answer the recorded
        acceptance too, unless that record could not be read (`accepted` None).
        """
        dialled = self.line.schedule.destinations.get(chain.tried[-1]) if chain.tried else None
        answer = dialled.answer if dialled else Answer.PERSON
        picked_up = result.status in ANSWERED
        if result.bridged is not None:
            talked = result.bridged
        else:
            talked = picked_up and (answer is Answer.DIRECT or result.accepted is not False)
        outcome = result.status if talked else ("unaccepted" if picked_up else result.status or "failed")
        fact = {
            "attempt": chain.attempt,
            "destination": dialled.key if dialled else "",
            "number": dialled.number if dialled else None,
            "status": outcome,
            "duration": result.duration,
            "answer": answer.value,
            "bridged": result.bridged,
        }
        if talked:
            return Reply(
                [Say("The call has ended. Goodbye."), Hangup()], [(Fact.DIAL, fact), (Fact.END, {"outcome": "connected"})]
            )
        nxt = self.connect(chain, call)
        return Reply([Say("There was no answer."), *nxt.verbs], [(Fact.DIAL, fact), *nxt.facts])

    def _exhausted(self, chain: Chain, now: datetime) -> list[Verb]:
        words = [Say("I am sorry, nobody could take your call."), Say(self.flow.warning)]
        # Who is on duty now for the urgent service, not the front door, which may be closed at this hour.
        on_duty = self.router.route(self._urgent.key, now).destination
        if on_duty is not None and on_duty.number:
            words.append(Say(f"You can also call {on_duty.name} on {spoken(on_duty.number)}."))
        if chain.round >= ROUNDS:
            return [*words, Say("Please call again. Goodbye."), Hangup()]
        action = self.url("again", chain.service, **chain.next_round().to_query())
        gather = Gather(action, (*words, Say("To try again, press 1, or stay on the line.")), 1, MENU_TIMEOUT)
        # Staying on the line tries again too: a caller who says nothing is not cut off.
        return [gather, Redirect(action)]

    def again(self, chain: Chain, heard: Heard, call: Call) -> Reply:
        """After nobody answered: the whole chain once more, or the shortcut key asks for a professional's code."""
        if heard.digits == self.flow.keys.shortcut:
            return self.ask_code(Where((self.flow.start,)))
        return self.connect(replace(chain, tried=()), call)

    # -- the answerer's side ----------------------------------------------------------------

    def screen(self, screening: Screening) -> Reply:
        """What the person answering hears: where the call comes from, press 1; every hearing left, then their leg hangs up.

        The retries live in this one document. Twilio runs a `<Number url>` document with only
        `<Play>`, `<Say>`, `<Gather>` and `<Hangup>` ("The url attribute does not support any other
        TwiML verbs", twilio.com/docs/voice/twiml/number#url), so a `<Redirect>` to the next hearing
        is not an option; a `<Gather>` the answerer lets pass falls through to the next verb
        (twilio.com/docs/voice/twiml/gather), here the next hearing and at last the `<Hangup>`,
        which leaves the call not accepted (nothing recorded, so the dial's result rings on).
        """
        name = self.line.schedule.services[screening.service].name
        text = Say(
            f"This is a call from the {self.flow.name} line: {name}, through {screening.via}. "
            f"To accept the call, press {ACCEPT_KEY}."
        )
        hearings: list[Verb] = []
        hearing = screening
        while True:
            hearings.append(Gather(self.url("screened", **hearing.to_query()), (text,), 1, SCREEN_TIMEOUT))
            if hearing.hearing >= HEARINGS:
                return Reply([*hearings, Hangup()])
            hearing = hearing.heard_again()

    def screened(self, screening: Screening, heard: Heard) -> Reply:
        """The answerer pressed a key: 1 bridges the call; anything else plays the message again, then hangs up.

        The SCREEN fact belongs to the caller's call (`screening.call`), not to the answerer's leg.
        """
        if heard.digits == ACCEPT_KEY:
            return Reply([Say("Connecting.")], [(Fact.SCREEN, {"attempt": screening.attempt, "accepted": True})])
        if screening.hearing >= HEARINGS:
            return Reply([Hangup()], [(Fact.SCREEN, {"attempt": screening.attempt, "accepted": False})])
        return self.screen(screening.heard_again())

    def detected(self, screening: Screening, answered_by: str) -> Reply:
        """Twilio's machine detection gave its verdict: a machine is hung up on (no answer), anyone else connected.

        With `machineDetection` on a `<Number>` the `url` document runs once detection is done and
        its request carries `AnsweredBy` (twilio.com/docs/voice/answering-machine-detection); the
        parties are connected only when that document ends, so a `<Hangup>` here leaves the caller
        unbridged (DialBridged "false") and the chain rings on.
        """
        machine = answered_by in MACHINES
        fact = {"attempt": screening.attempt, "accepted": not machine, "answered_by": answered_by or "unknown"}
        if machine:
            return Reply([Hangup()], [(Fact.SCREEN, fact)])
        name = self.line.schedule.services[screening.service].name
        return Reply([Say(f"A call from the {self.flow.name} line: {name}.")], [(Fact.SCREEN, fact)])

    # -- details read out -------------------------------------------------------------------

    def _details_verbs(self, dest: Destination, offer_text: bool) -> list[Verb]:
        """A team's details read out, then what the caller may press; texting only when `offer_text`."""
        return self._details_gather(dest, [Say(f"{_sentence(dest.name)}.")], offer_text)

    def _details_gather(self, dest: Destination, lead: list[Say], offer_text: bool) -> list[Verb]:
        keys = self.flow.keys
        prompts = [*lead, *(Say(line) for line in contact_lines(dest, spoken_form=True))]
        text = f"To have these details sent to you by text message, press {TEXT_KEY}. " if offer_text else ""
        prompts.append(
            Say(
                f"{text}To hear them again, press {_key_name(keys.repeat)}. To go back to the menu, press {_key_name(keys.back)}."
            )
        )
        action = self.url("details", dest.key)
        return [Gather(action, tuple(prompts), 1, MENU_TIMEOUT), Redirect(self.url("menu", self.flow.start))]

    def details_input(self, destination: str, heard: Heard, call: Call, send: SendText) -> Reply:
        """After a team's details: 1 queues them as a text through `send` and reads them again, 9 reads them again, * asks for a code.

        Whether a text arrives is known only after the call step has been answered, so the caller
        always hears the details again: a text that fails never leaves them without the details.
        Key 1 texts only when the text was offered (`can_text`); otherwise it reads the details again.
        """
        dest = self.line.schedule.destinations[destination]
        keys = self.flow.keys
        if heard.digits == TEXT_KEY and can_text(call) and call.caller:
            queued = send(call.caller, sms_text(self.line, dest))
            detail: Detail = {"to_masked": mask(call.caller), "destination": dest.key, "status": "queued"}
            if queued:
                lead = "We will send them by text message now. In case it does not arrive, here they are again:"
            else:
                lead = "Sorry, a text message cannot be sent just now. Here are the details again:"
                detail = {**detail, "status": "failed", "sent": False, "reason": "not queued"}
            return Reply(self._details_gather(dest, [Say(lead)], offer_text=False), [(Fact.SMS, detail)])
        if heard.digits in (keys.repeat, TEXT_KEY):
            return Reply(self._details_verbs(dest, can_text(call)))
        if heard.digits == keys.shortcut:
            return self.ask_code(Where((self.flow.start,)))
        return Reply([Redirect(self.url("menu", self.flow.start))])

    def _closed(self, decision: Decision, now: datetime) -> list[Verb]:
        service = self.line.schedule.services[decision.service]
        words = f"The service for {service.name} is closed at the moment."
        if decision.until is not None:
            words += f" It opens again {spoken_when(decision.until, now)}."
            upcoming = self.router.route(service.key, decision.until).destination
            if upcoming and upcoming.number:
                words += f" The number is {spoken(upcoming.number)}."
        urgent = next((o for o in self.flow.menus[self.flow.start].options if o.service == self._urgent.key), None)
        if urgent is not None:
            words += f" If you are worried that a child is at risk, press {urgent.key}."
        # Keys pressed during the message count as choices in the start menu. Silence ends the call
        # politely: a caller who asked for a closed service is not put into the safeguarding queue
        # unless they choose it (a Gather with no input falls through, twilio.com/docs/voice/twiml/gather).
        action = self.url("input", self.flow.start, **Where((self.flow.start,)).to_query())
        return [Gather(action, (Say(words),), 1, MENU_TIMEOUT), Say(GOODBYE), Hangup()]

    # -- when all else fails ----------------------------------------------------------------

    def safe(self, now: datetime | None) -> Reply:
        """The answer for anything unexpected: the warning, then the urgent route as scheduled.

        Without a usable instant (or if routing itself fails) the static 24/7 list is dialled.
        The request may be what broke, so nothing of it (caller ID, call SID) is trusted.
        """
        if now is not None:
            try:
                chain = Chain(self._urgent.key, via="the safe route after an error")
                reply = self.connect(chain, Call("", None, "", now))
                if any(isinstance(v, Dial) for v in reply.verbs):
                    return Reply([Say(self.flow.warning), *reply.verbs], [(Fact.FALLBACK, {"reason": "error"}), *reply.facts])
            except Exception:  # noqa: BLE001 - the static list below is the answer to any failure
                pass
        return Reply(static_fallback(self.line), [(Fact.FALLBACK, {"reason": "static"})])


def static_fallback(line: Line) -> list[Verb]:
    """The answer that needs no app, schedule or clock: the 999 warning, every 24/7 number rung at once, then goodbye.

    It is served when the app cannot route (Twilio's fallback URL, a TwiML Bin, the answer of last
    resort), so it can ask the app nothing: no `action`, no screening URL. Hence one `<Dial>`:
    - Its `<Number>`s ring simultaneously and "the first call to pick up is connected to the
      current call and the rest are hung up" (twilio.com/docs/voice/twiml/number). Whichever team
      is on duty at this hour answers; no order, so no clock, is needed to reach it.
    - "If you do not provide an action URL in your <Dial> and the original caller is still on the
      line, Twilio will continue to render the original TwiML document" (twilio.com/docs/voice/twiml/dial),
      after a finished conversation as after no answer. A second `<Dial>` would ring another team
      after a completed call, so only words that fit both cases follow, then `<Hangup>`.
    """
    teams = [dest for dest in round_the_clock(line) if dest.number][:MOST_AT_ONCE]
    numbers = [dest.number or "" for dest in teams]
    front = line.schedule.destinations[line.flow.front_door]
    extensions = tuple(dest.extension for dest in teams)
    dial: list[Verb] = [Dial(numbers[0], "", "", None, DIAL_TIMEOUT, tuple(numbers[1:]), extensions)] if numbers else []
    return [
        Say(line.flow.warning),
        Say("Connecting you now."),
        *dial,
        Say(
            f"If nobody answered, please call again. {line.flow.warning} "
            f"You can also call {front.name} on {spoken(front.number or '')}. Goodbye."
        ),
        Hangup(),
    ]


def no_line() -> list[Verb]:
    """For a call no configured line can take: the 999 warning and a polite end, never silence."""
    return [
        Say("If a child is in immediate danger, hang up and call 999."),
        Say("Sorry, this line cannot connect your call at the moment. Please call your council's children's services again."),
        Hangup(),
    ]


def round_the_clock(line: Line) -> list[Destination]:
    """The destinations of the urgent service, in rule order then fallback order, numbers once."""
    service = line.schedule.services[line.flow.urgent_service]
    return dialable_once(line.schedule, [r.destination for r in service.rules] + list(service.fallback))


def dialable_once(schedule: Schedule, keys: list[str]) -> list[Destination]:
    """The destinations named by `keys` that have a number, in order, each number (with its extension) only once."""
    seen: set[tuple[str, str]] = set()
    result = []
    for key in keys:
        dest = schedule.destinations[key]
        # Two extensions of one switchboard are two teams: both are rung.
        if dest.number and (dest.number, dest.extension) not in seen:
            seen.add((dest.number, dest.extension))
            result.append(dest)
    return result


def contact_lines(dest: Destination, spoken_form: bool) -> list[str]:
    """A destination's number, email and web address, for speech or for a text message."""
    lines = []
    if dest.number:
        lines.append(f"Phone {spoken(dest.number) if spoken_form else display(dest.number)}.")
    if dest.email:
        lines.append(f"Email {spoken_address(dest.email) if spoken_form else dest.email}.")
    if dest.web:
        lines.append(f"Web {spoken_address(dest.web) if spoken_form else dest.web}.")
    if dest.note and not spoken_form:
        lines.append(dest.note)
    return lines


def can_text(call: Call) -> bool:
    """Whether this caller can be offered a text: texting is configured and their number is a valid mobile."""
    return call.texting and call.caller is not None and is_mobile(call.caller)


def sms_text(line: Line, dest: Destination) -> str:
    """The text message body for a destination's contact details."""
    return "\n".join([f"{line.flow.name}: {dest.name}", *contact_lines(dest, spoken_form=False)])


def spoken_when(at: datetime, now: datetime) -> str:
    """'today at 5 pm', 'tomorrow at 8:45 am', 'on Monday at 8:45 am', 'on Monday 4 January ...'."""
    local_now = now.astimezone(at.tzinfo)
    clock = at.strftime("%I:%M %p").lstrip("0").replace(":00", "").lower()
    days = (at.date() - local_now.date()).days
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    if days < 7:
        return f"on {at:%A} at {clock}"
    return f"on {at:%A} {at.day} {at:%B} at {clock}"


def _route_fact(decision: Decision) -> Detail:
    dest = decision.destination
    return {
        "service": decision.service,
        "destination": dest.key if dest else None,
        "name": dest.name if dest else None,
        "number": dest.number if dest else None,
        "rule": decision.rule,
        "until": decision.until.isoformat() if decision.until else None,
    }


def _option_text(menu: Menu, option: Option) -> str:
    say = f", or say {option.words[0]}" if menu.speech and option.words else ""
    return f"{option.label}, press {option.key}{say}."


def _with(facts: list[tuple[Fact, Detail]], reply: Reply) -> Reply:
    return Reply(reply.verbs, facts + reply.facts)


def _key_name(key: str) -> str:
    return {"*": "star", "#": "hash"}.get(key, key)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
