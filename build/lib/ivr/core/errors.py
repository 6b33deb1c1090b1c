"""The project's exceptions: one base class, narrow subclasses that name what was wrong."""

from __future__ import annotations

from dataclasses import dataclass


class IvrError(Exception):
    """Base class for every error the router raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a configuration file, at a file and line."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ConfigError(IvrError, ValueError):
    """A configuration that must not go live; carries every problem found, one per line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UnknownLine(IvrError, LookupError):
    """A line key that no configuration file defines."""

    def __init__(self, key: str) -> None:
        super().__init__(f"unknown line {key!r}")
        self.key = key


class UnknownService(IvrError, LookupError):
    """A service key that the line does not define."""

    def __init__(self, line: str, key: str) -> None:
        super().__init__(f"line {line!r} has no service {key!r}")
        self.key = key
