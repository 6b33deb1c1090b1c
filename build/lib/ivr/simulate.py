"""A call played against the real webhooks, in-process, signed, with the clock frozen.

It behaves as Twilio would: it follows Redirects, feeds the typed keys to each Gather by its
numDigits and finishOnKey (a Gather with no keys left times out and falls through), answers
each Dial's action with the next dial status, and plays the answerer's side of call screening.

With `strict` it also holds every document to the rules Twilio documents (the tables below) and
plays what Twilio documents where our reading was looser: a `<Dial>` without `action` goes on
with the next verb once the dialled call ends, a `<Gather>` without `action` posts to the
document's own URL. The first rule broken ends the call (`Simulation.broken`).
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit
from xml.etree import ElementTree

from twilio.request_validator import RequestValidator

from ivr.app import create_app
from ivr.core.errors import IvrError, UnknownLine
from ivr.core.flow import ACCEPT_KEY, CallFlow
from ivr.services import london_now, services_of

BASE = "https://ivr.simulator.invalid"
MAX_STEPS = 80
WAIT = "w"  # in --keys: the caller lets a prompt time out without pressing anything
# "unaccepted": a person answers and does not accept; "machine": voicemail or a fax answers.
DIAL_STATUSES = ("completed", "answered", "busy", "no-answer", "failed", "canceled", "unaccepted", "machine")
PICKED_UP = frozenset({"completed", "answered", "unaccepted", "machine"})

# -- Twilio's documented rules, enforced with `strict` -------------------------------------------

CALLER = "the caller's call"
ANSWERER = "the <Number url> document"

# The verbs Twilio runs in each context. The caller's call: the voice verbs of
# twilio.com/docs/voice/twiml. The answerer's side (the <Number url> document and the answers to
# its Gathers): "privately <Play> or <Say> ... decline the phone call using <Gather> and <Hangup>.
# The url attribute does not support any other TwiML verbs" (twilio.com/docs/voice/twiml/number#url);
# a <Dial> there is Twilio error 13201.
VERBS = {
    CALLER: frozenset(
        {"Connect", "Dial", "Enqueue", "Gather", "Hangup", "Leave", "Pause", "Pay", "Play", "Record", "Redirect"}
        | {"Refer", "Reject", "Say", "Start", "Stop"}
    ),
    ANSWERER: frozenset({"Play", "Say", "Gather", "Hangup"}),
}
PLAYED = frozenset({"Say", "Play", "Pause", "Gather", "Dial", "Redirect", "Hangup"})  # what this simulator can play

# What may nest in what (<Say> holds SSML, not checked here). <Gather>: "you can nest <Say>, <Play>
# and <Pause>" (twilio.com/docs/voice/twiml/gather); <Dial>: its nouns (twilio.com/docs/voice/twiml/dial).
NESTED = {
    "Gather": frozenset({"Say", "Play", "Pause"}),
    "Dial": frozenset({"Number", "Client", "Conference", "Queue", "Sip", "Application"}),
    "Number": frozenset(),
    "Play": frozenset(),
    "Pause": frozenset(),
    "Redirect": frozenset(),
    "Hangup": frozenset(),
}
MOST_NUMBERS = 10  # "up to ten <Number> nouns within a <Dial>" (twilio.com/docs/voice/twiml/number)

# Whole-number attributes and their documented range (None: no upper bound).
RANGES: dict[tuple[str, str], tuple[int, int | None]] = {
    ("Gather", "timeout"): (1, None),  # Gather page: a positive integer, default 5
    ("Gather", "numDigits"): (1, None),  # Gather page: a positive integer
    ("Dial", "timeout"): (5, 600),  # Dial page: seconds to ring, 5 to 600 (warning 13212 otherwise)
    ("Dial", "timeLimit"): (1, None),  # positive (warning 13216)
    ("Pause", "length"): (1, None),  # Pause page: seconds, greater than 0
    ("Say", "loop"): (0, None),
    ("Play", "loop"): (0, None),
    ("Number", "machineDetectionTimeout"): (3, 60),  # Number page: 3-60
}
BOOLEAN = frozenset({"true", "false"})
METHOD = frozenset({"GET", "POST"})
# Attributes with a documented set of values.
CHOICES: dict[tuple[str, str], frozenset[str]] = {
    ("Gather", "finishOnKey"): frozenset({"", *"0123456789#*"}),  # Gather page: 0-9, #, * or '' (none)
    ("Gather", "input"): frozenset({"dtmf", "speech", "dtmf speech", "speech dtmf"}),
    ("Gather", "actionOnEmptyResult"): BOOLEAN,
    ("Gather", "method"): METHOD,
    ("Dial", "answerOnBridge"): BOOLEAN,
    ("Dial", "hangupOnStar"): BOOLEAN,
    ("Dial", "method"): METHOD,
    ("Redirect", "method"): METHOD,
    ("Number", "method"): METHOD,
    ("Number", "statusCallbackMethod"): METHOD,
    ("Number", "machineDetection"): frozenset({"Enable", "DetectMessageEnd"}),
}
STATUS_EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})  # Number page: statusCallbackEvent
SEND_DIGITS = frozenset("0123456789#*wW")  # Number page: sendDigits, with w (half a second's wait)


class TwilioRuleBroken(IvrError, ValueError):
    """A TwiML document breaks a rule Twilio documents, so Twilio would not play it as written."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def problems(doc: ElementTree.Element, context: str) -> list[str]:
    """Every documented rule `doc` breaks when Twilio runs it in `context` (CALLER or ANSWERER)."""
    found = [] if doc.tag == "Response" else [f"the document is <{doc.tag}>, not <Response>"]
    for verb in doc:
        if verb.tag not in VERBS[context]:
            found.append(f"<{verb.tag}> is not allowed in {context}")
        elif verb.tag not in PLAYED:
            found.append(f"<{verb.tag}> cannot be simulated")
        found.extend(_element_problems(verb))
    return found


