"""YAML that remembers where each value came from, so errors can name file and line.

Text is checked before the parser sees it (size, encoding, control characters, a first bound on
nesting), then parsed with libyaml's C loader when PyYAML was built with it, else the pure one.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

MAX_BYTES = 1024 * 1024  # a schedule or flow is a few kilobytes; this stops accidents, not data
MAX_DEPTH = 32  # lists and mappings inside one another; the shipped files go 5 deep
_LONG_NUMBER = 30  # digits; Python refuses to read an int of over 4,300, and none of ours is long

# YAML allows tab, newline, carriage return, NEL and printable Unicode (YAML 1.1, 5.1).
_FORBIDDEN = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Mapping(dict[str, Any]):
    """A YAML mapping that knows its own line and the line of each key."""

    line: int
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class Sequence(list[Any]):
    """A YAML sequence that knows its own line and the line of each item."""

    line: int
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> Mapping:
    result = Mapping()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        # Keys keep their literal text: YAML 1.1 would read `on:` as true and `1:` as a number.
        key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else str(loader.construct_object(key_node, deep=True))
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: Any, node: yaml.SequenceNode) -> Sequence:
    result = Sequence(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _construct_str(loader: Any, node: yaml.ScalarNode) -> str:
    # Dates and times stay text: the config module parses them and reports errors by line.
    return str(loader.construct_scalar(node))


def _construct_number(loader: Any, node: yaml.ScalarNode) -> Any:
    # YAML 1.1 reads an unquoted 13:00 as the base-60 number 780; keep clock times as text.
    # A number too long for any field stays text too, so the field refuses it by name.
    if ":" in node.value or len(node.value) > _LONG_NUMBER:
        return str(node.value)
    if node.tag.endswith(":int"):
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    return yaml.SafeLoader.construct_yaml_float(loader, node)


class _PureLoader(yaml.SafeLoader):
    """PyYAML's pure-Python SafeLoader whose mappings and sequences carry 1-based line numbers."""


LOADERS: tuple[type[Any], ...] = (_PureLoader,)
if getattr(yaml, "__with_libyaml__", False):

    class _CLoader(yaml.CSafeLoader):
        """libyaml's parser and composer, our constructors: the same values, several times faster."""

    LOADERS = (_CLoader, _PureLoader)

for _loader in LOADERS:
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
    _loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_str)
    _loader.add_constructor("tag:yaml.org,2002:int", _construct_number)
    _loader.add_constructor("tag:yaml.org,2002:float", _construct_number)

LOADER = LOADERS[0]


