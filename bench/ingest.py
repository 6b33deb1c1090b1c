"""Section 4: how fast the journal's call facts reach PostgreSQL when 4 processes ingest at once.

Each process, like a web worker, fills a journal of its own (`Journal(folder).append(record)`), then
all four ingest together (`Ingester(folder, store).ingest_once()` until it moves nothing) into one
new PostgreSQL database; facts/s is every fact moved over the wall time from the first start to
the last finish. Until `ivr.records.ingest` exists (it is being written), the section says so.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import queue
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import postgres
from bench.figures import Section, Spread, Target
from ivr.records.store import CallStore

PROCESSES = 4
TITLE = "4. PostgreSQL ingest from 4 processes"
GOAL = "PostgreSQL ingest ≥ 2,000 facts/s from 4 processes"


def available() -> bool:
    return importlib.util.find_spec("ivr.records.ingest") is not None


def call_facts(process: int, n: int) -> list[dict[str, Any]]:
    """The facts one realistic call leaves (section 1's call: menu, key, route, screen, dial, statuses, end).

    THE PLUG-IN POINT: what `Journal.append` takes. Shaped like `CallStore.event`'s arguments until the
    journal's record type is settled; change this function alone when it is.
    """
    sid = f"CA{process:08x}{n:024x}"
    at = datetime(2027, 3, 3, 11, 0, tzinfo=UTC) + timedelta(seconds=n)
    route = {"service": "child-at-risk", "destination": "mash", "number": "+443004560108", "rule": "MASH", "until": None}
    facts = [
        ("menu", {"menu": "main"}, "0:/voice/wiltshire:0"),
        ("key", {"menu": "main", "digits": "1"}, "1:/voice/wiltshire/input/main:0"),
        ("route", {**route, "config_digest": "79ae3685e6e63a8f"}, "1:/voice/wiltshire/input/main:1"),
        *(
            ("status", {"leg": sid + "-1", "status": s, "duration": ""}, f"status:{sid}-1:{s}")
            for s in ("initiated", "ringing", "in-progress")
        ),
        ("screen", {"attempt": 1, "accepted": True}, f"screened:1:{sid}-1:3:0"),
        ("status", {"leg": sid + "-1", "status": "completed", "duration": "60"}, f"status:{sid}-1:completed"),
        ("dial", {"attempt": 1, "destination": "mash", "status": "completed", "duration": "60"}, "2:/voice/wiltshire/dialled:0"),
        ("end", {"outcome": "connected"}, "2:/voice/wiltshire/dialled:1"),
    ]
    return [
        {"call_sid": sid, "line": "wiltshire", "at": at.isoformat(), "kind": kind, "detail": detail, "dedupe": dedupe}
        for kind, detail, dedupe in facts
    ]


def worker(process: int, folder: str, database_url: str, calls: int, start: Any, results: Any) -> None:
    """Fill this process's journal with `calls` calls' facts, wait for the others, then ingest until nothing is left."""
    from ivr.records.ingest import Ingester  # being written (see the module docstring)
    from ivr.records.journal import Journal

    journal_dir = Path(folder)
    journal = Journal(journal_dir)
    begin = time.monotonic()
    appended = 0
    for n in range(calls):
        for record in call_facts(process, n):
            journal.append(record)
            appended += 1
    filled = time.monotonic() - begin
    store = CallStore(database_url, instance_path=journal_dir)
    ingester = Ingester(journal_dir, store)
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
    if not available():
        return Section(
            TITLE,
            ["**not measured yet**: `ivr.records.ingest` does not exist yet (the journal ingester is being written)."],
            [Target(GOAL, "not measured yet", None)],
        )
    if postgres_url is None:
        return Section(TITLE, [f"Not measured: no PostgreSQL server ({postgres_why})."], [Target(GOAL, "no server", None)])
    # Bounded: at 2,000 facts/s a round of 4 x 5,000 facts takes 10 s; a slow ingester must not hold `make bench` for long.
    calls, repeats = (200, 2) if quick else (500, 3)
    rounds = [one_round(scratch / f"round-{n}", postgres_url, calls) for n in range(repeats)]
    rate = Spread.of([r["facts_per_s"] for r in rounds])
    appends = Spread.of([r["appends_per_s"] for r in rounds])
    lost = [r["appended"] - r["moved"] for r in rounds]
    lines = [
        f"{PROCESSES} processes, each journalling {calls:,} calls ({len(call_facts(0, 0))} facts each), then all ingesting "
        f"at once into one new PostgreSQL database; {repeats} rounds, a new database each.",
        "",
        f"- ingest: {rate.show(0, ' facts/s')} (all facts moved / wall time from the first start to the last finish)",
        f"- journal appends, per process: {appends.show(0, ' facts/s')}",
        f"- facts appended but not moved, per round: {', '.join(map(str, lost))}",
    ]
    return Section(TITLE, lines, [Target(GOAL, f"{rate.median:,.0f} facts/s", rate.median >= 2_000)])
