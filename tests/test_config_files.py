"""Reading a configuration file: whatever is in it, the loader refuses with file and line, never crashes."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest
import yaml

from ivr import config
from ivr.config import yamlfile
from ivr.core.errors import ConfigError
from tests.builders import GOOD_RULES, assert_one_problem, at, config_problems, line_of, write_line

SCHEDULE_FILE = "schedules/test.yaml"
FLOW_FILE = "flows/test.yaml"
LONG_DIGITS = "1" * 100_000


def append(path: Path, text: str) -> None:
    """Add `text` at the end of the file."""
    path.write_text(path.read_text() + text)


def only_problem(folder: Path) -> str:
    """The one problem load() refuses `folder` with, as it prints."""
    (problem,) = config_problems(folder)
    return str(problem)


# -- what the parser must never see ---------------------------------------------------------------


def test_a_file_over_one_mebibyte_is_refused(tmp_path: Path) -> None:
    """A schedule one byte over 1 MiB is refused with its size, before it is parsed."""
    folder = write_line(tmp_path, GOOD_RULES)
    path = folder / SCHEDULE_FILE
    append(path, "#" * (1024 * 1024 - len(path.read_bytes()) - 1) + "\n#")
    assert path.stat().st_size == 1024 * 1024 + 1
    assert only_problem(folder) == (
        "schedules/test.yaml: the file is 1,048,577 bytes, over the limit of 1,048,576 (1 MiB); remove what is not needed"
    )


def test_a_file_of_exactly_one_mebibyte_loads(tmp_path: Path) -> None:
    """The limit is 1 MiB itself: a valid schedule padded with a comment to exactly 1,048,576 bytes loads."""
    folder = write_line(tmp_path, GOOD_RULES)
    path = folder / SCHEDULE_FILE
    append(path, "#" * (1024 * 1024 - len(path.read_bytes()) - 1) + "\n")
    assert path.stat().st_size == 1024 * 1024
    assert list(config.load(folder, now=at("2027-01-01T00:00")).lines) == ["test"]


def test_ten_thousand_nested_brackets_are_refused_at_their_line(tmp_path: Path) -> None:
    """10,000 nested `[` (a RecursionError before) is one problem at its line, found before parsing."""
    folder = write_line(tmp_path, GOOD_RULES)
    append(folder / SCHEDULE_FILE, "deep: " + "[" * 10_000 + "]" * 10_000 + "\n")
    line = line_of(folder / SCHEDULE_FILE, "deep:")
    assert (
        only_problem(folder)
        == f"schedules/test.yaml:{line}: lists and mappings nested more than 32 deep; flatten this part of the file"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a:\n" + "".join(f"{'  ' * n}- k{n}:\n" for n in range(1, 40)), 17),
        ("a: " + "[" * 32 + "]" * 32 + "\n", 1),
        ("a:\n  b:\n    - - - " + "[" * 29 + "]" * 29 + "\n", 3),
    ],
    ids=["indented_lists_and_mappings", "brackets", "compact_lists_then_brackets"],
)
def test_nesting_deeper_than_32_is_refused_at_the_first_line_too_deep(text: str, line: int) -> None:
    """Collections nested 33 deep are refused at the line of the 33rd, however they are written."""
    with pytest.raises(yamlfile.YamlError) as caught:
        yamlfile.load(text)
    assert (caught.value.line, str(caught.value)) == (
        line,
        "lists and mappings nested more than 32 deep; flatten this part of the file",
    )


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 31 + "]" * 31 + "\n",
        "a:\n" + "".join(f"{'  ' * n}- k{n}:\n" for n in range(1, 16)) + "  " * 16 + "- x\n",
        "label: 'a [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ in quotes'\n",
        "label: brackets [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ in plain text\n",
        "a: 1  # a comment [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
    ],
    ids=[
        "brackets_32_deep",
        "lists_and_mappings_32_deep",
        "brackets_in_quotes",
        "brackets_in_plain_text",
        "brackets_in_a_comment",
    ],
)
def test_nesting_up_to_32_and_brackets_in_text_are_accepted(text: str) -> None:
    """32 levels parse, and brackets inside quotes, plain text or comments are not nesting."""
    assert isinstance(yamlfile.load(text), yamlfile.Mapping)


def test_a_nul_byte_is_refused_at_its_line_and_column(tmp_path: Path) -> None:
    """A NUL byte (an escaped ReaderError before) is one problem naming its line and column."""
    folder = write_line(tmp_path, GOOD_RULES)
    path = folder / SCHEDULE_FILE
    path.write_text(path.read_text().replace("name: worried about a child", "name: worried\x00 about a child"))
    line = line_of(path, "name: worried")
    assert (
        only_problem(folder)
        == f"schedules/test.yaml:{line}: control character U+0000 (NUL) at column 18 is not allowed; delete it"
    )


def test_a_file_that_is_not_utf8_names_the_line_and_byte(tmp_path: Path) -> None:
    """A Latin-1 'é' is refused naming the line, the byte and where in the line it is."""
    folder = write_line(tmp_path, GOOD_RULES)
    path = folder / SCHEDULE_FILE
    path.write_bytes(path.read_bytes().replace(b"name: the office", b"name: the caf\xe9 office"))
    line = 4  # destinations: is line 3, the office line 4
    assert only_problem(folder) == (
        f"schedules/test.yaml:{line}: not UTF-8 text: byte 0xe9 (byte 25 of the line) cannot be read; save the file as UTF-8"
    )


# -- links -----------------------------------------------------------------------------------


def test_a_link_to_a_file_outside_the_folder_is_refused(tmp_path: Path) -> None:
    """A schedule that is a symbolic link to a file outside the configuration folder is refused, unread."""
    folder = write_line(tmp_path / "config", GOOD_RULES)
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text((folder / SCHEDULE_FILE).read_text())
    (folder / SCHEDULE_FILE).unlink()
    (folder / SCHEDULE_FILE).symlink_to(outside)
    assert only_problem(folder) == (
        f"schedules/test.yaml: links to {outside.resolve()}, outside the configuration folder; put the file itself in the folder"
    )


def test_a_link_within_the_folder_is_followed(tmp_path: Path) -> None:
    """A link to a file inside the configuration folder is read like the file itself."""
    folder = write_line(tmp_path, GOOD_RULES)
    kept = folder / "schedules" / "shared.txt"
    (folder / SCHEDULE_FILE).rename(kept)
    (folder / SCHEDULE_FILE).symlink_to(kept)
    assert list(config.load(folder, now=at("2027-01-01T00:00")).lines) == ["test"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.symlink_to(p.with_name("missing.yaml")), "a link to a missing file; replace it with the YAML file"),
        (lambda p: os.mkfifo(p), "not a regular file; replace it with the YAML file"),
    ],
    ids=["dangling_link", "named_pipe"],
)
def test_something_that_is_not_a_file_is_refused(tmp_path: Path, make: object, message: str) -> None:
    """A dangling link or a named pipe in place of a schedule is refused without blocking or crashing."""
    folder = write_line(tmp_path, GOOD_RULES)
    (folder / SCHEDULE_FILE).unlink()
    make(folder / SCHEDULE_FILE)  # type: ignore[operator]
    assert only_problem(folder) == f"schedules/test.yaml: {message}"


# -- values no field can hold ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (
            'time: "09:00-17:00"',
            f"time: {LONG_DIGITS}",
            "services.child-at-risk.rules[0].time",
            f"'{'1' * 39}... (100,002 characters) is not a time range like 08:45-17:00",
        ),
        (
            "timezone: Europe/London",
            "timezone: Europe/London\nbank_holidays: {country: XX}",
            "bank_holidays.country",
            "'XX' is not a country the holidays package knows (GB is the UK)",
        ),
        (
            "timezone: Europe/London",
            "timezone: Europe/London\nbank_holidays: {country: GB, subdivision: XX}",
            "bank_holidays.subdivision",
            "'XX' is not a subdivision of GB (known: ENG, NIR, SCT, WLS)",
        ),
        (
            "number: 0300 456 0108}",
            f"number: {LONG_DIGITS}}}",
            "destinations.office.number",
            f"'{'1' * 39}... (100,002 characters) is too long to be a phone number",
        ),
    ],
    ids=["hundred_thousand_digit_time", "unknown_country", "unknown_subdivision", "hundred_thousand_digit_number"],
)
def test_a_value_that_used_to_escape_is_one_problem(tmp_path: Path, old: str, new: str, field: str, message: str) -> None:
    """Values that raised (int too long, unknown holiday country) are one short problem at their line."""
    folder = write_line(tmp_path, GOOD_RULES)
    path = folder / SCHEDULE_FILE
    path.write_text(path.read_text().replace(old, new, 1))
    line = line_of(path, new.splitlines()[-1][:30])
    assert_one_problem(config_problems(folder), SCHEDULE_FILE, line, field, message)


def test_a_hundred_thousand_digit_diversion_time_is_one_problem(tmp_path: Path) -> None:
    """An override `from` of 100,000 digits is not read as a date (Python would read 1111-11-11): one problem."""
    folder = write_line(
        tmp_path,
        GOOD_RULES,
        extra=f"overrides:\n  - {{services: [child-at-risk], to: night, from: {LONG_DIGITS}, until: further notice, reason: x}}\n",
    )
    line = line_of(folder / SCHEDULE_FILE, "- {services:")
    assert_one_problem(
        config_problems(folder),
        SCHEDULE_FILE,
        line,
        "overrides[0].from",
        f"'{'1' * 39}... (100,002 characters) is not a date and time (2026-12-24T13:00)",
    )


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (
            'time: "09:00-17:00"}',
            'time: "09:00-17:00", on: 5}',
            "services.child-at-risk.rules[0].on",
            "expected a kind of day or a list of them (ordinary, bank-holiday, closure, or any)",
        ),
    ],
    ids=["kind_of_day_a_number"],
)
def test_a_value_of_the_wrong_type_is_one_problem(tmp_path: Path, old: str, new: str, field: str, message: str) -> None:
    """A number where a list of kinds of day belongs (a TypeError before) is one problem at its line."""
    folder = write_line(tmp_path, GOOD_RULES)
    path = folder / SCHEDULE_FILE
    path.write_text(path.read_text().replace(old, new, 1))
    assert_one_problem(config_problems(folder), SCHEDULE_FILE, line_of(path, "on: 5"), field, message)


def test_a_schedule_file_name_must_be_a_line_key(tmp_path: Path) -> None:
    """A line key travels in URLs, so 'Test Line.yaml' is refused with the name to change."""
    write_line(tmp_path, GOOD_RULES, line="test")
    for part in ("schedules", "flows"):
        (tmp_path / part / "test.yaml").rename(tmp_path / part / "Test Line.yaml")
    assert (
        only_problem(tmp_path)
        == "schedules/Test Line.yaml: 'Test Line' is not a line key (lower-case words joined by '-'); rename the file"
    )


# -- a fault in the checker itself -------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("ivr.config.loader.read_schedule", SCHEDULE_FILE),
        ("ivr.config.loader.read_flow", FLOW_FILE),
        ("ivr.config.loader.Router", SCHEDULE_FILE),
    ],
    ids=["reading_the_schedule", "reading_the_flow", "compiling_the_router"],
)
def test_an_unexpected_exception_is_a_problem_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, target: str, path: str
) -> None:
    """A bug while checking a file refuses that file by name, logs the traceback, and does not crash the loader."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(target, broken)
    folder = write_line(tmp_path, GOOD_RULES)
    with caplog.at_level(logging.ERROR, logger="ivr.config.fields"):
        assert (
            only_problem(folder)
            == f"{path}: could not be checked (RuntimeError: boom); refused to be safe: report this with the log"
        )
    assert caplog.records[0].exc_info is not None and caplog.records[0].getMessage() == f"checking {path} failed"


