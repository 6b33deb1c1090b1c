"""Configuration files to validated, frozen lines; every problem names file, line and field.

Nothing is returned unless every file of every line is valid: a half-loaded configuration
never becomes live.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr.config.fields import read_file, show
from ivr.config.files import digest_of
from ivr.config.flows import read_flow
from ivr.config.schedules import read_schedule
from ivr.core.errors import ConfigError, Problem, UnknownLine
from ivr.core.model import Line, Schedule
from ivr.core.schedule import Router

PROJECT_DIR = Path(__file__).resolve().parents[2]
COVERAGE_DAYS = 400  # an always-open service must have no gap this far ahead


@dataclass(frozen=True)
class Config:
    """Every line, validated together, with a digest that names this exact configuration."""

    lines: dict[str, Line]
    routers: dict[str, Router]
    digest: str
    warnings: tuple[str, ...] = ()

    def line(self, key: str) -> Line:
        try:
            return self.lines[key]
        except KeyError:
            raise UnknownLine(key) from None

    def router(self, key: str) -> Router:
        self.line(key)
        return self.routers[key]

    def line_for_number(self, number: str) -> Line | None:
        """The line whose flow lists `number` (E.164) as one of its Twilio numbers."""
        return next((ln for ln in self.lines.values() if number in ln.flow.numbers), None)


def load(directory: Path | str | None = None, now: datetime | None = None, prove_coverage: bool = True) -> Config:
    """Load and validate every line under `directory`; raise ConfigError listing all problems.

    `prove_coverage=False` skips only the gap check, for `ivr coverage`, which reports gaps itself.
    """
    base = Path(directory) if directory else PROJECT_DIR
    now = now or datetime.now(ZoneInfo("Europe/London"))
    problems: list[Problem] = []
    warnings: list[str] = []
    seen: dict[str, bytes] = {}
    schedule_files = sorted((base / "schedules").glob("*.yaml"))
    flow_files = {p.stem: p for p in sorted((base / "flows").glob("*.yaml"))}
    if not schedule_files:
        problems.append(Problem(str(base / "schedules"), 0, "", "no schedule files (*.yaml)"))
    lines: dict[str, Line] = {}
    routers: dict[str, Router] = {}
    for schedule_path in schedule_files:
        key = schedule_path.stem
        flow_path = flow_files.pop(key, None)
        if flow_path is None:
            problems.append(Problem(show(schedule_path, base), 0, "", f"no flows/{key}.yaml"))
            continue
        for path in (schedule_path, flow_path):
            seen[f"{path.parent.name}/{path.name}"] = path.read_bytes()
        found: list[Problem] = []
        schedule = read_file(schedule_path, base, found, functools.partial(read_schedule, key=key))
        flow = read_file(flow_path, base, found, functools.partial(read_flow, key=key, schedule=schedule))
        if schedule is not None and not found:
            router = Router(schedule)
            if prove_coverage:
                _check_coverage(schedule, router, now, show(schedule_path, base), found)
            warnings.extend(_override_warnings(schedule, now, show(schedule_path, base)))
            if flow is not None and not found:
                lines[key] = Line(key, flow, schedule)
                routers[key] = router
        problems.extend(found)
    for stray in flow_files.values():
        problems.append(Problem(show(stray, base), 0, "", f"no schedules/{stray.stem}.yaml"))
    if problems:
        raise ConfigError(problems)
    return Config(lines, routers, digest_of(seen), tuple(warnings))


def _check_coverage(schedule: Schedule, router: Router, now: datetime, path: str, problems: list[Problem]) -> None:
    for service in schedule.services.values():
        if not service.always_open:
            continue
        line = int(service.source.rsplit(":", 1)[1])
        for gap in router.coverage(service.key, now, now + timedelta(days=COVERAGE_DAYS)):
            problems.append(
                Problem(
                    path,
                    line,
                    f"services.{service.key}",
                    f"always open, but no rule covers {gap.start.isoformat(timespec='minutes')} to {gap.end.isoformat(timespec='minutes')}",
                )
            )


def _override_warnings(schedule: Schedule, now: datetime, path: str) -> list[str]:
    warnings = []
    for override in schedule.overrides:
        where = f"{path}:{override.source.rsplit(':', 1)[1]}"
        if override.end is None:
            warnings.append(
                f"{where}: override to {override.destination!r} is in force until further notice ({override.reason}); remove it when it is no longer needed"
            )
        elif override.end.timestamp() <= now.timestamp():
            warnings.append(
                f"{where}: override to {override.destination!r} ended {override.end.isoformat(timespec='minutes')}; it no longer applies and can be removed"
            )
        elif override.end.timestamp() - now.timestamp() <= timedelta(hours=24).total_seconds():
            warnings.append(
                f"{where}: override to {override.destination!r} ends within 24 hours, at {override.end.isoformat(timespec='minutes')}"
            )
    return warnings
