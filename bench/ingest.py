"""Section 4: how fast the journal's call facts reach PostgreSQL when 4 processes ingest at once.

Each process, like a web worker, fills a journal of its own (one `Journal.append` per webhook), then
all four ingest together (`Ingester.ingest_once()` until it moves nothing) into one new PostgreSQL
database; facts/s is every record operation moved over the wall time from the first start to the
last finish.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import postgres
from bench.figures import Section, Spread, Target
from ivr.core.facts import Fact
from ivr.core.state import Call
from ivr.records.ingest import Ingester
from ivr.records.journal import Journal
from ivr.records.recorder import Recorder
from ivr.records.store import CallStore

PROCESSES = 4
TITLE = "4. PostgreSQL ingest from 4 processes"
GOAL = "PostgreSQL ingest ≥ 2,000 facts/s from 4 processes"


def call_webhooks(process: int, n: int) -> list[list[list[Any]]]:
    """What one realistic call appends, one line per webhook (menu, key, route, screen, dial, statuses, end).

    Made by the product's own recorder, so each line is exactly what a web worker writes.
    """
    sid = f"CA{process:08x}{n:024x}"
    leg = sid[:-4] + "leg1"
    at = datetime(2027, 3, 3, 11, 0, tzinfo=UTC) + timedelta(seconds=n)
    route = {"service": "child-at-risk", "destination": "mash", "number": "+443004560108", "rule": "MASH", "until": None}
    lines: list[list[list[Any]]] = []
    recorder = Recorder(_Collect(lines), None)
    with recorder.one_write():
        recorder.started("wiltshire", Call(sid, "+447911123456", "+441225713000", at), "79ae3685e6e63a8f")
        recorder.record("wiltshire", Call(sid, None, "", at), [(Fact.MENU, {"menu": "main"})], "0:/voice/wiltshire")
    later = Call(sid, None, "", at + timedelta(seconds=9))
    facts = [(Fact.KEY, {"menu": "main", "digits": "1"}), (Fact.ROUTE, {**route, "config_digest": "79ae3685e6e63a8f"})]
    recorder.record("wiltshire", later, facts, "1:/voice/wiltshire/input/main")
    for status in ("initiated", "ringing", "in-progress"):
        recorder.status(sid, leg, status, "", at + timedelta(seconds=10))
    recorder.record("wiltshire", later, [(Fact.SCREEN, {"attempt": 1, "accepted": True})], f"screened:1:{leg}:3")
    recorder.status(sid, leg, "completed", "60", at + timedelta(seconds=80))
    end = Call(sid, None, "", at + timedelta(seconds=80))
    dial = {"attempt": 1, "destination": "mash", "status": "completed", "duration": "60"}
    recorder.record("wiltshire", end, [(Fact.DIAL, dial), (Fact.END, {"outcome": "connected"})], "2:/voice/wiltshire/dialled")
    recorder.status("", sid, "completed", "90", at + timedelta(seconds=81))
    return lines


class _Collect:
    """A stand-in store that keeps each write's operations (the recorder writes straight to it without a journal)."""

    def __init__(self, lines: list[list[list[Any]]]) -> None:
        self.lines = lines

    def apply(self, ops: list[list[Any]]) -> int:
        self.lines.append(ops)
        return len(ops)

    def caller_fields(self, _caller: str) -> tuple[str | None, str | None]:
        return "0" * 64, None


def worker(process: int, folder: str, database_url: str, calls: int, start: Any, results: Any) -> None:
    """Fill this process's journal with `calls` calls, wait for the others, then ingest until nothing is left."""
    journal_dir = Path(folder)
    journal = Journal(journal_dir)
    made = [call_webhooks(process, n) for n in range(calls)]
    begin = time.monotonic()
    appended = 0
    for call in made:
        for ops in call:
            journal.append(ops)
            appended += len(ops)
    filled = time.monotonic() - begin
    store = CallStore(database_url, instance_path=journal_dir)
    ingester = Ingester(Recorder(store, journal), journal, store, interval=0)
    start.wait()
    began = time.monotonic()
    moved = 0
    while (count := ingester.ingest_once()) > 0:
        moved += count
    results.put((process, appended, filled, moved, began, time.monotonic()))
    store.close()


def one_round(scratch: Path, server_url: str, calls: int) -> dict[str, float]:
    """Four processes on a new database; facts appended per second per process, and facts moved per second in all."""
    context = multiprocessing.get_context("spawn")  # fresh interpreters: nothing inherited from this process's threads
    with postgres.database(server_url) as database_url:
        store = CallStore(database_url, instance_path=scratch)
        store.upgrade()
        store.close()
        start, results = context.Barrier(PROCESSES), context.Queue()
        processes = [
            context.Process(target=worker, args=(n, str(scratch / f"journal-{n}"), database_url, calls, start, results))
            for n in range(PROCESSES)
        ]
        for process in processes:
            process.start()
        found = _gather(processes, results)
    appended = sum(row[1] for row in found)
    moved = sum(row[3] for row in found)
    wall = max(row[5] for row in found) - min(row[4] for row in found)
    return {
        "appends_per_s": sum(row[1] / row[2] for row in found) / PROCESSES,
        "facts_per_s": moved / wall,
        "moved": moved,
        "appended": appended,
    }


def _gather(processes: list[Any], results: Any) -> list[tuple[Any, ...]]:
    """Each process's result; a process that dies first (an ingester that fails) ends the round at once."""
    found: list[tuple[Any, ...]] = []
    deadline = time.monotonic() + 600
    while len(found) < len(processes):
        try:
            found.append(results.get(timeout=1))
        except queue.Empty:
            dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                for process in processes:
                    process.kill()
                raise RuntimeError(
                    f"ingest processes failed (exit codes {dead}) or took over 600 s; their errors are above"
                ) from None
    for process in processes:
        process.join(timeout=30)
    return found


def run(quick: bool, scratch: Path, postgres_url: str | None, postgres_why: str) -> Section:
    if postgres_url is None:
        return Section(TITLE, [f"Not measured: no PostgreSQL server ({postgres_why})."], [Target(GOAL, "no server", None)])
    # Bounded: at 2,000 facts/s a round of 4 x 5,000 facts takes 10 s; a slow ingester must not hold `make bench` for long.
    calls, repeats = (200, 2) if quick else (500, 3)
    rounds = [one_round(scratch / f"round-{n}", postgres_url, calls) for n in range(repeats)]
    rate = Spread.of([r["facts_per_s"] for r in rounds])
    appends = Spread.of([r["appends_per_s"] for r in rounds])
    lost = [r["appended"] - r["moved"] for r in rounds]
    lines = [
        f"{PROCESSES} processes, each journalling {calls:,} calls ({_ops_per_call()} record operations each: the call's "
        "start, its facts, the acceptance and the end), then all ingesting at once into one new PostgreSQL database; "
        f"{repeats} rounds, a new database each. A fact here is one record operation.",
        "",
        f"- ingest: {rate.show(0, ' facts/s')} (all facts moved / wall time from the first start to the last finish)",
        f"- journal appends, per process: {appends.show(0, ' facts/s')}",
        f"- facts appended but not moved, per round: {', '.join(map(str, lost))}",
    ]
    return Section(TITLE, lines, [Target(GOAL, f"{rate.median:,.0f} facts/s", rate.median >= 2_000)])


def _ops_per_call() -> int:
    return sum(len(ops) for ops in call_webhooks(0, 0))
