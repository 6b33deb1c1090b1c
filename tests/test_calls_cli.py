"""`ivr db upgrade`, `ivr calls`, `ivr calls show` and the story told in plain words."""

from __future__ import annotations

import argparse
import getpass
import json
import re
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr import cli
from ivr.cli import calls as calls_cli
from ivr.core.facts import Fact
from ivr.core.state import Call
from ivr.records.journal import Journal
from ivr.records.recorder import Recorder
from ivr.records.store import CallEvent, CallStore, CallStory, CallSummary, Hold
from ivr.records.story import listing, tell
from tests.pg import postgres_schema

KEY = b"test-key"
AT = datetime(2026, 12, 26, 2, 14, 5, tzinfo=UTC)  # 02:14:05 in London (GMT)
CALLER = "+447911123456"
DIGEST = "3896e050a1b2c3d4"
STANDBY = "+443004560100"

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def ivr(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """`ivr ARGS...` with only this module's commands; returns (exit status, stdout, stderr)."""

    def parser() -> argparse.ArgumentParser:
        made = argparse.ArgumentParser(prog="ivr")
        calls_cli.register(made.add_subparsers(dest="command", metavar="COMMAND"), argparse.ArgumentParser(add_help=False))
        return made

    monkeypatch.setattr(cli, "build_parser", parser)

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(params=["sqlite", "postgresql"])
def records(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CallStore]:
    """The store `ivr` opens from the environment: SQLite in IVR_INSTANCE_PATH, or DATABASE_URL."""
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    if request.param == "sqlite":
        store = CallStore(None, instance_path=tmp_path / "instance", hash_key=KEY)
        yield store
        store.close()
    else:
        with postgres_schema() as url:
            monkeypatch.setenv("DATABASE_URL", url)
            store = CallStore(url, instance_path=tmp_path / "instance", hash_key=KEY)
            yield store
            store.close()


def record_a_call(
    store: CallStore, sid: str = "CA1", at: datetime = AT, line: str = "wiltshire", simulated: bool = False
) -> None:
    """A night call: menu, key 1, standby does not answer, out-of-hours accepts and talks 4m12s."""
    store.call_started(sid, line, at, CALLER, "+441225713000", simulated=simulated, config_digest=DIGEST)
    route = {
        "service": "child-at-risk",
        "destination": "standby",
        "name": "Social Work Standby",
        "number": STANDBY,
        "rule": "rule 3: Standby overnight",
        "until": None,
        "config_digest": DIGEST,
    }
    facts = [
        (4, "menu", {"menu": "main"}),
        (4, "key", {"menu": "main", "digits": "1"}),
        (4, "route", route),
        (35, "dial", {"attempt": 1, "destination": "standby", "status": "no-answer", "duration": ""}),
        (35, "route", route),
        (41, "screen", {"attempt": 2, "accepted": True}),
        (
            287,
            "dial",
            {"attempt": 2, "destination": "out-of-hours", "number": "+441225713999", "status": "completed", "duration": "252"},
        ),
        (287, "end", {"outcome": "connected"}),
    ]
    for index, (seconds, kind, detail) in enumerate(facts):
        store.event(sid, at + timedelta(seconds=seconds), kind, detail, f"step:{index}")
    store.call_ended(sid, at + timedelta(seconds=287), "connected")


STORY = [
    "02:14:05 Call CA1 to wiltshire from caller #{tag} (number masked), Sat 26 Dec 2026 GMT",
    "02:14:09 Heard menu main",
    "02:14:09 Chose 1 in menu main",
    f"02:14:09 Routed child-at-risk to standby ({STANDBY}) by rule 3: Standby overnight (configuration 3896e050)",
    f"02:14:09 Dialled standby {STANDBY}: no-answer",
    "02:14:40 Dialled out-of-hours +441225713999: accepted, talked 4m12s",
    "02:18:52 Call ended: connected",
]
PATH = "main>1 -> child-at-risk -> standby(no-answer) -> out-of-hours(completed)"


# -- the commands ---------------------------------------------------------------------------------


def test_db_upgrade_says_what_it_did(ivr: Run, records: CallStore) -> None:
    """`ivr db upgrade` applies versions 1 to 3 and says so; a second run says the schema is up to date."""
    where = records.engine.url.render_as_string(hide_password=True)
    assert ivr("db", "upgrade") == (0, f"applied migrations [1, 2, 3] to {where}: schema version 3\n", "")
    assert ivr("db", "upgrade") == (0, f"{where} is up to date: schema version 3\n", "")
    assert records.schema_version() == 3


def test_calls_lists_newest_first_with_marker_outcome_answer_and_path(ivr: Run, records: CallStore) -> None:
    """`ivr calls` prints one line per call: London time, SID, line, simulated marker, outcome, who answered, path."""
    records.upgrade()
    record_a_call(records, "CA1")
    record_a_call(records, "CA2", AT + timedelta(hours=1), simulated=True)
    records.call_started("CA3", "hampshire", AT + timedelta(hours=2), "anonymous", "+442380000000")
    code, out, err = ivr("calls")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "2026-12-26 04:14:05  CA3  hampshire  no outcome yet  answered: none  ",
        f"2026-12-26 03:14:05  CA2  wiltshire (simulated)  connected  answered: out-of-hours  {PATH}",
        f"2026-12-26 02:14:05  CA1  wiltshire  connected  answered: out-of-hours  {PATH}",
    ]


