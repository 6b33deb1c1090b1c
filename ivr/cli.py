"""The `ivr` command: check, route, timeline and coverage (and the commands other modules add).

Bad input gives one line on stderr and exit status 2; an invalid configuration gives one line
per problem and exit status 1; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from ivr import config as config_module
from ivr.errors import ConfigError, IvrError
from ivr.model import Decision, Interval
from ivr.schedule import local_instant, parse_instant


class UsageError(IvrError, ValueError):
    """Input on the command line that cannot be used."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `ivr` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except (IvrError, ValueError, LookupError) as exc:
        print(f"ivr {args.command}: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _one_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(text.split())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ivr", description="Safeguarding line router.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="DIR", help="folder holding flows/ and schedules/")
    for register in _commands():
        register(sub, common)
    return parser


def _commands() -> list[Callable[[Any, argparse.ArgumentParser], None]]:
    # Imported here: those modules build on this one's helpers.
    from ivr import calls_cli, clock, flow_cli

    return [*COMMANDS, flow_cli.register, calls_cli.register, clock.register]


def load_config(args: argparse.Namespace, prove_coverage: bool = True) -> config_module.Config:
    return config_module.load(args.config, prove_coverage=prove_coverage)


def parse_time(text: str, tz: Any) -> datetime:
    """ISO 8601 date or date-time; without an offset, wall-clock time in `tz`."""
    try:
        if len(text.strip()) == 10:
            return local_instant(date.fromisoformat(text.strip()), 0, tz)
        return parse_instant(text, tz)
    except ValueError:
        raise UsageError(f"{text!r} is not an ISO 8601 date or time (2026-12-25T10:00)") from None


def emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data, indent=2) if getattr(args, "json", False) else text)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def decision_json(line: str, decision: Decision) -> dict[str, Any]:
    dest = decision.destination
    return {
        "line": line,
        "service": decision.service,
        "at": iso(decision.at),
        "destination": dest.key if dest else None,
        "name": dest.name if dest else None,
        "number": dest.number if dest else None,
        "rule": decision.rule,
        "until": iso(decision.until),
        "override": decision.override,
    }


def interval_json(iv: Interval) -> dict[str, Any]:
    dest = iv.destination
    return {
        "from": iso(iv.start),
        "until": iso(iv.end),
        "destination": dest.key if dest else None,
        "name": dest.name if dest else None,
        "number": dest.number if dest else None,
        "rule": iv.rule,
        "override": iv.override,
    }


def _when(value: datetime | None) -> str:
    return value.strftime("%a %Y-%m-%d %H:%M %Z") if value else "no change ahead"


# -- commands ----------------------------------------------------------------------------------


def _register_check(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("check", parents=[common], help="validate every line's files")
    p.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    for warning in cfg.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"ok: {len(cfg.lines)} lines ({', '.join(sorted(cfg.lines))}), configuration {cfg.digest}")
    return 0


def _register_route(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("route", parents=[common], help="who takes a call at a time")
    p.add_argument("line")
    p.add_argument("service")
    p.add_argument("--at", required=True, metavar="TIME")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_route)


def _route(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    router = cfg.router(args.line)
    decision = router.route(args.service, parse_time(args.at, router.tz))
    dest = decision.destination
    if dest is None:
        text = f"{args.service}: closed ({decision.rule}); opens {_when(decision.until)}"
    else:
        reach = dest.number or dest.email or dest.web
        text = f"{args.service}: {dest.key} ({dest.name}) {reach} until {_when(decision.until)}\n  by {decision.rule}"
    emit(args, decision_json(args.line, decision), text)
    return 0


def _register_timeline(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("timeline", parents=[common], help="who takes calls over a stretch of days")
    p.add_argument("line")
    p.add_argument("service", nargs="?")
    p.add_argument("--from", dest="start", required=True, metavar="DATE")
    p.add_argument("--days", type=_days, default=7)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_timeline)


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 1 <= value <= 3660:
        raise argparse.ArgumentTypeError("days must be from 1 to 3660")
    return value


def _timeline(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    router = cfg.router(args.line)
    start = parse_time(args.start, router.tz)
    end = start + timedelta(days=args.days)
    services = [args.service] if args.service else list(router.schedule.services)
    blocks = []
    lines = []
    for key in services:
        intervals = router.timeline(key, start, end)
        blocks.append({"line": args.line, "service": key, "intervals": [interval_json(iv) for iv in intervals]})
        lines.append(f"{args.line} {key}:")
        for iv in intervals:
            who = iv.destination.key if iv.destination else "CLOSED"
            lines.append(f"  {_when(iv.start)} -> {_when(iv.end)}  {who}")
    data = blocks[0] if args.service else {"line": args.line, "timelines": blocks}
    emit(args, data, "\n".join(lines))
    return 0


def _register_coverage(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("coverage", parents=[common], help="prove the always-open services have no gap")
    p.add_argument("line")
    p.add_argument("--from", dest="start", metavar="DATE")
    p.add_argument("--days", type=_days, default=config_module.COVERAGE_DAYS)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_coverage)


def _coverage(args: argparse.Namespace) -> int:
    # The loader's own gap check would refuse the file; here the gaps are the answer.
    router = load_config(args, prove_coverage=False).router(args.line)
    start = parse_time(args.start, router.tz) if args.start else datetime.now(router.tz)
    end = start + timedelta(days=args.days)
    report: list[dict[str, Any]] = []
    lines: list[str] = []
    for service in router.schedule.services.values():
        if not service.always_open:
            continue
        gaps = router.coverage(service.key, start, end)
        report.append({"service": service.key, "gaps": [interval_json(g) for g in gaps]})
        if gaps:
            lines.extend(f"GAP {args.line} {service.key}: {_when(g.start)} -> {_when(g.end)}" for g in gaps)
        else:
            lines.append(f"ok {args.line} {service.key}: covered from {_when(start)} to {_when(end)}")
    ok = all(not r["gaps"] for r in report)
    emit(args, {"line": args.line, "from": iso(start), "until": iso(end), "ok": ok, "services": report}, "\n".join(lines))
    return 0 if ok else 1


COMMANDS: list[Callable[[Any, argparse.ArgumentParser], None]] = [
    _register_check,
    _register_route,
    _register_timeline,
    _register_coverage,
]


if __name__ == "__main__":
    sys.exit(main())
