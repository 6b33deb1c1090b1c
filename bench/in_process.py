"""Section 1: a whole realistic call through the router in-process, against bare Flask and the necessary-work floor.

Each request is a WSGI environ built once (werkzeug's EnvironBuilder) and copied per call with a
fresh body stream, handed straight to `app.wsgi_app`: Flask's test client would add its own cost
and hide the app's. The three apps take turns, round by round, in a rotating order, so that
whatever else the machine does falls on all three alike; each round's ratio is taken within the round.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.test import EnvironBuilder

from bench import calls
from bench.figures import Section, Spread, Target
from bench.floors import bare_app, floor_app
from ivr.app import create_app
from tests.builders import screened_copy

AT = datetime(2027, 3, 3, 11, 0, tzinfo=ZoneInfo("Europe/London"))  # a Wednesday morning: MASH is open
Prepared = tuple[dict[str, Any], bytes]  # an environ to copy, and the body its wsgi.input must hold
Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def prepare(hook: calls.Webhook) -> Prepared:
    """The WSGI environ Twilio's signed POST of `hook` arrives as, and its body."""
    environ = EnvironBuilder(
        path=hook.path,
        base_url=calls.PUBLIC,
        method="POST",
        data=hook.params,
        headers={"X-Twilio-Signature": hook.signature(), "User-Agent": "TwilioProxy/1.1"},
    ).get_environ()
    body = environ["wsgi.input"].read()
    return environ, body


def run_call(wsgi: Wsgi, call: list[Prepared], timings: list[int]) -> int:
    """Play one call's requests in order, appending each one's nanoseconds; the number of answers that were not 200."""
    bad = 0
    status: list[str] = []

    def start_response(line: str, _headers: Any, _exc_info: Any = None) -> Callable[[bytes], None]:
        status.append(line)
        return lambda _data: None

    clock = time.perf_counter_ns
    for environ, body in call:
        begin = clock()
        copy = dict(environ)
        copy["wsgi.input"] = BytesIO(body)
        result = wsgi(copy, start_response)
        try:
            for _chunk in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        timings.append(clock() - begin)
        bad += not status[-1].startswith("200")
    return bad


class Apps:
    """The router (records on, SQLite), bare Flask and the floor, and calls prepared for them; built once."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        config_dir = screened_copy(scratch / "config")
        self.database = scratch / "calls.sqlite3"
        router = create_app(
            {
                "IVR_ENV": "production",
                "TWILIO_AUTH_TOKEN": calls.TOKEN,
                "IVR_PUBLIC_URL": calls.PUBLIC,
                "IVR_CONFIG_DIR": str(config_dir),
                "DATABASE_URL": f"sqlite:///{self.database}",
                "IVR_INSTANCE_PATH": str(scratch / "instance"),
                "IVR_HASH_KEY": "bench",
                "IVR_CLOCK": lambda: AT,
                "IVR_DEFAULT_LINE": calls.LINE,
                "IVR_RUN_CLOCK": False,
                "IVR_FOLLOW_SECONDS": 0,
            }
        )
        floor = floor_app(calls.TOKEN, calls.PUBLIC, scratch / "journal")
        self.apps: dict[str, Wsgi] = {
            "router": router.wsgi_app,
            "floor": floor.wsgi_app,
            "bare": bare_app().wsgi_app,
        }
        self.sid, self.hooks = calls.template(AT, config_dir)
        self.steps = [hook.step for hook in self.hooks]
        self._next = 0

    def calls(self, count: int) -> list[list[Prepared]]:
        """`count` calls never played before (each with its own CallSids), prepared."""
        made = calls.copies(self.sid, self.hooks, self._next, count, tag=0xBE)
        self._next += count
        return [[prepare(hook) for hook in call] for call in made]

    def records(self) -> tuple[int, int]:
        """Calls and facts in the router's SQLite records, once its journal is stored: proof that records were on."""
        journal = self.scratch / "instance" / "journal"
        deadline = time.monotonic() + 30
        while any(journal.glob("*.jsonl")) and time.monotonic() < deadline:
            time.sleep(0.1)
        with sqlite3.connect(self.database) as conn:
            return conn.execute("SELECT count(*) FROM calls").fetchone()[0], conn.execute(
                "SELECT count(*) FROM events"
            ).fetchone()[0]