def test_calls_filters_by_line_and_time(ivr: Run, records: CallStore) -> None:
    """--line and --since (London wall-clock time, or a date) narrow the list; nothing left says so."""
    records.upgrade()
    record_a_call(records, "CA1")
    record_a_call(records, "CA2", AT + timedelta(hours=1), line="hampshire")
    assert [line.split()[2] for line in ivr("calls", "--line", "wiltshire")[1].splitlines()] == ["CA1"]
    assert [line.split()[2] for line in ivr("calls", "--since", "2026-12-26T03:00")[1].splitlines()] == ["CA2"]
    assert [line.split()[2] for line in ivr("calls", "--since", "2026-12-26", "--limit", "1")[1].splitlines()] == ["CA2"]
    assert ivr("calls", "--since", "2026-12-27") == (0, "no calls\n", "")


def test_calls_json_is_a_list_of_objects(ivr: Run, records: CallStore) -> None:
    """`ivr calls --json` prints a JSON list, one object per call, with no caller number in it."""
    records.upgrade()
    record_a_call(records, "CA1")
    code, out, _ = ivr("calls", "--json")
    assert code == 0
    assert json.loads(out) == [
        {
            "call_sid": "CA1",
            "line": "wiltshire",
            "started_at": "2026-12-26T02:14:05+00:00",
            "ended_at": "2026-12-26T02:18:52+00:00",
            "outcome": "connected",
            "simulated": False,
            "caller_hash": records.caller_hash(CALLER),
            "caller_masked": None,
            "called": "+441225713000",
            "config_digest": DIGEST,
            "path": PATH,
            "service": "child-at-risk",
            "services": ["child-at-risk"],
            "answered_destination": "out-of-hours",
            "held": False,
            "holds": [],
        }
    ]
    assert CALLER not in out
    assert ivr("calls", "--json", "--line", "hampshire")[1] == "[]\n"


def record_four_calls(store: CallStore) -> None:
    """The night call (CA1, 02:14); the same to Hampshire (CA2, 03:14); an unanswered SEND-then-urgent call
    (CA3, 08:14: nobody accepts); and a call with no outcome yet (CA4, Sun 27 Dec 00:30)."""
    record_a_call(store, "CA1")
    record_a_call(store, "CA2", AT + timedelta(hours=1), line="hampshire")
    store.call_started("CA3", "wiltshire", AT + timedelta(hours=6), CALLER, "+441225713000")
    facts = [
        ("route", {"service": "send", "destination": None, "rule": "closed"}),
        ("route", {"service": "child-at-risk", "destination": "out-of-hours", "rule": "rule 4"}),
        ("screen", {"attempt": 1, "accepted": False}),
        ("dial", {"attempt": 1, "destination": "out-of-hours", "status": "unaccepted", "bridged": False}),
    ]
    for index, (kind, detail) in enumerate(facts):
        store.event("CA3", AT + timedelta(hours=6, seconds=index), kind, detail, f"step:{index}")
    store.call_ended("CA3", AT + timedelta(hours=6, minutes=2), "completed")
    store.call_started("CA4", "wiltshire", datetime(2026, 12, 27, 0, 30, tzinfo=UTC), CALLER, "+441225713000")


def sids(out: str) -> list[str]:
    return [line.split()[2] for line in out.splitlines()]


