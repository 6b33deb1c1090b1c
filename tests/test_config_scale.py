"""A configuration of 153 lines loads quickly, and a call finds its line by the number it called."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ivr import config
from tests.builders import assert_one_problem, at, config_problems, synthetic_lines, twilio_number

LINES = 153


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """153 lines of the shipped shape, each with its own Twilio number."""
    folder = tmp_path_factory.mktemp("many")
    synthetic_lines(folder, LINES)
    return folder


def test_153_lines_load_well_under_three_seconds(many: Path) -> None:
    """Loading and proving 153 lines (400 days each) takes under 3 s of wall time, best of two runs."""
    timings = []
    for _ in range(2):
        begin = time.perf_counter()
        cfg = config.load(many, now=at("2026-11-01T00:00"))
        timings.append(time.perf_counter() - begin)
    assert len(cfg.lines) == LINES
    assert min(timings) < 3.0, f"{min(timings):.2f} s"


@pytest.fixture(scope="module")
def many_loaded(many: Path) -> config.Config:
    return config.load(many, now=at("2026-11-01T00:00"))


@pytest.mark.parametrize(
    ("n", "line"),
    [(0, "hampshire-000"), (1, "isle-of-wight-001"), (2, "wiltshire-002"), (152, "wiltshire-152")],
    ids=["first", "second", "third", "last"],
)
def test_a_line_is_found_by_its_twilio_number(many_loaded: config.Config, n: int, line: str) -> None:
    """Each synthetic line is found by the number its flow lists, from a table made once at load."""
    cfg = many_loaded
    found = cfg.line_for_number(twilio_number(n))
    assert found is not None and found.key == line
    assert len(cfg.by_number) == LINES and cfg.by_number[twilio_number(n)] == line


def test_a_number_no_line_lists_finds_none() -> None:
    """A called number that no flow lists finds no line (the shipped flows list none yet)."""
    assert config.load(config.PROJECT_DIR, now=at("2026-11-01T00:00")).line_for_number("+442079460000") is None


def test_a_number_may_ring_only_one_line(tmp_path: Path) -> None:
    """A second line listing the first line's Twilio number is refused at that number, naming where it is taken."""
    synthetic_lines(tmp_path, 2)
    path = tmp_path / "flows" / "isle-of-wight-001.yaml"
    path.write_text(path.read_text().replace(twilio_number(1), twilio_number(0)))
    assert_one_problem(
        config_problems(tmp_path, now=at("2026-11-01T00:00")),
        "flows/isle-of-wight-001.yaml",
        7,  # `numbers:` is line 7 of the shipped flows
        "numbers[0]",
        "+442079460000 already rings another line (flows/hampshire-000.yaml:7); a number can ring one line only",
    )
