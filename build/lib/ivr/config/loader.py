"""Configuration files to validated, frozen lines; every problem names file, line and field.

Nothing is returned unless every file of every line is valid: a half-loaded configuration
never becomes live.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr.config import coverage
from ivr.config.coverage import COVERAGE_DAYS
from ivr.config.fields import KEY, brief, guarded, read_file, show
from ivr.config.files import digest_of
from ivr.config.flows import read_flow
from ivr.config.instants import stamp
from ivr.config.schedules import read_schedule
from ivr.core.errors import ConfigError, Problem, UnknownLine
from ivr.core.line import Line
from ivr.core.model import Schedule
from ivr.core.schedule import Router

__all__ = ["COVERAGE_DAYS", "PROJECT_DIR", "Config", "load"]

PROJECT_DIR = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Config:
    """Every line, validated together, with a digest that names this exact configuration."""

    lines: dict[str, Line]
    digest: str
    warnings: tuple[str, ...] = ()
    # Each Twilio number (E.164) to the key of the line it rings, made once so a call finds its line at once.
    by_number: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_number = {number: key for key, line in self.lines.items() for number in line.flow.numbers}
        object.__setattr__(self, "by_number", by_number)

    def line(self, key: str) -> Line:
        try:
            return self.lines[key]
        except KeyError:
            raise UnknownLine(key) from None

    def router(self, key: str) -> Router:
        return self.line(key).router

    def only(self, keys: set[str]) -> Config:
        """The same configuration with only the lines named (to compare just the lines a change touches)."""
        return Config({key: line for key, line in self.lines.items() if key in keys}, self.digest, self.warnings)

    def line_for_number(self, number: str) -> Line | None:
        """The line whose flow lists `number` (E.164) as one of its Twilio numbers."""
        key = self.by_number.get(number)
        return self.lines[key] if key is not None else None


def load(directory: Path | str | None = None, now: datetime | None = None, prove_coverage: bool = True) -> Config:
    """Load and validate every line under `directory`; raise ConfigError listing all problems.

    `prove_coverage=False` skips only the gap proof, for the commands that report gaps themselves.
    """
    base = Path(directory) if directory else PROJECT_DIR
    now = now or datetime.now(ZoneInfo("Europe/London"))
    problems: list[Problem] = []
    warnings: list[str] = []
    seen: dict[str, bytes] = {}  # what the digest names: exactly the bytes on disk
    schedule_files = sorted((base / "schedules").glob("*.yaml"))
    flow_files = {p.stem: p for p in sorted((base / "flows").glob("*.yaml"))}
    if not schedule_files:
        problems.append(Problem(str(base / "schedules"), 0, "", "no schedule files (*.yaml)"))
    lines: dict[str, Line] = {}
    claimed: dict[str, str] = {}  # Twilio number -> where a flow lists it, "flows/x.yaml:7"
    for schedule_path in schedule_files:
        key = schedule_path.stem
        flow_path = flow_files.pop(key, None)
        if not KEY.match(key):
            problems.append(
                Problem(
                    show(schedule_path, base),
                    0,
                    "",
                    f"{brief(key)} is not a line key (lower-case words joined by '-'); rename the file",
                )
            )
            continue
        if flow_path is None:
            problems.append(Problem(show(schedule_path, base), 0, "", f"no flows/{key}.yaml"))
            continue
        found: list[Problem] = []
        found_warnings: list[str] = []
        schedule, schedule_text = read_file(schedule_path, base, found, functools.partial(read_schedule, key=key), found_warnings)
        flow, flow_text = read_file(
            flow_path, base, found, functools.partial(read_flow, key=key, schedule=schedule, claimed=claimed), found_warnings
        )
        for path, text in ((schedule_path, schedule_text), (flow_path, flow_text)):
            if text is not None:  # the very bytes parsed (strict UTF-8 round-trips), never a second read
                seen[f"{path.parent.name}/{path.name}"] = text.encode("utf-8")
        shown = show(schedule_path, base)
        if schedule is not None and not found:
            with guarded(shown, found):
                router = Router(schedule)
                if prove_coverage:
                    found.extend(coverage.prove(schedule, router, now, shown))
                found_warnings.extend(_override_warnings(schedule, now, shown))
                if flow is not None and not found:
                    lines[key] = Line(key, flow, schedule, router)
        problems.extend(found)
        warnings.extend(found_warnings)
    for stray in flow_files.values():
        problems.append(Problem(show(stray, base), 0, "", f"no schedules/{stray.stem}.yaml"))
    if problems:
        raise ConfigError(problems)
    return Config(lines, digest_of(seen), tuple(warnings))


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
                f"{where}: override to {override.destination!r} ended {stamp(override.end)}; it no longer applies and can be removed"
            )
        elif override.end.timestamp() - now.timestamp() <= timedelta(hours=24).total_seconds():
            warnings.append(f"{where}: override to {override.destination!r} ends within 24 hours, at {stamp(override.end)}")
    return warnings
