"""Call records: SQLAlchemy Core over SQLite (default, a file in the instance folder) or PostgreSQL.

Every write is idempotent: a webhook that Twilio retries, or that lands on two workers, is
recorded once (a unique dedupe key per call). Caller numbers are kept only as a keyed hash
unless an administrator asks for them in full.
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
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ivr.errors import IvrError


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC everywhere."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("call records need aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


metadata = MetaData()
schema_version = Table("schema_version", metadata, Column("version", Integer, primary_key=True), Column("applied_at", UtcDateTime, nullable=False))
calls = Table(
    "calls", metadata,
    Column("call_sid", String(64), primary_key=True),
    Column("line", String(64), nullable=False, index=True),
    Column("started_at", UtcDateTime, nullable=False, index=True),
    Column("caller_hash", String(64)),
    Column("caller_number", String(32)),
    Column("called", String(32), nullable=False, default=""),
    Column("simulated", Boolean, nullable=False, default=False),
    Column("ended_at", UtcDateTime),
    Column("outcome", String(32)),
    Column("config_digest", String(32), nullable=False, default=""),
)
events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_sid", String(64), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("dedupe", String(255), nullable=False),
    UniqueConstraint("call_sid", "dedupe", name="events_once"),
)
acceptances = Table(
    "acceptances", metadata,
    Column("call_sid", String(64), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("accepted_at", UtcDateTime, nullable=False),
)
routing_changes = Table(
    "routing_changes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("line", String(64), nullable=False),
    Column("service", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("from_destination", String(64)),
    Column("to_destination", String(64)),
    UniqueConstraint("line", "service", "at", name="routing_changes_once"),
)
leases = Table(
    "leases", metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)


def _create_all(conn: Connection) -> None:
    metadata.create_all(conn, tables=[calls, events, acceptances, routing_changes, leases])


# The schema's history: append a function to change it; never edit one that has shipped.
MIGRATIONS: list[Callable[[Connection], None]] = [_create_all]


class StoreError(IvrError, RuntimeError):
    """The call records cannot be used."""


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class CallSummary:
    call_sid: str
    line: str
    started_at: datetime
    caller_hash: str | None
    caller_number: str | None
    called: str
    simulated: bool
    ended_at: datetime | None
    outcome: str | None
    config_digest: str
    path: str = ""


@dataclass(frozen=True)
class CallStory:
    call: CallSummary
    events: list[Event] = field(default_factory=list)


def database_url(url: str | None, instance_path: Path) -> str:
    """The SQLAlchemy URL: psycopg 3 for PostgreSQL, else a SQLite file in the instance folder."""
    if not url:
        instance_path.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{instance_path / 'calls.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class CallStore:
    """The call records of every line."""

    def __init__(self, url: str | None, *, instance_path: Path | str, hash_key: bytes | None = None, keep_numbers: bool = False) -> None:
        self.instance_path = Path(instance_path)
        self.url = database_url(url, self.instance_path)
        self.keep_numbers = keep_numbers
        # SQLite waits for a lock from the moment it connects: workers may open a new file at once.
        connect_args = {"timeout": 15} if self.url.startswith("sqlite") else {}
        self.engine: Engine = create_engine(self.url, pool_pre_ping=True, connect_args=connect_args)
        self.is_postgresql = self.engine.dialect.name == "postgresql"
        if self.engine.dialect.name == "sqlite":
            _sqlite_settings(self.engine)
        self._key = hash_key or _hash_key(self.instance_path)

    # -- schema --------------------------------------------------------------------------------

    def upgrade(self) -> list[int]:
        """Create or upgrade the schema; safe to run twice and from two processes at once."""
        applied = []
        with self.engine.begin() as conn:
            if self.is_postgresql:
                conn.execute(select(func.pg_advisory_xact_lock(_lock_key("ivr-schema"))))
            schema_version.create(conn, checkfirst=True)
            current = conn.execute(select(func.max(schema_version.c.version))).scalar() or 0
            for version, migration in enumerate(MIGRATIONS, start=1):
                if version > current:
                    migration(conn)
                    conn.execute(schema_version.insert().values(version=version, applied_at=datetime.now(UTC)))
                    applied.append(version)
        return applied

    # -- writes from the webhooks ----------------------------------------------------------------

    def call_started(self, sid: str, line: str, at: datetime, caller: str, called: str,
                     simulated: bool = False, config_digest: str = "") -> None:
        """Record a new call once; a repeat for the same call changes nothing."""
        with self.engine.begin() as conn:
            self._insert_once(conn, calls, {
                "call_sid": sid, "line": line, "started_at": at, "caller_hash": self.caller_hash(caller),
                "caller_number": caller if self.keep_numbers and caller else None, "called": called,
                "simulated": simulated, "config_digest": config_digest,
            })

    def event(self, sid: str, at: datetime, kind: str, detail: dict[str, Any], dedupe: str, line: str = "") -> None:
        """Record one fact about a call, once per (call, dedupe)."""
        with self.engine.begin() as conn:
            self._insert_once(conn, calls, {"call_sid": sid, "line": line, "started_at": at, "called": "", "simulated": False, "config_digest": ""})
            self._insert_once(conn, events, {"call_sid": sid, "at": at, "kind": kind, "detail": json.dumps(detail, sort_keys=True, default=str), "dedupe": dedupe[:255]})

    def accept(self, sid: str, attempt: int, at: datetime) -> None:
        with self.engine.begin() as conn:
            self._insert_once(conn, acceptances, {"call_sid": sid, "attempt": attempt, "accepted_at": at})

    def accepted(self, sid: str, attempt: int) -> bool:
        with self.engine.connect() as conn:
            query = select(acceptances.c.call_sid).where(acceptances.c.call_sid == sid, acceptances.c.attempt == attempt)
            return conn.execute(query).first() is not None

    def call_ended(self, sid: str, at: datetime, outcome: str) -> None:
        """The first report of how a call ended wins; later ones fill only what is missing."""
        with self.engine.begin() as conn:
            conn.execute(update(calls).where(calls.c.call_sid == sid, calls.c.ended_at.is_(None)).values(ended_at=at))
            conn.execute(update(calls).where(calls.c.call_sid == sid, calls.c.outcome.is_(None)).values(outcome=outcome[:32]))

    def routing_change(self, line: str, service: str, at: datetime, from_destination: str | None, to_destination: str | None) -> bool:
        """Record a change of destination; True the first time, False if already recorded."""
        with self.engine.begin() as conn:
            return self._insert_once(conn, routing_changes, {
                "line": line, "service": service, "at": at, "from_destination": from_destination, "to_destination": to_destination,
            })

    def purge(self, older_than: datetime) -> int:
        """Delete calls started before `older_than`, with their events and acceptances."""
        with self.engine.begin() as conn:
            old = select(calls.c.call_sid).where(calls.c.started_at < older_than)
            conn.execute(delete(events).where(events.c.call_sid.in_(old)))
            conn.execute(delete(acceptances).where(acceptances.c.call_sid.in_(old)))
            removed = conn.execute(delete(calls).where(calls.c.started_at < older_than)).rowcount
            conn.execute(delete(routing_changes).where(routing_changes.c.at < older_than))
        return int(removed or 0)

    # -- leadership ------------------------------------------------------------------------------

    def try_lead(self, name: str, holder: str, now: datetime, ttl_seconds: int) -> bool:
        """Take or renew the lease `name`; another holder gets it only once it has expired."""
        from datetime import timedelta

        expires = now + timedelta(seconds=ttl_seconds)
        try:
            with self.engine.begin() as conn:
                row = conn.execute(select(leases).where(leases.c.name == name).with_for_update()).first()
                if row is None:
                    conn.execute(leases.insert().values(name=name, holder=holder, expires_at=expires))
                    return True
                if row.holder == holder or row.expires_at <= now:
                    conn.execute(update(leases).where(leases.c.name == name).values(holder=holder, expires_at=expires))
                    return True
                return False
        except IntegrityError:  # another process inserted the lease first
            return False

    @contextlib.contextmanager
    def advisory_lock(self, name: str) -> Iterator[bool]:
        """PostgreSQL: hold a session advisory lock while inside; yields whether it was taken."""
        if not self.is_postgresql:
            raise StoreError("advisory locks need PostgreSQL")
        conn = self.engine.connect()
        try:
            taken = bool(conn.execute(select(func.pg_try_advisory_lock(_lock_key(name)))).scalar())
            conn.commit()
            yield taken
            if taken:
                conn.execute(select(func.pg_advisory_unlock(_lock_key(name))))
                conn.commit()
        finally:
            conn.close()

    # -- reading ---------------------------------------------------------------------------------

    def calls(self, line: str | None = None, since: datetime | None = None, limit: int = 100) -> list[CallSummary]:
        """Recent calls, newest first, each with its path in short."""
        query = select(calls).order_by(calls.c.started_at.desc(), calls.c.call_sid).limit(limit)
        if line:
            query = query.where(calls.c.line == line)
        if since:
            query = query.where(calls.c.started_at >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            sids = [r.call_sid for r in rows]
            found: dict[str, list[Event]] = {sid: [] for sid in sids}
            if sids:
                for e in conn.execute(select(events).where(events.c.call_sid.in_(sids)).order_by(events.c.at, events.c.id)):
                    found[e.call_sid].append(_event(e))
        return [_summary(r, path(found[r.call_sid])) for r in rows]

    def story(self, sid: str) -> CallStory | None:
        """One call and everything recorded about it, in order."""
        with self.engine.connect() as conn:
            row = conn.execute(select(calls).where(calls.c.call_sid == sid)).first()
            if row is None:
                return None
            found = [_event(e) for e in conn.execute(select(events).where(events.c.call_sid == sid).order_by(events.c.at, events.c.id))]
        return CallStory(_summary(row, path(found)), found)

    # -- helpers ---------------------------------------------------------------------------------

    def caller_hash(self, number: str) -> str | None:
        """A keyed hash of a caller's number, so repeat calls link; None when withheld."""
        if not number or number.lower() in ("anonymous", "restricted", "unknown"):
            return None
        return hmac.new(self._key, number.encode(), hashlib.sha256).hexdigest()

    def _insert_once(self, conn: Connection, table: Table, values: dict[str, Any]) -> bool:
        dialect = postgresql if self.is_postgresql else sqlite
        statement = dialect.insert(table).values(**values).on_conflict_do_nothing()
        # RETURNING says for certain whether a row went in (rowcount is -1 on some drivers).
        return conn.execute(statement.returning(*table.primary_key.columns)).first() is not None


