"""Call records: SQLAlchemy Core over SQLite (default, a file in the instance folder) or PostgreSQL.

Every write is idempotent: a webhook that Twilio retries, or that lands on two workers, is
recorded once (UNIQUE(call_sid, dedupe)). Caller numbers are kept only as a keyed hash of the
E.164 number, so repeat calls link, unless an administrator asks for them in full.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from ivr.core.errors import IvrError
from ivr.core.facts import Fact, talked
from ivr.core.numbers import caller_number


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"call records need aware datetimes, not {value.isoformat()}")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, _dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


metadata = MetaData()
schema_versions = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", UtcDateTime, nullable=False),
)
calls = Table(
    "calls",
    metadata,
    Column("call_sid", String(64), primary_key=True),
    Column("line", String(64), nullable=False, index=True),
    Column("started_at", UtcDateTime, nullable=False, index=True),
    Column("caller_hash", String(64)),
    Column("caller_number", String(32)),
    # NULL while only events have arrived: the call's start is not recorded yet.
    Column("called", String(32)),
    Column("simulated", Boolean, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("outcome", String(32)),
    Column("config_digest", String(64), nullable=False),
    # Version 3: the call's summary, recomputed from its events by refresh_summaries, so lists filter in SQL.
    Column("service", String(64)),  # the first service the call was routed to
    Column("answered_destination", String(64)),  # the destination the caller finally talked to
)
call_services = Table(
    "call_services",
    metadata,
    # Every service a call was routed to, in order (part of its summary): `ivr calls --service` matches any.
    Column("call_sid", String(64), primary_key=True),
    Column("service", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Index("call_services_by_service", "service"),
)
holds = Table(
    "holds",
    metadata,
    # Legal holds: a call with an open hold (not released) is kept past the retention purge.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_sid", String(64), nullable=False, index=True),
    Column("held_at", UtcDateTime, nullable=False),
    Column("held_by", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("released_at", UtcDateTime),
    Column("released_by", String(128)),
    Column("release_reason", Text),
    # At most one open hold per call, whoever holds it twice at once.
    Index(
        "holds_one_open",
        "call_sid",
        unique=True,
        sqlite_where=text("released_at IS NULL"),
        postgresql_where=text("released_at IS NULL"),
    ),
)
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_sid", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("dedupe", String(255), nullable=False),
    UniqueConstraint("call_sid", "dedupe", name="events_once"),
)
acceptances = Table(
    "acceptances",
    metadata,
    Column("call_sid", String(64), primary_key=True),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("accepted_at", UtcDateTime, nullable=False),
)
routing_changes = Table(
    "routing_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("line", String(64), nullable=False),
    Column("service", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("from_destination", String(64)),
    Column("to_destination", String(64)),
    # Set when a publication (not the clock passing a boundary) made the change: which and by whom.
    Column("release_digest", String(64)),
    Column("changed_by", String(128)),
    UniqueConstraint("line", "service", "at", name="routing_changes_once"),
)
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)


releases = Table(
    "releases",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("published_at", UtcDateTime, nullable=False),
    Column("published_by", String(128), nullable=False),
    Column("message", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("files", Text, nullable=False),  # JSON: {"schedules/wiltshire.yaml": "...", ...}
)
release_log = Table(
    "release_log",
    metadata,
    # Each row makes a release live; the highest seq is the live one (a cheap indexed read).
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("by", String(128), nullable=False),
    Column("action", String(16), nullable=False),  # publish or rollback
    Column("message", Text, nullable=False),
    Column("summary", Text, nullable=False),  # what this step changed, against the release live before it
)


def _v1_create_tables(conn: Connection) -> None:
    # Version 1 as it shipped; routing_changes gained columns in version 2, calls in version 3.
    v1 = MetaData()
    for table in (events, acceptances, leases):
        table.to_metadata(v1)
    Table(
        "calls",
        v1,
        Column("call_sid", String(64), primary_key=True),
        Column("line", String(64), nullable=False, index=True),
        Column("started_at", UtcDateTime, nullable=False, index=True),
        Column("caller_hash", String(64)),
        Column("caller_number", String(32)),
        Column("called", String(32)),
        Column("simulated", Boolean, nullable=False),
        Column("ended_at", UtcDateTime),
        Column("outcome", String(32)),
        Column("config_digest", String(64), nullable=False),
    )
    Table(
        "routing_changes",
        v1,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("line", String(64), nullable=False),
        Column("service", String(64), nullable=False),
        Column("at", UtcDateTime, nullable=False),
        Column("from_destination", String(64)),
        Column("to_destination", String(64)),
        UniqueConstraint("line", "service", "at", name="routing_changes_once"),
    )
    v1.create_all(conn)


def _v2_releases(conn: Connection) -> None:
    # Configuration releases, the log of which one is live, and who changed routing by publishing.
    metadata.create_all(conn, tables=[releases, release_log])
    conn.execute(text("ALTER TABLE routing_changes ADD COLUMN release_digest VARCHAR(64)"))
    conn.execute(text("ALTER TABLE routing_changes ADD COLUMN changed_by VARCHAR(128)"))


def _v3_summaries_and_holds(conn: Connection) -> None:
    # Each call's summary in columns (so lists filter in SQL), backfilled from the events; legal holds.
    conn.execute(text("ALTER TABLE calls ADD COLUMN service VARCHAR(64)"))
    conn.execute(text("ALTER TABLE calls ADD COLUMN answered_destination VARCHAR(64)"))
    metadata.create_all(conn, tables=[call_services, holds])
    summarised = select(events.c.call_sid).where(events.c.kind.in_(SUMMARY_KINDS)).distinct()
    _refresh(conn, conn.execute(summarised).scalars().all())


# The schema's history, in order: append a function to change it; never edit one that has shipped.
MIGRATIONS: list[Callable[[Connection], None]] = [_v1_create_tables, _v2_releases, _v3_summaries_and_holds]
LATEST = len(MIGRATIONS)
SQLITE_BUSY_MS = 15000
CONNECT_TIMEOUT_SECONDS = 3
_WITHHELD = ("anonymous", "restricted", "unknown", "unavailable", "private")
# The kinds of fact a call's summary is made from: no other fact can change it.
SUMMARY_KINDS = (Fact.ROUTE.value, Fact.DIAL.value)
_SIDS_PER_STATEMENT = 500  # well inside SQLite's and PostgreSQL's limits on bound values


# What a record operation is (the first item of each; see `CallStore.apply`).
START, EVENT, ACCEPT, END = "start", "event", "accept", "end"
_PG_BATCH_TIMEOUT = text("SET LOCAL statement_timeout = '15s'")
# Keyed by schema too, so deployments sharing a database do not wait for each other.
_PG_BATCH_TURN = text("SELECT pg_advisory_xact_lock(hashtext('ivr-records@' || current_schema()))")


class StoreError(IvrError, RuntimeError):
    """The call records cannot be used (wrong database, no schema, server unreachable)."""


class UnknownCall(IvrError, LookupError):
    """A call SID with no record."""

    def __init__(self, sid: str) -> None:
        super().__init__(f"no call {sid!r} in the call records")
        self.sid = sid


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One fact about a call, as the web layer wrote it (a kind this release does not know stays text)."""

    at: datetime
    kind: Fact | str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Hold:
    """A legal hold on a call: who placed it, when and why; and who released it, when and why."""

    held_at: datetime
    held_by: str
    reason: str
    released_at: datetime | None = None
    released_by: str | None = None
    release_reason: str | None = None

    @property
    def open(self) -> bool:
        """Whether the hold still stands (the call is kept past the retention purge)."""
        return self.released_at is None


