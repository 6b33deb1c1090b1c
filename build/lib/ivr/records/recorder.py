"""What the webhooks tell the call records: appended to this process's journal, stored later.

A webhook's facts become record operations (see `CallStore.apply`) written to the journal in one
write before the caller is answered; the ingester moves them to the database. Nothing here waits
on the database except `accepted`, which has its own short time limit. A failure never fails a call.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime

from ivr.core.facts import Detail, Fact
from ivr.core.state import Call
from ivr.records.journal import Journal, JournalError, Op
from ivr.records.store import ACCEPT, END, EVENT, START, CallStore

log = logging.getLogger(__name__)
READ_SECONDS = 0.5  # the longest a call waits to learn from the database whether a dial was accepted
UNJOURNALED_LIMIT = 100_000  # operations kept in memory while the journal cannot be written


class Recorder:
    """Turns facts into record operations and appends them; thread-safe."""

    def __init__(
        self,
        store: CallStore,
        journal: Journal | None = None,
        simulated: bool = False,
        after_append: Callable[[], object] | None = None,
    ) -> None:
        self.store = store
        self.journal = journal  # None: each write goes straight to the database (commands and tools)
        self.simulated = simulated
        self.after_append = after_append  # the ingester's pass, when records are stored as they come (tests)
        # Operations the journal refused (folder gone, disk full): the ingester stores them from here.
        self.unjournaled: deque[list[Op]] = deque(maxlen=UNJOURNALED_LIMIT)
        self.counts = {"appended": 0, "unjournaled": 0, "lost": 0}
        self._buffer = threading.local()
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ivr-records-read")

    @contextlib.contextmanager
    def one_write(self) -> Iterator[None]:
        """Inside, a thread's writes are gathered and appended once, as a single line, when the block ends."""
        if getattr(self._buffer, "ops", None) is not None:
            yield  # already gathering
            return
        self._buffer.ops = []
        try:
            yield
        finally:
            ops, self._buffer.ops = self._buffer.ops, None
            if ops:
                self._append(ops)

    # -- what happened ---------------------------------------------------------------------------

    def started(self, line: str, call: Call, digest: str) -> None:
        caller_hash, number = self.store.caller_fields(call.caller or "")
        self._write([[START, call.sid, line, call.now.isoformat(), caller_hash, number, call.called, self.simulated, digest]])

    def record(self, line: str, call: Call, facts: list[tuple[Fact, Detail]], step: str) -> None:
        """Each fact of one webhook step, once per (call, step, index); an accepted screening also as an acceptance."""
        at = call.now.isoformat()
        ops: list[Op] = []
        for index, (kind, detail) in enumerate(facts):
            if kind is Fact.SCREEN and detail.get("accepted"):
                ops.append([ACCEPT, call.sid, detail.get("attempt", 0), at])
            ops.append([EVENT, call.sid, line, at, kind.value, detail, f"{step}:{index}"])
            if kind is Fact.END:
                ops.append([END, call.sid, at, detail.get("outcome", "")])
        self._write(ops)

    def accept(self, sid: str, attempt: int, at: datetime) -> None:
        self._write([[ACCEPT, sid, attempt, at.isoformat()]])

    def status(self, parent: str, sid: str, status: str, duration: str, at: datetime) -> None:
        """Twilio's status callback: a dialled leg (has a parent) or the caller's call itself."""
        if parent:
            detail = {"leg": sid, "status": status, "duration": duration}
            self._write([[EVENT, parent, "", at.isoformat(), Fact.STATUS.value, detail, f"status:{sid}:{status}"]])
        elif status in ("completed", "busy", "failed", "no-answer", "canceled"):
            self._write([[END, sid, at.isoformat(), status]])

    # -- what a call asks ------------------------------------------------------------------------

    def accepted(self, sid: str, attempt: int) -> bool | None:
        """Whether the answerer of `attempt` pressed to accept; None if neither the journal nor the database could tell.

        The acceptance may still wait in this machine's journals (any process's), or be stored
        already; the database is asked for at most READ_SECONDS, so a frozen server delays no call.
        """
        needle = json.dumps([ACCEPT, sid, attempt], separators=(",", ":"))[:-1].encode() + b","
        try:
            if self.journal is not None and self.journal.find(needle):
                return True
            return bool(self._reader.submit(self.store.accepted, sid, attempt).result(timeout=READ_SECONDS))
        except FutureTimeout:
            log.error(
                "the call records did not answer within %.1f s whether %s attempt %s was accepted", READ_SECONDS, sid, attempt
            )
            return None
        except Exception:
            log.exception("could not read acceptance for %s attempt %s", sid, attempt)
            return None

    # -- writing ---------------------------------------------------------------------------------

    def _write(self, ops: list[Op]) -> None:
        gathering = getattr(self._buffer, "ops", None)
        if gathering is not None:
            gathering.extend(ops)
        elif ops:
            self._append(ops)

    def _append(self, ops: list[Op]) -> None:
        if self.journal is None:
            try:
                self.store.apply(ops)
            except Exception:  # the call goes on; the gap in the record is logged
                self.counts["lost"] += len(ops)
                log.exception("could not record %d call facts", len(ops))
            return
        try:
            self.journal.append(ops)
            self.counts["appended"] += len(ops)
        except (JournalError, TypeError, ValueError):
            # Kept in memory for the ingester: lost only if this process dies before the database takes them.
            if len(self.unjournaled) == self.unjournaled.maxlen:
                self.counts["lost"] += len(self.unjournaled[0])
            self.unjournaled.append(ops)
            self.counts["unjournaled"] += len(ops)
            log.exception("could not append %d call facts to the journal; keeping them in memory", len(ops))
        if self.after_append is not None:
            try:
                self.after_append()
            except Exception:
                log.exception("storing call records failed; they wait in the journal")
