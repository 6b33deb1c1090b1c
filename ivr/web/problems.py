"""The working files' problems as the page lists them: gaps grouped by their daily times.

`ivr check` reports an always-open service's gaps as runs of consecutive days with the same
times (ivr/config/coverage.py). Weekdays and weekends differ, so a missing night rule still
gives one run a week for a year: here the runs with the same times, file, line and field make
one row, "00:00-08:45 on 287 days, Thu 4 Mar 2027 to Thu 2 Mar 2028 (58 runs)".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ivr.core.errors import Problem

# GapRange.describe()'s wording, with what the loader puts before and after it.
_DAILY_GAP = re.compile(
    r"^(?P<head>.*?)every day (?P<times>\d\d:\d\d-\d\d:\d\d), (?P<first>\w{3} \d{1,2} \w{3} \d{4}) to "
    r"(?P<last>\w{3} \d{1,2} \w{3} \d{4}): (?P<days>\d+) days without a destination(?P<tail>.*)$"
)


@dataclass(frozen=True, slots=True)
class ProblemRow:
    """One row of the refused files' table."""

    where: str  # file:line
    field: str
    message: str


def grouped(problems: Iterable[Problem]) -> list[ProblemRow]:
    """The problems in order, daily gaps at the same times in the same place made one row."""
    rows: list[ProblemRow | list[re.Match[str]]] = []
    groups: dict[tuple[str, int, str, str, str, str], list[re.Match[str]]] = {}
    wheres: dict[int, tuple[str, str]] = {}
    for problem in problems:
        where = f"{problem.path}:{problem.line}" if problem.line else problem.path
        match = _DAILY_GAP.match(problem.message)
        if match is None:
            rows.append(ProblemRow(where, problem.field, problem.message))
            continue
        key = (problem.path, problem.line, problem.field, match["head"], match["times"], match["tail"])
        if key not in groups:
            groups[key] = []
            rows.append(groups[key])
            wheres[id(groups[key])] = (where, problem.field)
        groups[key].append(match)
    return [row if isinstance(row, ProblemRow) else _merged(*wheres[id(row)], row) for row in rows]


def _merged(where: str, field: str, runs: list[re.Match[str]]) -> ProblemRow:
    first, last = runs[0], runs[-1]
    if len(runs) == 1:
        return ProblemRow(where, field, first.string)
    days = sum(int(run["days"]) for run in runs)
    span = f"{first['times']} on {days} days, {first['first']} to {last['last']} ({len(runs)} runs)"
    return ProblemRow(where, field, f"{first['head']}{span}{first['tail']}")