@dataclass(frozen=True, slots=True)
class CallSummary:
    """One call's row, with its path in short ('main>1 -> child-at-risk -> mash(no-answer)').

    `service` is the first service the call was routed to, `services` every one in order;
    `answered_destination` the destination the caller finally talked to (None: nobody).
    """

    call_sid: str
    line: str
    started_at: datetime
    caller_hash: str | None
    caller_number: str | None
    called: str | None
    simulated: bool
    ended_at: datetime | None
    outcome: str | None
    config_digest: str
    path: str = ""
    service: str | None = None
    services: tuple[str, ...] = ()
    answered_destination: str | None = None
    holds: tuple[Hold, ...] = ()

    @property
    def held(self) -> bool:
        """Whether a legal hold stands on the call."""
        return any(h.open for h in self.holds)


@dataclass(frozen=True, slots=True)
class CallStory:
    """One call and its events in the order they happened."""

    call: CallSummary
    events: tuple[CallEvent, ...] = ()


@dataclass(frozen=True)
class HeldLock:
    """A PostgreSQL advisory lock as its holder sees it: truthy when taken."""

    conn: Connection
    taken: bool
    pid: int  # the server process of the session that holds it

    def __bool__(self) -> bool:
        return self.taken

    def alive(self) -> bool:
        """Whether the session, and so the lock, still exists (the server frees it if the session dies)."""
        try:
            self.conn.execute(select(func.pg_backend_pid())).scalar()
            self.conn.commit()
        except Exception:  # noqa: BLE001 - any failure means the session cannot be trusted
            return False
        return self.taken


