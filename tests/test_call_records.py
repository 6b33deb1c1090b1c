"""The call records store, on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ivr.calls_cli import tell
from ivr.cli import main
from ivr.store import CallStore
from tests.conftest import Twilio
from tests.pg import postgres_url

AT = datetime(2026, 12, 26, 2, 14, tzinfo=UTC)
CALLER = "+447911123456"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'calls.sqlite3'}" if request.param == "sqlite" else postgres_url()


@pytest.fixture
def store(url: str, tmp_path: Path) -> CallStore:
    made = CallStore(url, instance_path=tmp_path, hash_key=b"test-key")
    made.upgrade()
    return made


def test_upgrade_twice_and_at_once(url: str, tmp_path: Path) -> None:
    """The migration step creates the schema once; running it again, or from two processes, is harmless."""
    stores = [CallStore(url, instance_path=tmp_path) for _ in range(3)]
    results: list[list[int]] = []
    threads = [threading.Thread(target=lambda s=s: results.append(s.upgrade())) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [[], [], [1]]
    assert stores[0].upgrade() == []


def test_a_call_and_its_events_are_recorded_once(store: CallStore) -> None:
    """Repeated call starts and repeated events (Twilio retries) leave one of each."""
    for _ in range(2):
        store.call_started("CA1", "wiltshire", AT, CALLER, "+441225000000", config_digest="abc")
        store.event("CA1", AT, "key", {"menu": "main", "digits": "1"}, "1:/voice/wiltshire/input/main:0")
    story = store.story("CA1")
    assert story is not None and [e.kind for e in story.events] == ["key"]
    assert story.call.line == "wiltshire" and story.call.config_digest == "abc"


def test_concurrent_writers_never_duplicate(url: str, tmp_path: Path) -> None:
    """Two stores (two workers) writing the same facts from many threads record each once."""
    a, b = (CallStore(url, instance_path=tmp_path, hash_key=b"k") for _ in range(2))
    a.upgrade()

    def write(store: CallStore, n: int) -> None:
        for i in range(20):
            store.event(f"CA{i}", AT, "route", {"n": i}, f"step-{i}", line="hampshire")

    threads = [threading.Thread(target=write, args=(s, n)) for n in range(3) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(20):
        story = a.story(f"CA{i}")
        assert story is not None and len(story.events) == 1 and story.call.line == "hampshire"


def test_acceptance_is_per_attempt(store: CallStore) -> None:
    """An answerer's acceptance counts for its own dial attempt only."""
    store.accept("CA1", 2, AT)
    store.accept("CA1", 2, AT)
    assert store.accepted("CA1", 2) is True
    assert store.accepted("CA1", 1) is False


def test_caller_numbers_masked_by_default(store: CallStore, url: str, tmp_path: Path) -> None:
    """Numbers are stored as a keyed hash that links repeat calls; in full only when asked."""
    store.call_started("CA1", "wiltshire", AT, CALLER, "+441225000000")
    store.call_started("CA2", "wiltshire", AT, CALLER, "+441225000000")
    store.call_started("CA3", "wiltshire", AT, "anonymous", "+441225000000")
    one, two, three = (store.story(s).call for s in ("CA1", "CA2", "CA3"))  # type: ignore[union-attr]
    assert one.caller_number is None and one.caller_hash == two.caller_hash and len(one.caller_hash or "") == 64
    assert CALLER not in (one.caller_hash or "")
    assert three.caller_hash is None
    other_key = CallStore(url, instance_path=tmp_path, hash_key=b"another-key")
    assert other_key.caller_hash(CALLER) != one.caller_hash
    keeper = CallStore(url, instance_path=tmp_path, hash_key=b"test-key", keep_numbers=True)
    keeper.call_started("CA4", "wiltshire", AT, CALLER, "+441225000000")
    assert keeper.story("CA4").call.caller_number == CALLER  # type: ignore[union-attr]


def test_call_ended_first_report_wins(store: CallStore) -> None:
    """The flow's own outcome is kept when Twilio's status callback arrives later."""
    store.call_started("CA1", "wiltshire", AT, CALLER, "")
    store.call_ended("CA1", AT + timedelta(minutes=4), "connected")
    store.call_ended("CA1", AT + timedelta(minutes=5), "completed")
    call = store.story("CA1").call  # type: ignore[union-attr]
    assert call.outcome == "connected" and call.ended_at == AT + timedelta(minutes=4)


def test_purge_and_listing(store: CallStore) -> None:
    """Purge removes old calls with their events; listing is newest first and filters by line and time."""
    store.call_started("CAold", "wiltshire", AT - timedelta(days=500), CALLER, "")
    store.event("CAold", AT - timedelta(days=500), "key", {"menu": "main", "digits": "1"}, "x")
    store.call_started("CAw", "wiltshire", AT, CALLER, "")
    store.call_started("CAh", "hampshire", AT + timedelta(minutes=1), CALLER, "")
    assert [c.call_sid for c in store.calls()] == ["CAh", "CAw", "CAold"]
    assert [c.call_sid for c in store.calls(line="wiltshire", since=AT - timedelta(days=1))] == ["CAw"]
    assert store.purge(AT - timedelta(days=400)) == 1
    assert store.story("CAold") is None
    assert [c.call_sid for c in store.calls()] == ["CAh", "CAw"]


def test_routing_change_recorded_once(store: CallStore) -> None:
    """The same change at the same instant is recorded once, whichever clock reports it."""
    assert store.routing_change("wiltshire", "child-at-risk", AT, "mash", "out-of-hours") is True
    assert store.routing_change("wiltshire", "child-at-risk", AT, "mash", "out-of-hours") is False


