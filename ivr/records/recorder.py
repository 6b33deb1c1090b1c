"""What the webhooks tell the call records. A failing database never fails a call: it is logged."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from ivr.core.facts import Detail, Fact
from ivr.core.state import Call

log = logging.getLogger(__name__)


class Recorder:
    """Writes call facts to the store; every write is idempotent, every failure is swallowed."""

    def __init__(self, store: Any, simulated: bool = False) -> None:
        self.store = store
        self.simulated = simulated

    def started(self, line: str, call: Call, digest: str) -> None:
        self._safely(
            "call start",
            self.store.call_started,
            call.sid,
            line,
            call.now,
            call.caller or "",
            call.called,
            simulated=self.simulated,
            config_digest=digest,
        )

    def record(self, line: str, call: Call, facts: list[tuple[Fact, Detail]], step: str) -> None:
        """Each fact of one webhook step, once per (call, step, index); an accepted screening also as an acceptance."""
        for index, (kind, detail) in enumerate(facts):
            if kind is Fact.SCREEN and detail.get("accepted"):
                # Written before the fact: the dial's result, next, reads it to decide whether the caller talked.
                self.accept(call.sid, detail.get("attempt", 0), call.now)
            self._safely(kind, self.store.event, call.sid, call.now, kind.value, detail, f"{step}:{index}", line=line)
            if kind is Fact.END:
                self._safely("call end", self.store.call_ended, call.sid, call.now, detail.get("outcome", ""))

    def accept(self, sid: str, attempt: int, at: datetime) -> None:
        self._safely("acceptance", self.store.accept, sid, attempt, at)

    def accepted(self, sid: str, attempt: int) -> bool | None:
        """Whether the answerer of `attempt` pressed to accept; None if the store failed."""
        try:
            return bool(self.store.accepted(sid, attempt))
        except Exception:
            log.exception("could not read acceptance for %s attempt %s", sid, attempt)
            return None

    def status(self, parent: str, sid: str, status: str, duration: str, at: datetime) -> None:
        """Twilio's status callback: a dialled leg (has a parent) or the caller's call itself."""
        if parent:
            detail = {"leg": sid, "status": status, "duration": duration}
            self._safely("status", self.store.event, parent, at, Fact.STATUS.value, detail, f"status:{sid}:{status}")
        elif status in ("completed", "busy", "failed", "no-answer", "canceled"):
            self._safely("call end", self.store.call_ended, sid, at, status)

    def _safely(self, what: str, write: Any, *args: Any, **kwargs: Any) -> None:
        try:
            write(*args, **kwargs)
        except Exception:  # the call goes on; the gap in the record is logged
            log.exception("could not record %s", what)