def test_calls_filter_by_service_outcome_and_dates(ivr: Run, records: CallStore) -> None:
    """--service (any service routed), --outcome ('none': not ended), --since and --until (a date: its whole day)."""
    records.upgrade()
    record_four_calls(records)
    assert sids(ivr("calls")[1]) == ["CA4", "CA3", "CA2", "CA1"]
    assert sids(ivr("calls", "--service", "child-at-risk")[1]) == ["CA3", "CA2", "CA1"]
    assert sids(ivr("calls", "--service", "send")[1]) == ["CA3"]
    assert sids(ivr("calls", "--outcome", "connected")[1]) == ["CA2", "CA1"]
    assert sids(ivr("calls", "--outcome", "completed")[1]) == ["CA3"]
    assert sids(ivr("calls", "--outcome", "none")[1]) == ["CA4"]
    assert sids(ivr("calls", "--until", "2026-12-26")[1]) == ["CA3", "CA2", "CA1"]
    assert sids(ivr("calls", "--since", "2026-12-26", "--until", "2026-12-26")[1]) == ["CA3", "CA2", "CA1"]
    assert sids(ivr("calls", "--until", "2026-12-26T03:14:05")[1]) == ["CA1"]
    assert sids(ivr("calls", "--since", "2026-12-26T03:00", "--until", "2026-12-27T00:30")[1]) == ["CA3", "CA2"]
    assert sids(ivr("calls", "--line", "wiltshire", "--service", "child-at-risk", "--outcome", "connected")[1]) == ["CA1"]
    assert ivr("calls", "--until", "2026-12-25") == (0, "no calls\n", "")
    assert ivr("calls", "--held") == (0, "no calls\n", "")
    code, out, _ = ivr("calls", "--service", "send", "--json")
    assert (code, [(c["service"], c["services"], c["answered_destination"], c["outcome"]) for c in json.loads(out)]) == (
        0,
        [("send", ["send", "child-at-risk"], None, "completed")],
    )


def test_a_pickup_not_accepted_is_listed_as_no_answer(ivr: Run, records: CallStore) -> None:
    """A call whose only pickup was refused at the screening is listed as answered by nobody."""
    records.upgrade()
    record_four_calls(records)
    assert ivr("calls", "--service", "send")[1] == (
        "2026-12-26 08:14:05  CA3  wiltshire  completed  answered: none  "
        "send(closed) -> child-at-risk -> out-of-hours(unaccepted)\n"
    )


@pytest.mark.usefixtures("records")
@pytest.mark.parametrize(("option", "value"), [("--until", "tomorrow"), ("--until", "2026-13-01")], ids=["word", "no-such-month"])
def test_bad_until_is_one_line_and_exit_2(ivr: Run, option: str, value: str) -> None:
    """An --until that is not a date or time gives one line naming it and exit status 2."""
    assert ivr("calls", option, value) == (2, "", f"ivr calls: {value!r} is not an ISO 8601 date or time (2026-12-25T10:00)\n")


# -- legal holds ----------------------------------------------------------------------------------

WHEN = r"\w{3} \d\d \w{3} \d{4} \d\d:\d\d (GMT|BST)"


def test_hold_marks_the_call_and_holding_twice_changes_nothing(ivr: Run, records: CallStore) -> None:
    """`ivr calls hold` says who held it and why; a second hold says it already stands; the list marks it [held]."""
    records.upgrade()
    record_four_calls(records)
    before = datetime.now(UTC)
    code, out, err = ivr("calls", "hold", "CA1", "--reason", "police request\n 1234", "--by", "alice")
    assert (code, err) == (0, "")
    assert re.fullmatch(rf"held CA1: Legal hold since {WHEN}, by alice: police request 1234\n", out), out
    code, out, _ = ivr("calls", "hold", "CA1", "--reason", "the same request", "--by", "bob")
    assert code == 0 and re.fullmatch(
        rf"CA1 was already held; nothing changed: Legal hold since {WHEN}, by alice: police request 1234\n", out
    )
    (hold,) = records.holds("CA1")
    assert (hold.held_by, hold.reason, hold.released_at) == ("alice", "police request 1234", None)
    assert before <= hold.held_at <= datetime.now(UTC)
    assert ivr("calls", "--held")[1] == f"2026-12-26 02:14:05  CA1  wiltshire [held]  connected  answered: out-of-hours  {PATH}\n"
    assert ["[held]" in line for line in ivr("calls")[1].splitlines()] == [False, False, False, True]


