"""The call records store, every test on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import inspect, text
from sqlalchemy.exc import StatementError

from ivr.cli.calls import open_store
from ivr.records.store import (
    LATEST,
    MIGRATIONS,
    CallEvent,
    CallStore,
    Hold,
    StoreError,
    UnknownCall,
    calls,
    database_url,
    events,
    metadata,
    path,
    schema_versions,
)
from tests.pg import postgres_schema

KEY = b"test-key"
AT = datetime(2026, 12, 26, 2, 14, 5, tzinfo=UTC)
CALLER = "+447911123456"
CALLED = "+441225713000"
LONDON = ZoneInfo("Europe/London")

MakeStore = Callable[..., CallStore]


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(backend: str) -> Iterator[str | None]:
    """None (the default SQLite file) or a PostgreSQL URL in the form DATABASE_URL gives it."""
    if backend == "sqlite":
        yield None
    else:
        with postgres_schema() as found:
            yield found


@pytest.fixture
def make_store(url: str | None, tmp_path: Path) -> Iterator[MakeStore]:
    """Stores on the test's database (one per web worker); all closed before the schema goes."""
    made: list[CallStore] = []

    def make(**options: Any) -> CallStore:
        store = CallStore(url, instance_path=tmp_path / "instance", **{"hash_key": KEY, **options})
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(make_store: MakeStore) -> CallStore:
    made = make_store()
    made.upgrade()
    return made


def at_once(*work: Callable[[], Any]) -> list[Any]:
    """Run each function in its own thread, released together; their results in order."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)
    errors: list[BaseException] = []

    def run(i: int, fn: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[i] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(work)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def expected_hash(number: str, key: bytes = KEY) -> str:
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


# Four calls as the webhooks record them, each started an hour after the one before, with how it
# ended; their summaries (first service, every service, the destination that answered) by hand.
URGENT_MASH = {"service": "child-at-risk", "destination": "mash", "rule": "rule 1: MASH"}
URGENT_STANDBY = {"service": "child-at-risk", "destination": "standby", "rule": "rule 3: Standby"}
STAFF_LADO = {"service": "allegation-about-staff", "destination": "lado", "rule": "rule 1: LADO"}
SCENARIOS: dict[str, tuple[str | None, list[tuple[str, dict[str, Any]]]]] = {
    # SEND is closed at night, so the caller takes child-at-risk: Standby does not answer, Out of Hours does.
    "CAtalked": (
        "connected",
        [
            ("menu", {"menu": "main"}),
            ("key", {"menu": "main", "digits": "3"}),
            ("route", {"service": "send", "destination": None, "rule": "closed at night"}),
            ("key", {"menu": "send-closed", "digits": "1"}),
            ("route", URGENT_STANDBY),
            ("dial", {"attempt": 1, "destination": "standby", "status": "no-answer", "bridged": False}),
            ("route", URGENT_STANDBY),
            ("dial", {"attempt": 2, "destination": "out-of-hours", "status": "completed", "bridged": True}),
            ("end", {"outcome": "connected"}),
        ],
    ),
    # LADO picks up but its screening is not accepted (a pickup, not an answer); Out of Hours does not answer.
    "CAscreened": (
        "completed",
        [
            ("route", STAFF_LADO),
            ("screen", {"attempt": 1, "accepted": False}),
            ("dial", {"attempt": 1, "destination": "lado", "status": "unaccepted", "bridged": False}),
            ("route", STAFF_LADO),
            ("dial", {"attempt": 2, "destination": "out-of-hours", "status": "no-answer", "bridged": False}),
        ],
    ),
    # Recorded before Twilio's DialBridged was kept: MASH picked up.
    "CAolder": (
        "connected",
        [
            ("route", URGENT_MASH),
            ("dial", {"attempt": 1, "destination": "mash", "status": "completed", "duration": "75"}),
            ("end", {"outcome": "connected"}),
        ],
    ),
    # Hung up in the menu; no outcome reported yet.
    "CAmenu": (None, [("menu", {"menu": "main"})]),
}
SUMMARIES = {
    "CAtalked": ("send", ("send", "child-at-risk"), "out-of-hours"),
    "CAscreened": ("allegation-about-staff", ("allegation-about-staff",), None),
    "CAolder": ("child-at-risk", ("child-at-risk",), "mash"),
    "CAmenu": (None, (), None),
}


def record_scenarios(store: CallStore) -> None:
    """The four SCENARIOS through the store's write API, as the webhooks write them."""
    for hour, (sid, (outcome, facts)) in enumerate(SCENARIOS.items()):
        start = AT + timedelta(hours=hour)
        store.call_started(sid, "wiltshire", start, CALLER, CALLED)
        for index, (kind, detail) in enumerate(facts):
            store.event(sid, start + timedelta(seconds=index), kind, detail, f"step:{index}")
        if outcome:
            store.call_ended(sid, start + timedelta(minutes=5), outcome)


def summaries(found: list[Any]) -> dict[str, tuple[str | None, tuple[str, ...], str | None]]:
    return {c.call_sid: (c.service, c.services, c.answered_destination) for c in found}


# -- schema ---------------------------------------------------------------------------------------