def _engine_options(url: str) -> dict[str, Any]:
    """Nothing waits on PostgreSQL for ever, and SQLite's faults show at once.

    PostgreSQL: a server that does not answer is given up after seconds.
    libpq's connect_timeout covers the whole connection start, so a frozen server (SIGSTOP, a
    dead host) fails a new connection; keepalives find a connection whose peer went away. Work
    on a connection already open is bounded per batch (`statement_timeout`) and, for the one
    read on a call's path, by the recorder's own time limit.
    """
    if url.startswith("sqlite") and ":memory:" not in url:
        # A connection per use: one left open keeps writing to a file whose folder was made read-only
        # or deleted, so such a fault would never show. Opening a SQLite file costs microseconds.
        return {"poolclass": NullPool}
    if not url.startswith("postgresql"):
        return {}
    return {
        "pool_timeout": 5,
        "connect_args": {
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
        },
    }


def database_url(url: str | None, instance_path: Path) -> str:
    """The SQLAlchemy URL: psycopg 3 for PostgreSQL, else a SQLite file in the instance folder."""
    if not url:
        return f"sqlite:///{instance_path / 'calls.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class CallStore:
    """The call records of every line."""

    def __init__(
        self, url: str | None, *, instance_path: str | Path, hash_key: bytes | None = None, keep_numbers: bool = False
    ) -> None:
        self.instance_path = Path(instance_path)
        self.url = database_url(url, self.instance_path)
        self.keep_numbers = keep_numbers
        self.engine: Engine = create_engine(self.url, pool_pre_ping=True, **_engine_options(self.url))
        self.is_postgresql = self.engine.dialect.name == "postgresql"
        if self.engine.dialect.name == "sqlite":
            _sqlite_settings(self.engine)
        self._dialect: Any = postgresql if self.is_postgresql else sqlite
        self._given_key = hash_key
        self._key: bytes | None = None
        # SQLite needs no set-up step: the schema is brought up to date on first use.
        self._schema_ready = self.is_postgresql
        self._statements = _Statements.of(self._dialect)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # -- schema ----------------------------------------------------------------------------------

    def upgrade(self) -> list[int]:
        """Create or upgrade the schema; returns the versions applied. Safe twice and from two processes."""
        applied = []
        with self.engine.begin() as conn:
            # Two processes upgrading at once queue here (SQLite: BEGIN IMMEDIATE does the same).
            if self.is_postgresql:
                conn.execute(select(func.pg_advisory_xact_lock(_lock_key("ivr-schema"))))
            schema_versions.create(conn, checkfirst=True)
            current = conn.execute(select(func.max(schema_versions.c.version))).scalar() or 0
            for version, migration in enumerate(MIGRATIONS, start=1):
                if version > current:
                    migration(conn)
                    conn.execute(schema_versions.insert().values(version=version, applied_at=datetime.now(UTC)))
                    applied.append(version)
        self._schema_ready = True
        return applied

    def schema_version(self) -> int:
        """The version of the schema in the database; 0 when it has none."""
        with self.reading() as conn:
            if not inspect(conn).has_table(schema_versions.name):
                return 0
            return int(conn.execute(select(func.max(schema_versions.c.version))).scalar() or 0)

    # -- writes from the webhooks ----------------------------------------------------------------

    def call_started(
        self, sid: str, line: str, at: datetime, caller: str, called: str, simulated: bool = False, config_digest: str = ""
    ) -> bool:
        """Record a call's start once; True if this call recorded it. A repeat changes nothing."""
        caller_hash, number = self.caller_fields(caller)
        batch = _Batch()
        batch.add([START, sid, line, at, caller_hash, number, called, simulated, config_digest])
        statement = self._statements.start.values(**batch.starts[sid]).returning(calls.c.call_sid)
        with self.writing() as conn:
            return conn.execute(statement).first() is not None

    def event(self, sid: str, at: datetime, kind: str, detail: dict[str, Any], dedupe: str, line: str = "") -> bool:
        """Record one fact about a call once per (call, dedupe); True if this call recorded it."""
        with self.writing() as conn:
            self.insert_once(
                conn,
                calls,
                {"call_sid": sid, "line": line, "started_at": at, "called": None, "simulated": False, "config_digest": ""},
            )
            inserted = self.insert_once(
                conn,
                events,
                {
                    "call_sid": sid,
                    "at": at,
                    "kind": kind,
                    "dedupe": _dedupe_key(dedupe),
                    "detail": json.dumps(detail, sort_keys=True, default=str, ensure_ascii=False),
                },
            )
            if inserted and kind in SUMMARY_KINDS:
                self.refresh_summaries(conn, [sid])
            return inserted

    def refresh_summaries(self, conn: Connection, sids: Iterable[str]) -> int:
        """Recompute the summary of calls `sids` (services routed, destination answered) from their events,
        in the caller's transaction; returns how many changed.

        A handful of statements per 500 calls, however many events: lock and read the rows, read
        their routes and dials, and write only what changed. A SID with no call row is skipped.
        """
        return _refresh(conn, sids)

    def accept(self, sid: str, attempt: int, at: datetime) -> bool:
        """The answerer of dial `attempt` of call `sid` (the caller's call) accepted it."""
        with self.writing() as conn:
            return self.insert_once(conn, acceptances, {"call_sid": sid, "attempt": attempt, "accepted_at": at})

    def accepted(self, sid: str, attempt: int) -> bool:
        """Whether the answerer of dial `attempt` of call `sid` accepted it."""
        query = select(acceptances.c.call_sid).where(acceptances.c.call_sid == sid, acceptances.c.attempt == attempt)
        with self.reading() as conn:
            return conn.execute(query).first() is not None

    def call_ended(self, sid: str, at: datetime, outcome: str) -> None:
        """The earliest report of how a call ended wins (the flow's own outcome before Twilio's status)."""
        self.apply([[END, sid, at, outcome]])

    def apply(self, ops: list[list[Any]]) -> int:
        """Store a batch of record operations (ivr.records.recorder makes them) in one transaction; idempotent.

        Applying the same operations again, or in another order, leaves the same rows: a fact is kept
        once per (call, dedupe), a start fills the row an earlier fact left, and the earliest end wins.
        Returns how many operations were read.
        """
        batch = _Batch()
        for op in ops:
            batch.add(op)
        statements = self._statements
        with self.writing() as conn:
            if self.is_postgresql:
                # A batch must not wait forever on a lock (it is tried again later), and batches from
                # several processes take turns: they touch the same calls in different orders, which
                # would otherwise deadlock.
                conn.execute(_PG_BATCH_TIMEOUT)
                conn.execute(_PG_BATCH_TURN)
            if batch.placeholders:
                conn.execute(statements.placeholder, list(batch.placeholders.values()))
            if batch.starts:
                conn.execute(statements.start, list(batch.starts.values()))
            if batch.events:
                conn.execute(statements.event, batch.events)
            if batch.acceptances:
                conn.execute(statements.accept, batch.acceptances)
            if batch.ends:
                conn.execute(statements.end, batch.ends)
            summarised = sorted({e["call_sid"] for e in batch.events if e["kind"] in SUMMARY_KINDS})
            if summarised:
                self.refresh_summaries(conn, summarised)
        return len(ops)

    def routing_change(
        self,
        line: str,
        service: str,
        at: datetime,
        from_dest: str | None,
        to_dest: str | None,
        release: str | None = None,
        changed_by: str | None = None,
    ) -> bool:
        """Record a change of destination (by a publication when `release` is given); True the first time."""
        with self.writing() as conn:
            return self.insert_once(
                conn,
                routing_changes,
                {
                    "line": line,
                    "service": service,
                    "at": at,
                    "from_destination": from_dest,
                    "to_destination": to_dest,
                    "release_digest": release,
                    "changed_by": changed_by,
                },
            )

    def routing_changes_by_release(
        self, at: datetime, changes: list[tuple[str, str, str | None, str | None]], release: str, changed_by: str
    ) -> int:
        """Record every (line, service, from, to) a publication changed at `at`, in one transaction."""
        if not changes:
            return 0
        rows = [
            {
                "line": line,
                "service": service,
                "at": at,
                "from_destination": old,
                "to_destination": new,
                "release_digest": release,
                "changed_by": changed_by,
            }
            for line, service, old, new in changes
        ]
        with self.writing() as conn:
            result = conn.execute(self._dialect.insert(routing_changes).on_conflict_do_nothing(), rows)
            return int(result.rowcount or 0)

    def purge(self, older_than: datetime) -> int:
        """Delete calls started before `older_than`, with everything about them, except calls under a
        legal hold; returns how many calls went. A released hold's history goes with its call."""
        held = select(holds.c.call_sid).where(holds.c.released_at.is_(None))
        old = select(calls.c.call_sid).where(calls.c.started_at < older_than, calls.c.call_sid.not_in(held))
        with self.writing() as conn:
            self._serialise_holds(conn)
            conn.execute(delete(events).where(events.c.call_sid.in_(old)))
            # Acceptances of calls with no row are old by their own time.
            orphans = and_(acceptances.c.accepted_at < older_than, acceptances.c.call_sid.not_in(held))
            conn.execute(delete(acceptances).where(or_(acceptances.c.call_sid.in_(old), orphans)))
            conn.execute(delete(call_services).where(call_services.c.call_sid.in_(old)))
            conn.execute(delete(holds).where(holds.c.call_sid.in_(old)))
            going = delete(calls).where(calls.c.started_at < older_than, calls.c.call_sid.not_in(held))
            return int(conn.execute(going).rowcount or 0)

    # -- legal holds -----------------------------------------------------------------------------

    def hold(self, sid: str, at: datetime, by: str, reason: str) -> bool:
        """Place a legal hold on call `sid`: True if placed, False if one already stands; UnknownCall if no such call."""
        with self.writing() as conn:
            self._serialise_holds(conn)
            if conn.execute(select(calls.c.call_sid).where(calls.c.call_sid == sid)).first() is None:
                raise UnknownCall(sid)
            statement = self._dialect.insert(holds).values(call_sid=sid, held_at=at, held_by=by, reason=reason)
            # holds_one_open refuses a second open hold: holding twice changes nothing.
            return conn.execute(statement.on_conflict_do_nothing().returning(holds.c.id)).first() is not None

    def release(self, sid: str, at: datetime, by: str, reason: str) -> bool:
        """Release the hold standing on call `sid`: True if one stood; UnknownCall if no such call."""
        with self.writing() as conn:
            self._serialise_holds(conn)
            if conn.execute(select(calls.c.call_sid).where(calls.c.call_sid == sid)).first() is None:
                raise UnknownCall(sid)
            released = (
                update(holds)
                .where(holds.c.call_sid == sid, holds.c.released_at.is_(None))
                .values(released_at=at, released_by=by, release_reason=reason)
            )
            return bool(conn.execute(released).rowcount)

    def holds(self, sid: str) -> tuple[Hold, ...]:
        """Every hold placed on call `sid`, oldest first."""
        with self.reading() as conn:
            return _holds_of(conn, [sid]).get(sid, ())

    def _serialise_holds(self, conn: Connection) -> None:
        # Holds, releases and the purge take turns (SQLite: the writer's lock does it): a call held while
        # the purge runs is held before it looks or purged before the hold looks for it, and a release
        # never lands between the purge's statements (which would leave a call's events without it).
        if self.is_postgresql:
            conn.execute(select(func.pg_advisory_xact_lock(_lock_key("ivr-holds"))))

    # -- leadership ------------------------------------------------------------------------------

    def try_lead(self, name: str, holder: str, now: datetime, ttl_seconds: int) -> bool:
        """Take or renew the lease `name` until now + ttl; another holder gets it only once expired."""
        if ttl_seconds <= 0:
            raise ValueError(f"a lease needs a positive time to live, not {ttl_seconds}")
        statement = self._dialect.insert(leases).values(name=name, holder=holder, expires_at=now + timedelta(seconds=ttl_seconds))
        # One statement, so two processes cannot both see the lease free.
        statement = statement.on_conflict_do_update(
            index_elements=[leases.c.name],
            set_={"holder": statement.excluded.holder, "expires_at": statement.excluded.expires_at},
            where=or_(leases.c.holder == holder, leases.c.expires_at <= now),
        )
        with self.writing() as conn:
            return conn.execute(statement.returning(leases.c.name)).first() is not None

    @contextlib.contextmanager
    def advisory_lock(self, name: str) -> Iterator[HeldLock]:
        """PostgreSQL only: hold a session advisory lock while inside; the handle says if it was taken."""
        if not self.is_postgresql:
            raise StoreError("advisory locks need PostgreSQL; use try_lead on SQLite")
        conn = self.engine.connect()
        lock = HeldLock(conn, False, 0)
        key = 0
        try:
            # Advisory locks span the database: key by schema too, so deployments sharing it stay apart.
            key = _lock_key(f"{name}@{conn.execute(select(func.current_schema())).scalar()}")
            row = conn.execute(select(func.pg_try_advisory_lock(key), func.pg_backend_pid())).one()
            conn.commit()
            lock = HeldLock(conn, bool(row[0]), int(row[1]))
            yield lock
        finally:
            try:
                if lock.taken:
                    conn.execute(select(func.pg_advisory_unlock(key)))
                    conn.commit()
            except Exception:  # noqa: BLE001 - a pooled session must never keep the lock
                conn.invalidate()
            finally:
                conn.close()

    # -- reading ---------------------------------------------------------------------------------

    def calls(
        self,
        line: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        *,
        until: datetime | None = None,
        service: str | None = None,
        outcome: str | None = None,
        held: bool = False,
    ) -> list[CallSummary]:
        """Recent calls, newest first, each with its path in short: started in [since, until), routed to
        `service` (at any point), ended with `outcome` ("" for none yet), under a legal hold if `held`."""
        query = select(calls).order_by(calls.c.started_at.desc(), calls.c.call_sid).limit(limit)
        if line:
            query = query.where(calls.c.line == line)
        if since:
            query = query.where(calls.c.started_at >= since)
        if until:
            query = query.where(calls.c.started_at < until)
        if service:
            query = query.where(calls.c.call_sid.in_(select(call_services.c.call_sid).where(call_services.c.service == service)))
        if outcome is not None:
            query = query.where(calls.c.outcome == outcome if outcome else calls.c.outcome.is_(None))
        if held:
            query = query.where(calls.c.call_sid.in_(select(holds.c.call_sid).where(holds.c.released_at.is_(None))))
        with self.reading() as conn:
            rows = conn.execute(query).all()
            sids = [r.call_sid for r in rows]
            found = _events_of(conn, sids)
            routed = _services_of(conn, sids)
            held_by = _holds_of(conn, sids)
        return [_summary(r, found.get(r.call_sid, []), routed.get(r.call_sid, ()), held_by.get(r.call_sid, ())) for r in rows]

    def story(self, sid: str) -> CallStory | None:
        """One call and everything recorded about it, in order of time; None if unknown."""
        with self.reading() as conn:
            row = conn.execute(select(calls).where(calls.c.call_sid == sid)).first()
            if row is None:
                return None
            found = _events_of(conn, [sid]).get(sid, [])
            routed = _services_of(conn, [sid]).get(sid, ())
            placed = _holds_of(conn, [sid]).get(sid, ())
        return CallStory(_summary(row, found, routed, placed), tuple(found))

    # -- caller numbers --------------------------------------------------------------------------

    def caller_fields(self, caller: str) -> tuple[str | None, str | None]:
        """What a call's row keeps of its caller: the keyed hash, and the number itself only if asked to."""
        e164 = _caller_e164(caller)
        return self._hash(e164), e164 if self.keep_numbers else None

    def caller_hash(self, number: str) -> str | None:
        """The keyed hash (HMAC-SHA256, hex) of a caller's E.164 number; None when withheld."""
        return self._hash(_caller_e164(number))

    def _hash(self, e164: str | None) -> str | None:
        if e164 is None:
            return None
        if self._key is None:
            self._key = self._given_key or _hash_key(self.instance_path)
        return hmac.new(self._key, e164.encode(), hashlib.sha256).hexdigest()

    # -- connections -----------------------------------------------------------------------------

    def writing(self) -> contextlib.AbstractContextManager[Connection]:
        """A transaction that commits when the block ends (the schema brought up to date first)."""
        self._ensure_schema()
        return self.engine.begin()

    def reading(self) -> Connection:
        """A connection for reads only, which never takes SQLite's write lock."""
        self._ensure_schema()
        return self.engine.connect().execution_options(ivr_read=True)

    def _ensure_schema(self) -> None:
        if not self._schema_ready:
            self.upgrade()

    def insert_once(self, conn: Connection, table: Table, values: dict[str, Any]) -> bool:
        """Insert a row unless its key is taken; True if it went in."""
        statement = self._dialect.insert(table).values(**values).on_conflict_do_nothing()
        # RETURNING says for certain whether a row went in (rowcount is -1 on some drivers).
        return conn.execute(statement.returning(*table.primary_key.columns)).first() is not None


