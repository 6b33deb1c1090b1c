"""The call flow: from where a caller is and what they pressed, what they hear and who is rung.

Pure: given a line, its router and the instant, each method returns the verbs to play and the
facts worth recording. Nothing here knows Flask, Twilio or the database; every step's state
travels in the webhook URL, so any worker can serve any step of any call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from ivr.core.facts import Detail, Fact
from ivr.core.model import Decision, Destination, Line, Menu, Option, Schedule
from ivr.core.numbers import display, spoken, spoken_address
from ivr.core.schedule import Router
from ivr.core.verbs import Dial, Gather, Hangup, Redirect, Say, Verb

DIAL_TIMEOUT = 25  # seconds a team's phone rings before the next in the chain is tried
SCREEN_TIMEOUT = 8  # seconds the answerer has to press 1
MENU_TIMEOUT = 6
ROUNDS = 3  # times the whole chain is tried before the caller is let go
ACCEPT_KEY = "1"
ANSWERED = frozenset({"completed", "answered"})


@dataclass(frozen=True)
class Reply:
    """Verbs for Twilio plus (kind, detail) facts for the call record."""

    verbs: list[Verb]
    facts: list[tuple[Fact, Detail]] = field(default_factory=list)


@dataclass(frozen=True)
class Where:
    """A caller's place in the menus: the trail of menus walked and the try number."""

    trail: tuple[str, ...]
    tries: int = 1

    def query(self, **extra: Any) -> dict[str, Any]:
        return {"trail": ".".join(self.trail), "try": self.tries, **extra}