def test_upgrade_twice(make_store: MakeStore) -> None:
    """The first upgrade applies every migration; the second applies none and changes nothing."""
    store = make_store()
    assert store.schema_version() == (LATEST if store.engine.dialect.name == "sqlite" else 0)
    fresh = make_store()
    assert fresh.upgrade() in ([1, 2, 3], [])  # SQLite's first read above already brought it up to date
    assert fresh.upgrade() == []
    assert fresh.schema_version() == LATEST == 3


def test_version_1_database_upgrades_keeping_its_rows(make_store: MakeStore) -> None:
    """A database made by version 1 gains the release tables and columns (and version 3); its routing history stays."""
    store = make_store()
    with store.engine.begin() as conn:
        schema_versions.create(conn)
        MIGRATIONS[0](conn)
        conn.execute(schema_versions.insert().values(version=1, applied_at=AT))
        conn.execute(
            text(
                "INSERT INTO routing_changes (line, service, at, from_destination, to_destination) VALUES ('wiltshire', 'child-at-risk', '2026-12-02 09:00:00', 'mash', 'out-of-hours')"
            )
        )
    assert store.upgrade() == [2, 3]
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT line, from_destination, to_destination, release_digest, changed_by FROM routing_changes")
        ).all()
        assert [tuple(r) for r in rows] == [("wiltshire", "mash", "out-of-hours", None, None)]
        assert conn.execute(text("SELECT count(*) FROM releases")).scalar() == 0
    assert store.routing_change("wiltshire", "child-at-risk", AT, "mash", "standby", release="abc", changed_by="alice")


def test_version_2_database_upgrades_to_3_with_each_calls_summary_filled_in(make_store: MakeStore) -> None:
    """A version 2 database with calls gains the summary columns, filled in from the events it holds, and legal holds."""
    store = make_store()
    with store.engine.begin() as conn:
        schema_versions.create(conn)
        for version, migration in enumerate(MIGRATIONS[:2], start=1):
            migration(conn)
            conn.execute(schema_versions.insert().values(version=version, applied_at=AT))
        for hour, (sid, (outcome, facts)) in enumerate(SCENARIOS.items()):
            start = AT + timedelta(hours=hour)
            conn.execute(
                calls.insert().values(
                    call_sid=sid,
                    line="wiltshire",
                    started_at=start,
                    called=CALLED,
                    simulated=False,
                    outcome=outcome,
                    config_digest="",
                )
            )
            for index, (kind, detail) in enumerate(facts):
                at = start + timedelta(seconds=index)
                conn.execute(
                    events.insert().values(call_sid=sid, at=at, kind=kind, detail=json.dumps(detail), dedupe=f"v2:{index}")
                )
    assert store.upgrade() == [3]
    assert summaries(store.calls()) == SUMMARIES
    assert [c.call_sid for c in store.calls(service="child-at-risk")] == ["CAolder", "CAtalked"]
    assert store.hold("CAolder", AT, "alice", "police request") is True


@pytest.mark.usefixtures("backend")
def test_upgrade_from_several_workers_at_once(make_store: MakeStore) -> None:
    """Four workers upgrading a new database together: one applies every version, the others find it done."""
    stores = [make_store() for _ in range(4)]
    results = at_once(*(s.upgrade for s in stores))
    assert sorted(results) == [[], [], [], [1, 2, 3]]
    assert stores[0].schema_version() == 3


def test_upgraded_schema_is_the_declared_one(store: CallStore) -> None:
    """After upgrade the database holds exactly the declared tables, columns and unique constraints."""
    with store.engine.connect() as conn:
        found = inspect(conn)
        assert set(found.get_table_names()) == set(metadata.tables)
        for name, table in metadata.tables.items():
            assert [c["name"] for c in found.get_columns(name)] == [c.name for c in table.columns]
            assert {c["name"]: c["nullable"] for c in found.get_columns(name)} == {c.name: c.nullable for c in table.columns}
        assert found.get_pk_constraint("acceptances")["constrained_columns"] == ["call_sid", "attempt"]
        assert found.get_pk_constraint("leases")["constrained_columns"] == ["name"]
        uniques = {
            name: [u["column_names"] for u in found.get_unique_constraints(name)] for name in ("events", "routing_changes")
        }
        indexes = {name: {i["name"]: i["unique"] for i in found.get_indexes(name)} for name in ("holds", "call_services")}
    assert uniques == {"events": [["call_sid", "dedupe"]], "routing_changes": [["line", "service", "at"]]}
    assert indexes == {
        "holds": {"holds_one_open": True, "ix_holds_call_sid": False},
        "call_services": {"call_services_by_service": False},
    }


def test_driver_and_database_urls(store: CallStore, backend: str, tmp_path: Path) -> None:
    """postgresql:// and postgres:// URLs use psycopg 3; no URL means calls.sqlite3 in the instance folder."""
    assert database_url("postgresql://u:p@db.example/ivr", tmp_path) == "postgresql+psycopg://u:p@db.example/ivr"
    assert database_url("postgres://u@db/ivr?sslmode=require", tmp_path) == "postgresql+psycopg://u@db/ivr?sslmode=require"
    assert database_url(None, tmp_path) == f"sqlite:///{tmp_path / 'calls.sqlite3'}"
    assert (store.engine.dialect.name, store.engine.dialect.driver) == (
        ("sqlite", "pysqlite") if backend == "sqlite" else ("postgresql", "psycopg")
    )
    assert store.is_postgresql is (backend == "postgresql")


