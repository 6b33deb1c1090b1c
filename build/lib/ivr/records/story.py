"""A call's story for people: one line per fact in plain words, and one line per call.

Caller numbers are shown masked, always; times are Europe/London wall-clock times.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr.core.facts import Fact
from ivr.core.numbers import mask
from ivr.records.store import CallEvent, CallStory, CallSummary, Hold

LONDON = ZoneInfo("Europe/London")
_TALKED = ("completed", "answered", "in-progress")


def listing(call: CallSummary) -> str:
    """One line of `ivr calls`: time, SID, line with simulated and held markers, outcome, who answered, path."""
    markers = (" (simulated)" if call.simulated else "") + (" [held]" if call.held else "")
    return (
        f"{_local(call.started_at):%Y-%m-%d %H:%M:%S}  {call.call_sid}  {call.line}{markers}  "
        f"{call.outcome or 'no outcome yet'}  answered: {call.answered_destination or 'none'}  {call.path}"
    )


def call_json(call: CallSummary) -> dict[str, Any]:
    """A call for `--json`; the caller's number, if kept at all, only masked."""
    return {
        "call_sid": call.call_sid,
        "line": call.line,
        "started_at": call.started_at.isoformat(),
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "outcome": call.outcome,
        "simulated": call.simulated,
        "caller_hash": call.caller_hash,
        "caller_masked": mask(call.caller_number) if call.caller_number else None,
        "called": call.called,
        "config_digest": call.config_digest,
        "path": call.path,
        "service": call.service,
        "services": list(call.services),
        "answered_destination": call.answered_destination,
        "held": call.held,
        "holds": [_hold_json(h) for h in call.holds],
    }


def _hold_json(hold: Hold) -> dict[str, Any]:
    return {
        "held_at": hold.held_at.isoformat(),
        "held_by": hold.held_by,
        "reason": hold.reason,
        "released_at": hold.released_at.isoformat() if hold.released_at else None,
        "released_by": hold.released_by,
        "release_reason": hold.release_reason,
    }


def held(hold: Hold) -> str:
    """One legal hold in plain words, with its release if it has one (London time)."""
    placed = f"{_when(hold.held_at)}, by {hold.held_by}: {_one_line(hold.reason)}"
    if hold.released_at is None:
        return f"Legal hold since {placed}"
    return f"Legal hold from {placed}; released {_when(hold.released_at)}, by {hold.released_by}: {_one_line(hold.release_reason or '')}"


# -- the story in plain words ----------------------------------------------------------------------


def tell(story: CallStory) -> list[str]:
    """One call's story in plain words, a line per fact: 'HH:MM:SS what happened', London time.

    The first line names the date; a line naming the date again comes before any fact on a later
    date or after a clock change. Legal holds on the call come last, one line each, oldest first.
    """
    call = story.call
    simulated = " (simulated)" if call.simulated else ""
    told: list[tuple[datetime, int, str]] = [
        (call.started_at, -1, f"Call {call.call_sid} to {call.line} from {_caller(call)}{simulated}")
    ]
    dialled = {e.detail.get("attempt") for e in story.events if e.kind == Fact.DIAL}
    accepted = {e.detail.get("attempt"): bool(e.detail.get("accepted")) for e in story.events if e.kind == Fact.SCREEN}
    numbers: dict[str, str] = {}
    last_route: tuple[Any, ...] | None = None
    dial_began: datetime | None = None
    ended = False
    for index, e in enumerate(story.events):
        d = e.detail
        at = e.at
        if e.kind == Fact.ROUTE:
            if d.get("destination") and d.get("number"):
                numbers[d["destination"]] = d["number"]
            dial_began = e.at
            fact = (d.get("service"), d.get("destination"), d.get("rule"))
            if fact == last_route:
                continue  # ringing on re-routes the same service; the decision was already told
            last_route = fact
        elif e.kind == Fact.DIAL:
            # Told when the dialling began (the route before it), so the talking follows it in time.
            at, dial_began = dial_began or e.at, e.at
        elif e.kind == Fact.SCREEN and d.get("attempt") in dialled:
            continue  # told with the dial it belongs to
        elif e.kind == Fact.END:
            ended = True
        told.append((at, index, _fact(e, numbers, accepted)))
    if call.ended_at and not ended:
        told.append((call.ended_at, len(story.events), f"Call ended: {call.outcome}"))
    told.sort(key=lambda item: (item[0], item[1]))
    return _with_dates(told) + [held(h) for h in call.holds]