class _Batch:
    """Record operations sorted by the statement that stores them; a bad operation raises ValueError."""

    def __init__(self) -> None:
        self.placeholders: dict[str, dict[str, Any]] = {}
        self.starts: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.acceptances: list[dict[str, Any]] = []
        self.ends: list[dict[str, Any]] = []

    def add(self, op: list[Any]) -> None:
        try:
            kind, sid = op[0], str(op[1])
            if kind == START:
                _, _, line, at, caller_hash, number, called, simulated, digest = op
                # The first start of a call in a batch wins, as it would one at a time.
                self.starts.setdefault(
                    sid,
                    {
                        "call_sid": sid,
                        "line": line,
                        "started_at": _instant(at),
                        "caller_hash": caller_hash,
                        "caller_number": number,
                        "called": called or "",
                        "simulated": bool(simulated),
                        "config_digest": digest or "",
                    },
                )
            elif kind == EVENT:
                _, _, line, at, fact, detail, dedupe = op
                when = _instant(at)
                self._placeholder(sid, line, when)
                self.events.append(
                    {
                        "call_sid": sid,
                        "at": when,
                        "kind": str(fact),
                        "dedupe": _dedupe_key(str(dedupe)),
                        "detail": json.dumps(detail, sort_keys=True, default=str, ensure_ascii=False),
                    }
                )
            elif kind == ACCEPT:
                _, _, attempt, at = op
                self.acceptances.append({"call_sid": sid, "attempt": int(attempt), "accepted_at": _instant(at)})
            elif kind == END:
                _, _, at, outcome = op
                when = _instant(at)
                self._placeholder(sid, "", when)
                self.ends.append({"b_sid": sid, "b_at": when, "b_outcome": str(outcome)[:32]})
            else:
                raise ValueError(f"unknown record operation {kind!r}")
        except (TypeError, IndexError) as exc:
            raise ValueError(f"unreadable record operation: {exc}") from None

    def _placeholder(self, sid: str, line: str, at: datetime) -> None:
        # A fact may be stored before its call's start (another process's journal): a row without a start.
        self.placeholders.setdefault(
            sid,
            {"call_sid": sid, "line": line, "started_at": at, "called": None, "simulated": False, "config_digest": ""},
        )