# -- the C loader ------------------------------------------------------------------------------


def test_the_c_loader_is_used_where_pyyaml_has_it() -> None:
    """With libyaml built in, files are parsed by CSafeLoader, the pure loader kept as the fall-back."""
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML was built without libyaml")
    assert issubclass(yamlfile.LOADER, yaml.CSafeLoader)
    assert [issubclass(loader, yaml.CSafeLoader) for loader in yamlfile.LOADERS] == [True, False]


@pytest.mark.parametrize("loader", yamlfile.LOADERS, ids=[loader.__name__ for loader in yamlfile.LOADERS])
def test_a_syntax_error_keeps_its_line_with_either_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loader: type) -> None:
    """A list item inside a flow sequence is refused at line 3 whichever parser reads the file."""
    monkeypatch.setattr(yamlfile, "LOADER", loader)
    folder = write_line(tmp_path, GOOD_RULES)
    (folder / SCHEDULE_FILE).write_text("line: test\nservices: [\n  - a\n  b: c\n")
    (problem,) = config_problems(folder)
    assert (problem.path, problem.line) == (SCHEDULE_FILE, 3) and problem.message.startswith("not valid YAML: ")


@pytest.mark.parametrize("loader", yamlfile.LOADERS, ids=[loader.__name__ for loader in yamlfile.LOADERS])
def test_a_field_error_keeps_its_line_with_either_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loader: type) -> None:
    """A bad rule time is refused at the rule's own line whichever parser reads the file."""
    monkeypatch.setattr(yamlfile, "LOADER", loader)
    folder = write_line(tmp_path, '- {to: office, time: "09:00-25:00"}\n- {to: night, time: "00:00-24:00", on: any}')
    assert_one_problem(
        config_problems(folder),
        SCHEDULE_FILE,
        line_of(folder / SCHEDULE_FILE, "25:00"),
        "services.child-at-risk.rules[0].time",
        "'25:00' is not a time",
    )