class CallFlow:
    """One line's call flow."""

    def __init__(self, line: Line, router: Router) -> None:
        self.line = line
        self.flow = line.flow
        self.router = router
        self.base = f"/voice/{line.key}"
        self._urgent = line.schedule.services[self.flow.urgent_service]
        self._code_digits = max((len(c) for c in self.flow.shortcuts), default=1)
        # Each menu's spoken options are fixed for a configuration: build them once, not per call.
        self._prompts = {key: self._menu_prompts(menu) for key, menu in self.flow.menus.items()}
        self._hints = {
            key: tuple(o.word for o in menu.options if o.word) if menu.speech else None for key, menu in self.flow.menus.items()
        }
        # Who to ring, in order, for every destination a service can be routed to.
        schedule = line.schedule
        self._chains = {
            (service.key, first): dialable_once(schedule, [first, *service.fallback])
            for service in schedule.services.values()
            for first in {r.destination for r in service.rules}
            | {o.destination for o in schedule.overrides if o.covers(service.key)}
        }

    # -- URLs -------------------------------------------------------------------------------

    def url(self, *parts: str, **query: Any) -> str:
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
        """Play the menu at the end of the trail."""
        return Reply(self._menu_verbs(where, ()), [(Fact.MENU, {"menu": where.trail[-1]})])

    def _menu_verbs(self, where: Where, intro: tuple[Say, ...]) -> list[Verb]:
        menu = self.flow.menus[where.trail[-1]]
        options, top_level, nested = self._prompts[menu.key]
        action = self.url("input", menu.key, **where.query())
        prompts = (*intro, *options, nested if len(where.trail) > 1 else top_level)
        # With no key pressed Twilio falls through to the Redirect, which counts as a try.
        return [Gather(action, prompts, 1, MENU_TIMEOUT, "", self._hints[menu.key]), Redirect(action)]

    def _menu_prompts(self, menu: Menu) -> tuple[tuple[Say, ...], Say, Say]:
        """A menu's intro and options, and its closing line for the start menu and for sub-menus."""
        spoken_options = tuple(Say(_option_text(menu, option)) for option in menu.options)
        keys = self.flow.keys
        repeat = f"To hear these options again, press {_key_name(keys.repeat)}."
        back = f" To go back, press {_key_name(keys.back)}."
        return ((Say(menu.intro), *spoken_options) if menu.intro else spoken_options), Say(repeat), Say(repeat + back)

    def menu_input(
        self, where: Where, digits: str, speech: str, now: datetime, caller: str | None = None, call_sid: str = ""
    ) -> Reply:
        """What a key (or a spoken word) does in the menu at the end of the trail."""
        menu = self.flow.menus[where.trail[-1]]
        keys = self.flow.keys
        pressed = {"menu": menu.key, "digits": digits} if digits else {"menu": menu.key, "speech": speech}
        facts: list[tuple[Fact, Detail]] = [(Fact.KEY, pressed)] if digits or speech else []
        if digits == keys.shortcut:
            return _with(facts, self.ask_code(where))
        if digits == keys.repeat:
            return _with(facts, self.menu(Where(where.trail)))
        if digits == keys.back:
            return _with(facts, self.menu(Where(where.trail[:-1] or where.trail)))
        option = menu.option(digits) if digits else _heard(menu, speech)
        if option is None:
            return _with(facts, self.retry(where, silent=not (digits or speech)))
        if option.menu:
            return _with(facts, self.menu(Where((*where.trail, option.menu))))
        assert option.service is not None
        via = f"option {option.key} of the {menu.key} menu"
        return _with(facts, self.connect(option.service, now, via=via, caller=caller, call_sid=call_sid))

    def retry(self, where: Where, silent: bool) -> Reply:
        """No input (`silent`) or a wrong key: play the menu again; after the last try, connect."""
        if where.tries >= self.flow.tries:
            reason = f"{'no choice' if silent else 'no valid choice'} after {where.tries} tries"
            connect = Redirect(self.url("connect", self._urgent.key, via=f"after {where.tries} tries without a choice"))
            return Reply([Say("Connecting you to someone who can help."), connect], [(Fact.FALLBACK, {"reason": reason})])
        sorry = Say("Sorry, I did not hear a choice." if silent else "Sorry, that is not one of the options.")
        nxt = Where(where.trail, where.tries + 1)
        return Reply([sorry, Redirect(self.url("menu", nxt.trail[-1], **nxt.query()))])

    # -- professional shortcuts -------------------------------------------------------------

    def ask_code(self, where: Where) -> Reply:
        """After the shortcut key: collect the code (the caller may already be typing it)."""
        action = self.url("code", **where.query())
        gather = Gather(action, (Say("Shortcut code."),), self._code_digits, 5, "#")
        return Reply([gather, Redirect(action)])

    def code_input(self, where: Where, code: str, now: datetime, caller: str | None = None, call_sid: str = "") -> Reply:
        """A professional's code: straight to its service, which still obeys the schedule."""
        shortcut = self.flow.shortcuts.get(code)
        if shortcut is None:
            retry = self.retry(where, silent=not code)
            return Reply(
                [Say("That code is not recognised."), *retry.verbs],
                [(Fact.KEY, {"menu": "shortcut", "digits": code}), *retry.facts],
            )
        facts: list[tuple[Fact, Detail]] = [(Fact.SHORTCUT, {"code": code, "service": shortcut.service})]
        decision = self.router.route(shortcut.service, now)
        lead: list[Verb] = []
        dest = decision.destination
        expected = shortcut.expects
        if dest is not None and expected and dest.key != expected:
            lead.append(
                Say(f"{_sentence(shortcut.name)} is not open at this time. You will be put through to {dest.name} instead.")
            )
        connect = self.connect(
            shortcut.service, now, via=f"professional shortcut {code}", caller=caller, call_sid=call_sid, decision=decision
        )
        return Reply([*lead, *connect.verbs], facts + connect.facts)

    # -- connecting -------------------------------------------------------------------------

    def connect(
        self,
        service: str,
        now: datetime,
        via: str,
        tried: tuple[str, ...] = (),
        rounds: int = 1,
        attempt: int = 0,
        caller: str | None = None,
        call_sid: str = "",
        decision: Decision | None = None,
    ) -> Reply:
        """Route `service` now and ring the next destination of its chain not yet tried."""
        decision = decision or self.router.route(service, now)
        facts: list[tuple[Fact, Detail]] = [(Fact.ROUTE, _route_fact(decision))]
        dest = decision.destination
        if dest is None:
            return Reply(self._closed(decision, now), facts)
        if dest.number is None:
            return Reply(self._details_verbs(dest), facts)
        chain = self.chain(decision)
        remaining = [d for d in chain if d.key not in tried]
        if not remaining:
            return Reply(self._exhausted(service, via, rounds, attempt), facts)
        target = remaining[0]
        attempt += 1
        say = Say(f"Connecting you to {target.name}." if not tried else f"Trying {target.name}.")
        query = {"via": via, "tried": ",".join((*tried, target.key)), "round": rounds, "attempt": attempt}
        dial = Dial(
            number=target.number or "",
            action=self.url("dialled", service, **query),
            screen=self.url("screen", service, call=call_sid, attempt=attempt, via=via),
            caller_id=caller,
            timeout=DIAL_TIMEOUT,
        )
        return Reply([say, dial], facts)

    def chain(self, decision: Decision) -> list[Destination]:
        """The decision's destination, then the service's fallbacks, each number rung once."""
        if decision.destination is None:
            return []
        return self._chains[(decision.service, decision.destination.key)]

    def dialled(
        self,
        service: str,
        now: datetime,
        via: str,
        tried: tuple[str, ...],
        rounds: int,
        attempt: int,
        status: str,
        accepted: bool | None,
        duration: str = "",
        caller: str | None = None,
        call_sid: str = "",
    ) -> Reply:
        """The Dial finished: done if the answerer accepted, else the next in the chain.

        `accepted` is None when the record of acceptance could not be read; then Twilio's
        status alone decides, since a caller who talked must not be rung on to someone else.
        """
        talked = status in ANSWERED and accepted is not False
        outcome = status if talked else ("unaccepted" if status in ANSWERED else status or "failed")
        dialled = self.line.schedule.destinations.get(tried[-1]) if tried else None
        fact = {
            "attempt": attempt,
            "destination": dialled.key if dialled else "",
            "number": dialled.number if dialled else None,
            "status": outcome,
            "duration": duration,
        }
        if talked:
            return Reply(
                [Say("The call has ended. Goodbye."), Hangup()], [(Fact.DIAL, fact), (Fact.END, {"outcome": "connected"})]
            )
        nxt = self.connect(service, now, via, tried, rounds, attempt, caller, call_sid)
        return Reply([Say("There was no answer."), *nxt.verbs], [(Fact.DIAL, fact), *nxt.facts])

    def _exhausted(self, service: str, via: str, rounds: int, attempt: int) -> list[Verb]:
        front = self.line.schedule.destinations[self.flow.front_door]
        words = [
            Say("I am sorry, nobody could take your call."),
            Say(self.flow.warning),
            Say(f"You can also call {front.name} on {spoken(front.number or '')}."),
        ]
        if rounds >= ROUNDS:
            return [*words, Say("Please call again. Goodbye."), Hangup()]
        action = self.url("again", service, via=via, round=rounds + 1, attempt=attempt)
        gather = Gather(action, (*words, Say("To try again, press 1, or stay on the line.")), 1, MENU_TIMEOUT)
        # Staying on the line tries again too: a caller who says nothing is not cut off.
        return [gather, Redirect(action)]

    def again(self, service: str, now: datetime, via: str, rounds: int, attempt: int, caller: str | None, call_sid: str) -> Reply:
        """Try the whole chain once more."""
        return self.connect(service, now, via, (), rounds, attempt, caller, call_sid)

    # -- the answerer's side ----------------------------------------------------------------

    def screen(self, service: str, via: str, call: str, attempt: int, tries: int = 1) -> Reply:
        """What the person answering hears: where the call comes from; press 1 to take it."""
        name = self.line.schedule.services[service].name
        text = f"This is a call from the {self.flow.name} line: {name}, through {via}. To accept the call, press {ACCEPT_KEY}."
        action = self.url("screened", call=call, attempt=attempt, service=service, via=via, **{"try": tries})
        if tries >= 2:
            return Reply([Gather(action, (Say(text),), 1, SCREEN_TIMEOUT), Hangup()])
        again = self.url("screen", service, call=call, attempt=attempt, via=via, **{"try": tries + 1})
        return Reply([Gather(action, (Say(text),), 1, SCREEN_TIMEOUT), Redirect(again)])

    def screened(self, service: str, via: str, call: str, attempt: int, digits: str, tries: int) -> Reply:
        """The answerer pressed a key: 1 bridges the call; anything else plays the message again."""
        if digits == ACCEPT_KEY:
            return Reply([Say("Connecting.")], [(Fact.SCREEN, {"attempt": attempt, "accepted": True})])
        if tries >= 2:
            return Reply([Hangup()], [(Fact.SCREEN, {"attempt": attempt, "accepted": False})])
        return self.screen(service, via, call, attempt, tries + 1)

    # -- details read out -------------------------------------------------------------------

    def _details_verbs(self, dest: Destination) -> list[Verb]:
        prompts = [Say(f"{_sentence(dest.name)}.")]
        prompts.extend(Say(line) for line in contact_lines(dest, spoken_form=True))
        prompts.append(
            Say(
                f"To have these details sent to you by text message, press 1. To hear them again, press {_key_name(self.flow.keys.repeat)}. To go back to the menu, press {_key_name(self.flow.keys.back)}."
            )
        )
        action = self.url("details", dest.key)
        return [Gather(action, tuple(prompts), 1, MENU_TIMEOUT), Redirect(self.url("menu", self.flow.start))]

    def details_input(self, dest: Destination, digits: str, sent: bool | None) -> Reply:
        """After the details: 1 sends them by text (the web layer reports whether it could)."""
        keys = self.flow.keys
        if digits == "1":
            words = (
                "The details have been sent to you by text message."
                if sent
                else "Sorry, a text message cannot be sent to the number you are calling from."
            )
            return Reply([Say(words), Redirect(self.url("menu", self.flow.start))])
        if digits == keys.repeat:
            return Reply(self._details_verbs(dest))
        if digits == keys.shortcut:
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
        # Keys pressed during the message count as choices in the start menu.
        start = Where((self.flow.start,))
        action = self.url("input", self.flow.start, **start.query())
        return [Gather(action, (Say(words),), 1, 1), Redirect(self.url("menu", self.flow.start))]

    # -- when all else fails ----------------------------------------------------------------

    def safe(self, now: datetime | None) -> Reply:
        """The answer for anything unexpected: the warning, then the urgent route as scheduled.

        Without a usable instant (or if routing itself fails) the static 24/7 list is dialled.
        """
        if now is not None:
            try:
                reply = self.connect(self._urgent.key, now, via="the safe route after an error")
                if any(isinstance(v, Dial) for v in reply.verbs):
                    return Reply([Say(self.flow.warning), *reply.verbs], [(Fact.FALLBACK, {"reason": "error"}), *reply.facts])
            except Exception:  # noqa: BLE001 - the static list below is the answer to any failure
                pass
        return Reply(static_fallback(self.line), [(Fact.FALLBACK, {"reason": "static"})])


