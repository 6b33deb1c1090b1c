"""`ivr simulate`, `ivr shortcuts` and `ivr fallback-twiml`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ivr.cli.common import emit, load_config, parse_time
from ivr.core.flow import static_fallback


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("simulate", parents=[common], help="play a call against the real webhooks")
    p.add_argument("line")
    p.add_argument("--at", required=True, metavar="TIME")
    p.add_argument("--keys", default="", help="keys the caller types, in order; 'w' waits out a prompt")
    p.add_argument("--caller", default="+447911123456", metavar="E164")
    p.add_argument("--dial-status", default="", metavar="S,S..", help="how each dialled team answers (default completed)")
    p.add_argument("--record", action="store_true", help="write the call to the call records, marked simulated")
    p.add_argument(
        "--strict", action="store_true", help="hold every TwiML document to Twilio's documented rules; exit 1 at the first broken"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_simulate)

    p = sub.add_parser("shortcuts", parents=[common], help="list a line's professional shortcuts")
    p.add_argument("line")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_shortcuts)

    p = sub.add_parser("fallback-twiml", parents=[common], help="static TwiML for the Twilio number's fallback")
    p.add_argument("line")
    p.set_defaults(handler=_fallback_twiml)


def _simulate(args: argparse.Namespace) -> int:
    from ivr.simulate import simulate  # the whole app: only this command needs it

    cfg = load_config(args)
    router = cfg.router(args.line)
    at = parse_time(args.at, router.tz)
    statuses = tuple(s.strip() for s in args.dial_status.split(",") if s.strip())
    result = simulate(args.line, at, args.keys, args.caller, statuses, args.config, args.record, strict=args.strict)
    if args.json:
        print(json.dumps(result.as_json(), indent=2))
    else:
        print("\n".join(result.transcript))
    if result.broken:
        print(f"ivr simulate: Twilio would not play {result.broken}", file=sys.stderr)
        return 1
    return 0


def _shortcuts(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    line = cfg.line(args.line)
    key = line.flow.keys.shortcut
    rows = []
    for code, shortcut in line.flow.shortcuts.items():
        expects = line.schedule.destinations.get(shortcut.expects) if shortcut.expects else None
        rows.append(
            {
                "keys": f"{key}{code}",
                "code": code,
                "name": shortcut.name,
                "service": shortcut.service,
                "expects": shortcut.expects or None,
                "number": expects.number if expects else None,
            }
        )
    text = "\n".join(f"{r['keys']:<6} {r['name']}  (service {r['service']})" for r in rows) or "no shortcuts"
    emit(args, {"line": args.line, "shortcuts": rows}, text)
    return 0


def _fallback_twiml(args: argparse.Namespace) -> int:
    from ivr.web import twiml  # twilio's TwiML builder: only this command needs it

    cfg = load_config(args)
    line = cfg.line(args.line)
    print(twiml.render(static_fallback(line), line.flow.voice, line.flow.language))
    return 0