def readable(ops: list[Any]) -> bool:
    """Whether every operation in `ops` can be stored."""
    try:
        batch = _Batch()
        for op in ops:
            batch.add(op)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class _Statements:
    """The batch statements of one dialect, built once per store."""

    placeholder: Any
    start: Any
    event: Any
    accept: Any
    end: Any

    @classmethod
    def of(cls, dialect: Any) -> _Statements:
        start = dialect.insert(calls)
        started = ("line", "started_at", "caller_hash", "caller_number", "called", "simulated", "config_digest")
        at = bindparam("b_at", type_=UtcDateTime())
        return cls(
            placeholder=dialect.insert(calls).on_conflict_do_nothing(),
            # Fills a row that facts left without a start (called IS NULL); a repeated start changes nothing.
            start=start.on_conflict_do_update(
                index_elements=[calls.c.call_sid],
                set_={key: start.excluded[key] for key in started},
                where=calls.c.called.is_(None),
            ),
            event=dialect.insert(events).on_conflict_do_nothing(),
            accept=dialect.insert(acceptances).on_conflict_do_nothing(),
            # The earliest report of the end wins, whatever order the journals are stored in.
            end=update(calls)
            .where(calls.c.call_sid == bindparam("b_sid"), or_(calls.c.ended_at.is_(None), calls.c.ended_at > at))
            .values(ended_at=at, outcome=bindparam("b_outcome")),
        )