def test_sqlite_needs_no_set_up_step(tmp_path: Path) -> None:
    """The default store makes its folder and schema on first use, not before, with no upgrade call."""
    instance = tmp_path / "not" / "yet" / "instance"
    store = CallStore(None, instance_path=instance, hash_key=KEY)
    assert not instance.exists()
    assert store.call_started("CA1", "wiltshire", AT, CALLER, CALLED) is True
    assert (instance / "calls.sqlite3").is_file()
    assert store.schema_version() == LATEST
    store.close()


def test_sqlite_file_is_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    """The SQLite file is in WAL mode, and every pooled connection waits 15 s for a lock."""
    store = CallStore(None, instance_path=tmp_path, hash_key=KEY)
    store.upgrade()
    plain = sqlite3.connect(tmp_path / "calls.sqlite3")
    assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    plain.close()
    pooled = [store.engine.raw_connection() for _ in range(2)]
    timeouts = [c.cursor().execute("PRAGMA busy_timeout").fetchone()[0] for c in pooled]
    for c in pooled:
        c.close()
    assert timeouts == [15000, 15000]
    store.close()


# -- calls and events -----------------------------------------------------------------------------


def test_call_started_is_idempotent(store: CallStore) -> None:
    """A repeated start (a retried webhook) changes nothing, even if it says something else."""
    assert store.call_started("CA1", "wiltshire", AT, CALLER, CALLED, config_digest="abc") is True
    assert store.call_started("CA1", "hampshire", AT + timedelta(minutes=1), "+447700900123", "+44", True, "xyz") is False
    story = store.story("CA1")
    assert story is not None
    call = story.call
    assert (call.line, call.started_at, call.caller_hash, call.called, call.simulated, call.config_digest) == (
        "wiltshire",
        AT,
        expected_hash(CALLER),
        CALLED,
        False,
        "abc",
    )
    assert (call.ended_at, call.outcome, story.events) == (None, None, ())


def test_event_is_recorded_once_per_dedupe_key(store: CallStore) -> None:
    """The same dedupe key is written once; its detail comes back as it went in."""
    store.call_started("CA1", "wiltshire", AT, CALLER, CALLED)
    detail = {"menu": "main", "digits": "1"}
    assert store.event("CA1", AT, "key", detail, "2:/voice/wiltshire/input/main:0") is True
    assert store.event("CA1", AT, "key", {"menu": "other"}, "2:/voice/wiltshire/input/main:0") is False
    assert store.event("CA1", AT, "route", {"service": "child-at-risk", "until": None}, "2:/voice/wiltshire/input/main:1") is True
    story = store.story("CA1")
    assert story is not None and story.events == (
        CallEvent(AT, "key", detail),
        CallEvent(AT, "route", {"service": "child-at-risk", "until": None}),
    )


def test_same_dedupe_key_on_another_call_is_another_event(store: CallStore) -> None:
    """Dedupe keys are per call: two calls may use the same one."""
    assert store.event("CA1", AT, "menu", {"menu": "main"}, "1:/voice") is True
    assert store.event("CA2", AT, "menu", {"menu": "main"}, "1:/voice") is True
    assert [len(s.events) for s in (store.story("CA1"), store.story("CA2")) if s] == [1, 1]


def test_long_dedupe_keys_are_not_cut_into_one(store: CallStore) -> None:
    """Two long keys that differ only at the end stay two events."""
    head = "x" * 300
    assert store.event("CA1", AT, "menu", {}, head + "a") is True
    assert store.event("CA1", AT, "menu", {}, head + "b") is True
    assert store.event("CA1", AT, "menu", {}, head + "a") is False
    story = store.story("CA1")
    assert story is not None and len(story.events) == 2


def test_event_before_the_call_start_makes_a_row_that_the_start_fills(store: CallStore) -> None:
    """An event landing first creates a minimal call row; the call's start then fills it in, once."""
    assert store.event("CA1", AT + timedelta(seconds=3), "menu", {"menu": "main"}, "a", line="wiltshire") is True
    early = store.story("CA1")
    assert early is not None
    assert (early.call.line, early.call.started_at, early.call.called, early.call.caller_hash) == (
        "wiltshire",
        AT + timedelta(seconds=3),
        None,
        None,
    )
    assert store.call_started("CA1", "wiltshire", AT, CALLER, CALLED, config_digest="abc") is True
    assert store.call_started("CA1", "hampshire", AT, CALLER, CALLED, config_digest="other") is False
    story = store.story("CA1")
    assert story is not None
    assert (story.call.line, story.call.started_at, story.call.called, story.call.caller_hash, story.call.config_digest) == (
        "wiltshire",
        AT,
        CALLED,
        expected_hash(CALLER),
        "abc",
    )
    assert [e.kind for e in story.events] == ["menu"]


