"""The call records' journal and its ingester: nothing answered is lost, nothing stored twice."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ivr.core.facts import Fact
from ivr.core.state import Call
from ivr.records.ingest import ALERTED, Ingester
from ivr.records.journal import UNREADABLE, Journal
from ivr.records.recorder import Recorder
from ivr.records.store import CallStore
from tests.pg import postgres_schema

AT = datetime(2026, 12, 26, 2, 14, 5, tzinfo=UTC)
CALLER = "+447911123456"
CALLED = "+441225713000"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CallStore]:
    if request.param == "sqlite":
        made = CallStore(None, instance_path=tmp_path / "db", hash_key=b"k")
        yield made
        made.close()
    else:
        with postgres_schema() as url:
            made = CallStore(url, instance_path=tmp_path / "db", hash_key=b"k")
            made.upgrade()
            yield made
            made.close()


class Alerts:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def alert(self, message: str) -> None:
        self.sent.append(message)


def parts(store: CallStore, folder: Path, **options: Any) -> tuple[Journal, Recorder, Ingester]:
    journal = Journal(folder)
    recorder = Recorder(store, journal)
    return journal, recorder, Ingester(recorder, journal, store, **options)


def a_call(recorder: Recorder, sid: str, at: datetime = AT) -> None:
    """What the webhooks of one short call write: a start, a key, a route, the end."""
    call = Call(sid, CALLER, CALLED, at)
    with recorder.one_write():
        recorder.started("wiltshire", call, "digest1")
        recorder.record("wiltshire", call, [(Fact.MENU, {"menu": "main"})], "0:/voice")
    later = Call(sid, CALLER, CALLED, at + timedelta(seconds=20))
    recorder.record("wiltshire", later, [(Fact.KEY, {"menu": "main", "digits": "1"}), (Fact.ROUTE, {"service": "x"})], "1:/in")
    recorder.record("wiltshire", later, [(Fact.END, {"outcome": "connected"})], "2:/dialled")


def journal_lines(folder: Path) -> list[list[Any]]:
    return [json.loads(line) for path in sorted(folder.glob("*.jsonl")) for line in path.read_text().splitlines()]


def rows(store: CallStore, table: str) -> int:
    with store.reading() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)


def test_a_webhook_is_one_line_and_nothing_reaches_the_database_before_the_ingester(store: CallStore, tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    _, recorder, ingester = parts(store, folder)
    a_call(recorder, "CA1")
    lines = journal_lines(folder)
    assert [[op[0] for op in line] for line in lines] == [["start", "event"], ["event", "event"], ["event", "end"]]
    assert CALLER not in (folder.glob("*.jsonl").__next__()).read_text(), "the caller's number is journaled only as its hash"
    store.upgrade()
    assert rows(store, "calls") == 0
    assert ingester.ingest_once() == 6
    story = store.story("CA1")
    assert story is not None and story.call.outcome == "connected" and story.call.line == "wiltshire"
    assert [e.kind for e in story.events] == [Fact.MENU, Fact.KEY, Fact.ROUTE, Fact.END]
    assert list(folder.glob("*.jsonl")) == [], "stored files are deleted"


def test_storing_a_file_twice_or_in_another_order_leaves_the_same_rows(store: CallStore, tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    journal, recorder, ingester = parts(store, folder)
    a_call(recorder, "CA1")
    recorder.status("", "CA1", "completed", "33", AT + timedelta(minutes=3))  # Twilio's later report of the end
    journal.rotate()
    kept = tmp_path / "copy"
    kept.mkdir()
    for path in folder.glob("*.jsonl"):
        shutil.copy(path, kept / path.name)
    # Stored backwards, line by line: the end before the start, Twilio's end before the flow's.
    for line in reversed(journal_lines(folder)):
        store.apply(line)
    ingester.ingest_once()
    for path in kept.glob("*.jsonl"):  # a process killed between commit and delete: stored again
        shutil.copy(path, folder / path.name)
    ingester.ingest_once()
    assert (rows(store, "calls"), rows(store, "events")) == (1, 4)
    story = store.story("CA1")
    assert story is not None
    assert (story.call.called, story.call.outcome, story.call.ended_at) == (CALLED, "connected", AT + timedelta(seconds=20))


def test_an_acceptance_is_found_in_the_journal_before_it_is_stored(store: CallStore, tmp_path: Path) -> None:
    _, recorder, ingester = parts(store, tmp_path / "journal")
    store.upgrade()
    call = Call("CA1", None, CALLED, AT)
    assert recorder.accepted("CA1", 2) is False
    recorder.record("wiltshire", call, [(Fact.SCREEN, {"attempt": 2, "accepted": True})], "screened:2")
    assert recorder.accepted("CA1", 2) is True and recorder.accepted("CA1", 1) is False
    assert recorder.accepted("CA11", 2) is False, "another call's SID that starts alike is another call"
    ingester.ingest_once()
    assert recorder.accepted("CA1", 2) is True


def test_a_database_that_does_not_answer_delays_the_acceptance_read_at_most_half_a_second(tmp_path: Path) -> None:
    class Frozen(CallStore):
        def accepted(self, _sid: str, _attempt: int) -> bool:
            time.sleep(3)
            return True

    recorder = Recorder(Frozen(None, instance_path=tmp_path), Journal(tmp_path / "journal"))
    started = time.monotonic()
    assert recorder.accepted("CA1", 1) is None
    assert time.monotonic() - started < 0.8


def test_files_of_a_killed_process_are_taken_over_and_a_living_ones_are_not(store: CallStore, tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    store.upgrade()
    script = f"""