def test_release_ends_the_hold_and_keeps_its_history(ivr: Run, records: CallStore) -> None:
    """`ivr calls release` records who released it, when and why; releasing a call not held changes nothing."""
    records.upgrade()
    record_four_calls(records)
    assert ivr("calls", "release", "CA1", "--reason", "nothing to release") == (0, "CA1 is not held; nothing to release\n", "")
    ivr("calls", "hold", "CA1", "--reason", "court order", "--by", "alice")
    code, out, _ = ivr("calls", "release", "CA1", "--reason", "order lifted", "--by", "bob")
    assert code == 0 and re.fullmatch(
        rf"released CA1: Legal hold from {WHEN}, by alice: court order; released {WHEN}, by bob: order lifted\n", out
    ), out
    assert ivr("calls", "--held") == (0, "no calls\n", "")
    (hold,) = records.holds("CA1")
    assert (hold.held_by, hold.reason, hold.released_by, hold.release_reason) == ("alice", "court order", "bob", "order lifted")


def test_hold_by_defaults_to_this_user_at_this_machine(ivr: Run, records: CallStore) -> None:
    """Without --by, the hold is recorded as placed by user@host, as `ivr publish` records a publisher."""
    records.upgrade()
    record_a_call(records)
    assert ivr("calls", "hold", "CA1", "--reason", "complaint")[0] == 0
    assert [h.held_by for h in records.holds("CA1")] == [f"{getpass.getuser()}@{socket.gethostname()}"]


@pytest.mark.parametrize("command", ["hold", "release"])
def test_hold_on_an_unknown_sid_is_one_line_and_exit_2(ivr: Run, records: CallStore, command: str) -> None:
    """Holding or releasing a SID with no record is refused with one line and exit status 2."""
    records.upgrade()
    assert ivr("calls", command, "CAnope", "--reason", "request") == (2, "", "ivr calls: no call 'CAnope' in the call records\n")
    assert records.holds("CAnope") == ()


def test_hold_needs_a_reason(ivr: Run, records: CallStore, capsys: pytest.CaptureFixture[str]) -> None:
    """A hold without --reason is a usage error; a blank reason is refused with one line; both exit 2."""
    records.upgrade()
    record_a_call(records)
    with pytest.raises(SystemExit) as exited:
        ivr("calls", "hold", "CA1")
    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith("error: the following arguments are required: --reason\n")
    assert ivr("calls", "hold", "CA1", "--reason", "  ") == (2, "", "ivr calls: a legal hold needs a --reason that says why\n")
    assert records.holds("CA1") == ()


def test_show_tells_the_holds_after_the_story(ivr: Run, records: CallStore) -> None:
    """`ivr calls show` ends with each hold, oldest first, in London time; --json carries them too."""
    records.upgrade()
    record_a_call(records)
    records.hold("CA1", datetime(2027, 1, 4, 9, 30, tzinfo=UTC), "alice", "police request 1234")
    records.release("CA1", datetime(2027, 7, 1, 8, 0, tzinfo=UTC), "bob", "case closed")
    records.hold("CA1", datetime(2027, 8, 2, 14, 0, tzinfo=UTC), "carol", "complaint")
    tag = records.caller_hash(CALLER)[:8]  # type: ignore[index]
    holds = [
        "Legal hold from Mon 04 Jan 2027 09:30 GMT, by alice: police request 1234; released Thu 01 Jul 2027 09:00 BST, by bob: case closed",
        "Legal hold since Mon 02 Aug 2027 15:00 BST, by carol: complaint",
    ]
    assert ivr("calls", "show", "CA1") == (0, "\n".join([*STORY, *holds]).format(tag=tag) + "\n", "")
    data = json.loads(ivr("calls", "show", "CA1", "--json")[1])
    assert (data["call"]["held"], data["call"]["holds"], data["story"][-2:]) == (
        True,
        [
            {
                "held_at": "2027-01-04T09:30:00+00:00",
                "held_by": "alice",
                "reason": "police request 1234",
                "released_at": "2027-07-01T08:00:00+00:00",
                "released_by": "bob",
                "release_reason": "case closed",
            },
            {
                "held_at": "2027-08-02T14:00:00+00:00",
                "held_by": "carol",
                "reason": "complaint",
                "released_at": None,
                "released_by": None,
                "release_reason": None,
            },
        ],
        holds,
    )