def test_concurrent_writes_from_threads_and_two_workers_are_recorded_once(make_store: MakeStore) -> None:
    """Two workers, each with four threads, writing the same facts at once leave each fact once."""
    first, second = make_store(), make_store()
    first.upgrade()

    def write(store: CallStore, reverse: bool) -> None:
        sids = [f"CA{i}" for i in range(8)]
        for sid in reversed(sids) if reverse else sids:
            store.event(sid, AT + timedelta(seconds=1), "menu", {"menu": "main"}, "1:/voice:0", line="hampshire")
            store.call_started(sid, "hampshire", AT, CALLER, CALLED)
            store.event(sid, AT + timedelta(seconds=2), "key", {"menu": "main", "digits": "1"}, "2:/voice/input:0")
            store.accept(sid, 1, AT + timedelta(seconds=9))

    at_once(*(lambda s=s, r=r: write(s, r) for s in (first, second) for r in (False, True, False, True)))
    listed = second.calls(limit=1000)
    assert sorted(c.call_sid for c in listed) == [f"CA{i}" for i in range(8)]
    assert {(c.line, c.started_at, c.called, c.caller_hash, c.path) for c in listed} == {
        ("hampshire", AT, CALLED, expected_hash(CALLER), "main>1")
    }
    for i in range(8):
        story = first.story(f"CA{i}")
        assert story is not None and [e.kind for e in story.events] == ["menu", "key"]
        assert first.accepted(f"CA{i}", 1) is True


def test_times_go_in_aware_and_come_back_in_utc(store: CallStore) -> None:
    """A London summer time is kept as the same instant and returned aware in UTC; a naive time is refused."""
    summer = datetime(2026, 7, 1, 9, 30, tzinfo=LONDON)
    store.call_started("CA1", "wiltshire", summer, CALLER, CALLED)
    store.event("CA1", summer, "menu", {"menu": "main"}, "a")
    story = store.story("CA1")
    assert story is not None
    assert story.call.started_at == datetime(2026, 7, 1, 8, 30, tzinfo=UTC) and story.call.started_at.tzinfo is UTC
    assert story.events[0].at == summer and story.events[0].at.tzinfo is UTC
    with pytest.raises(ValueError, match="aware datetimes"):
        store.call_started("CA2", "wiltshire", datetime(2026, 7, 1, 9, 30), CALLER, CALLED)
    with pytest.raises(StatementError, match="aware datetimes"):
        store.event("CA2", datetime(2026, 7, 1, 9, 30), "menu", {}, "a")


def test_story_orders_events_by_time_then_arrival(store: CallStore) -> None:
    """Events written out of order come back in order of time; equal times in the order written."""
    store.call_started("CA1", "wiltshire", AT, CALLER, CALLED)
    store.event("CA1", AT + timedelta(seconds=30), "dial", {"attempt": 1}, "c")
    store.event("CA1", AT + timedelta(seconds=5), "key", {"menu": "main", "digits": "1"}, "a")
    store.event("CA1", AT + timedelta(seconds=5), "route", {"service": "child-at-risk"}, "b")
    story = store.story("CA1")
    assert story is not None and [e.kind for e in story.events] == ["key", "route", "dial"]
    assert store.story("CAnone") is None


def test_acceptance_is_per_call_and_attempt(store: CallStore) -> None:
    """An answerer's acceptance counts once, for its own call and dial attempt only."""
    assert store.accept("CA1", 2, AT) is True
    assert store.accept("CA1", 2, AT + timedelta(seconds=1)) is False
    assert (store.accepted("CA1", 2), store.accepted("CA1", 1), store.accepted("CA2", 2)) == (True, False, False)


def test_call_ended_first_report_wins(store: CallStore) -> None:
    """The flow's own outcome is kept when Twilio's status callback reports the end later."""
    store.call_started("CA1", "wiltshire", AT, CALLER, CALLED)
    store.call_ended("CA1", AT + timedelta(minutes=4), "connected")
    store.call_ended("CA1", AT + timedelta(minutes=5), "completed")
    story = store.story("CA1")
    assert story is not None and (story.call.ended_at, story.call.outcome) == (AT + timedelta(minutes=4), "connected")


def test_calls_newest_first_filtered_and_limited(store: CallStore) -> None:
    """`calls` lists newest first, by line, from a time, up to a limit, each with its path."""
    store.call_started("CAw1", "wiltshire", AT, CALLER, CALLED)
    store.call_started("CAh", "hampshire", AT + timedelta(minutes=1), CALLER, CALLED)
    store.call_started("CAw2", "wiltshire", AT + timedelta(minutes=2), CALLER, CALLED, simulated=True)
    store.event("CAw2", AT + timedelta(minutes=2), "key", {"menu": "main", "digits": "1"}, "a")
    assert [c.call_sid for c in store.calls()] == ["CAw2", "CAh", "CAw1"]
    assert [c.call_sid for c in store.calls(line="wiltshire")] == ["CAw2", "CAw1"]
    assert [c.call_sid for c in store.calls(since=AT + timedelta(minutes=1))] == ["CAw2", "CAh"]
    assert [c.call_sid for c in store.calls(line="wiltshire", since=AT + timedelta(seconds=1))] == ["CAw2"]
    assert [c.call_sid for c in store.calls(limit=1)] == ["CAw2"]
    assert [(c.simulated, c.path) for c in store.calls(limit=2)] == [(True, "main>1"), (False, "")]
    assert store.calls(line="isle-of-wight") == []