def measure(apps: Apps, rounds: int, per_round: int) -> Section:
    """`rounds` rounds; in each, every app plays the same `per_round` new calls, in a rotating order."""
    names = list(apps.apps)
    per_call: dict[str, list[float]] = {name: [] for name in names}  # µs per call, one value per round
    per_step: dict[str, list[list[float]]] = {name: [[] for _ in apps.steps] for name in names}
    every_call: list[float] = []  # the router's calls one by one, µs
    bad = dict.fromkeys(names, 0)
    warm = apps.calls(max(per_round // 4, 5))
    for name in names:
        run_calls(apps.apps[name], warm)
    for n in range(rounds):
        batch = apps.calls(per_round)
        for name in names[n % len(names) :] + names[: n % len(names)]:
            timings, failures = run_calls(apps.apps[name], batch)
            bad[name] += failures
            steps = len(apps.steps)
            per_call[name].append(sum(timings) / per_round / 1000)
            for k in range(steps):
                per_step[name][k].append(sum(timings[k::steps]) / per_round / 1000)
            if name == "router":
                every_call.extend(sum(timings[i : i + steps]) / 1000 for i in range(0, len(timings), steps))
    return _section(apps, rounds, per_round, per_call, per_step, every_call, bad)


def run_calls(wsgi: Wsgi, batch: list[list[Prepared]]) -> tuple[list[int], int]:
    timings: list[int] = []
    bad = sum(run_call(wsgi, call, timings) for call in batch)
    return timings, bad


def _section(
    apps: Apps,
    rounds: int,
    per_round: int,
    per_call: dict[str, list[float]],
    per_step: dict[str, list[list[float]]],
    every_call: list[float],
    bad: dict[str, int],
) -> Section:
    steps = len(apps.steps)
    spreads = {name: Spread.of(values) for name, values in per_call.items()}
    to_floor = Spread.of([a / b for a, b in zip(per_call["router"], per_call["floor"], strict=True)])
    to_bare = Spread.of([a / b for a, b in zip(per_call["router"], per_call["bare"], strict=True)])
    every_call.sort()
    calls_recorded, facts_recorded = apps.records()
    label = {
        "router": "router (records on, SQLite)",
        "floor": "necessary-work floor",
        "bare": "bare Flask, fixed TwiML",
    }
    lines = [
        f"One realistic call = {steps} signed webhooks to `{calls.LINE}` at {AT:%a %d %b %Y %H:%M} (frozen clock), "
        f"screened by a person who presses 1 (`tests.builders.screened_copy`). {rounds} rounds of {per_round} new calls "
        "(distinct CallSids) per app, apps interleaved; µs per whole call, median [IQR] over rounds. Key 1 routes and "
        "dials in the same webhook (`CallFlow.menu_input` calls `connect`): `/voice/<line>/connect/<service>` is requested "
        "only after silence or wrong keys, so this call never asks for it.",
        "",
        "| app | µs per call | min-max | µs per webhook | non-200 answers |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, spread in spreads.items():
        lines.append(
            f"| {label[name]} | {spread.cell(0)} | {spread.lo:,.0f}-{spread.hi:,.0f} | {spread.median / steps:,.0f} | {bad[name]} |"
        )
    lines += [
        "",
        f"- call / floor: {to_floor.show(2, 'x')}",
        f"- call / bare: {to_bare.show(2, 'x')}",
        f"- the router's calls one by one: median {every_call[len(every_call) // 2]:,.0f} µs, "
        f"p99 {every_call[int(len(every_call) * 0.99)]:,.0f} µs over {len(every_call)} calls",
        f"- records written by the router: {calls_recorded} calls, {facts_recorded} facts (SQLite, WAL)",
        "",
        "Per webhook, µs, median [IQR] over rounds:",
        "",
        "| step | router | floor | bare |",
        "| --- | --- | --- | --- |",
    ]
    for k, step in enumerate(apps.steps):
        cells = " | ".join(Spread.of(per_step[name][k]).cell(0) for name in ("router", "floor", "bare"))
        lines.append(f"| {step} | {cells} |")
    targets = [
        Target("in-process whole call ≤ 1.5x the necessary-work floor", f"{to_floor.median:.2f}x", to_floor.median <= 1.5),
        Target("in-process whole call ≤ 4x bare Flask", f"{to_bare.median:.2f}x", to_bare.median <= 4),
    ]
    return Section("1. In-process: a whole call against two floors", lines, targets)


def run(quick: bool, scratch: Path) -> tuple[Section, Apps]:
    """Section 1; the apps are handed on for the profile (section 5)."""
    apps = Apps(scratch)
    rounds, per_round = (5, 30) if quick else (15, 80)
    return measure(apps, rounds, per_round), apps