def test_calls_show_tells_the_story(ivr: Run, records: CallStore) -> None:
    """`ivr calls show SID` prints the call's story in plain words; --json adds the raw events."""
    records.upgrade()
    record_a_call(records)
    tag = records.caller_hash(CALLER)[:8]  # type: ignore[index]
    assert ivr("calls", "show", "CA1") == (0, "\n".join(STORY).format(tag=tag) + "\n", "")
    code, out, _ = ivr("calls", "show", "CA1", "--json")
    data = json.loads(out)
    assert (code, data["call"]["call_sid"], data["story"], len(data["events"])) == (
        0,
        "CA1",
        [s.format(tag=tag) for s in STORY],
        8,
    )
    assert data["events"][1] == {"at": "2026-12-26T02:14:09+00:00", "kind": "key", "detail": {"menu": "main", "digits": "1"}}


def test_unknown_sid_is_one_line_and_exit_2(ivr: Run, records: CallStore) -> None:
    """A SID with no record gives one line on stderr, nothing on stdout, and exit status 2."""
    records.upgrade()
    assert ivr("calls", "show", "CAnope") == (2, "", "ivr calls: no call 'CAnope' in the call records\n")


@pytest.mark.usefixtures("records")
def test_bad_since_is_one_line_and_exit_2(ivr: Run) -> None:
    """A --since that is not a time gives one line and exit status 2."""
    code, out, err = ivr("calls", "--since", "yesterday")
    assert (code, out) == (2, "")
    assert err == "ivr calls: 'yesterday' is not an ISO 8601 date or time (2026-12-25T10:00)\n"