def test_purge_removes_old_calls_with_their_events_and_acceptances(store: CallStore) -> None:
    """Calls started before the cut-off go with everything about them; newer calls stay whole."""
    old, cut = AT - timedelta(days=401), AT - timedelta(days=400)
    store.call_started("CAold", "wiltshire", old, CALLER, CALLED)
    store.event("CAold", old, "key", {"menu": "main", "digits": "1"}, "a")
    store.accept("CAold", 1, old)
    store.accept("CAorphan", 1, old)  # an acceptance whose call never got a row
    store.call_started("CAnew", "wiltshire", cut, CALLER, CALLED)
    store.event("CAnew", cut, "key", {"menu": "main", "digits": "2"}, "a")
    store.accept("CAnew", 1, cut)
    assert store.purge(cut) == 1
    assert store.story("CAold") is None
    assert (store.accepted("CAold", 1), store.accepted("CAorphan", 1), store.accepted("CAnew", 1)) == (False, False, True)
    story = store.story("CAnew")
    assert story is not None and [e.detail for e in story.events] == [{"menu": "main", "digits": "2"}]
    assert store.event("CAold", AT, "menu", {}, "a") is True  # its dedupe keys went with it
    assert store.purge(cut) == 0


# -- each call's summary --------------------------------------------------------------------------


def test_each_call_is_summarised_as_its_events_are_written(store: CallStore) -> None:
    """Its first service, every service in order, and the destination the caller talked to (not a refused pickup)."""
    record_scenarios(store)
    assert summaries(store.calls()) == SUMMARIES
    story = store.story("CAtalked")
    assert story is not None and summaries([story.call]) == {"CAtalked": SUMMARIES["CAtalked"]}


def test_a_dial_recorded_before_its_route_still_counts(store: CallStore) -> None:
    """Facts that arrive out of order (a retried webhook, two workers) give the same summary."""
    store.event("CA1", AT + timedelta(seconds=30), "dial", {"destination": "mash", "status": "completed", "bridged": True}, "b")
    store.event("CA1", AT, "route", URGENT_MASH, "a")
    assert summaries(store.calls()) == {"CA1": ("child-at-risk", ("child-at-risk",), "mash")}


def test_calls_filter_by_service_outcome_time_and_hold(store: CallStore) -> None:
    """--service matches any service a call was routed to; --outcome '' is no outcome yet; until is exclusive."""
    record_scenarios(store)
    assert [c.call_sid for c in store.calls(service="child-at-risk")] == ["CAolder", "CAtalked"]
    assert [c.call_sid for c in store.calls(service="send")] == ["CAtalked"]
    assert [c.call_sid for c in store.calls(service="allegation-about-staff")] == ["CAscreened"]
    assert store.calls(service="lado") == []
    assert [c.call_sid for c in store.calls(outcome="connected")] == ["CAolder", "CAtalked"]
    assert [c.call_sid for c in store.calls(outcome="completed")] == ["CAscreened"]
    assert [c.call_sid for c in store.calls(outcome="")] == ["CAmenu"]
    assert [c.call_sid for c in store.calls(until=AT + timedelta(hours=1))] == ["CAtalked"]
    assert [c.call_sid for c in store.calls(since=AT + timedelta(hours=1), until=AT + timedelta(hours=3))] == [
        "CAolder",
        "CAscreened",
    ]
    assert [c.call_sid for c in store.calls(service="child-at-risk", outcome="connected", limit=1)] == ["CAolder"]
    assert store.calls(held=True) == []
    store.hold("CAscreened", AT + timedelta(days=1), "alice", "complaint")
    assert [(c.call_sid, c.held) for c in store.calls(held=True)] == [("CAscreened", True)]
    assert store.calls(held=True, service="send") == []
    assert [c.held for c in store.calls()] == [False, False, True, False]


def test_refresh_summaries_does_a_batch_in_a_few_statements(store: CallStore) -> None:
    """A batch ingester writing events itself refreshes 600 calls at once: six statements per 500 calls, none per call."""
    sids = [f"CA{i:04d}" for i in range(600)]
    dial = {"destination": "mash", "status": "completed", "bridged": True}
    with store.writing() as conn:
        conn.execute(
            calls.insert(),
            [
                {"call_sid": s, "line": "wiltshire", "started_at": AT, "called": CALLED, "simulated": False, "config_digest": ""}
                for s in sids
            ],
        )
        for kind, detail in (("route", URGENT_MASH), ("dial", dial)):
            rows = [{"call_sid": s, "at": AT, "kind": kind, "detail": json.dumps(detail), "dedupe": kind} for s in sids]
            conn.execute(events.insert(), rows)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("BEGIN"):
            statements.append(statement)

    sqlalchemy_event.listen(store.engine, "before_cursor_execute", count)
    try:
        with store.writing() as conn:
            assert store.refresh_summaries(conn, [*sids, sids[0], "CAnone"]) == 600
        assert len(statements) == 12  # per 500 calls: lock the rows, read routes and dials, read services; write 3
        statements.clear()
        with store.writing() as conn:
            assert store.refresh_summaries(conn, sids) == 0
        assert len(statements) == 6  # nothing changed: the three reads per 500 calls, no writes
    finally:
        sqlalchemy_event.remove(store.engine, "before_cursor_execute", count)
    found = store.calls(service="child-at-risk", limit=1000)
    assert len(found) == 600 and {(c.services, c.answered_destination) for c in found} == {(("child-at-risk",), "mash")}