def static_fallback(line: Line) -> list[Verb]:
    """The line's 24/7 numbers in order, with the 999 warning; needs no schedule or clock."""
    verbs: list[Verb] = [Say(line.flow.warning), Say("Connecting you now.")]
    for dest in round_the_clock(line):
        verbs.append(Dial(dest.number or "", "", "", None, DIAL_TIMEOUT))
    front = line.schedule.destinations[line.flow.front_door]
    verbs.append(
        Say(f"Nobody could take your call. {line.flow.warning} You can also call {front.name} on {spoken(front.number or '')}.")
    )
    return verbs


def round_the_clock(line: Line) -> list[Destination]:
    """The destinations of the urgent service, in rule order then fallback order, numbers once."""
    service = line.schedule.services[line.flow.urgent_service]
    return dialable_once(line.schedule, [r.destination for r in service.rules] + list(service.fallback))


def dialable_once(schedule: Schedule, keys: list[str]) -> list[Destination]:
    """The destinations named by `keys` that have a number, in order, each number only once."""
    seen: set[str] = set()
    result = []
    for key in keys:
        dest = schedule.destinations[key]
        if dest.number and dest.number not in seen:
            seen.add(dest.number)
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
    say = f", or say {option.word}" if menu.speech and option.word else ""
    return f"{option.label}, press {option.key}{say}."


def _heard(menu: Menu, speech: str) -> Option | None:
    said = speech.lower()
    return next((o for o in menu.options if o.word and o.word in said), None) if said else None


def _with(facts: list[tuple[Fact, Detail]], reply: Reply) -> Reply:
    return Reply(reply.verbs, facts + reply.facts)


def _key_name(key: str) -> str:
    return {"*": "star", "#": "hash"}.get(key, key)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
