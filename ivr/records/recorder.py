"""What the webhooks tell the call records. A failing database never fails a call: it is logged."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

log = logging.getLogger(__name__)


class CallLike(Protocol):
    """What the recorder needs to know of a call (read-only)."""

    @property
    def sid(self) -> str: ...
    @property
    def caller(self) -> str | None: ...
    @property
    def called(self) -> str: ...
    @property
    def now(self) -> datetime: ...


class Recorder:
    """Writes call facts to the store; every write is idempotent, every failure is swallowed."""

    def __init__(self, store: Any, simulated: bool = False) -> None:
        self.store = store
        self.simulated = simulated

    def started(self, line: str, call: CallLike, digest: str) -> None:
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

    def record(self, line: str, call: CallLike, events: list[tuple[str, dict[str, Any]]], step: str) -> None:
        for index, (kind, detail) in enumerate(events):
            self._safely(kind, self.store.event, call.sid, call.now, kind, detail, f"{step}:{index}", line=line)
            if kind == "end":
                self._safely("call end", self.store.call_ended, call.sid, call.now, detail.get("outcome", ""))

    def accept(self, sid: str, attempt: int, at: datetime) -> None:
        self._safely("acceptance", self.store.accept, sid, attempt, at)

    def accepted(self, sid: str, attempt: int) -> bool | None:
        """Whether the answerer of `attempt` pressed to accept; None if the store failed."""
        try:
            return bool(self.store.accepted(sid, attempt))
        except Exception:  # noqa: BLE001
            log.exception("could not read acceptance for %s attempt %s", sid, attempt)
            return None

    def status(self, parent: str, sid: str, status: str, duration: str, at: datetime) -> None:
        """Twilio's status callback: a dialled leg (has a parent) or the caller's call itself."""
        if parent:
            detail = {"leg": sid, "status": status, "duration": duration}
            self._safely("status", self.store.event, parent, at, "status", detail, f"status:{sid}:{status}")
        elif status in ("completed", "busy", "failed", "no-answer", "canceled"):
            self._safely("call end", self.store.call_ended, sid, at, status)

    def _safely(self, what: str, write: Any, *args: Any, **kwargs: Any) -> None:
        try:
            write(*args, **kwargs)
        except Exception:  # noqa: BLE001 - the call goes on; the gap in the record is logged
            log.exception("could not record %s", what)