import sys, time, os
from datetime import datetime, timezone
from pathlib import Path
from ivr.records.journal import Journal
j = Journal(Path({str(folder)!r}))
j.append([["start", sys.argv[1], "wiltshire", datetime(2026, 12, 26, tzinfo=timezone.utc).isoformat(), None, None, "+44", False, "d"]])
print("written", flush=True)
time.sleep(60)
"""
    living = subprocess.Popen([sys.executable, "-c", script, "CAliving"], stdout=subprocess.PIPE)
    doomed = subprocess.Popen([sys.executable, "-c", script, "CAdead"], stdout=subprocess.PIPE)
    try:
        for process in (living, doomed):
            assert process.stdout is not None and process.stdout.readline() == b"written\n"
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
        _, _, ingester = parts(store, folder)
        assert ingester.ingest_once() == 1
        assert store.story("CAdead") is not None and store.story("CAliving") is None
        assert sorted(p.name.split("-")[0] for p in folder.glob("*.lock")) == [str(living.pid)], "the dead one's lock is gone"
    finally:
        living.kill()
        living.wait(timeout=10)
    assert ingester.ingest_once() == 1
    assert store.story("CAliving") is not None
    assert list(folder.glob("*.jsonl")) == []


def test_while_the_database_is_away_everything_waits_and_is_stored_once_it_is_back(tmp_path: Path) -> None:
    # A SQLite file whose folder cannot be made: a file stands where the folder should be.
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    store = CallStore(f"sqlite:///{blocked / 'calls.sqlite3'}", instance_path=tmp_path, hash_key=b"k")
    folder = tmp_path / "journal"
    wall = [time.time()]
    alerts = Alerts()
    _, recorder, ingester = parts(store, folder, alerts=alerts, alert_after=60, wall=lambda: wall[0])
    for n in range(5):
        a_call(recorder, f"CA{n}")
        assert ingester.run_once() is False
    assert ingester.failures == 5 and ingester.failing_since is not None
    backlog = ingester.backlog()
    assert backlog.files >= 1 and backlog.bytes > 0
    assert alerts.sent == []
    ingester.watch_backlog()
    assert alerts.sent == []
    wall[0] += 61
    ingester.watch_backlog()
    ingester.run_once()
    ingester.watch_backlog()
    assert len(alerts.sent) == 1 and "have not reached the database" in alerts.sent[0]
    blocked.unlink()
    assert ingester.run_once() is True
    assert ingester.backlog().files == 0
    ingester.watch_backlog()
    assert len(alerts.sent) == 2 and "reach the database again" in alerts.sent[1]
    assert len(store.calls(limit=100)) == 5
    assert all(Counter(e.kind for e in store.story(f"CA{n}").events)[Fact.END] == 1 for n in range(5))  # type: ignore[union-attr]


def test_one_alert_per_machine_however_many_processes_see_the_backlog(tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    store = CallStore(None, instance_path=tmp_path, hash_key=b"k")
    wall = [time.time() + 500]
    alerts = Alerts()
    journal = Journal(folder)
    journal.append([["end", "CA1", AT.isoformat(), "x"]])
    watchers = [
        Ingester(Recorder(store, Journal(folder)), Journal(folder), store, alerts=alerts, wall=lambda: wall[0]) for _ in range(3)
    ]
    for watcher in watchers * 2:
        watcher.watch_backlog()
    assert len(alerts.sent) == 1 and (folder / ALERTED).exists()
    journal.rotate()
    shutil.rmtree(folder)
    folder.mkdir()
    (folder / ALERTED).touch()
    for watcher in watchers:
        watcher.watch_backlog()
    assert len(alerts.sent) == 2 and not (folder / ALERTED).exists()


def test_unreadable_lines_are_set_aside_and_never_block_the_rest(store: CallStore, tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    journal, recorder, ingester = parts(store, folder)
    store.upgrade()
    a_call(recorder, "CA1")
    path = journal.rotate()
    assert path is not None
    with path.open("ab") as out:
        out.write(b'[["launch","CA2"]]\n')  # an operation this release does not know
        out.write(b"not json\n")
        out.write(b'[["end","CA1","2026-12-26T02:20:00+00:00","x"]')  # cut short: a full disk
    a_call(recorder, "CA3")
    ingester.ingest_once()
    assert store.story("CA1") is not None and store.story("CA3") is not None
    kept = (folder / UNREADABLE / path.name).read_bytes().splitlines()
    assert len(kept) == 3 and kept[1] == b"not json"
    assert ingester.set_aside == 3


def test_a_line_the_database_refuses_is_set_aside_and_the_rest_stored(tmp_path: Path) -> None:
    with postgres_schema() as url:
        store = CallStore(url, instance_path=tmp_path, hash_key=b"k")
        store.upgrade()
        try:
            _, recorder, ingester = parts(store, tmp_path / "journal")
            a_call(recorder, "CA1")
            a_call(recorder, "CA" + "9" * 80)  # longer than the column: PostgreSQL refuses it
            a_call(recorder, "CA2")
            assert ingester.ingest_once() == 12
            assert sorted(c.call_sid for c in store.calls()) == ["CA1", "CA2"]
            assert len(list((tmp_path / "journal" / UNREADABLE).glob("*.jsonl"))) == 1
        finally:
            store.close()


def test_facts_the_journal_cannot_take_are_kept_in_memory_and_stored(tmp_path: Path) -> None:
    store = CallStore(None, instance_path=tmp_path, hash_key=b"k")
    folder = tmp_path / "journal"
    folder.write_text("a file where the folder should be")
    _, recorder, ingester = parts(store, folder)
    a_call(recorder, "CA1")
    assert recorder.counts["unjournaled"] == 6 and len(recorder.unjournaled) == 3
    assert ingester.ingest_once() == 6
    assert store.story("CA1") is not None and not recorder.unjournaled


def test_a_process_that_is_stopped_stores_what_it_has(tmp_path: Path) -> None:
    store = CallStore(None, instance_path=tmp_path, hash_key=b"k")
    _, recorder, ingester = parts(store, tmp_path / "journal", interval=30)
    ingester.start()
    a_call(recorder, "CA1")
    ingester.stop()
    assert store.story("CA1") is not None
    assert [name for name in os.listdir(tmp_path / "journal") if not name.endswith(".lock")] == []


def test_a_pass_that_waits_on_the_database_counts_as_failing_and_the_backlog_is_still_watched(tmp_path: Path) -> None:
    class Frozen(CallStore):
        def apply(self, ops: list[list[Any]]) -> int:
            time.sleep(7)  # a server that does not answer: no error, just no answer
            return super().apply(ops)

    store = Frozen(None, instance_path=tmp_path, hash_key=b"k")
    alerts = Alerts()
    _, recorder, ingester = parts(store, tmp_path / "journal", alerts=alerts, alert_after=2, interval=0.05)
    a_call(recorder, "CA1")
    ingester.start()
    try:
        time.sleep(1)
        assert not ingester.failing, "a pass under way is not failing at once"
        deadline = time.monotonic() + 10
        while not (ingester.failing and alerts.sent) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ingester.failing and ingester.failing_since is None, "waiting, not refused"
        assert len(alerts.sent) == 1 and "have not reached the database" in alerts.sent[0]
    finally:
        ingester.stop()
    assert store.story("CA1") is not None


def test_batches_from_several_processes_at_once_never_deadlock_on_postgresql(tmp_path: Path) -> None:
    """Four writers store batches touching the same calls in opposite orders, as four workers' journals do."""
    sids = [f"CA{n:04d}" for n in range(60)]

    def batch(order: list[str], round_: int) -> list[list[Any]]:
        at = (AT + timedelta(seconds=round_)).isoformat()
        ops: list[list[Any]] = []
        for sid in order:
            ops.append(["event", sid, "wiltshire", at, "route", {"service": "child-at-risk"}, f"r{round_}:{sid}"])
            ops.append(["end", sid, at, "connected"])
            ops.append(["start", sid, "wiltshire", at, None, None, CALLED, False, "d"])
        return ops

    with postgres_schema() as url:
        stores = [CallStore(url, instance_path=tmp_path, hash_key=b"k") for _ in range(4)]
        stores[0].upgrade()
        errors: list[BaseException] = []

        def writer(n: int) -> None:
            order = sids if n % 2 else list(reversed(sids))
            for round_ in range(15):
                try:
                    stores[n].apply(batch(order[n:] + order[:n], round_))
                except Exception as exc:  # noqa: BLE001 - collected and asserted on below
                    errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        try:
            assert [type(e).__name__ + str(e)[:200] for e in errors] == []
            assert (rows(stores[0], "calls"), rows(stores[0], "events")) == (60, 60 * 15)
        finally:
            for store in stores:
                store.close()
