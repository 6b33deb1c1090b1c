"""`ivr check`, `ivr route`, `ivr timeline` and `ivr coverage`: the schedule, for people."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from typing import Any

from ivr import config as config_module
from ivr.cli.common import (
    days,
    decision_json,
    emit,
    interval_json,
    iso,
    load_config,
    load_for_preview,
    parse_time,
    when,
    within_calendar,
)
from ivr.config.coverage import merge_gaps


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add check, route, timeline and coverage."""
    for add in (_register_check, _register_route, _register_timeline, _register_coverage):
        add(sub, common)


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
    cfg = load_for_preview(args)
    router = cfg.router(args.line)
    with within_calendar(args.at):
        decision = router.route(args.service, parse_time(args.at, router.tz))
    dest = decision.destination
    if dest is None:
        text = f"{args.service}: closed ({decision.rule}); opens {when(decision.until)}"
    else:
        reach = dest.number or dest.email or dest.web
        text = f"{args.service}: {dest.key} ({dest.name}) {reach} until {when(decision.until)}\n  by {decision.rule}"
    emit(args, decision_json(args.line, decision), text)
    return 0


def _register_timeline(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("timeline", parents=[common], help="who takes calls over a stretch of days")
    p.add_argument("line")
    p.add_argument("service", nargs="?")
    p.add_argument("--from", dest="start", required=True, metavar="DATE")
    p.add_argument("--days", type=days, default=7)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_timeline)


def _timeline(args: argparse.Namespace) -> int:
    cfg = load_for_preview(args)
    router = cfg.router(args.line)
    start = parse_time(args.start, router.tz)
    with within_calendar(args.start):
        end = start + timedelta(days=args.days)
    services = [args.service] if args.service else list(router.schedule.services)
    blocks = []
    lines = []
    for key in services:
        with within_calendar(args.start):
            intervals = router.timeline(key, start, end)
        blocks.append({"line": args.line, "service": key, "intervals": [interval_json(iv) for iv in intervals]})
        lines.append(f"{args.line} {key}:")
        for iv in intervals:
            who = iv.destination.key if iv.destination else "CLOSED"
            lines.append(f"  {when(iv.start)} -> {when(iv.end)}  {who}")
    data = blocks[0] if args.service else {"line": args.line, "timelines": blocks}
    emit(args, data, "\n".join(lines))
    return 0


def _register_coverage(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("coverage", parents=[common], help="prove the always-open services have no gap")
    p.add_argument("line")
    p.add_argument("--from", dest="start", metavar="DATE")
    p.add_argument("--days", type=days, default=config_module.COVERAGE_DAYS)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_coverage)


def _coverage(args: argparse.Namespace) -> int:
    # The loader's own gap check would refuse the file; here the gaps are the answer.
    router = load_config(args, prove_coverage=False).router(args.line)
    start = parse_time(args.start, router.tz) if args.start else datetime.now(router.tz)
    with within_calendar(args.start or "now"):
        end = start + timedelta(days=args.days)
    report: list[dict[str, Any]] = []
    lines: list[str] = []
    for service in router.schedule.services.values():
        if not service.always_open:
            continue
        with within_calendar(args.start or "now"):
            gaps = router.coverage(service.key, start, end)
        ranges = merge_gaps(gaps, router.tz)
        report.append({"service": service.key, "gaps": [interval_json(g) for g in gaps], "ranges": [r.to_json() for r in ranges]})
        for found in ranges:
            # One gap keeps the old form; a run of days is one line, not one a day.
            if found.daily is None:
                lines.append(f"GAP {args.line} {service.key}: {when(found.gaps[0].start)} -> {when(found.gaps[0].end)}")
            else:
                lines.append(f"GAP {args.line} {service.key}: {found.describe()}")
        if not gaps:
            lines.append(f"ok {args.line} {service.key}: covered from {when(start)} to {when(end)}")
    ok = all(not r["gaps"] for r in report)
    emit(args, {"line": args.line, "from": iso(start), "until": iso(end), "ok": ok, "services": report}, "\n".join(lines))
    return 0 if ok else 1
