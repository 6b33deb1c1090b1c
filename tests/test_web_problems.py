"""The refused files' problems as the page lists them."""

from __future__ import annotations

from ivr.core.errors import Problem
from ivr.web.problems import ProblemRow, grouped

WHERE = ("schedules/x.yaml", 12, "services.child-at-risk")


def gap(times: str, first: str, last: str, days: int) -> Problem:
    return Problem(
        *WHERE,
        f"always open, but no rule covers every day {times}, {first} to {last}: {days} days without a destination; add a rule",
    )


def test_runs_at_the_same_times_make_one_row() -> None:
    """Weekday and weekend runs alternate; each time of day becomes one row, in order of first appearance."""
    problems = [
        gap("00:00-08:45", "Thu 4 Mar 2027", "Fri 5 Mar 2027", 2),
        gap("00:00-09:00", "Sat 6 Mar 2027", "Sun 7 Mar 2027", 2),
        gap("00:00-08:45", "Mon 8 Mar 2027", "Fri 12 Mar 2027", 5),
        Problem("flows/x.yaml", 3, "menus.main", "no option 1"),
    ]
    assert grouped(problems) == [
        ProblemRow(
            "schedules/x.yaml:12",
            "services.child-at-risk",
            "always open, but no rule covers 00:00-08:45 on 7 days, Thu 4 Mar 2027 to Fri 12 Mar 2027 (2 runs); add a rule",
        ),
        ProblemRow("schedules/x.yaml:12", "services.child-at-risk", problems[1].message),
        ProblemRow("flows/x.yaml:3", "menus.main", "no option 1"),
    ]


def test_a_problem_without_a_line_names_its_file() -> None:
    """A whole-file problem: the file alone."""
    assert grouped([Problem("schedules", 0, "", "no schedule files (*.yaml)")]) == [
        ProblemRow("schedules", "", "no schedule files (*.yaml)")
    ]