def _fact(e: CallEvent, numbers: dict[str, str], accepted: dict[Any, bool]) -> str:
    d = e.detail
    # `case Fact.X` compares by value, so a kind read back as plain text is told the same way.
    match e.kind:
        case Fact.MENU:
            return f"Heard menu {d.get('menu')}"
        case Fact.KEY:
            if d.get("menu") == "shortcut":
                return (
                    f"Entered shortcut code {d.get('digits')}: not recognised" if d.get("digits") else "Entered no shortcut code"
                )
            if "digits" in d:
                return f"Chose {d['digits']} in menu {d.get('menu')}"
            return f"Said {d.get('speech')!r} in menu {d.get('menu')}"
        case Fact.SHORTCUT:
            return f"Used shortcut {d.get('code')} for {d.get('service')}"
        case Fact.ROUTE:
            config = f" (configuration {str(d['config_digest'])[:8]})" if d.get("config_digest") else ""
            if not d.get("destination"):
                return f"Routed {d.get('service')}: closed, by {d.get('rule')}{config}"
            return f"Routed {d.get('service')} to {d['destination']} ({d.get('number') or 'no phone number'}) by {d.get('rule')}{config}"
        case Fact.DIAL:
            number = d.get("number") or numbers.get(d.get("destination") or "")
            who = f"{d.get('destination')} {number}" if number else f"{d.get('destination')}"
            return f"Dialled {who}: {_dial_result(d, accepted.get(d.get('attempt')))}"
        case Fact.SCREEN if d.get("answered_by"):
            verdict = "connected" if d.get("accepted") else "hung up on as a machine"
            return f"Machine detection on attempt {d.get('attempt')} heard {d['answered_by']}: {verdict}"
        case Fact.SCREEN:
            return f"Answerer of attempt {d.get('attempt')} {'accepted the call' if d.get('accepted') else 'did not accept the call'}"
        case Fact.STATUS:
            talked = _duration(d.get("duration"))
            return f"Twilio reports the dialled call {d.get('status')}" + (f" after {talked}" if talked else "")
        case Fact.SMS:
            what = f"{d['destination']}'s details " if d.get("destination") else ""
            if d.get("status") == "queued":
                return f"Queued a text of {what}to {d.get('to_masked')}"
            if d.get("sent") is False:
                reason = f": {d['reason']}" if d.get("reason") else ""
                return f"Could not text {what}to {d.get('to_masked')}{reason}"
            return f"Texted {what}to {d.get('to_masked')}"
        case Fact.FALLBACK:
            return f"Took the safe route: {d.get('reason')}"
        case Fact.END:
            return f"Call ended: {d.get('outcome')}"
        case _:
            # A kind this release has no sentence for (a newer release's, or a misspelt one) is shown raw, never dropped.
            return f"{e.kind}: {json.dumps(d, sort_keys=True)}"


def _dial_result(d: dict[str, Any], accepted: bool | None) -> str:
    status = d.get("status") or "no result"
    if status in _TALKED:
        talked = _duration(d.get("duration"))
        verdict = "accepted" if accepted else "answered"
        return f"{verdict}, talked {talked}" if talked else verdict
    if status == "unaccepted":
        return "answered but not accepted"
    return str(status)


def _duration(seconds: Any) -> str:
    try:
        total = int(seconds)
    except (TypeError, ValueError):
        return ""
    if total <= 0:
        return ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _caller(call: CallSummary) -> str:
    if call.called is None:
        return "an unknown caller (the start of the call was not recorded)"
    if call.caller_hash is None:
        return "a withheld number"
    tag = f"caller #{call.caller_hash[:8]}"
    return f"{tag} ({mask(call.caller_number)})" if call.caller_number else f"{tag} (number masked)"


def _with_dates(told: list[tuple[datetime, int, str]]) -> list[str]:
    lines: list[str] = []
    day: str | None = None
    for at, _, text in told:
        local = _local(at)
        today = f"{local:%a %d %b %Y} {local.tzname()}"
        if day is None:
            lines.append(f"{local:%H:%M:%S} {text}, {today}")
        else:
            if today != day:
                lines.append(f"-- {today} --")
            lines.append(f"{local:%H:%M:%S} {text}")
        day = today
    return lines


def _local(at: datetime) -> datetime:
    return at.astimezone(LONDON)


def _when(at: datetime) -> str:
    local = _local(at)
    return f"{local:%a %d %b %Y %H:%M} {local.tzname()}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