def test_a_writer_summarising_a_call_waits_for_another_and_sees_its_events(make_store: MakeStore) -> None:
    """While one worker's transaction has routed a call anew, another routing it too waits, then counts both."""
    first, second = make_store(), make_store()
    first.upgrade()
    first.event("CA1", AT, "route", {"service": "send", "destination": None}, "a")
    written: list[bool] = []
    waiter = threading.Thread(
        target=lambda: written.append(second.event("CA1", AT + timedelta(seconds=20), "route", STAFF_LADO, "c"))
    )
    with first.writing() as conn:
        route = {
            "call_sid": "CA1",
            "at": AT + timedelta(seconds=10),
            "kind": "route",
            "detail": json.dumps(URGENT_MASH),
            "dedupe": "b",
        }
        conn.execute(events.insert().values(**route))
        assert first.refresh_summaries(conn, ["CA1"]) == 1
        waiter.start()
        waiter.join(timeout=0.5)
        assert waiter.is_alive()  # the call's row is locked until this transaction ends
    waiter.join()
    assert written == [True]
    assert summaries(first.calls()) == {"CA1": ("send", ("send", "child-at-risk", "allegation-about-staff"), None)}


# -- legal holds ----------------------------------------------------------------------------------


def test_holds_are_placed_once_released_and_kept_as_history(store: CallStore) -> None:
    """A second hold while one stands changes nothing; a release ends it; every hold and release stays on record."""
    store.call_started("CA1", "wiltshire", AT, CALLER, CALLED)
    day = timedelta(days=1)
    assert store.hold("CA1", AT + day, "alice", "police request 1234") is True
    assert store.hold("CA1", AT + 2 * day, "bob", "the same request") is False
    assert store.holds("CA1") == (Hold(AT + day, "alice", "police request 1234"),)
    assert store.release("CA1", AT + 3 * day, "carol", "case closed") is True
    assert store.release("CA1", AT + 4 * day, "dave", "closed again") is False
    assert store.hold("CA1", AT + 5 * day, "erin", "complaint") is True
    expected = (
        Hold(AT + day, "alice", "police request 1234", AT + 3 * day, "carol", "case closed"),
        Hold(AT + 5 * day, "erin", "complaint"),
    )
    assert store.holds("CA1") == expected
    story = store.story("CA1")
    assert story is not None and (story.call.holds, story.call.held) == (expected, True)


def test_a_hold_on_an_unknown_call_is_refused(store: CallStore) -> None:
    """Holding or releasing a SID with no record raises UnknownCall naming it, and records nothing."""
    with pytest.raises(UnknownCall, match="no call 'CAnope' in the call records"):
        store.hold("CAnope", AT, "alice", "police request")
    with pytest.raises(UnknownCall, match="CAnope"):
        store.release("CAnope", AT, "alice", "done")
    assert store.holds("CAnope") == ()


def test_one_hold_from_several_workers_at_once(make_store: MakeStore) -> None:
    """Four administrators holding one call at the same moment leave one hold."""
    first, second = make_store(), make_store()
    first.upgrade()
    first.call_started("CA1", "wiltshire", AT, CALLER, CALLED)
    results = at_once(*(lambda i=i: (first, second)[i % 2].hold("CA1", AT, f"admin-{i}", "request") for i in range(4)))
    assert sorted(results) == [False, False, False, True]
    assert len(second.holds("CA1")) == 1


def test_purge_keeps_held_calls_whole(store: CallStore) -> None:
    """A held call outlives the purge with its events, acceptances and services; once released, it goes with its holds."""
    old, cut = AT - timedelta(days=401), AT - timedelta(days=400)
    for sid in ("CAheld", "CAreleased", "CAold"):
        store.call_started(sid, "wiltshire", old, CALLER, CALLED)
        store.event(sid, old, "route", URGENT_MASH, "a")
        store.accept(sid, 1, old)
    store.hold("CAheld", cut, "alice", "court order")
    store.hold("CAreleased", cut, "alice", "request")
    store.release("CAreleased", AT, "bob", "withdrawn")
    assert store.purge(cut) == 2
    held = store.story("CAheld")
    assert held is not None
    assert ([e.kind for e in held.events], held.call.services, held.call.holds) == (
        ["route"],
        ("child-at-risk",),
        (Hold(cut, "alice", "court order"),),
    )
    assert (store.accepted("CAheld", 1), store.accepted("CAreleased", 1), store.accepted("CAold", 1)) == (True, False, False)
    assert (store.story("CAreleased"), store.story("CAold"), store.holds("CAreleased")) == (None, None, ())
    assert [c.call_sid for c in store.calls(service="child-at-risk")] == ["CAheld"]
    assert store.purge(cut) == 0
    store.release("CAheld", AT, "alice", "order lifted")
    assert store.purge(cut) == 1
    assert (store.calls(), store.holds("CAheld"), store.accepted("CAheld", 1)) == ([], (), False)


