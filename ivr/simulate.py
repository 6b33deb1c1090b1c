"""A call played against the real webhooks, in-process, signed, with the clock frozen.

It behaves as Twilio would: it follows Redirects, feeds the typed keys to each Gather by its
numDigits and finishOnKey (a Gather with no keys left times out and falls through), answers
each Dial's action with the next dial status, and plays the answerer's side of call screening.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

from twilio.request_validator import RequestValidator

from ivr.app import create_app
from ivr.core.errors import UnknownLine
from ivr.core.flow import CallFlow
from ivr.services import services_of

BASE = "https://ivr.simulator.invalid"
MAX_STEPS = 80
WAIT = "w"  # in --keys: the caller lets a prompt time out without pressing anything
DIAL_STATUSES = ("completed", "answered", "busy", "no-answer", "failed", "canceled", "unaccepted")


@dataclass
class Simulation:
    """What happened: each webhook step and a readable transcript."""

    sid: str
    line: str
    at: datetime
    caller: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    connected_to: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "call_sid": self.sid,
            "line": self.line,
            "at": self.at.isoformat(),
            "caller": self.caller,
            "connected_to": self.connected_to,
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
) -> Simulation:
    """Play one call to `line` at the frozen instant `at`."""
    for status in dial_statuses:
        if status not in DIAL_STATUSES:
            raise ValueError(f"{status!r} is not a dial status ({', '.join(DIAL_STATUSES)})")
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="ivr-simulate-") as scratch:
        settings: dict[str, Any] = {
            "IVR_ENV": "production",
            "TWILIO_AUTH_TOKEN": token,
            "TWILIO_ACCOUNT_SID": "",
            "IVR_PUBLIC_URL": BASE,
            "IVR_CLOCK": lambda: at,
            "IVR_SIMULATED": True,
            "IVR_RUN_CLOCK": False,
            "IVR_FOLLOW_SECONDS": 0,
            "IVR_SERVE": "working-files",  # the files being tried, not whatever release is live
        }
        if config_dir:
            settings["IVR_CONFIG_DIR"] = config_dir
        if not record:
            # Nothing reaches the call records: a throwaway database holds this call alone.
            settings["DATABASE_URL"] = f"sqlite:///{Path(scratch) / 'simulated.sqlite3'}"
            settings["IVR_INSTANCE_PATH"] = scratch
        elif database_url:
            settings["DATABASE_URL"] = database_url
        logging.basicConfig(level=logging.WARNING)
        app = create_app(settings)
        snapshot = services_of(app).live.current()
        if snapshot is None or line not in snapshot.flows:
            raise UnknownLine(line)
        flow = snapshot.flows[line]
        return Caller(flask_transport(app), token, flow, BASE, at, keys, caller, list(dial_statuses)).run()


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
    ) -> None:
        self.transport = post
        self.validator = RequestValidator(token)
        self.flow = flow
        self.base = base
        self.keys = keys
        self.statuses = statuses
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
        self.legs = 0

    def run(self) -> Simulation:
        say = self.result.transcript.append
        say(
            f"Simulated call {self.sid} to {self.result.line} at {self.result.at:%a %Y-%m-%d %H:%M %Z}, from {self.base_params['From']}"
        )
        url: str | None = f"{self.base}/voice/{self.result.line}"
        params: dict[str, str] = {}
        while url and len(self.result.steps) < MAX_STEPS:
            doc = self._post(url, {**self.base_params, **params}, record=True)
            url, params = self._play(doc)
        if url:
            say(f"Stopped after {MAX_STEPS} steps.")
        return self.result

    def _post(self, url: str, params: dict[str, str], record: bool) -> ElementTree.Element:
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, params)}
        status, body = self.transport(url, params, headers)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if record:
            self.result.steps.append({"path": path, "params": params, "status": status, "twiml": body})
            self.result.transcript.append(f"POST {path}")
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        return ElementTree.fromstring(body)

    def _play(self, doc: ElementTree.Element) -> tuple[str | None, dict[str, str]]:
        say = self.result.transcript.append
        for verb in doc:
            if verb.tag == "Say":
                say(f"  Caller hears: {verb.text}")
            elif verb.tag == "Gather":
                prompts = [p.text or "" for p in verb if p.tag == "Say"]
                digits = self._take_keys(verb)
                if digits is None:
                    for text in prompts:
                        say(f"  Caller hears: {text}")
                    say("  Caller presses nothing")
                    continue  # a Gather with no input falls through to the next verb
                if prompts:
                    say(f"  Caller hears: {prompts[0]} ...")
                say(f"  Caller presses {digits}")
                return verb.get("action"), {"Digits": digits}
            elif verb.tag == "Redirect":
                return (verb.text or "").strip(), {}
            elif verb.tag == "Dial":
                return self._dial(verb)
            elif verb.tag == "Hangup":
                say("  Call ends")
                return None, {}
        say("  Call ends")
        return None, {}

    def _take_keys(self, gather: ElementTree.Element) -> str | None:
        """The digits Twilio would post for this Gather, or None when it times out empty."""
        wanted = int(gather.get("numDigits", "1000"))
        finish = gather.get("finishOnKey", "#")
        taken = ""
        while self.keys and len(taken) < wanted:
            key, self.keys = self.keys[0], self.keys[1:]
            if key == WAIT:
                break
            if finish and key == finish:
                break
            taken += key
        return taken or None

    def _dial(self, dial: ElementTree.Element) -> tuple[str | None, dict[str, str]]:
        say = self.result.transcript.append
        number = next(iter(dial), None)
        target = (number.text or "").strip() if number is not None else ""
        destinations = self.flow.line.schedule.destinations
        tried = parse_qs(urlsplit(dial.get("action") or "").query).get("tried", [""])[0].split(",")
        if tried[-1] in destinations:  # two teams may share a number; the action names which
            name = destinations[tried[-1]].name
        else:
            name = next((d.name for d in destinations.values() if d.number == target), "an unknown number")
        status = self.statuses.pop(0) if self.statuses else "completed"
        say(f"  Dialling {name} {target}")
        reported = status
        if status in ("completed", "answered", "unaccepted") and number is not None and number.get("url"):
            accepted = self._screen(number.get("url") or "", accept=status != "unaccepted")
            reported = "completed"
            say(f"  {_cap(name)} answers and {'accepts the call' if accepted else 'does not accept (voicemail or no key)'}")
            if accepted:
                self.result.connected_to = target
        else:
            say(f"  {_cap(name)}: {status}")
        action = dial.get("action")
        if not action:
            return None, {}
        return action, {
            "DialCallStatus": reported,
            "DialCallSid": f"CA{self.legs:032d}",
            "DialCallDuration": "60" if reported == "completed" else "0",
        }

    def _screen(self, url: str, accept: bool) -> bool:
        """Play the answerer's side: hear the screening message and press 1 (or nothing)."""
        self.legs += 1
        leg = {**self.base_params, "CallSid": f"CA{self.legs:032d}", "ParentCallSid": self.sid, "Direction": "outbound-dial"}
        doc = self._post(url, leg, record=True)
        gather = doc.find("Gather")
        if gather is None or not accept:
            return False
        prompt = gather.find("Say")
        self.result.transcript.append(f"  Answerer hears: {prompt.text if prompt is not None else ''}")
        after = self._post(gather.get("action") or "", {**leg, "Digits": "1"}, record=True)
        return after.find("Hangup") is None


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