def _element_problems(element: ElementTree.Element) -> list[str]:
    tag = element.tag
    found = [p for name, value in element.attrib.items() if (p := _attribute_problem(tag, name, value))]
    allowed = NESTED.get(tag)
    if allowed is not None:
        for child in element:
            if child.tag in allowed:
                found.extend(_element_problems(child))
            else:
                found.append(f"<{child.tag}> cannot be nested in <{tag}>")
    text = "".join(element.itertext()).strip()
    if tag in ("Say", "Redirect", "Number") and not text:
        found.append(f"<{tag}> has no {'URL' if tag == 'Redirect' else 'text' if tag == 'Say' else 'number'}")
    if tag == "Play" and not text and not element.get("digits"):
        found.append("<Play> has neither a URL nor digits")
    if tag == "Dial":
        nouns = list(element)
        if not nouns and not text:
            found.append("<Dial> names nothing to dial")
        if sum(1 for n in nouns if n.tag == "Number") > MOST_NUMBERS:
            found.append(f"<Dial> holds more than {MOST_NUMBERS} <Number>s")
    if tag == "Number" and element.get("machineDetection") and not element.get("url"):
        # The verdict (AnsweredBy) reaches the <Number url> document; without one a machine is bridged.
        found.append("<Number machineDetection> has no url to act on AnsweredBy")
    return found


def _attribute_problem(tag: str, name: str, value: str) -> str | None:
    if (tag, name) in RANGES:
        lo, hi = RANGES[(tag, name)]
        number = int(value) if value.strip().isdigit() else None
        if number is None or number < lo or (hi is not None and number > hi):
            return f"<{tag} {name}={value!r}> is outside {lo}-{hi}" if hi else f"<{tag} {name}={value!r}> is not at least {lo}"
    elif (tag, name) in CHOICES and value not in CHOICES[(tag, name)]:
        return f"<{tag} {name}={value!r}> is not one of {', '.join(sorted(map(repr, CHOICES[(tag, name)])))}"
    elif (tag, name) == ("Number", "statusCallbackEvent") and not set(value.split()) <= STATUS_EVENTS:
        return f"<Number statusCallbackEvent={value!r}> names events other than {', '.join(sorted(STATUS_EVENTS))}"
    elif (tag, name) == ("Number", "sendDigits") and not set(value) <= SEND_DIGITS:
        return f"<Number sendDigits={value!r}> holds keys other than 0-9, #, * and w"
    return None


# -- playing calls --------------------------------------------------------------------------------


@dataclass
class Simulation:
    """What happened: each webhook step, a readable transcript, and the Twilio rule broken (strict), if any."""

    sid: str
    line: str
    at: datetime
    caller: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    connected_to: str | None = None
    dials: list[list[str]] = field(default_factory=list)  # the numbers each Dial rang, in the order dialled
    broken: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "call_sid": self.sid,
            "line": self.line,
            "at": self.at.isoformat(),
            "caller": self.caller,
            "connected_to": self.connected_to,
            "dials": self.dials,
            "broken": self.broken,
            "steps": self.steps,
            "transcript": self.transcript,
        }


