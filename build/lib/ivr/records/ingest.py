"""The ingester: moves journal files into the database in batches, off the call's path.

Each pass stores the files an earlier pass closed, then closes the file in use and stores it,
in transactions of up to BATCH_OPS operations, and deletes a file only once all of it is
stored. Files of dead processes on this machine are taken over the same way. Storing is
idempotent (`CallStore.apply`), so a file stored twice (a process killed between the commit and
the delete) leaves the same rows. While the database is away the files wait, and the backlog is
reported; past `alert_after` seconds one alert goes out per machine, and another when it clears.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ivr.records.journal import Backlog, Journal, Op, Segment, read_lines
from ivr.records.recorder import Recorder
from ivr.records.store import CallStore, readable

log = logging.getLogger(__name__)
BATCH_OPS = 2000  # record operations per transaction
MAX_BACKOFF_SECONDS = 5.0
STUCK_SECONDS = 5.0  # a pass waiting on the database this long counts as failing
WATCH_SECONDS = 1.0  # how often the backlog is looked at, whatever the database does
ALERTED = "backlog.alerted"  # in the journal folder while this machine's backlog alert stands
# The database is away (down, frozen, unreachable, locked, read-only): everything waits and is tried again.
AWAY = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout, OSError)


class Alerting(Protocol):
    def alert(self, message: str) -> None: ...


class Ingester:
    """Stores one process's journal (and dead processes' journals) in the database."""

    def __init__(
        self,
        recorder: Recorder,
        journal: Journal,
        store: CallStore,
        interval: float = 0.25,
        alerts: Alerting | None = None,
        alert_after: float = 120.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.recorder = recorder
        self.journal = journal
        self.store = store
        self.interval = interval
        self.alerts = alerts
        self.alert_after = alert_after
        self._wall = wall
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stored = 0  # operations this process has stored
        self.failures = 0  # passes that could not store (the database away)
        self.failing_since: float | None = None
        self.set_aside = 0  # lines that could not be read
        self._pass_began: float | None = None  # monotonic start of the pass under way

    # -- one pass --------------------------------------------------------------------------------

    @property
    def failing(self) -> bool:
        """The database refused the last pass, or the pass under way has waited on it over STUCK_SECONDS.

        A frozen server refuses nothing: a connection already open just waits (the server's own
        statement timeout cannot fire), so the wait itself counts as failing.
        """
        began = self._pass_began
        return self.failing_since is not None or (began is not None and time.monotonic() - began > STUCK_SECONDS)

    def ingest_once(self) -> int:
        """Store what is waiting; returns the operations stored. Raises when the database fails (all is kept)."""
        with self._lock:
            self._pass_began = time.monotonic()
            try:
                return self._ingest()
            finally:
                self._pass_began = None

    def _ingest(self) -> int:
        stored = self._spill()
        # Files closed by an earlier pass that failed first, then the file in use (closed now).
        for _ in range(2):
            for segment in self.journal.closed_segments():
                stored += self._store(segment)
            self.journal.rotate()
        with self.journal.orphans() as orphans:
            for segment in orphans:
                log.info("storing %s, left by a process that stopped", segment.path.name)
                stored += self._store(segment)
        self.stored += stored
        return stored

    def _spill(self) -> int:
        """Operations the journal could not take, straight to the database (oldest first)."""
        waiting = self.recorder.unjournaled
        stored = 0
        while waiting:
            ops = waiting[0]
            try:
                self.store.apply(ops)
                stored += len(ops)
            except AWAY:
                raise
            except Exception:  # refused for good: dropped, loudly, so it never blocks the rest
                self.recorder.counts["lost"] += len(ops)
                log.exception("the database refused %d call facts that the journal could not take; they are lost", len(ops))
            waiting.popleft()
        return stored

    def _store(self, segment: Segment) -> int:
        try:
            lines = read_lines(segment)
        except FileNotFoundError:
            return 0  # another process stored it
        refused: set[int] = {n for n, (_, ops) in enumerate(lines) if ops is None or not readable(ops)}
        good = [(n, ops) for n, (_, ops) in enumerate(lines) if n not in refused and ops is not None]
        stored = 0
        for batch in _batches(good):
            try:
                self.store.apply([op for _, ops in batch for op in ops])
                stored += sum(len(ops) for _, ops in batch)
            except AWAY:
                raise
            except Exception:
                # The database is there but refuses something in the batch: store line by line so
                # one bad line is set aside and never blocks the rest.
                log.exception("a batch of call records was refused; storing %s line by line", segment.path.name)
                for n, ops in batch:
                    try:
                        self.store.apply(ops)
                        stored += len(ops)
                    except AWAY:
                        raise
                    except Exception:  # noqa: BLE001 - whatever the database refuses in one line is set aside
                        refused.add(n)
        bad = [raw for n, (raw, _) in enumerate(lines) if n in refused]
        if bad:
            kept = self.journal.set_aside(segment, bad)
            self.set_aside += len(bad)
            log.error("%d unreadable line(s) in %s kept in %s for a person to look at", len(bad), segment.path.name, kept)
        self.journal.forget(segment)
        return stored

    # -- the thread ------------------------------------------------------------------------------

    def start(self) -> None:
        """Run passes every `interval` seconds, backing off while the database fails; a last pass at exit.

        The backlog is watched from a thread of its own, so that an alert goes out even while a
        pass hangs on a database that does not answer.
        """
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ivr-ingest", daemon=True)
            self._thread.start()
            threading.Thread(target=self._watch, name="ivr-backlog", daemon=True).start()
            atexit.register(self.stop)

    def stop(self) -> None:
        """Stop the thread and store what is left; what cannot be stored now is taken over by the next process."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
            self.run_once()

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            try:
                self.watch_backlog()
            except Exception:  # a folder that cannot be listed must not end the watching
                log.exception("could not look at the call-record journal's backlog")

    def _run(self) -> None:
        delay = self.interval
        while not self._stop.wait(delay):
            delay = self.interval if self.run_once() else min(max(delay, self.interval) * 2, MAX_BACKOFF_SECONDS)

    def run_once(self) -> bool:
        """One pass that never raises; False if the database failed."""
        ok = True
        try:
            self.ingest_once()
            if self.failing_since is not None:
                log.warning("the call records database takes records again; the backlog is stored")
            self.failing_since = None
        except Exception as exc:  # noqa: BLE001 - the records wait in the journal; say so once, then quietly retry
            ok = False
            self.failures += 1
            if self.failing_since is None:
                self.failing_since = self._wall()
                log.error("cannot store call records (%s); they wait in the journal and are retried", _short(exc))
        return ok

    # -- the backlog -----------------------------------------------------------------------------

    def backlog(self) -> Backlog:
        return self.journal.backlog(self._wall())

    def watch_backlog(self) -> Backlog:
        """Alert once per machine when the oldest waiting record passes `alert_after`, and once when it clears.

        The clock's leader is chosen through the database, which is what may be away; a marker file
        in the journal folder (made with O_EXCL, removed once) lets exactly one process of the
        machine raise each alert.
        """
        backlog = self.backlog()
        marker = self.journal.folder / ALERTED
        if backlog.oldest_seconds > self.alert_after:
            if _create(marker) and self.alerts is not None:
                self.alerts.alert(
                    f"call records have not reached the database for {int(backlog.oldest_seconds)} s "
                    f"({backlog.files} journal file(s), {backlog.bytes} bytes waiting); calls are still answered"
                )
        elif _remove(marker) and self.alerts is not None:
            self.alerts.alert("call records reach the database again; the journal backlog is stored")
        return backlog

    def metrics(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "failures": self.failures,
            "set_aside": self.set_aside,
            **{f"records_{name}": value for name, value in self.recorder.counts.items()},
        }


def _batches(lines: list[tuple[int, list[Op]]]) -> Iterator[list[tuple[int, list[Op]]]]:
    """Numbered lines grouped so that each group holds about BATCH_OPS operations."""
    batch: list[tuple[int, list[Op]]] = []
    size = 0
    for line in lines:
        batch.append(line)
        size += len(line[1])
        if size >= BATCH_OPS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _create(path: Path) -> bool:
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return False
    return True


def _remove(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _short(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]
