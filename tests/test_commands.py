"""The `ivr` command as an administrator uses it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.cli import main
from tests.builders import write_line
from tests.conftest import validate_twiml

Capture = pytest.CaptureFixture[str]


def run(capsys: Capture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_passes_on_the_shipped_files(capsys: Capture) -> None:
    """`ivr check` says ok for the three lines and exits 0."""
    code, out, _ = run(capsys, "check")
    assert code == 0 and out.startswith("ok: 3 lines (hampshire, isle-of-wight, wiltshire)")


def test_check_lists_problems_one_per_line(tmp_path: Path, capsys: Capture) -> None:
    """An invalid folder gives one line per problem and exit 1."""
    write_line(tmp_path, '- {to: office, time: "00:00-25:00", on: any}\n- {to: nobody, time: "00:00-24:00", on: any}')
    code, out, err = run(capsys, "check", "--config", str(tmp_path))
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert lines[0].startswith("schedules/test.yaml:11: services.child-at-risk.rules[0].time:")
    assert lines[1].startswith("schedules/test.yaml:12: services.child-at-risk.rules[1].to: unknown destination 'nobody'")


def test_route_json_christmas_day(capsys: Capture) -> None:
    """Christmas Day 10:00 in Wiltshire goes to Out of Hours, with the documented JSON fields."""
    code, out, _ = run(capsys, "route", "wiltshire", "child-at-risk", "--at", "2026-12-25T10:00", "--json")
    data = json.loads(out)
    assert code == 0
    assert {k: data[k] for k in ("line", "service", "destination", "number")} == {
        "line": "wiltshire", "service": "child-at-risk", "destination": "out-of-hours", "number": "+443004560100"}
    assert data["at"] == "2026-12-25T10:00:00+00:00" and data["until"] == "2026-12-26T00:00:00+00:00"
    assert "bank-holiday" in data["rule"] and data["name"] == "the Out of Hours Service"


def test_route_through_the_installed_command() -> None:
    """The console script answers the same as the function, with no traceback."""
    ivr = Path(sys.executable).with_name("ivr")
    done = subprocess.run([str(ivr), "route", "wiltshire", "child-at-risk", "--at", "2026-12-25T10:00", "--json"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and json.loads(done.stdout)["destination"] == "out-of-hours"


def test_route_with_an_offset(capsys: Capture) -> None:
    """A time with an offset is taken as that instant: 07:50Z in summer is 08:50 in London."""
    code, out, _ = run(capsys, "route", "hampshire", "child-at-risk", "--at", "2027-07-01T07:50+00:00", "--json")
    assert code == 0 and json.loads(out)["destination"] == "crt-public"


@pytest.mark.parametrize("args", [
    ["route", "nowhere", "child-at-risk", "--at", "2026-12-25T10:00"],
    ["route", "wiltshire", "child-at-risk", "--at", "Christmas"],
    ["route", "wiltshire", "no-such-service", "--at", "2026-12-25T10:00"],
    ["timeline", "wiltshire", "--from", "soon", "--days", "2"],
    ["coverage", "nowhere"],
    ["simulate", "wiltshire", "--at", "2026-12-25T10:00", "--dial-status", "exploded"],
], ids=["unknown-line", "bad-time", "unknown-service", "bad-date", "coverage-unknown-line", "bad-dial-status"])
def test_bad_input_is_one_line_and_exit_2(capsys: Capture, args: list[str]) -> None:
    """Bad input gives exactly one line on stderr, exit status 2, and no traceback."""
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err


def test_timeline_json_is_contiguous(capsys: Capture) -> None:
    """`ivr timeline --json` gives ordered, contiguous intervals with the documented fields."""
    code, out, _ = run(capsys, "timeline", "wiltshire", "child-at-risk", "--from", "2027-03-05", "--days", "3", "--json")
    data = json.loads(out)
    assert code == 0 and data["line"] == "wiltshire" and data["service"] == "child-at-risk"
    intervals = data["intervals"]
    assert intervals[0]["from"] == "2027-03-05T00:00:00+00:00" and intervals[-1]["until"] == "2027-03-08T00:00:00+00:00"
    assert all(a["until"] == b["from"] for a, b in zip(intervals, intervals[1:]))
    assert [i["destination"] for i in intervals[:4]] == ["standby", "mash", "out-of-hours", "standby"]
    assert set(intervals[0]) >= {"from", "until", "destination", "name", "number", "rule"}


def test_coverage_proves_and_finds_gaps(tmp_path: Path, capsys: Capture) -> None:
    """`ivr coverage` exits 0 for the shipped lines and 1, listing the gap, for a gappy file."""
    code, out, _ = run(capsys, "coverage", "wiltshire", "--from", "2027-01-01", "--days", "400")
    assert code == 0 and "ok wiltshire child-at-risk" in out
    write_line(tmp_path, '- {to: office, time: "00:00-12:00", on: any}\n- {to: night, time: "12:01-24:00", on: any}')
    code, out, _ = run(capsys, "coverage", "test", "--config", str(tmp_path), "--from", "2027-01-01", "--days", "2")
    assert code == 1
    assert out.splitlines() == [
        "GAP test child-at-risk: Fri 2027-01-01 12:00 GMT -> Fri 2027-01-01 12:01 GMT",
        "GAP test child-at-risk: Sat 2027-01-02 12:00 GMT -> Sat 2027-01-02 12:01 GMT",
    ]


def test_shortcuts_listing(capsys: Capture) -> None:
    """`ivr shortcuts --json` lists each code with its service and expected team."""
    code, out, _ = run(capsys, "shortcuts", "hampshire", "--json")
    rows = json.loads(out)["shortcuts"]
    assert code == 0
    assert rows[0] == {"keys": "*10", "code": "10", "name": "the CRT professionals' line", "service": "professionals",
                       "expects": "crt-professionals", "number": "+441329225379"}


def test_fallback_twiml_is_static_and_valid(capsys: Capture) -> None:
    """`ivr fallback-twiml` prints schema-valid TwiML: the warning, then the 24/7 numbers in order."""
    code, out, _ = run(capsys, "fallback-twiml", "wiltshire")
    doc = validate_twiml(out)
    assert code == 0
    assert "999" in (doc.find("Say").text or "")  # type: ignore[union-attr]
    assert [(n.text or "").strip() for n in doc.iter("Number")] == ["+443004560108", "+443004560100"]
    assert all(d.get("action") is None for d in doc.iter("Dial")), "no URL of the app: it must work when the app is down"


def test_simulate_christmas_connects_out_of_hours(capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's example: Christmas Day, key 1, connected to Out of Hours."""
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path))
    code, out, _ = run(capsys, "simulate", "wiltshire", "--at", "2026-12-25T10:00", "--keys", "1")
    assert code == 0
    assert "Caller presses 1" in out
    assert "Dialling the Out of Hours Service +443004560100" in out
    assert "accepts the call" in out