@pytest.mark.parametrize("loader", yamlfile.LOADERS, ids=[loader.__name__ for loader in yamlfile.LOADERS])
def test_both_loaders_read_the_shipped_files_alike(loader: type) -> None:
    """Each shipped file gives the same values and the same key lines with either parser."""
    for path in sorted((config.PROJECT_DIR / "schedules").glob("*.yaml")) + sorted((config.PROJECT_DIR / "flows").glob("*.yaml")):
        text = path.read_text()
        ours, pure = yamlfile.load(text, loader), yamlfile.load(text, yamlfile.LOADERS[-1])
        assert ours == pure and ours.key_lines == pure.key_lines, path.name


# -- anything at all ---------------------------------------------------------------------------

# Each of a YAML value's types, and values that used to escape.
ODD_VALUES = ["-1", "1e400", "true", "~", "[1, [2]]", "{a: 1}", '""', "9" * 50, "!!binary aGk=", "&x [1]", "24:00"]


def test_any_value_in_any_field_is_refused_or_loads_never_a_checker_fault(tmp_path: Path) -> None:
    """Every value of the test schedule and flow, replaced by each odd value in turn: problems or a load, never a fault."""
    faults = []
    for name in (SCHEDULE_FILE, FLOW_FILE):
        text = write_line(tmp_path / "model", GOOD_RULES).joinpath(name).read_text()
        for spot in re.finditer(r"(\w+): ([^,}\n]+)", text):
            for value in ODD_VALUES:
                folder = write_line(tmp_path / "case", GOOD_RULES)
                (folder / name).write_text(text[: spot.start(2)] + value + text[spot.end(2) :])
                try:
                    config.load(folder, now=at("2027-01-01T00:00"))
                except ConfigError as exc:
                    faults.extend(f"{spot.group(1)}: {value} -> {p}" for p in exc.problems if "could not be checked" in p.message)
    assert faults == []
