"""Reading YAML fields and noting each problem with its file, line and field."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ivr.config import yamlfile
from ivr.core.errors import Problem
from ivr.core.model import MINUTES_PER_DAY
from ivr.core.numbers import Dialled, InvalidNumber, dialled, to_e164

log = logging.getLogger(__name__)

_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
KEY = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def show(path: Path, base: Path) -> str:
    """A path as an administrator knows it: relative to the configuration folder."""
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def read_file(
    path: Path, base: Path, problems: list[Problem], build: Callable[..., Any], warnings: list[str] | None = None
) -> tuple[Any, str | None]:
    """Read, parse and `build` one file: (the value or None, the text or None).

    Every failure is a problem naming the file, and the line where known; nothing escapes.
    """
    shown = show(path, base)
    before = len(problems)
    text = None
    with guarded(shown, problems):
        text = _read_text(path, base)
        doc = yamlfile.load(text)
        reader = Reader(shown, problems, warnings)
        if not isinstance(doc, yamlfile.Mapping):
            reader.problem(getattr(doc, "line", 1), "", "the file must be a mapping of keys to values (key: value, one a line)")
            return None, text
        result = build(reader, doc)
        return (result if len(problems) == before else None), text
    return None, text


@contextmanager
def guarded(shown: str, problems: list[Problem]) -> Iterator[None]:
    """Turn any exception while checking the file `shown` into a problem naming it; log the traceback."""
    try:
        yield
    except yamlfile.YamlError as exc:
        problems.append(Problem(shown, exc.line, "", str(exc)))
    except Exception as exc:  # a checker fault must refuse the file, not crash the loader
        log.exception("checking %s failed", shown)
        problems.append(
            Problem(
                shown,
                0,
                "",
                f"could not be checked ({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); refused to be safe: report this with the log",
            )
        )


def _read_text(path: Path, base: Path) -> str:
    """The file's text, after the checks that need no parser; raises YamlError saying what is wrong."""
    target = path.resolve()
    if not target.is_relative_to(base.resolve()):
        raise yamlfile.YamlError(0, f"links to {target}, outside the configuration folder; put the file itself in the folder")
    if not target.is_file():
        what = "a link to a missing file" if path.is_symlink() else "not a regular file"
        raise yamlfile.YamlError(0, f"{what}; replace it with the YAML file")
    try:
        with target.open("rb") as handle:
            data = handle.read(yamlfile.MAX_BYTES + 1)  # enough to tell it is too big, no more
    except OSError as exc:
        raise yamlfile.YamlError(0, f"cannot be read ({exc.strerror or exc}); check the file's permissions") from None
    return yamlfile.decode(data)