class YamlError(ValueError):
    """A file that is not readable YAML; the message names the line and what to do."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def decode(data: bytes) -> str:
    """UTF-8 bytes to text; raises YamlError naming the line and byte of the first bad one."""
    if len(data) > MAX_BYTES:
        raise YamlError(0, f"the file is {len(data):,} bytes, over the limit of {MAX_BYTES:,} (1 MiB); remove what is not needed")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlError(
            line,
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} (byte {column} of the line) cannot be read; save the file as UTF-8",
        ) from None
    bad = _FORBIDDEN.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        name = " (NUL)" if bad.group() == "\x00" else ""
        raise YamlError(line, f"control character U+{ord(bad.group()):04X}{name} at column {column} is not allowed; delete it")
    return text


def load(text: str, loader: type[Any] | None = None) -> Any:
    """Parse YAML text into Mapping/Sequence values that carry line numbers; raises YamlError."""
    if _nesting_beyond(text, 2 * MAX_DEPTH):
        raise _too_deep(_nesting_beyond(text, MAX_DEPTH))  # the line where it first went too deep
    parser = (loader or LOADER)(text)
    try:
        node = parser.get_single_node()
        if node is None:
            return None
        deep = _node_deeper_than(node, MAX_DEPTH)
        if deep is not None:
            raise _too_deep(deep.start_mark.line + 1)
        return parser.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlError(mark.line + 1 if mark else 0, f"not valid YAML: {_explain(exc)}") from exc
    except yaml.YAMLError as exc:  # errors without a position, e.g. from the reader
        raise YamlError(0, f"not valid YAML: {' '.join(str(exc).split())}") from exc
    except RecursionError:  # nesting the scan did not see, too deep for the constructors
        raise _too_deep(0) from None
    finally:
        parser.dispose()


def _explain(exc: yaml.MarkedYAMLError) -> str:
    """What the parser found, and what to do about it."""
    what = exc.problem or exc.context or "unreadable"
    if exc.context and exc.problem and not exc.context.startswith("while"):
        what = f"{exc.context}, {exc.problem}"  # e.g. "expected a single document in the stream, but found another"
    if isinstance(exc, yaml.constructor.ConstructorError):
        return f"{what}; {'keep only one of them' if 'duplicate key' in what else 'write the value without a tag (!!...)'}"
    return f"{what}; check the indentation, quotes and brackets here and on the line before"


def _too_deep(line: int) -> YamlError:
    return YamlError(line, f"lists and mappings nested more than {MAX_DEPTH} deep; flatten this part of the file")


def _node_deeper_than(root: yaml.Node, limit: int) -> yaml.Node | None:
    """The first collection nested more than `limit` deep, following aliases; None if there is none."""
    deepest: dict[int, int] = {}  # id(node) -> deepest level it was explored at
    todo: list[tuple[yaml.Node, int]] = [(root, 1)]
    while todo:
        node, depth = todo.pop()
        if isinstance(node, yaml.ScalarNode):
            continue
        if depth > limit:
            return node  # also ends an alias loop, which only ever gets deeper
        if deepest.get(id(node), 0) >= depth:
            continue  # an alias already explored at least this deep
        deepest[id(node)] = depth
        if isinstance(node, yaml.SequenceNode):
            todo.extend((child, depth + 1) for child in node.value)
        else:
            todo.extend((child, depth + 1) for pair in node.value for child in pair)
    return None


_SPECIAL = re.compile(r"""[\[\]{}'"#|>\\]""")
_DASHES = re.compile(r"^[ ]*(?:-[ ]+)+", re.MULTILINE)
_KEY_CHARS = 200  # longer keys are not looked for: the regex would crawl on a very long line
_KEY = re.compile(r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"\[\]{}|>!&*][^#]*?)\s*:(?:\s|$)""")


def _nesting_beyond(text: str, limit: int) -> int:
    """The line where nesting first looks deeper than `limit`, or 0; a look that needs no parser.

    On thousands of levels the parsers crawl and libyaml's composer recurses in C, so such text
    must be stopped first. A rough bound clears ordinary files at once; otherwise a scan counts
    block entries and keys by column, and brackets that open a node outside quotes and comments.
    Either may over-count an odd file, hence a generous limit; the exact one is checked on nodes.
    """
    lines = text.splitlines()
    if _rough_bound(text, lines) <= limit:
        return 0
    flow = 0
    quote = ""
    blocks: list[tuple[int, str]] = []  # (column, "seq" or "map") of the open block collections
    scalar_indent = -1  # inside a block scalar (| or >) started on a line with this indent
    for number, line in enumerate(lines, start=1):
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if scalar_indent >= 0:
            if not stripped or indent > scalar_indent:
                continue
            scalar_indent = -1
        if not quote and not flow and stripped and not stripped.startswith("#"):
            while blocks and blocks[-1][0] > indent:
                blocks.pop()
            column = indent
            while True:
                if line.startswith("-", column) and line[column + 1 : column + 2] in ("", " "):
                    kind = "seq"
                elif _KEY.match(line, column, column + _KEY_CHARS):
                    kind = "map"
                else:
                    break
                if kind == "map" and blocks and blocks[-1] == (column, "seq"):
                    blocks.pop()  # a key at the column of an indentless sequence ends that sequence
                if not blocks or blocks[-1] != (column, kind):
                    blocks.append((column, kind))
                if len(blocks) > limit:
                    return number
                if kind == "map":
                    break
                column += 1
                while line.startswith(" ", column):
                    column += 1
        skip_to = 0  # inside quotes, the characters up to here are already read
        for match in _SPECIAL.finditer(line):
            char, index = match.group(), match.start()
            if index < skip_to:
                continue
            if quote:
                if char == "\\" and quote == '"':
                    skip_to = index + 2
                elif char == quote == "'" and line[index + 1 : index + 2] == "'":
                    skip_to = index + 2  # '' is a quote inside single quotes
                elif char == quote:
                    quote = ""
                continue
            if char == "#":
                if index == 0 or line[index - 1] in " \t":
                    break
                continue
            if char == "\\":
                continue
            at_node_start = _opens_node(line, index, flow > 0)
            if char in "'\"" and at_node_start:
                quote = char
            elif char in "[{" and (at_node_start or flow):
                flow += 1
                if len(blocks) + flow > limit:
                    return number
            elif char in "]}" and flow:
                flow -= 1
            elif char in "|>" and at_node_start and not flow and not line[index + 1 :].split("#")[0].strip(" +-0123456789"):
                scalar_indent = indent
                break
    return 0


def _rough_bound(text: str, lines: list[str]) -> int:
    """More than the nesting can be: two collections per indentation in use (a mapping and its
    indentless list), the longest run of `- - -`, and every bracket a line leaves open."""
    indents = {len(line) - len(line.lstrip(" ")) for line in lines}
    dashes = max((m.group().count("-") for m in _DASHES.finditer(text)), default=0)
    left_open = widest = 0
    for line in lines:
        if "[" in line or "{" in line:
            opens = line.count("[") + line.count("{")
            left_open += max(opens - line.count("]") - line.count("}"), 0)
            widest = max(widest, opens)
    return 2 * len(indents) + dashes + left_open + widest


def _opens_node(line: str, index: int, in_flow: bool) -> bool:
    """Whether a bracket or quote at `index` starts a node rather than sitting inside plain text."""
    before = index - 1
    while before >= 0 and line[before] == " ":
        before -= 1
    if before < 0 or line[before] == ":" or (in_flow and line[before] in "[{,"):
        return True
    return line[before] in "?-" and (before == 0 or line[before - 1] in " \t")