def _instant(value: datetime | str) -> datetime:
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(when, datetime) or when.tzinfo is None:
        raise TypeError(f"call records need aware datetimes, not {value!r}")
    return when


def _sqlite_settings(engine: Engine) -> None:
    database = engine.url.database

    @event.listens_for(engine, "do_connect")
    def _make_folder(*_: Any) -> None:
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, not by the driver
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock at once, so two workers queue (busy_timeout) rather than
        # deadlock upgrading a read lock; readers never block anyone in WAL mode.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("ivr_read") else "BEGIN IMMEDIATE")


def _switch_to_wal(cursor: Any) -> None:
    # Switching a new file to WAL needs it to itself, and SQLite does not wait (busy_timeout
    # is not consulted) when another worker is connecting at the same moment: retry briefly.
    deadline = time.monotonic() + SQLITE_BUSY_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _hash_key(instance_path: Path) -> bytes:
    """A key made once per instance folder (mode 0600) and shared by every worker."""
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / "hash.key"
    if not path.exists():
        draft = instance_path / f".hash.key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)  # atomic: of two workers starting at once, one key wins
        draft.unlink()
    return path.read_text().strip().encode()


def _caller_e164(caller: str) -> str | None:
    text = (caller or "").strip()
    if not text or text.lower() in _WITHHELD:
        return None
    # Twilio's stand-ins for a withheld number (+266696687, ...) are not valid numbers: None too.
    return caller_number(text)


