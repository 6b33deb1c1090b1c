"""The routing difference between two configurations, as an administrator reads it.

"Wed 2 Dec 09:00-12:00 child-at-risk: the Multi-Agency Safeguarding Hub -> the Out of Hours
Service (diversion 'MASH training morning')": for each line and service, the stretches of time
in which a call would go somewhere else, merged where one change spans several intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ivr.config.loader import Config
from ivr.core.model import Destination, Interval

DIFF_DAYS = 14  # how far ahead `ivr diff` and the admin's release pages compare, unless told otherwise


@dataclass(frozen=True, slots=True)
class Change:
    """From `start` to `end`, calls for `service` on `line` go to `new` instead of `old`."""

    line: str
    service: str
    start: datetime
    end: datetime
    old: Destination | None
    new: Destination | None
    why: str  # the rule or diversion that answers in the new configuration

    def describe(self) -> str:
        """One line: when, which service, from whom to whom, and why."""
        return f"{_span(self.start, self.end)} {self.describe_now()}"

    def describe_now(self) -> str:
        """The change without its time: which service, from whom to whom, and why."""
        return f"{self.line} {self.service}: {_who(self.old)} -> {_who(self.new)} ({self.why})"

    def as_json(self) -> dict[str, str | None]:
        return {
            "line": self.line,
            "service": self.service,
            "from": self.start.isoformat(),
            "until": self.end.isoformat(),
            "old": self.old.key if self.old else None,
            "new": self.new.key if self.new else None,
            "old_number": self.old.number if self.old else None,
            "new_number": self.new.number if self.new else None,
            "why": self.why,
        }


def routing_changes(old: Config | None, new: Config, start: datetime, end: datetime) -> list[Change]:
    """Every stretch in [start, end) where `new` routes a call differently from `old`."""
    changes: list[Change] = []
    for key, line in sorted(new.lines.items()):
        router = line.router
        before = old.lines[key].router if old and key in old.lines else None
        for service in router.schedule.services:
            after = router.timeline(service, start, end)
            if before is None or service not in before.schedule.services:
                earlier = [Interval(start, end, None, "not configured")]
            else:
                earlier = before.timeline(service, start, end)
            reasons = {o.label: f"diversion '{o.reason}'" for o in router.schedule.overrides}
            changes.extend(_differences(key, service, earlier, after, reasons))
    return changes


def removed(old: Config | None, new: Config) -> list[str]:
    """Lines and services that `old` has and `new` does not: calls to them are no longer routed."""
    if old is None:
        return []
    gone = [f"line {key} removed" for key in sorted(set(old.lines) - set(new.lines))]
    for key in sorted(set(old.lines) & set(new.lines)):
        services = set(old.lines[key].schedule.services) - set(new.lines[key].schedule.services)
        gone.extend(f"{key} {service}: service removed" for service in sorted(services))
    return gone


def report(changes: list[Change], gone: list[str], against: str, days: int) -> list[str]:
    """What `ivr diff` prints, a line each: every change, then what was removed; or that nothing differs from `against`."""
    if changes or gone:
        return [*(change.describe() for change in changes), *gone]
    return [f"no routing difference from {against} in the next {days} days"]


def summary(old: Config | None, new: Config, start: datetime, end: datetime) -> str:
    """One line saying what a release changes in routing over [start, end)."""
    if old is None:
        return f"first release: {len(new.lines)} lines"
    changes = routing_changes(old, new, start, end)
    gone = removed(old, new)
    if not changes and not gone:
        return "no routing change (wording, numbers' notes or comments only)"
    services = sorted({f"{c.line} {c.service}" for c in changes})
    shown = ", ".join(services[:3]) + (f" and {len(services) - 3} more" if len(services) > 3 else "")
    parts = [f"{len(changes)} routing change{'s' if len(changes) != 1 else ''} ({shown})"] if changes else []
    return "; ".join(parts + gone)


def _differences(line: str, service: str, old: list[Interval], new: list[Interval], reasons: dict[str, str]) -> list[Change]:
    """Walk both timelines together (each is contiguous and in order), one stretch at a time."""
    found: list[Change] = []
    i = j = 0
    while i < len(old) and j < len(new):
        was, now = old[i], new[j]
        left = max(was.start.timestamp(), now.start.timestamp())
        right = min(was.end.timestamp(), now.end.timestamp())
        if left < right and _key(was.destination) != _key(now.destination):
            why = reasons.get(now.rule, now.rule)
            begin, finish = max(was.start, now.start, key=_stamp), min(was.end, now.end, key=_stamp)
            previous = found[-1] if found else None
            if (
                previous is not None
                and previous.end.timestamp() == left
                and (_key(previous.old), _key(previous.new), previous.why)
                == (_key(was.destination), _key(now.destination), now.rule)
            ):
                found[-1] = Change(line, service, previous.start, finish, previous.old, previous.new, previous.why)
            else:
                found.append(Change(line, service, begin, finish, was.destination, now.destination, why))
        if was.end.timestamp() <= now.end.timestamp():
            i += 1
        else:
            j += 1
    return found


def _stamp(value: datetime) -> float:
    return value.timestamp()


def _key(dest: Destination | None) -> tuple[str, str | None] | None:
    # A team whose number changed is a change too.
    return (dest.key, dest.number) if dest else None


def _who(dest: Destination | None) -> str:
    return dest.name if dest else "nobody (closed)"


def _span(start: datetime, end: datetime) -> str:
    day = f"{start:%a} {start.day} {start:%b}"
    if start.date() == end.date() or (end.hour == 0 and end.minute == 0 and (end - start).days == 0):
        closing = "24:00" if end.date() != start.date() else f"{end:%H:%M}"
        return f"{day} {start:%H:%M}-{closing}"
    return f"{day} {start:%H:%M} to {end:%a} {end.day} {end:%b} {end:%H:%M}"