def brief(value: object, limit: int = 40) -> str:
    """A value as messages quote it (its repr), cut short when long so that a message stays readable."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


class Reader:
    """Reads fields out of YAML mappings, noting each problem with its file, line and field."""

    def __init__(self, path: str, problems: list[Problem], warnings: list[str] | None = None) -> None:
        self.path = path
        self.problems = problems
        self.warnings = warnings if warnings is not None else []

    def problem(self, line: int, where: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, where, message))

    def warn(self, line: int, where: str, message: str) -> None:
        """Something that loads but deserves an administrator's look, printed like a problem."""
        self.warnings.append(str(Problem(self.path, line, where, message)))

    def fields(self, node: Any, where: str, required: Iterable[str], optional: Iterable[str] = ()) -> yamlfile.Mapping | None:
        """Check `node` is a mapping with the required keys and nothing unknown."""
        if not isinstance(node, yamlfile.Mapping):
            self.problem(getattr(node, "line", 0), where, "expected a mapping of keys to values")
            return None
        required = tuple(required)
        allowed = set(required) | set(optional)
        for key in node:
            if key not in allowed:
                self.problem(node.line_of(key), join(where, key), f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in node:
                self.problem(node.line, where or "(top level)", f"missing required key {brief(key)}")
        return node

    def text(self, node: yamlfile.Mapping, key: str, where: str, default: str = "") -> str:
        value = node.get(key, default)
        if value is None or isinstance(value, (dict, list)):
            self.problem(node.line_of(key), join(where, key), "expected text")
            return default
        return str(value).strip()

    def key(self, node: yamlfile.Mapping, key: str, where: str) -> str:
        value = self.text(node, key, where)
        if value and not KEY.match(value):
            self.problem(node.line_of(key), join(where, key), f"{brief(value)} is not a key (lower-case words joined by '-')")
        return value

    def flag(self, node: yamlfile.Mapping, key: str, where: str, default: bool = False) -> bool:
        value = node.get(key, default)
        if not isinstance(value, bool):
            self.problem(node.line_of(key), join(where, key), "expected true or false")
            return default
        return value

    def sequence(self, node: yamlfile.Mapping, key: str, where: str) -> yamlfile.Sequence:
        value = node.get(key)
        if value is None:
            empty = yamlfile.Sequence()
            empty.line, empty.item_lines = node.line_of(key), []
            return empty
        if not isinstance(value, yamlfile.Sequence):
            self.problem(node.line_of(key), join(where, key), "expected a list")
            empty = yamlfile.Sequence()
            empty.line, empty.item_lines = node.line_of(key), []
            return empty
        return value

    def mapping(self, node: yamlfile.Mapping, key: str, where: str) -> yamlfile.Mapping:
        value = node.get(key)
        if not isinstance(value, yamlfile.Mapping):
            if value is not None:
                self.problem(node.line_of(key), join(where, key), "expected a mapping")
            empty = yamlfile.Mapping()
            empty.line, empty.key_lines = node.line_of(key), {}
            return empty
        return value


_LONGEST_NUMBER = 40  # characters; E.164 has at most 15 digits, people add spaces, brackets and an extension


def phone(r: Reader, text: str, line: int, where: str) -> str | None:
    """A phone number (no extension) as E.164, or None after noting why it is not one."""
    found = team_phone(r, text, line, where, extension=False)
    return found.number if found else None


def team_phone(r: Reader, text: str, line: int, where: str, extension: bool = True) -> Dialled | None:
    """A team's number as E.164 with its extension ('0300 456 0108 ext 2'), or None after noting why not."""
    if len(text) > _LONGEST_NUMBER:
        r.problem(line, where, f"{brief(text)} is too long to be a phone number")
        return None
    try:
        return dialled(text) if extension else Dialled(to_e164(text))
    except InvalidNumber as exc:
        r.problem(line, where, str(exc))
        return None


def _clock(text: str) -> int | None:
    match = _TIME.match(text.strip())
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes


def time_range(r: Reader, node: yamlfile.Mapping, key: str, where: str) -> tuple[int, int] | None:
    """A "HH:MM-HH:MM" field as minutes after midnight (24:00 is 1440), or None after noting why not."""
    text = r.text(node, key, where)
    parts = text.split("-")
    field_name = join(where, key)
    if len(parts) != 2:
        r.problem(node.line_of(key), field_name, f"{brief(text)} is not a time range like 08:45-17:00")
        return None
    start, end = _clock(parts[0]), _clock(parts[1])
    for part, value in zip(parts, (start, end)):
        if value is None:
            r.problem(node.line_of(key), field_name, f"{brief(part.strip())} is not a time (HH:MM, 00:00 to 24:00)")
    if start is None or end is None:
        return None
    if start == MINUTES_PER_DAY:
        r.problem(node.line_of(key), field_name, "a range cannot start at 24:00")
        return None
    if end <= start:
        r.problem(
            node.line_of(key),
            field_name,
            f"end {parts[1].strip()} is not after start {parts[0].strip()} (use 24:00 for midnight)",
        )
        return None
    return start, end


def join(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


# -- schedules ---------------------------------------------------------------------------------