def _dedupe_key(dedupe: str) -> str:
    # Long keys are hashed rather than cut, so two different keys never become one.
    return dedupe if len(dedupe) <= 255 else "sha256:" + hashlib.sha256(dedupe.encode()).hexdigest()


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _event(row: Any) -> CallEvent:
    return CallEvent(row.at, Fact.read(row.kind), json.loads(row.detail))


def _chunks(sids: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(set(sids))
    for start in range(0, len(ordered), _SIDS_PER_STATEMENT):
        yield ordered[start : start + _SIDS_PER_STATEMENT]


def _events_of(conn: Connection, sids: list[str], kinds: tuple[str, ...] = ()) -> dict[str, list[CallEvent]]:
    found: dict[str, list[CallEvent]] = {}
    for chunk in _chunks(sids):
        query = select(events).where(events.c.call_sid.in_(chunk)).order_by(events.c.at, events.c.id)
        if kinds:
            query = query.where(events.c.kind.in_(kinds))
        for row in conn.execute(query):
            found.setdefault(row.call_sid, []).append(_event(row))
    return found


def _services_of(conn: Connection, sids: list[str]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for chunk in _chunks(sids):
        query = select(call_services).where(call_services.c.call_sid.in_(chunk)).order_by(call_services.c.position)
        for row in conn.execute(query):
            found.setdefault(row.call_sid, []).append(row.service)
    return {sid: tuple(services) for sid, services in found.items()}


def _holds_of(conn: Connection, sids: list[str]) -> dict[str, tuple[Hold, ...]]:
    found: dict[str, list[Hold]] = {}
    for chunk in _chunks(sids):
        query = select(holds).where(holds.c.call_sid.in_(chunk)).order_by(holds.c.held_at, holds.c.id)
        for r in conn.execute(query):
            hold = Hold(r.held_at, r.held_by, r.reason, r.released_at, r.released_by, r.release_reason)
            found.setdefault(r.call_sid, []).append(hold)
    return {sid: tuple(placed) for sid, placed in found.items()}


def _refresh(conn: Connection, sids: Iterable[str]) -> int:
    changed = 0
    for chunk in _chunks(sids):
        # Locked in SID order (PostgreSQL; on SQLite the writer holds the whole file), so two writers of
        # one call's events summarise it in turn, the second seeing the first's events once it commits.
        locked = (
            select(calls.c.call_sid, calls.c.service, calls.c.answered_destination)
            .where(calls.c.call_sid.in_(chunk))
            .order_by(calls.c.call_sid)
            .with_for_update()
        )
        rows = conn.execute(locked).all()
        sids_found = [r.call_sid for r in rows]
        found = _events_of(conn, sids_found, SUMMARY_KINDS)
        stored = _services_of(conn, sids_found)
        columns: list[dict[str, Any]] = []
        routed: dict[str, tuple[str, ...]] = {}
        for row in rows:
            services, answered = summarise(found.get(row.call_sid, []))
            first = services[0] if services else None
            if (row.service, row.answered_destination) != (first, answered):
                columns.append({"sid": row.call_sid, "first": first, "answered": answered})
            if stored.get(row.call_sid, ()) != services:
                routed[row.call_sid] = services
        if columns:
            by_sid = update(calls).where(calls.c.call_sid == bindparam("sid"))
            conn.execute(by_sid.values(service=bindparam("first"), answered_destination=bindparam("answered")), columns)
        if routed:
            conn.execute(delete(call_services).where(call_services.c.call_sid.in_(list(routed))))
            rows_in = [{"call_sid": sid, "service": s, "position": i} for sid, ss in routed.items() for i, s in enumerate(ss)]
            if rows_in:
                conn.execute(insert(call_services), rows_in)
        changed += len({c["sid"] for c in columns} | set(routed))
    return changed


def summarise(found: list[CallEvent] | tuple[CallEvent, ...]) -> tuple[tuple[str, ...], str | None]:
    """The services a call was routed to (in order, each once) and the destination it finally talked to (None: nobody)."""
    services: list[str] = []
    answered: str | None = None
    for e in found:
        if e.kind == Fact.ROUTE and e.detail.get("service"):
            service = str(e.detail["service"])[:64]
            if service not in services:
                services.append(service)
        elif e.kind == Fact.DIAL and talked(e.detail):
            answered = str(e.detail.get("destination") or "")[:64] or None
    return tuple(services), answered


def _summary(row: Any, found: list[CallEvent], services: tuple[str, ...] = (), placed: tuple[Hold, ...] = ()) -> CallSummary:
    return CallSummary(
        call_sid=row.call_sid,
        line=row.line,
        started_at=row.started_at,
        caller_hash=row.caller_hash,
        caller_number=row.caller_number,
        called=row.called,
        simulated=bool(row.simulated),
        ended_at=row.ended_at,
        outcome=row.outcome,
        config_digest=row.config_digest,
        path=path(found),
        service=row.service,
        services=services,
        answered_destination=row.answered_destination,
        holds=placed,
    )


def path(found: list[CallEvent] | tuple[CallEvent, ...]) -> str:
    """A call's path in short: 'main>1 -> child-at-risk -> mash(no-answer) -> out-of-hours(completed)'."""
    parts: list[str] = []
    routed: str | None = None
    for e in found:
        d = e.detail
        if e.kind == Fact.KEY:
            parts.append(f"{d.get('menu')}>{d['digits'] if 'digits' in d else repr(d.get('speech'))}")
        elif e.kind == Fact.SHORTCUT:
            parts.append(f"shortcut {d.get('code')}")
        elif e.kind == Fact.ROUTE and d.get("service") != routed:
            # Each ring-on re-routes the same service: say it once.
            routed = d.get("service")
            parts.append(f"{routed}" if d.get("destination") else f"{routed}(closed)")
        elif e.kind == Fact.DIAL:
            parts.append(f"{d.get('destination')}({d.get('status')})")
        elif e.kind == Fact.FALLBACK:
            parts.append(f"fallback({d.get('reason')})")
    return " -> ".join(parts)
