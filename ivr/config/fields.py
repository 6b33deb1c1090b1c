"""Reading YAML fields and noting each problem with its file, line and field."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ivr.config import yamlfile
from ivr.core.errors import Problem

KEY = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def show(path: Path, base: Path) -> str:
    """A path as an administrator knows it: relative to the configuration folder."""
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def read_file(path: Path, base: Path, problems: list[Problem], build: Callable[..., Any]) -> Any:
    shown = show(path, base)
    try:
        doc = yamlfile.load(path.read_text(encoding="utf-8"))
    except yamlfile.YamlError as exc:
        problems.append(Problem(shown, exc.line, "", f"not valid YAML: {exc}"))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(shown, 0, "", f"cannot read: {exc}"))
        return None
    reader = Reader(shown, problems)
    if not isinstance(doc, yamlfile.Mapping):
        reader.problem(1, "", "the file must be a mapping of keys to values")
        return None
    before = len(problems)
    result = build(reader, doc)
    return result if len(problems) == before else None


class Reader:
    """Reads fields out of YAML mappings, noting each problem with its file, line and field."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems

    def problem(self, line: int, where: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, where, message))

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
                self.problem(node.line, where or "(top level)", f"missing required key {key!r}")
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
            self.problem(node.line_of(key), join(where, key), f"{value!r} is not a key (lower-case words joined by '-')")
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


def join(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


# -- schedules ---------------------------------------------------------------------------------