def simulate(
    line: str,
    at: datetime,
    keys: str = "",
    caller: str = "+447911123456",
    dial_statuses: tuple[str, ...] = (),
    config_dir: str | None = None,
    record: bool = False,
    database_url: str | None = None,
    strict: bool = False,
) -> Simulation:
    """Play one call to `line` at the frozen instant `at`."""
    _check_statuses(dial_statuses)
    logging.basicConfig(level=logging.WARNING)
    with Simulator(config_dir, record, database_url) as simulator:
        return simulator.call(line, at, keys, caller, dial_statuses, strict)


def _check_statuses(statuses: tuple[str, ...]) -> None:
    for status in statuses:
        if status not in DIAL_STATUSES:
            raise ValueError(f"{status!r} is not a dial status ({', '.join(DIAL_STATUSES)})")


class Simulator:
    """One app for simulated calls, built once, through which any number of calls are played."""

    def __init__(self, config_dir: str | None = None, record: bool = False, database_url: str | None = None) -> None:
        self.token = secrets.token_hex(16)
        self.at: datetime | None = None  # the instant of the call being played
        self._scratch = tempfile.TemporaryDirectory(prefix="ivr-simulate-")
        settings: dict[str, Any] = {
            "IVR_ENV": "production",
            "TWILIO_AUTH_TOKEN": self.token,
            "TWILIO_ACCOUNT_SID": "",
            "IVR_PUBLIC_URL": BASE,
            "IVR_CLOCK": self._now,
            "IVR_SIMULATED": True,
            "IVR_RUN_CLOCK": False,
            "IVR_FOLLOW_SECONDS": 0,
            "IVR_INGEST_SECONDS": 0,
            "IVR_SERVE": "working-files",  # the files being tried, not whatever release is live
        }
        if config_dir:
            settings["IVR_CONFIG_DIR"] = config_dir
        if not record:
            # Nothing reaches the call records: a throwaway database holds these calls alone.
            settings["DATABASE_URL"] = f"sqlite:///{Path(self._scratch.name) / 'simulated.sqlite3'}"
            settings["IVR_INSTANCE_PATH"] = self._scratch.name
        elif database_url:
            settings["DATABASE_URL"] = database_url
        self.app = create_app(settings)
        self.post = flask_transport(self.app)

    def _now(self) -> datetime:
        return self.at or london_now()

    def call(
        self,
        line: str,
        at: datetime,
        keys: str = "",
        caller: str = "+447911123456",
        dial_statuses: tuple[str, ...] = (),
        strict: bool = False,
    ) -> Simulation:
        """Play one call to `line` with the app's clock frozen at `at`."""
        _check_statuses(dial_statuses)
        snapshot = services_of(self.app).live.current()
        if snapshot is None or line not in snapshot.flows:
            raise UnknownLine(line)
        self.at = at
        flow = snapshot.flows[line]
        return Caller(self.post, self.token, flow, BASE, at, keys, caller, list(dial_statuses), strict=strict).run()

    def close(self) -> None:
        """Remove the throwaway database."""
        self._scratch.cleanup()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.close()


Transport = Callable[[str, dict[str, str], dict[str, str]], tuple[int, str]]
"""POST (absolute URL, form parameters, headers) -> (HTTP status, body)."""