def test_lease_leadership(store: CallStore) -> None:
    """A lease is held, renewed by its holder, and taken by another only once expired."""
    assert store.try_lead("clock", "a", AT, 60) is True
    assert store.try_lead("clock", "b", AT + timedelta(seconds=30), 60) is False
    assert store.try_lead("clock", "a", AT + timedelta(seconds=50), 60) is True
    assert store.try_lead("clock", "b", AT + timedelta(seconds=100), 60) is False
    assert store.try_lead("clock", "b", AT + timedelta(seconds=111), 60) is True


def test_postgresql_advisory_lock_has_one_holder() -> None:
    """On PostgreSQL, the clock's advisory lock is held by one connection at a time."""
    store = CallStore(postgres_url(), instance_path=Path("/tmp"), hash_key=b"k")
    with store.advisory_lock("ivr-clock-test") as first:
        with store.advisory_lock("ivr-clock-test") as second:
            assert (first, second) == (True, False)
    with store.advisory_lock("ivr-clock-test") as again:
        assert again is True


def test_sqlite_file_is_in_wal_mode(tmp_path: Path) -> None:
    """The embedded default is a WAL-mode SQLite file in the instance folder, made with no set-up."""
    store = CallStore(None, instance_path=tmp_path / "instance")
    store.upgrade()
    with sqlite3.connect(tmp_path / "instance" / "calls.sqlite3") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert oct((tmp_path / "instance" / "hash.key").stat().st_mode & 0o777) == "0o600"


def test_story_in_plain_words(store: CallStore) -> None:
    """`tell` says what happened to a call and why, in London time."""
    store.call_started("CA1", "wiltshire", AT, CALLER, "", config_digest="d924a00d")
    store.event("CA1", AT, "key", {"menu": "main", "digits": "1"}, "a")
    store.event("CA1", AT, "route", {"service": "child-at-risk", "destination": "standby", "number": "+443004560100", "rule": "rule 3"}, "b")
    store.event("CA1", AT, "dial", {"attempt": 1, "destination": "standby", "status": "completed", "duration": "252"}, "c")
    lines = tell(store.story("CA1"))  # type: ignore[arg-type]
    assert lines[0].startswith("2026-12-26 02:14:00 Call CA1 to wiltshire from caller #")
    assert CALLER not in "\n".join(lines)
    assert "Routed child-at-risk to standby (+443004560100) by rule 3" in lines[2]
    assert lines[3].endswith("Dial attempt 1 to standby: completed, talked 252s")


def test_calls_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`ivr db upgrade`, `ivr calls`, `ivr calls show`; an unknown SID is one line and exit 2."""
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["db", "upgrade"]) == 0
    assert "applied migrations [1]" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0 and "up to date" in capsys.readouterr().out
    store = CallStore(None, instance_path=tmp_path)
    store.call_started("CA1", "hampshire", AT, CALLER, "")
    assert main(["calls", "--json"]) == 0
    assert [c["call_sid"] for c in json.loads(capsys.readouterr().out)["calls"]] == ["CA1"]
    assert main(["calls", "show", "CA1"]) == 0 and "Call CA1 to hampshire" in capsys.readouterr().out
    assert main(["calls", "show", "CAnope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no call 'CAnope'" in err


def test_simulated_call_recorded_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`ivr simulate` leaves no record; with --record the call is kept, marked simulated, and told back."""
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["simulate", "wiltshire", "--at", "2026-12-26T02:14", "--keys", "1", "--json"]) == 0
    capsys.readouterr()
    store = CallStore(None, instance_path=tmp_path)
    store.upgrade()
    assert store.calls() == []
    assert main(["simulate", "wiltshire", "--at", "2026-12-26T02:14", "--keys", "1", "--record", "--json"]) == 0
    sid = json.loads(capsys.readouterr().out)["call_sid"]
    (call,) = store.calls()
    assert call.call_sid == sid and call.simulated is True
    assert main(["calls", "show", sid]) == 0
    told = capsys.readouterr().out
    assert "simulated" in told and "Routed child-at-risk to standby" in told


def test_logs_never_hold_a_full_caller_number(twilio: Twilio, caplog: pytest.LogCaptureFixture, app: Any) -> None:
    """Whatever the webhooks log, the caller's number appears only masked."""
    with caplog.at_level(logging.DEBUG):
        menu = twilio.post("/voice/wiltshire")
        twilio.press(twilio.press(menu, "5"), "1")
        twilio.post("/voice/status", CallStatus="completed")
    assert caplog.records, "the webhooks log something"
    assert all(CALLER not in r.getMessage() for r in caplog.records)
    assert any("*********456" in r.getMessage() for r in caplog.records)


def test_webhooks_record_the_call_and_its_decisions(twilio: Twilio, app: Any) -> None:
    """A call through the webhooks leaves its start, key, routing decision (with configuration) and dial."""
    menu = twilio.post("/voice/wiltshire")
    dial = twilio.press(menu, "1")
    twilio.accept(dial)
    twilio.dial_result(dial, "completed", DialCallDuration="75")
    story = app.extensions["ivr.store"].story(twilio.params["CallSid"])
    digest = app.extensions["ivr.live"].current().config.digest
    assert story.call.line == "wiltshire" and story.call.config_digest == digest and story.call.outcome == "connected"
    kinds = [e.kind for e in story.events]
    assert kinds == ["menu", "key", "route", "screen", "dial", "end"]
    route = story.events[2].detail
    assert route["destination"] == "mash" and route["config_digest"] == digest and route["rule"].startswith("rule 1: MASH")
    assert story.events[4].detail == {"attempt": 1, "destination": "mash", "status": "completed", "duration": "75"}
