"""`ivr db upgrade`, `ivr calls` and `ivr calls show SID`: the call records for people."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ivr.config import PROJECT_DIR
from ivr.errors import IvrError
from ivr.numbers import mask
from ivr.store import CallStore, CallStory

LONDON = ZoneInfo("Europe/London")


class UnknownCall(IvrError, LookupError):
    """A call SID with no record."""


def open_store() -> CallStore:
    """The store the app uses: DATABASE_URL, else SQLite in the instance folder."""
    instance = Path(os.environ.get("IVR_INSTANCE_PATH") or PROJECT_DIR / "instance")
    return CallStore(os.environ.get("DATABASE_URL") or None, instance_path=instance)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    db = sub.add_parser("db", help="the call records database")
    db_sub = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    p = db_sub.add_parser("upgrade", help="create or upgrade the schema (safe to run twice)")
    p.set_defaults(handler=_upgrade)

    p = sub.add_parser("calls", help="recent calls and their path; 'calls show SID' tells one call's story")
    p.add_argument("show", nargs="?", choices=["show"], help=argparse.SUPPRESS)
    p.add_argument("sid", nargs="?")
    p.add_argument("--line")
    p.add_argument("--since", metavar="TIME")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_calls)


def _upgrade(args: argparse.Namespace) -> int:
    store = open_store()
    applied = store.upgrade()
    print(f"applied migrations {applied} to {_shown(store)}" if applied else f"{_shown(store)} is up to date")
    return 0


def _shown(store: CallStore) -> str:
    return store.engine.url.render_as_string(hide_password=True)


def _calls(args: argparse.Namespace) -> int:
    from ivr.cli import emit, iso, parse_time

    store = open_store()
    if args.show:
        if not args.sid:
            raise UnknownCall("say which call: ivr calls show SID")
        story = store.story(args.sid)
        if story is None:
            raise UnknownCall(f"no call {args.sid!r} in the records")
        data = {"call": _call_json(story.call, iso), "events": [{"at": iso(e.at), "kind": e.kind, "detail": e.detail} for e in story.events]}
        emit(args, data, "\n".join(tell(story)))
        return 0
    since = parse_time(args.since, LONDON) if args.since else None
    found = store.calls(line=args.line, since=since, limit=args.limit)
    lines = [
        f"{c.started_at.astimezone(LONDON):%Y-%m-%d %H:%M:%S}  {c.call_sid}  {c.line}{' (simulated)' if c.simulated else ''}"
        f"  {c.outcome or 'in progress'}  {c.path}"
        for c in found
    ]
    emit(args, {"calls": [_call_json(c, iso) for c in found]}, "\n".join(lines) or "no calls")
    return 0


def _call_json(call: Any, iso: Any) -> dict[str, Any]:
    return {
        "call_sid": call.call_sid, "line": call.line, "started_at": iso(call.started_at), "ended_at": iso(call.ended_at),
        "outcome": call.outcome, "simulated": call.simulated, "caller_hash": call.caller_hash,
        "config_digest": call.config_digest, "path": call.path,
    }


def tell(story: CallStory) -> list[str]:
    """One call's story in plain words, in Europe/London time."""
    call = story.call
    who = mask(call.caller_number) if call.caller_number else (f"caller #{call.caller_hash[:8]} (number not kept)" if call.caller_hash else "a withheld number")
    lines = [f"{_clock(call.started_at)} Call {call.call_sid} to {call.line} from {who}{', simulated' if call.simulated else ''}"
             + (f", configuration {call.config_digest}" if call.config_digest else "")]
    for e in story.events:
        d = e.detail
        if e.kind == "menu":
            text = f"Heard the {d.get('menu')} menu"
        elif e.kind == "key":
            text = f"Pressed {d['digits']} in the {d.get('menu')} menu" if d.get("digits") else f"Said {d.get('speech')!r} in the {d.get('menu')} menu"
        elif e.kind == "shortcut":
            text = f"Used professional shortcut *{d.get('code')} for {d.get('service')}"
        elif e.kind == "route":
            config = f" (configuration {d['config_digest']})" if d.get("config_digest") else ""
            text = (f"Routed {d.get('service')} to {d.get('destination')} ({d.get('number') or 'no number'}) by {d.get('rule')}{config}"
                    if d.get("destination") else f"{d.get('service')} was closed ({d.get('rule')}){config}")
        elif e.kind == "dial":
            talked = f", talked {d.get('duration')}s" if d.get("duration") and d.get("status") in ("completed", "answered") else ""
            text = f"Dial attempt {d.get('attempt')} to {d.get('destination')}: {d.get('status')}{talked}"
        elif e.kind == "screen":
            text = f"Answerer of attempt {d.get('attempt')} {'accepted the call' if d.get('accepted') else 'did not accept'}"
        elif e.kind == "status":
            text = f"Twilio reports a dialled leg {d.get('status')}"
        elif e.kind == "sms":
            text = f"Text message of {d.get('destination')} details to {d.get('to_masked')}: {'sent' if d.get('sent') else 'not sent'}"
        elif e.kind == "fallback":
            text = f"Safe route taken: {d.get('reason')}"
        elif e.kind == "end":
            text = f"Call finished: {d.get('outcome')}"
        else:
            text = f"{e.kind}: {d}"
        lines.append(f"{_clock(e.at)} {text}")
    if call.ended_at:
        lines.append(f"{_clock(call.ended_at)} Call ended: {call.outcome}")
    return lines


def _clock(at: Any) -> str:
    return f"{at.astimezone(LONDON):%Y-%m-%d %H:%M:%S}"
