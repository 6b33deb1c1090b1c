"""A line, whole: its flow, its schedule, and the router compiled from the schedule."""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.core.model import Flow, Schedule
from ivr.core.schedule import Router


@dataclass(frozen=True, slots=True)
class Line:
    """One line's validated flow and schedule, and its router (compiled once, at load)."""

    key: str
    flow: Flow
    schedule: Schedule
    router: Router = field(compare=False, repr=False)