def test_simulate_hampshire_no_answer_falls_back(capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's example: Hampshire office hours, no answer, then Out of Hours."""
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path))
    code, out, _ = run(capsys, "simulate", "hampshire", "--at", "2027-03-03T11:00", "--keys", "1", "--dial-status", "no-answer", "--json")
    data = json.loads(out)
    assert code == 0 and data["line"] == "hampshire" and data["at"] == "2027-03-03T11:00:00+00:00"
    dialled = [n.strip() for step in data["steps"] for n in _numbers(step["twiml"])]
    assert dialled == ["+443005551384", "+443005551373"]
    assert data["connected_to"] == "+443005551373"
    assert all({"path", "params", "twiml"} <= set(step) for step in data["steps"])


def test_simulate_keys_follow_gather_rules(capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys typed ahead reach the next Gather; 'w' lets a prompt time out; *code reaches a shortcut."""
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path))
    code, out, _ = run(capsys, "simulate", "wiltshire", "--at", "2027-03-03T11:00", "--keys", "w*43")
    assert code == 0
    assert "Caller presses nothing" in out and "Caller presses *" in out and "Caller presses 43" in out
    assert "Dialling the South Support and Safeguarding Team +441722438165" in out


def _numbers(twiml: str) -> list[str]:
    return [(n.text or "") for n in validate_twiml(twiml).iter("Number")]