def test_sqlite_calls_need_no_upgrade_first(ivr: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the default SQLite file `ivr calls` works on a new instance folder with no set-up step."""
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path / "new"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert ivr("calls") == (0, "no calls\n", "")
    assert (tmp_path / "new" / "calls.sqlite3").is_file()
    assert not (tmp_path / "new" / "hash.key").exists()  # reading needs no key


def test_postgresql_without_schema_says_to_upgrade(ivr: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a PostgreSQL database with no schema, `ivr calls` says to run `ivr db upgrade`, exit 2."""
    with postgres_schema() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        code, out, err = ivr("calls")
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert err.startswith("ivr calls: the call records at postgresql+psycopg://postgres@") and err.endswith(
        "run `ivr db upgrade`\n"
    )


def test_unreachable_database_is_one_line_and_exit_2(ivr: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database that cannot be reached gives one line naming it (never a traceback) and exit 2."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://ivr:secret@127.0.0.1:1/nothing")
    for argv in (["calls"], ["db", "upgrade"], ["calls", "show", "CA1"]):
        code, out, err = ivr(*argv)
        assert (code, out, err.count("\n")) == (2, "", 1)
        assert err.startswith(f"ivr {argv[0]}: cannot use the call records at postgresql+psycopg://ivr:***@127.0.0.1:1/nothing: ")
        assert "secret" not in err


def test_show_needs_a_sid(ivr: Run) -> None:
    """`ivr calls show` without a SID is a usage error (exit 2)."""
    with pytest.raises(SystemExit) as exited:
        ivr("calls", "show")
    assert exited.value.code == 2


# -- tell -----------------------------------------------------------------------------------------


def call(**changes: object) -> CallSummary:
    base: dict[str, object] = {
        "call_sid": "CA9",
        "line": "hampshire",
        "started_at": AT,
        "caller_hash": "a1b2c3d4e5f6" + "0" * 52,
        "caller_number": None,
        "called": "+442380000000",
        "simulated": False,
        "ended_at": None,
        "outcome": None,
        "config_digest": DIGEST,
    }
    return CallSummary(**{**base, **changes})  # type: ignore[arg-type]


def told(events: list[tuple[int, str, dict[str, object]]], **changes: object) -> list[str]:
    """tell() of a call on 26 Dec 2026 with events at AT + seconds."""
    return tell(CallStory(call(**changes), tuple(CallEvent(AT + timedelta(seconds=s), k, dict(d)) for s, k, d in events)))


def test_tell_the_whole_call_from_the_store(records: CallStore) -> None:
    """The recorded night call reads as start, menu, key, routing decision, two dials and the end."""
    records.upgrade()
    record_a_call(records)
    story = records.story("CA1")
    assert story is not None
    assert tell(story) == [s.format(tag=records.caller_hash(CALLER)[:8]) for s in STORY]  # type: ignore[index]


@pytest.mark.parametrize(
    ("changes", "first"),
    [
        ({}, "02:14:05 Call CA9 to hampshire from caller #a1b2c3d4 (number masked), Sat 26 Dec 2026 GMT"),
        ({"caller_hash": None}, "02:14:05 Call CA9 to hampshire from a withheld number, Sat 26 Dec 2026 GMT"),
        ({"caller_number": CALLER}, "02:14:05 Call CA9 to hampshire from caller #a1b2c3d4 (*********456), Sat 26 Dec 2026 GMT"),
        (
            {"simulated": True},
            "02:14:05 Call CA9 to hampshire from caller #a1b2c3d4 (number masked) (simulated), Sat 26 Dec 2026 GMT",
        ),
        (
            {"called": None, "caller_hash": None},
            "02:14:05 Call CA9 to hampshire from an unknown caller (the start of the call was not recorded), Sat 26 Dec 2026 GMT",
        ),
        (
            {"started_at": datetime(2026, 7, 1, 8, 30, tzinfo=UTC)},
            "09:30:00 Call CA9 to hampshire from caller #a1b2c3d4 (number masked), Wed 01 Jul 2026 BST",
        ),
    ],
    ids=["hashed", "withheld", "kept-but-masked", "simulated", "start-not-recorded", "summer-time"],
)
def test_tell_names_the_caller_without_the_number(changes: dict[str, object], first: str) -> None:
    """The first line says when, which line and who called, never with the full number."""
    assert told([], **changes) == [first]


def test_tell_every_kind_of_fact() -> None:
    """Shortcuts, unknown codes, speech, closed services, refusals, Twilio statuses, texts, fallbacks, ends."""
    lines = told(
        [
            (1, "key", {"menu": "shortcut", "digits": "999"}),
            (2, "key", {"menu": "main", "speech": "child"}),
            (3, "shortcut", {"code": "123", "service": "allegation-about-staff"}),
            (3, "route", {"service": "allegation-about-staff", "destination": None, "rule": "closed at weekends"}),
            (
                4,
                "route",
                {
                    "service": "professionals",
                    "destination": "crt-professionals",
                    "number": None,
                    "rule": "rule 1: CRT",
                    "config_digest": DIGEST,
                },
            ),
            (5, "screen", {"attempt": 1, "accepted": False}),
            (6, "status", {"leg": "CA77", "status": "ringing", "duration": ""}),
            (7, "status", {"leg": "CA77", "status": "completed", "duration": "3725"}),
            (8, "sms", {"to_masked": "*********456", "sent": True, "destination": "lado"}),
            (9, "sms", {"to_masked": "*********456", "sent": False}),
            (10, "fallback", {"reason": "no choice after 3 tries"}),
            (11, "surprise", {"b": 1, "a": 2}),
            (12, "end", {"outcome": "no-answer"}),
        ],
        ended_at=AT + timedelta(seconds=13),
        outcome="completed",
    )
    assert lines[1:] == [
        "02:14:06 Entered shortcut code 999: not recognised",
        "02:14:07 Said 'child' in menu main",
        "02:14:08 Used shortcut 123 for allegation-about-staff",
        "02:14:08 Routed allegation-about-staff: closed, by closed at weekends",
        "02:14:09 Routed professionals to crt-professionals (no phone number) by rule 1: CRT (configuration 3896e050)",
        "02:14:10 Answerer of attempt 1 did not accept the call",
        "02:14:11 Twilio reports the dialled call ringing",
        "02:14:12 Twilio reports the dialled call completed after 1h02m05s",
        "02:14:13 Texted lado's details to *********456",
        "02:14:14 Could not text to *********456",
        "02:14:15 Took the safe route: no choice after 3 tries",
        '02:14:16 surprise: {"a": 2, "b": 1}',
        "02:14:17 Call ended: no-answer",
    ]


def test_every_kind_of_fact_has_a_sentence_of_its_own() -> None:
    """Each Fact reads as its own sentence, never as the raw `kind: detail` kept for kinds the story does not know."""
    sentences = {kind: told([(1, kind, {})])[1].removeprefix("02:14:06 ") for kind in Fact}
    raw = {kind: sentence for kind, sentence in sentences.items() if sentence.startswith(f"{kind}: ")}
    assert raw == {}, "a Fact without a sentence in ivr/records/story.py"
    assert len(set(sentences.values())) == len(Fact), sentences


def test_tell_dial_results() -> None:
    """An unaccepted answer, a busy line, and an answer with no screening record each read plainly."""
    route = {"service": "child-at-risk", "destination": "mash", "number": "+443004560108", "rule": "rule 1: MASH"}
    lines = told(
        [
            (1, "route", route),
            (5, "screen", {"attempt": 1, "accepted": False}),
            (20, "dial", {"attempt": 1, "destination": "mash", "status": "unaccepted", "duration": "15"}),
            (20, "route", route),
            (40, "dial", {"attempt": 2, "destination": "out-of-hours", "status": "busy", "duration": ""}),
            (40, "route", {**route, "destination": "standby", "number": STANDBY, "rule": "rule 3: Standby"}),
            (99, "dial", {"attempt": 3, "destination": "standby", "status": "completed", "duration": "59"}),
        ]
    )
    assert lines[1:] == [
        "02:14:06 Routed child-at-risk to mash (+443004560108) by rule 1: MASH",
        "02:14:06 Dialled mash +443004560108: answered but not accepted",
        "02:14:25 Dialled out-of-hours: busy",
        f"02:14:45 Routed child-at-risk to standby ({STANDBY}) by rule 3: Standby",
        f"02:14:45 Dialled standby {STANDBY}: answered, talked 59s",
    ]


def test_listing_marks_simulated_and_held_calls() -> None:
    """A held simulated call is marked both ways; a call nobody answered says so."""
    held = (Hold(AT, "alice", "request"),)
    released = (Hold(AT, "alice", "request", AT, "bob", "done"),)
    assert listing(call(simulated=True, holds=held, outcome="completed")) == (
        "2026-12-26 02:14:05  CA9  hampshire (simulated) [held]  completed  answered: none  "
    )
    assert listing(
        call(holds=released, answered_destination="crt-public", path="main>1 -> child-at-risk -> crt-public(completed)")
    ) == (
        "2026-12-26 02:14:05  CA9  hampshire  no outcome yet  answered: crt-public  main>1 -> child-at-risk -> crt-public(completed)"
    )


def test_tell_marks_a_new_day_and_a_clock_change() -> None:
    """A fact on a later date, or after the clocks go back, comes after a line naming the date and zone."""
    lines = tell(
        CallStory(
            call(
                started_at=datetime(2026, 10, 24, 23, 59, 50, tzinfo=UTC),
                ended_at=datetime(2026, 10, 25, 1, 0, 5, tzinfo=UTC),
                outcome="completed",
            ),
            (CallEvent(datetime(2026, 10, 25, 0, 0, 5, tzinfo=UTC), "menu", {"menu": "main"}),),
        )
    )
    assert lines == [
        "00:59:50 Call CA9 to hampshire from caller #a1b2c3d4 (number masked), Sun 25 Oct 2026 BST",
        "01:00:05 Heard menu main",
        "-- Sun 25 Oct 2026 GMT --",
        "01:00:05 Call ended: completed",
    ]
    late = datetime(2026, 12, 26, 23, 30, tzinfo=UTC)
    overnight = tell(CallStory(call(started_at=late), (CallEvent(late + timedelta(hours=1), "menu", {"menu": "main"}),)))
    assert overnight[1:] == ["-- Sun 27 Dec 2026 GMT --", "00:30:00 Heard menu main"]


def test_calls_first_stores_what_stopped_processes_left_and_says_what_still_waits(ivr: Run, records: CallStore) -> None:
    records.upgrade()
    folder = records.instance_path / "journal"
    stopped, running = Journal(folder), Journal(folder)
    Recorder(records, stopped).started("wiltshire", Call("CAleft", CALLER, "+441225713000", AT), DIGEST)
    stopped.close()  # its lock is free: the process is gone
    Recorder(records, running).started("hampshire", Call("CAwaiting", CALLER, "+442392688888", AT), DIGEST)
    code, out, err = ivr("calls")
    assert code == 0
    assert "CAleft" in out and "CAwaiting" not in out, out
    assert f"note: 1 journal file(s) in {folder} still wait for the database" in err
    running.close()
    code, out, err = ivr("calls")
    assert "CAwaiting" in out and err == ""