def test_routing_change_is_recorded_once(store: CallStore) -> None:
    """The same change at the same instant is recorded once, whichever clock process reports it."""
    assert store.routing_change("wiltshire", "child-at-risk", AT, "mash", "out-of-hours") is True
    assert store.routing_change("wiltshire", "child-at-risk", AT, "mash", "out-of-hours") is False
    assert store.routing_change("wiltshire", "child-at-risk", AT, None, "standby") is False
    assert store.routing_change("wiltshire", "send", AT, "send", None) is True
    assert store.routing_change("hampshire", "child-at-risk", AT, "crt-public", "out-of-hours") is True
    assert store.routing_change("wiltshire", "child-at-risk", AT + timedelta(hours=1), "out-of-hours", "standby") is True


def test_routing_change_from_two_workers_at_once_is_recorded_once(make_store: MakeStore) -> None:
    """Two clock processes reporting the same change together: exactly one records it."""
    first, second = make_store(), make_store()
    first.upgrade()
    results = at_once(
        *(
            lambda s=s: s.routing_change("wiltshire", "child-at-risk", AT, "mash", "standby")
            for s in (first, second, first, second)
        )
    )
    assert sorted(results) == [False, False, False, True]


# -- leadership -----------------------------------------------------------------------------------


def test_lease_is_held_renewed_and_taken_only_once_expired(store: CallStore) -> None:
    """A lease is held by one holder, renewed by it, and taken by another only once it has expired."""
    assert store.try_lead("clock", "a", AT, 60) is True
    assert store.try_lead("clock", "b", AT + timedelta(seconds=30), 60) is False
    assert store.try_lead("clock", "a", AT + timedelta(seconds=50), 60) is True  # renewed until +110 s
    assert store.try_lead("clock", "b", AT + timedelta(seconds=100), 60) is False
    assert store.try_lead("clock", "b", AT + timedelta(seconds=110), 60) is True
    assert store.try_lead("clock", "a", AT + timedelta(seconds=120), 60) is False
    assert store.try_lead("other-job", "a", AT + timedelta(seconds=120), 60) is True
    with pytest.raises(ValueError, match="positive"):
        store.try_lead("clock", "a", AT, 0)


def test_lease_goes_to_exactly_one_of_many_contenders(make_store: MakeStore) -> None:
    """Eight contenders on two workers asking for a free lease at once: exactly one gets it."""
    first, second = make_store(), make_store()
    first.upgrade()
    results = at_once(*(lambda i=i: (first, second)[i % 2].try_lead("clock", f"holder-{i}", AT, 60) for i in range(8)))
    assert results.count(True) == 1
    winner = f"holder-{results.index(True)}"
    assert first.try_lead("clock", winner, AT + timedelta(seconds=1), 60) is True
    assert [second.try_lead("clock", f"holder-{i}", AT + timedelta(seconds=2), 60) for i in range(8)].count(True) == 1


def test_postgresql_advisory_lock_has_one_holder() -> None:
    """On PostgreSQL the advisory lock is held by one worker at a time, and freed on exit, even on error."""
    lock_name = f"ivr-test-lock-{secrets.token_hex(4)}"  # advisory locks span the database, not the schema
    with postgres_schema() as url:
        first = CallStore(url, instance_path=Path("/nonexistent"), hash_key=KEY)
        second = CallStore(url, instance_path=Path("/nonexistent"), hash_key=KEY)
        try:
            with first.advisory_lock(lock_name) as taken, second.advisory_lock(lock_name) as refused:
                assert (bool(taken), bool(refused)) == (True, False) and taken.alive()
            with second.advisory_lock(lock_name) as again:
                assert again.taken is True
            with pytest.raises(RuntimeError, match="inside"), first.advisory_lock(lock_name) as held:
                assert held.taken is True
                raise RuntimeError("a failure inside the lock")
            with second.advisory_lock(lock_name) as after_error:
                assert after_error.taken is True
        finally:
            first.close()
            second.close()


def test_advisory_lock_needs_postgresql(tmp_path: Path) -> None:
    """On SQLite the advisory lock is refused with a clear error (the lease is the way there)."""
    store = CallStore(None, instance_path=tmp_path, hash_key=KEY)
    with pytest.raises(StoreError, match="need PostgreSQL"), store.advisory_lock("x"):
        pass


# -- caller numbers -------------------------------------------------------------------------------


def test_caller_kept_only_as_keyed_hash_of_the_e164_number(store: CallStore, make_store: MakeStore) -> None:
    """The caller is stored as HMAC-SHA256 of the E.164 number, the same however written, never in full."""
    store.call_started("CA1", "wiltshire", AT, CALLER, CALLED)
    store.call_started("CA2", "hampshire", AT, "07911 123456", CALLED)
    one, two = (s.call for s in (store.story("CA1"), store.story("CA2")) if s)
    assert one.caller_hash == two.caller_hash == expected_hash(CALLER)
    assert (one.caller_number, two.caller_number) == (None, None)
    assert make_store(hash_key=b"another-key").caller_hash(CALLER) == expected_hash(CALLER, b"another-key") != one.caller_hash


