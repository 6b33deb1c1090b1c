"""The `ivr` command as an administrator uses it: check, route, timeline and coverage."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from ivr import config
from ivr.cli import GROUPS, _parser, build_parser, main
from tests.builders import GOOD_RULES, LONDON, MASH, WILTS_OUT_OF_HOURS, line_of, write_line

Capture = pytest.CaptureFixture[str]
PROJECT = str(config.PROJECT_DIR)
GAP_RULES = '- {to: office, time: "00:00-12:00", on: any}\n- {to: night, time: "12:01-24:00", on: any}'


def ivr(capsys: Capture, *args: str) -> tuple[int, str, str]:
    """Run `ivr ARGS` in-process: exit status, stdout, stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def installed_ivr() -> str:
    """The console script installed in the project's virtualenv."""
    script = config.PROJECT_DIR / ".venv" / "bin" / "ivr"
    return str(script if script.exists() else Path(sys.executable).with_name("ivr"))


# -- check -------------------------------------------------------------------------------------


def test_check_passes_on_the_shipped_files(capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ivr check` with no --config checks the project's own files: ok, three lines, exit 0, nothing on stderr."""
    monkeypatch.delenv("IVR_CONFIG_DIR", raising=False)
    code, out, err = ivr(capsys, "check")
    assert code == 0 and err == ""
    assert out.startswith("ok: 3 lines (hampshire, isle-of-wight, wiltshire), configuration ")


def test_check_warns_about_an_override_until_further_notice(tmp_path: Path, capsys: Capture) -> None:
    """An open-ended diversion is valid, so exit 0, but stderr has one "warning:" line naming its file and line."""
    write_line(
        tmp_path,
        GOOD_RULES,
        extra="overrides:\n  - {services: [child-at-risk], to: night, from: 2027-03-04T09:00, until: further notice, reason: office flood}\n",
    )
    code, out, err = ivr(capsys, "check", "--config", str(tmp_path))
    line = line_of(tmp_path / "schedules" / "test.yaml", "- {services:")
    assert code == 0 and out.startswith("ok: 1 lines (test)")
    assert err.splitlines() == [
        f"warning: schedules/test.yaml:{line}: override to 'night' is in force until further notice (office flood); remove it when it is no longer needed"
    ]


def test_check_lists_every_problem_one_per_line_and_exits_1(tmp_path: Path, capsys: Capture) -> None:
    """An invalid configuration gives exit 1 and exactly one stderr line per problem, each file:line: field: message."""
    write_line(tmp_path, '- {to: office, time: "00:00-25:00", on: any}\n- {to: nobody, time: "00:00-24:00", on: any}')
    code, out, err = ivr(capsys, "check", "--config", str(tmp_path))
    path = tmp_path / "schedules" / "test.yaml"
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"schedules/test.yaml:{line_of(path, '25:00')}: services.child-at-risk.rules[0].time: '25:00' is not a time (HH:MM, 00:00 to 24:00)",
        f"schedules/test.yaml:{line_of(path, 'nobody')}: services.child-at-risk.rules[1].to: unknown destination 'nobody'",
    ]


def test_check_refuses_a_daily_one_minute_gap_in_one_line(tmp_path: Path, capsys: Capture) -> None:
    """A daily one-minute gap in child-at-risk fails `ivr check` with one line for the 400 days, not one a day."""
    if datetime.now(LONDON).strftime("%H:%M") == "12:00":
        pytest.skip("the proof starts inside the gap, which splits off the first day")
    write_line(tmp_path, GAP_RULES)
    code, _, err = ivr(capsys, "check", "--config", str(tmp_path))
    (line,) = err.splitlines()
    assert code == 1
    assert re.fullmatch(
        r"schedules/test\.yaml:7: services\.child-at-risk: always open, but no rule covers every day 12:00-12:01, "
        r"\w{3} \d{1,2} \w{3} \d{4} to \w{3} \d{1,2} \w{3} \d{4}: 400 days without a destination; "
        r"add a rule that covers these times",
        line,
    ), line


def test_check_reads_ivr_config_dir(tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --config, `ivr check` checks the folder IVR_CONFIG_DIR names."""
    monkeypatch.setenv("IVR_CONFIG_DIR", str(write_line(tmp_path, GOOD_RULES, line="elsewhere")))
    code, out, _ = ivr(capsys, "check")
    assert code == 0 and out.startswith("ok: 1 lines (elsewhere)")


# -- route -------------------------------------------------------------------------------------


def test_route_json_on_christmas_day_names_out_of_hours(capsys: Capture) -> None:
    """`ivr route wiltshire child-at-risk --at 2026-12-25T10:00 --json` names out-of-hours, its number and until."""
    code, out, err = ivr(capsys, "route", "wiltshire", "child-at-risk", "--at", "2026-12-25T10:00", "--json", "--config", PROJECT)
    data = json.loads(out)
    assert code == 0 and err == ""
    assert {k: data[k] for k in ("line", "service", "at", "destination", "name", "number", "until")} == {
        "line": "wiltshire",
        "service": "child-at-risk",
        "at": "2026-12-25T10:00:00+00:00",
        "destination": "out-of-hours",
        "name": "the Out of Hours Service",
        "number": WILTS_OUT_OF_HOURS,
        "until": "2026-12-26T00:00:00+00:00",
    }
    assert data["rule"].startswith("rule 7: Out of Hours, every day 09:00-24:00 on bank-holiday, closure -> out-of-hours")


def test_route_through_the_installed_command() -> None:
    """The installed `ivr` script, run as a process, gives the same Christmas Day answer."""
    done = subprocess.run(
        [installed_ivr(), "route", "wiltshire", "child-at-risk", "--at", "2026-12-25T10:00", "--json", "--config", PROJECT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["destination"], data["number"], data["until"]) == (
        "out-of-hours",
        WILTS_OUT_OF_HOURS,
        "2026-12-26T00:00:00+00:00",
    )


def test_route_says_who_answers_in_words(capsys: Capture) -> None:
    """Without --json, route prints the team, its number, until when, and the rule."""
    code, out, _ = ivr(capsys, "route", "wiltshire", "child-at-risk", "--at", "2027-03-05T15:59", "--config", PROJECT)
    first, second = out.splitlines()
    assert code == 0
    assert first == f"child-at-risk: mash (the Multi-Agency Safeguarding Hub) {MASH} until Fri 2027-03-05 16:00 GMT"
    assert second.startswith("  by rule 2: MASH, Fri 08:45-16:00 -> mash (schedules/wiltshire.yaml:")


def test_route_a_closed_service_says_when_it_opens(capsys: Capture) -> None:
    """A service with no team at that time is reported closed, with its next opening."""
    code, out, _ = ivr(capsys, "route", "wiltshire", "send", "--at", "2027-03-05T17:00", "--config", PROJECT)
    assert code == 0 and out == "send: closed (no rule covers this time); opens Mon 2027-03-08 08:45 GMT\n"


@pytest.mark.parametrize(
    ("when", "destination"),
    [("2027-07-01T07:50+00:00", "crt-public"), ("2027-07-01T08:20", "out-of-hours"), ("2027-07-01", "out-of-hours")],
    ids=["utc_offset_is_0850_london", "wall_clock_0820", "date_is_midnight"],
)
def test_route_reads_times_with_and_without_offset(capsys: Capture, when: str, destination: str) -> None:
    """A time with an offset is that instant; without one it is London wall-clock time; a date is its midnight."""
    code, out, _ = ivr(capsys, "route", "hampshire", "child-at-risk", "--at", when, "--json", "--config", PROJECT)
    assert code == 0 and json.loads(out)["destination"] == destination


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["route", "nowhere", "child-at-risk", "--at", "2026-12-25T10:00"], "ivr route: unknown line 'nowhere'"),
        (
            ["route", "wiltshire", "child-at-risk", "--at", "Christmas"],
            "ivr route: 'Christmas' is not an ISO 8601 date or time (2026-12-25T10:00)",
        ),
        (
            ["route", "wiltshire", "child-at-risk", "--at", "2026-12-25T25:00"],
            "ivr route: '2026-12-25T25:00' is not an ISO 8601 date or time",
        ),
        (
            ["route", "wiltshire", "no-such-service", "--at", "2026-12-25T10:00"],
            "ivr route: line 'wiltshire' has no service 'no-such-service'",
        ),
        (["timeline", "wiltshire", "--from", "soon"], "ivr timeline: 'soon' is not an ISO 8601 date or time"),
        (["coverage", "nowhere"], "ivr coverage: unknown line 'nowhere'"),
    ],
    ids=["unknown_line", "unparseable_time", "hour_25", "unknown_service", "timeline_bad_date", "coverage_unknown_line"],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(capsys: Capture, args: list[str], message: str) -> None:
    """Bad input gives exit 2 and exactly one line on stderr, naming what was wrong, with no traceback."""
    code, out, err = ivr(capsys, *args, "--config", PROJECT)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith(message) and "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [
        ["route", "nowhere", "child-at-risk", "--at", "2026-12-25T10:00"],
        ["route", "wiltshire", "child-at-risk", "--at", "Christmas"],
    ],
    ids=["unknown_line", "unparseable_time"],
)
def test_bad_input_to_the_installed_command_exits_2_without_traceback(args: list[str]) -> None:
    """As a process too: exit status 2 and a single stderr line."""
    done = subprocess.run([installed_ivr(), *args, "--config", PROJECT], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("ivr route: ")


@pytest.mark.parametrize(
    "when",
    ["2026-12-24T24:00", "2026-12-24T24:00:00", "2026-12-24T24:00+00:00", "2026-12-25T00:00"],
    ids=["end_of_christmas_eve", "with_seconds", "with_offset", "christmas_day_midnight"],
)
def test_route_at_24_00_is_midnight_ending_the_day(capsys: Capture, when: str) -> None:
    """ISO 8601's 24:00 ends the day: Christmas Eve 24:00 is Christmas Day 00:00, when Standby answers until 09:00."""
    code, out, err = ivr(capsys, "route", "wiltshire", "child-at-risk", "--at", when, "--json", "--config", PROJECT)
    data = json.loads(out)
    assert code == 0 and err == ""
    assert (data["at"], data["destination"], data["until"]) == (
        "2026-12-25T00:00:00+00:00",
        "standby",
        "2026-12-25T09:00:00+00:00",
    )


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (
            ["route", "wiltshire", "child-at-risk", "--at", "0001-01-01T00:00"],
            0,
            "child-at-risk: standby (the Social Work Standby",
        ),
        (["route", "wiltshire", "child-at-risk", "--at", "9998-12-31T10:00"], 0, "child-at-risk: mash (the Multi-Agency"),
        (
            ["route", "wiltshire", "child-at-risk", "--at", "9999-06-01T10:00"],
            2,
            "ivr route: '9999-06-01T10:00' is too close to the end of the calendar (9999-12-31) to work out; choose an earlier date",
        ),
        (
            ["route", "wiltshire", "child-at-risk", "--at", "9999-12-31"],
            2,
            "ivr route: '9999-12-31' is too close to the end of the calendar (9999-12-31) to work out; choose an earlier date",
        ),
        (
            ["route", "wiltshire", "child-at-risk", "--at", "9999-12-31T24:00"],
            2,
            "ivr route: '9999-12-31T24:00' is past the end of the calendar (9999-12-31)",
        ),
        (
            ["route", "wiltshire", "child-at-risk", "--at", "24:00"],
            2,
            "ivr route: '24:00' is not an ISO 8601 date or time (2026-12-25T10:00)",
        ),
        (
            ["timeline", "wiltshire", "--from", "9999-12-25", "--days", "3"],
            2,
            "ivr timeline: '9999-12-25' is too close to the end of the calendar (9999-12-31) to work out; choose an earlier date",
        ),
        (
            ["timeline", "wiltshire", "--from", "9995-01-01", "--days", "3660"],
            2,
            "ivr timeline: '9995-01-01' is too close to the end of the calendar (9999-12-31) to work out; choose an earlier date",
        ),
        (
            ["coverage", "wiltshire", "--from", "9999-12-25", "--days", "3"],
            2,
            "ivr coverage: '9999-12-25' is too close to the end of the calendar (9999-12-31) to work out; choose an earlier date",
        ),
    ],
    ids=[
        "year_1",
        "last_day_of_9998",
        "mid_9999",
        "last_day_of_9999",
        "end_of_9999",
        "time_without_date",
        "timeline_at_the_end",
        "timeline_running_past_the_end",
        "coverage_at_the_end",
    ],
)
def test_far_dates_give_an_answer_or_one_line(capsys: Capture, args: list[str], code: int, expected: str) -> None:
    """Any date up to 9999-12-31 gives an answer (exit 0) or a single line on stderr (exit 2), never a traceback."""
    got, out, err = ivr(capsys, *args, "--config", PROJECT)
    assert got == code
    if code == 0:
        assert out.startswith(expected) and err == ""
    else:
        assert out == "" and err == expected + "\n"


# -- previewing a schedule that the gap proof refuses ----------------------------------------------

GAP_WARNING = re.compile(
    r"warning: schedules/test\.yaml:7: services\.child-at-risk: always open, but no rule covers every day 12:00-12:01, "
    r".*: \d+ days without a destination; add a rule that covers these times \(ivr check refuses this\)"
)


def test_route_answers_on_a_schedule_with_a_gap_and_warns(tmp_path: Path, capsys: Capture) -> None:
    """`ivr route` previews a schedule with a gap: the gap as a warning on stderr, the answer on stdout, exit 0."""
    write_line(tmp_path, GAP_RULES)
    code, out, err = ivr(capsys, "route", "test", "child-at-risk", "--at", "2027-03-03T12:00", "--config", str(tmp_path))
    assert code == 0
    assert out == "child-at-risk: closed (no rule covers this time); opens Wed 2027-03-03 12:01 GMT\n"
    assert err and all(GAP_WARNING.fullmatch(line) for line in err.splitlines()), err


def test_timeline_answers_on_a_schedule_with_a_gap_and_warns(tmp_path: Path, capsys: Capture) -> None:
    """`ivr timeline` previews a schedule with a gap: the gap as a warning, the day's intervals (gap included), exit 0."""
    write_line(tmp_path, GAP_RULES)
    code, out, err = ivr(
        capsys, "timeline", "test", "child-at-risk", "--from", "2027-03-03", "--days", "1", "--config", str(tmp_path)
    )
    assert code == 0
    assert out.splitlines() == [
        "test child-at-risk:",
        "  Wed 2027-03-03 00:00 GMT -> Wed 2027-03-03 12:00 GMT  office",
        "  Wed 2027-03-03 12:00 GMT -> Wed 2027-03-03 12:01 GMT  CLOSED",
        "  Wed 2027-03-03 12:01 GMT -> Thu 2027-03-04 00:00 GMT  night",
    ]
    assert err and all(GAP_WARNING.fullmatch(line) for line in err.splitlines()), err


@pytest.mark.parametrize("command", ["route", "timeline"])
def test_preview_still_refuses_a_file_that_is_not_yaml(tmp_path: Path, capsys: Capture, command: str) -> None:
    """Only the gap proof is relaxed for a preview: a syntax error still refuses, exit 1, nothing on stdout."""
    write_line(tmp_path, GAP_RULES)
    (tmp_path / "schedules" / "test.yaml").write_text("line: test\nservices: [\n  - a\n  b: c\n")
    when = ["child-at-risk", "--at", "2027-03-03T12:00"] if command == "route" else ["--from", "2027-03-03"]
    code, out, err = ivr(capsys, command, "test", *when, "--config", str(tmp_path))
    assert code == 1 and out == ""
    assert err.startswith("schedules/test.yaml:3: not valid YAML: ") and len(err.splitlines()) == 1


# -- timeline and coverage ---------------------------------------------------------------------


def test_timeline_json_of_an_ordinary_wednesday(capsys: Capture) -> None:
    """Wiltshire on Wednesday 3 March 2027: Standby, then MASH from 08:45, then Out of Hours from 17:00, contiguous."""
    code, out, _ = ivr(
        capsys, "timeline", "wiltshire", "child-at-risk", "--from", "2027-03-03", "--days", "1", "--json", "--config", PROJECT
    )
    data = json.loads(out)
    assert code == 0 and (data["line"], data["service"]) == ("wiltshire", "child-at-risk")
    assert [(iv["from"], iv["until"], iv["destination"], iv["number"]) for iv in data["intervals"]] == [
        ("2027-03-03T00:00:00+00:00", "2027-03-03T08:45:00+00:00", "standby", WILTS_OUT_OF_HOURS),
        ("2027-03-03T08:45:00+00:00", "2027-03-03T17:00:00+00:00", "mash", MASH),
        ("2027-03-03T17:00:00+00:00", "2027-03-04T00:00:00+00:00", "out-of-hours", WILTS_OUT_OF_HOURS),
    ]
    assert all(iv["name"] and iv["rule"].startswith("rule ") for iv in data["intervals"])


def test_timeline_json_across_the_spring_clock_change(capsys: Capture) -> None:
    """A timeline over the clock change is contiguous, each `from` the previous `until`, offsets changing to +01:00."""
    code, out, _ = ivr(
        capsys, "timeline", "hampshire", "child-at-risk", "--from", "2027-03-26", "--days", "6", "--json", "--config", PROJECT
    )
    intervals = json.loads(out)["intervals"]
    assert code == 0
    assert all(a["until"] == b["from"] for a, b in itertools.pairwise(intervals))
    assert [(iv["from"], iv["destination"]) for iv in intervals] == [
        ("2027-03-26T00:00:00+00:00", "out-of-hours"),  # Good Friday, the weekend and Easter Monday
        ("2027-03-30T08:30:00+01:00", "crt-public"),
        ("2027-03-30T17:00:00+01:00", "out-of-hours"),
        ("2027-03-31T08:30:00+01:00", "crt-public"),
        ("2027-03-31T17:00:00+01:00", "out-of-hours"),
    ]
    assert intervals[-1]["until"] == "2027-04-01T00:00:00+01:00"


def test_coverage_of_a_shipped_line_is_ok(capsys: Capture) -> None:
    """`ivr coverage wiltshire` proves both always-open services covered and exits 0."""
    code, out, _ = ivr(capsys, "coverage", "wiltshire", "--from", "2027-01-01", "--days", "365", "--config", PROJECT)
    assert code == 0
    assert out.splitlines() == [
        "ok wiltshire child-at-risk: covered from Fri 2027-01-01 00:00 GMT to Sat 2028-01-01 00:00 GMT",
        "ok wiltshire allegation-about-staff: covered from Fri 2027-01-01 00:00 GMT to Sat 2028-01-01 00:00 GMT",
    ]


def test_coverage_lists_the_gaps_as_a_range_and_exits_1(tmp_path: Path, capsys: Capture) -> None:
    """On a configuration with a gap every day, `ivr coverage` gives one line for the run of days and exits non-zero."""
    write_line(tmp_path, GAP_RULES)
    code, out, _ = ivr(capsys, "coverage", "test", "--from", "2027-03-03", "--days", "2", "--config", str(tmp_path))
    assert code == 1
    assert out.splitlines() == [
        "GAP test child-at-risk: every day 12:00-12:01, Wed 3 Mar 2027 to Thu 4 Mar 2027: 2 days without a destination"
    ]


def test_coverage_json_keeps_the_raw_gaps_and_adds_the_ranges(tmp_path: Path, capsys: Capture) -> None:
    """`ivr coverage --json` lists every gap as before, and the ranges they merge into."""
    write_line(tmp_path, GAP_RULES)
    code, out, _ = ivr(capsys, "coverage", "test", "--from", "2027-03-03", "--days", "2", "--json", "--config", str(tmp_path))
    (service,) = json.loads(out)["services"]
    assert code == 1
    assert [(g["from"], g["until"], g["destination"]) for g in service["gaps"]] == [
        ("2027-03-03T12:00:00+00:00", "2027-03-03T12:01:00+00:00", None),
        ("2027-03-04T12:00:00+00:00", "2027-03-04T12:01:00+00:00", None),
    ]
    assert service["ranges"] == [
        {
            "from": "2027-03-03T12:00:00+00:00",
            "until": "2027-03-04T12:01:00+00:00",
            "daily": "12:00-12:01",
            "days": 2,
            "text": "every day 12:00-12:01, Wed 3 Mar 2027 to Thu 4 Mar 2027: 2 days without a destination",
        }
    ]


# -- what a command loads -------------------------------------------------------------------------

FRAMEWORKS = ("sqlalchemy", "apscheduler", "twilio", "flask", "werkzeug", "psycopg")


def loaded_by(*args: str) -> tuple[list[str], str]:
    """The top-level packages a fresh interpreter has loaded once `ivr ARGS` ran, and what it printed."""
    code = (
        "import json, sys\nfrom ivr.cli import main\n"
        f"status = main({list(args)!r})\n"
        "print(json.dumps([status, sorted({m.split('.')[0] for m in sys.modules})]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT)
    *printed, last = done.stdout.splitlines()
    status, packages = json.loads(last)
    assert status == 0, done.stderr
    return packages, "\n".join(printed)


@pytest.mark.parametrize(
    "args",
    [["check"], ["route", "wiltshire", "child-at-risk", "--at", "2027-03-03T11:00"], ["shortcuts", "wiltshire"]],
    ids=["check", "route", "shortcuts"],
)
def test_commands_on_the_files_load_no_framework(args: list[str]) -> None:
    """`ivr check`, `route` and `shortcuts` read the files only: no web app, database, clock or Twilio library is imported."""
    packages, printed = loaded_by(*args)
    assert printed
    assert [name for name in FRAMEWORKS if name in packages] == []


def test_the_fallback_twiml_loads_twilios_builder_only() -> None:
    """`ivr fallback-twiml` needs twilio's TwiML builder, and neither the web app nor the database."""
    packages, printed = loaded_by("fallback-twiml", "wiltshire")
    assert printed.startswith("<?xml")
    assert [name for name in FRAMEWORKS if name in packages] == ["twilio"]


def test_each_command_is_listed_under_the_group_that_adds_it() -> None:
    """GROUPS (which module to import for a command) names exactly the commands each group's module registers."""
    every = build_parser()._subparsers._group_actions[0].choices
    assert sorted(every) == sorted(command for commands in GROUPS.values() for command in commands)
    for group, commands in GROUPS.items():
        only = _parser(commands[0])._subparsers._group_actions[0].choices
        assert sorted(only) == sorted(commands), group