def flask_transport(app: Any) -> Transport:
    """POST into a Flask app in-process."""
    client = app.test_client()

    def post(url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = client.post(path, data=params, headers=headers, base_url=f"{parts.scheme}://{parts.netloc}")
        return response.status_code, response.get_data(as_text=True)

    return post


Next = tuple[str | None, dict[str, str]]
"""The next request of the call (URL, form parameters), or None when the call ends."""


class Caller:
    """Plays one call the way Twilio would, over any transport."""

    def __init__(
        self,
        post: Transport,
        token: str,
        flow: CallFlow,
        base: str,
        at: datetime,
        keys: str,
        caller: str,
        statuses: list[str],
        sid: str | None = None,
        strict: bool = False,
        start: str | None = None,
    ) -> None:
        self.transport = post
        self.validator = RequestValidator(token)
        self.flow = flow
        self.base = base
        self.keys = keys
        self.statuses = statuses
        self.strict = strict
        self.sid = sid or "CA" + secrets.token_hex(16)
        numbers = self.flow.flow.numbers
        self.base_params = {
            "CallSid": self.sid,
            "AccountSid": "AC" + "0" * 32,
            "From": caller,
            "To": numbers[0] if numbers else "+441000000000",
            "Direction": "inbound",
            "CallStatus": "in-progress",
        }
        self.result = Simulation(self.sid, flow.line.key, at, caller)
        self.start = start or f"{base}/voice/{flow.line.key}"  # the URL Twilio asks first (the number's voice URL)
        self.legs = 0

    def run(self) -> Simulation:
        say = self.result.transcript.append
        say(
            f"Simulated call {self.sid} to {self.result.line} at {self.result.at:%a %Y-%m-%d %H:%M %Z}, from {self.base_params['From']}"
        )
        url: str | None = self.start
        params: dict[str, str] = {}
        try:
            while url and len(self.result.steps) < MAX_STEPS:
                doc = self._post(url, {**self.base_params, **params}, CALLER)
                url, params = self._play(doc, url)
        except TwilioRuleBroken as broken:
            self.result.broken = str(broken)
            say(f"  Twilio would not play this: {broken.problem}")
            return self.result
        if url:
            say(f"Stopped after {MAX_STEPS} steps.")
        return self.result

    def _post(self, url: str, params: dict[str, str], context: str) -> ElementTree.Element:
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, params)}
        status, body = self.transport(url, params, headers)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.result.steps.append({"path": path, "params": params, "status": status, "twiml": body})
        self.result.transcript.append(f"POST {path}")
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        doc = ElementTree.fromstring(body)
        if self.strict:
            for problem in problems(doc, context):
                raise TwilioRuleBroken(path, problem)
        return doc

    def _play(self, doc: ElementTree.Element, url: str) -> Next:
        say = self.result.transcript.append
        for verb in doc:
            if verb.tag == "Say":
                say(f"  Caller hears: {verb.text}")
            elif verb.tag in ("Play", "Pause"):
                say(f"  Caller hears {_sound(verb)}")
            elif verb.tag == "Gather":
                prompts = [_heard(p) for p in verb]
                digits, self.keys = _take_keys(verb, self.keys)
                if digits is None:
                    for text in prompts:
                        say(f"  Caller hears: {text}")
                    say("  Caller presses nothing")
                    if self.strict and verb.get("actionOnEmptyResult") == "true":
                        return self._gather_action(verb, url), {"Digits": ""}
                    continue  # a Gather with no input falls through to the next verb (Gather page)
                if prompts:
                    say(f"  Caller hears: {prompts[0]} ...")
                say(f"  Caller presses {digits}")
                return self._gather_action(verb, url), {"Digits": digits}
            elif verb.tag == "Redirect":
                return urljoin(url, (verb.text or "").strip()), {}
            elif verb.tag == "Dial":
                action, params = self._dial(verb, url)
                if action or not self.strict:
                    return action, params
                # "If you do not provide an action URL in your <Dial> and the original caller is still
                # on the line, Twilio will continue to render the original TwiML document" (Dial page).
                say("  The Dial has no action: Twilio goes on with the next verb")
            elif verb.tag == "Hangup":
                say("  Call ends")
                return None, {}
        say("  Call ends")
        return None, {}

    def _gather_action(self, gather: ElementTree.Element, url: str) -> str | None:
        action = gather.get("action")
        if action:
            return urljoin(url, action)
        # Gather page: without an action Twilio posts to the URL of the document that holds it.
        return url if self.strict else None

    def _dial(self, dial: ElementTree.Element, url: str) -> Next:
        say = self.result.transcript.append
        nouns = [n for n in dial if n.tag == "Number"]
        targets = [(n.text or "").strip() for n in nouns] or [(dial.text or "").strip()]
        names = [self._name(target, dial) for target in targets]
        self.result.dials.append(targets)
        status = self.statuses.pop(0) if self.statuses else "completed"
        if len(targets) > 1:
            say(f"  Dialling at once: {'; '.join(f'{n} {t}' for n, t in zip(names, targets, strict=True))}")
        else:
            say(f"  Dialling {names[0]} {targets[0]}")
        reported = status
        number = nouns[0] if nouns else None
        screen = number.get("url") if number is not None else None
        detects = number is not None and bool(number.get("machineDetection"))
        bridged = False
        if status in PICKED_UP and screen:
            # With machineDetection the url document's request carries Twilio's verdict, AnsweredBy
            # (twilio.com/docs/voice/answering-machine-detection); voicemail presses no key either way.
            verdict = {"AnsweredBy": "machine_start" if status == "machine" else "human"} if detects else {}
            pressing = status not in ("unaccepted", "machine") or detects
            bridged = self._screen(urljoin(url, screen), accept=pressing, extra=verdict)
            reported = "completed"
            who = "Voicemail" if status == "machine" else _cap(names[0])
            say(f"  {who} answers and {'is connected' if bridged else 'is not connected (no key, or a machine)'}")
        elif status in PICKED_UP:
            # No screening: an answer is a conversation. Of numbers rung at once "the first call to pick
            # up is connected" (Number page); the simulator lets the first listed pick up. A voicemail
            # that answers is connected too: that is what `answer: direct` trusts the team's own queue to avoid.
            reported = "completed" if status in ("unaccepted", "machine") else status
            bridged = True
            say(f"  {'Voicemail' if status == 'machine' else _cap(names[0])} answers; the call is connected")
        else:
            say(f"  {'Nobody' if len(targets) > 1 else _cap(names[0])}: {status}")
        if bridged:
            self.result.connected_to = targets[0]
        action = dial.get("action")
        if not action:
            return None, {}
        return urljoin(url, action), {
            "DialCallStatus": reported,
            "DialCallSid": f"CA{self.legs:032d}",
            "DialCallDuration": "60" if reported == "completed" else "0",
            # Twilio's <Dial> action says whether the two parties were bridged (twilio.com/docs/voice/twiml/dial).
            "DialBridged": "true" if bridged else "false",
        }

    def _name(self, target: str, dial: ElementTree.Element) -> str:
        destinations = self.flow.line.schedule.destinations
        tried = parse_qs(urlsplit(dial.get("action") or "").query).get("tried", [""])[0].split(",")
        if tried[-1] in destinations and destinations[tried[-1]].number == target:
            return destinations[tried[-1]].name  # two teams may share a number; the action names which
        return next((d.name for d in destinations.values() if d.number == target), "an unknown number")

    def _screen(self, url: str, accept: bool, extra: dict[str, str] | None = None) -> bool:
        """Play the answerer's side: hear the screening message and press 1 (or nothing); True when bridged."""
        self.legs += 1
        leg = {**self.base_params, "CallSid": f"CA{self.legs:032d}", "ParentCallSid": self.sid, "Direction": "outbound-dial"}
        keys = ACCEPT_KEY if accept else ""
        nxt: str | None = url
        params: dict[str, str] = dict(extra or {})
        while nxt and len(self.result.steps) < MAX_STEPS:
            here = nxt
            doc = self._post(here, {**leg, **params}, ANSWERER)
            nxt, params = None, {}
            for verb in doc:
                if verb.tag == "Hangup":
                    return False  # the answerer's leg ends before the parties are connected
                if verb.tag == "Gather":
                    digits, keys = _take_keys(verb, keys)
                    if digits is None:
                        continue
                    prompts = [_heard(p) for p in verb]
                    self.result.transcript.append(f"  Answerer hears: {prompts[0] if prompts else ''}")
                    nxt, params = self._gather_action(verb, here), {"Digits": digits}
                    break
                if verb.tag == "Redirect":  # only without strict: Twilio refuses it here
                    nxt = urljoin(here, (verb.text or "").strip())
                    break
            else:
                return True  # the document ran out: Twilio connects the two parties
        return False


def _take_keys(gather: ElementTree.Element, keys: str) -> tuple[str | None, str]:
    """The digits Twilio would post for this Gather (None when it times out empty), and the keys left."""
    wanted = int(gather.get("numDigits", "1000"))
    finish = gather.get("finishOnKey", "#")
    taken = ""
    while keys and len(taken) < wanted:
        key, keys = keys[0], keys[1:]
        if key == WAIT:
            break
        if finish and key == finish:
            break
        taken += key
    return taken or None, keys


def _heard(element: ElementTree.Element) -> str:
    return (element.text or "") if element.tag == "Say" else _sound(element)


def _sound(element: ElementTree.Element) -> str:
    if element.tag == "Pause":
        return f"silence for {element.get('length', '1')} s"
    return f"a recording {(element.text or element.get('digits') or '').strip()}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