@pytest.mark.parametrize(
    "caller",
    ["anonymous", "Anonymous", "", "restricted", "Unknown", "+266696687", "client:alice", "+44123"],
    ids=["anonymous", "capitalised", "empty", "restricted", "unknown", "twilio-withheld", "client", "invalid"],
)
def test_withheld_callers_hash_to_null(store: CallStore, caller: str) -> None:
    """A withheld or unusable caller number is recorded as no caller at all."""
    store.call_started("CA1", "hampshire", AT, caller, CALLED)
    story = store.story("CA1")
    assert story is not None and (story.call.caller_hash, story.call.caller_number) == (None, None)
    assert store.caller_hash(caller) is None


def test_keep_numbers_stores_the_e164_number(make_store: MakeStore) -> None:
    """With keep_numbers the full E.164 number is kept beside its hash; a withheld one stays NULL."""
    keeper = make_store(keep_numbers=True)
    keeper.upgrade()
    keeper.call_started("CA1", "wiltshire", AT, "07911 123456", CALLED)
    keeper.call_started("CA2", "wiltshire", AT, "anonymous", CALLED)
    one, two = (s.call for s in (keeper.story("CA1"), keeper.story("CA2")) if s)
    assert (one.caller_number, one.caller_hash) == (CALLER, expected_hash(CALLER))
    assert (two.caller_number, two.caller_hash) == (None, None)


def test_hash_key_is_made_once_per_instance_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a key, one random key is written to hash.key (mode 0600) and shared by every worker."""
    monkeypatch.delenv("IVR_HASH_KEY", raising=False)
    first = CallStore(f"sqlite:///{tmp_path / 'a.sqlite3'}", instance_path=tmp_path)
    second = CallStore(f"sqlite:///{tmp_path / 'b.sqlite3'}", instance_path=tmp_path)
    assert not (tmp_path / "hash.key").exists()
    hashes = at_once(lambda: first.caller_hash(CALLER), lambda: second.caller_hash(CALLER))
    key = (tmp_path / "hash.key").read_text()
    assert len(key) == 64 and int(key, 16) >= 0
    assert hashes == [expected_hash(CALLER, key.encode())] * 2
    assert (tmp_path / "hash.key").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hash.key"]  # no drafts left behind
    other = CallStore(None, instance_path=tmp_path / "elsewhere")
    assert other.caller_hash(CALLER) != hashes[0]


def test_hash_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """IVR_HASH_KEY keys the store the commands open, and no key file is made; a given key is used as given."""
    monkeypatch.setenv("IVR_HASH_KEY", "from-the-environment")
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert open_store().caller_hash(CALLER) == expected_hash(CALLER, b"from-the-environment")
    assert CallStore(None, instance_path=tmp_path, hash_key=KEY).caller_hash(CALLER) == expected_hash(CALLER)
    assert not (tmp_path / "hash.key").exists()


# -- the path in short ----------------------------------------------------------------------------


def test_path_says_each_choice_route_and_dial_once() -> None:
    """The path names keys, shortcuts, services (once per service), dials with results and fallbacks."""
    e = [
        CallEvent(AT, "menu", {"menu": "main"}),
        CallEvent(AT, "key", {"menu": "main", "digits": "*"}),
        CallEvent(AT, "shortcut", {"code": "123", "service": "allegation-about-staff"}),
        CallEvent(AT, "route", {"service": "allegation-about-staff", "destination": "lado"}),
        CallEvent(AT, "screen", {"attempt": 1, "accepted": False}),
        CallEvent(AT, "dial", {"attempt": 1, "destination": "lado", "status": "unaccepted"}),
        CallEvent(AT, "route", {"service": "allegation-about-staff", "destination": "lado"}),
        CallEvent(AT, "dial", {"attempt": 2, "destination": "out-of-hours", "status": "completed"}),
        CallEvent(AT, "end", {"outcome": "connected"}),
    ]
    assert path(e) == "main>* -> shortcut 123 -> allegation-about-staff -> lado(unaccepted) -> out-of-hours(completed)"
    assert (
        path(
            [
                CallEvent(AT, "key", {"menu": "main", "speech": "child"}),
                CallEvent(AT, "route", {"service": "send", "destination": None}),
                CallEvent(AT, "fallback", {"reason": "error"}),
            ]
        )
        == "main>'child' -> send(closed) -> fallback(error)"
    )
    assert path([]) == ""


def test_advisory_locks_of_different_schemas_are_apart() -> None:
    """Two deployments sharing one PostgreSQL database (each in its own schema) each get their lock."""
    with postgres_schema() as one_url, postgres_schema() as other_url:
        one = CallStore(one_url, instance_path=Path("/nonexistent"), hash_key=KEY)
        other = CallStore(other_url, instance_path=Path("/nonexistent"), hash_key=KEY)
        try:
            with one.advisory_lock("ivr-clock") as first, other.advisory_lock("ivr-clock") as second:
                assert (first.taken, second.taken) == (True, True)
        finally:
            one.close()
            other.close()
