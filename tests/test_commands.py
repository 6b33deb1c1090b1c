"""`ivr simulate`, `shortcuts`, `fallback-twiml` and bad input (check/route/timeline/coverage: test_cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivr.cli import main
from tests.conftest import validate_twiml

Capture = pytest.CaptureFixture[str]


def run(capsys: Capture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_route_with_an_offset(capsys: Capture) -> None:
    """A time with an offset is taken as that instant: 07:50Z in summer is 08:50 in London."""
    code, out, _ = run(capsys, "route", "hampshire", "child-at-risk", "--at", "2027-07-01T07:50+00:00", "--json")
    assert code == 0 and json.loads(out)["destination"] == "crt-public"


@pytest.mark.parametrize(
    "args",
    [
        ["route", "nowhere", "child-at-risk", "--at", "2026-12-25T10:00"],
        ["route", "wiltshire", "child-at-risk", "--at", "Christmas"],
        ["route", "wiltshire", "no-such-service", "--at", "2026-12-25T10:00"],
        ["timeline", "wiltshire", "--from", "soon", "--days", "2"],
        ["coverage", "nowhere"],
        ["simulate", "wiltshire", "--at", "2026-12-25T10:00", "--dial-status", "exploded"],
    ],
    ids=["unknown-line", "bad-time", "unknown-service", "bad-date", "coverage-unknown-line", "bad-dial-status"],
)
def test_bad_input_is_one_line_and_exit_2(capsys: Capture, args: list[str]) -> None:
    """Bad input gives exactly one line on stderr, exit status 2, and no traceback."""
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err


def test_shortcuts_listing(capsys: Capture) -> None:
    """`ivr shortcuts --json` lists each code with its service and expected team."""
    code, out, _ = run(capsys, "shortcuts", "hampshire", "--json")
    rows = json.loads(out)["shortcuts"]
    assert code == 0
    assert rows[0] == {
        "keys": "*10",
        "code": "10",
        "name": "the CRT professionals' line",
        "service": "professionals",
        "expects": "crt-professionals",
        "number": "+441329225379",
    }


def test_fallback_twiml_is_static_and_valid(capsys: Capture) -> None:
    """`ivr fallback-twiml` prints schema-valid TwiML: the warning, one Dial ringing the 24/7 numbers at once, Hangup."""
    code, out, _ = run(capsys, "fallback-twiml", "wiltshire")
    doc = validate_twiml(out)
    assert code == 0
    assert "999" in (doc.find("Say").text or "")  # type: ignore[union-attr]
    assert [v.tag for v in doc] == ["Say", "Say", "Dial", "Say", "Hangup"], "one Dial: nobody is rung after a finished call"
    assert [(n.text or "").strip() for n in doc.iter("Number")] == ["+443004560108", "+443004560100"]
    assert all(d.get("action") is None for d in doc.iter("Dial")), "no URL of the app: it must work when the app is down"
    assert all(n.get("url") is None for n in doc.iter("Number"))


def test_simulate_christmas_connects_out_of_hours(capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's example: Christmas Day, key 1, connected to Out of Hours."""
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path))
    code, out, _ = run(capsys, "simulate", "wiltshire", "--at", "2026-12-25T10:00", "--keys", "1")
    assert code == 0
    assert "Caller presses 1" in out
    assert "Dialling the Out of Hours Service +443004560100" in out
    assert "Out of Hours Service answers; the call is connected" in out  # a contact centre: connected on pickup


def test_simulate_hampshire_no_answer_falls_back(capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's example: Hampshire office hours, no answer, then Out of Hours."""
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path))
    code, out, _ = run(
        capsys, "simulate", "hampshire", "--at", "2027-03-03T11:00", "--keys", "1", "--dial-status", "no-answer", "--json"
    )
    data = json.loads(out)
    assert code == 0 and data["line"] == "hampshire" and data["at"] == "2027-03-03T11:00:00+00:00"
    dialled = [n.strip() for step in data["steps"] for n in _numbers(step["twiml"])]
    assert dialled == ["+443005551384", "+443005551373"]
    assert data["connected_to"] == "+443005551373"
    assert all({"path", "params", "twiml"} <= set(step) for step in data["steps"])


def test_simulate_keys_follow_gather_rules(capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys typed ahead reach the next Gather; 'w' lets a prompt (a sub-menu, played again) time out; *code reaches a shortcut."""
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path))
    code, out, _ = run(capsys, "simulate", "wiltshire", "--at", "2027-03-03T11:00", "--keys", "6w*43")
    assert code == 0
    assert "Caller presses nothing" in out and "Caller presses *" in out and "Caller presses 43" in out
    assert "Dialling the South Support and Safeguarding Team +441722438165" in out


def _numbers(twiml: str) -> list[str]:
    return [(n.text or "") for n in validate_twiml(twiml).iter("Number")]