def _sqlite_settings(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, not by the driver
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=15000")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Take the write lock at the start, so concurrent workers wait instead of failing.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _use_wal(cursor: Any) -> None:
    """Put the file in WAL mode (it stays so). The switch can report 'locked' without waiting
    when several workers open a new file at once, so it is retried briefly."""
    for attempt in range(50):
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            time.sleep(0.02 * (attempt + 1))
    raise StoreError("could not put the SQLite call records into WAL mode")


def _hash_key(instance_path: Path) -> bytes:
    """IVR_HASH_KEY, else a key made once per instance folder and shared by every worker."""
    configured = os.environ.get("IVR_HASH_KEY")
    if configured:
        return configured.encode()
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / "hash.key"
    if not path.exists():
        draft = instance_path / f".hash.key.{os.getpid()}.{secrets.token_hex(4)}"
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)  # atomic: of two workers starting at once, one key wins
        draft.unlink()
    return path.read_text().strip().encode()


def _lock_key(name: str) -> int:
    return zlib.crc32(name.encode())


def _event(row: Any) -> Event:
    return Event(row.at, row.kind, json.loads(row.detail))


def _summary(row: Any, route: str) -> CallSummary:
    return CallSummary(
        call_sid=row.call_sid, line=row.line, started_at=row.started_at, caller_hash=row.caller_hash,
        caller_number=row.caller_number, called=row.called, simulated=bool(row.simulated), ended_at=row.ended_at,
        outcome=row.outcome, config_digest=row.config_digest, path=route,
    )


def path(found: list[Event]) -> str:
    """A call's path in short: 'main>1 -> child-at-risk: mash (no-answer) -> out-of-hours (completed)'."""
    parts: list[str] = []
    for e in found:
        d = e.detail
        if e.kind == "key":
            parts.append(f"{d.get('menu')}>{d.get('digits') or repr(d.get('speech'))}")
        elif e.kind == "shortcut":
            parts.append(f"*{d.get('code')}")
        elif e.kind == "route":
            parts.append(f"{d.get('service')}: {d.get('destination') or 'closed'}")
        elif e.kind == "dial":
            parts.append(f"{d.get('destination')} ({d.get('status')})")
        elif e.kind == "fallback":
            parts.append(f"safe route ({d.get('reason')})")
    return " -> ".join(parts)
