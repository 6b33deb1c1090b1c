"""Configuration releases in the database: each one immutable, and a log of which one is live.

A release is stored once by its digest with its files, who published it, when and why. Making a
release live appends a row to the log; the live release is the log's newest row, one indexed
read that every worker repeats every second or so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from ivr.records.store import CallStore, release_log, releases


@dataclass(frozen=True, slots=True)
class StoredRelease:
    """One published release: its files and how it came to be."""

    digest: str
    published_at: datetime
    published_by: str
    message: str
    summary: str
    files: dict[str, bytes]


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One moment a release became live: published, or rolled back to."""

    seq: int
    digest: str
    at: datetime
    by: str
    action: str
    message: str
    summary: str = ""


class ReleaseStore:
    """Releases and the live-release log, in the call records' database."""

    def __init__(self, store: CallStore) -> None:
        self.store = store

    def save(self, digest: str, files: dict[str, bytes], at: datetime, by: str, message: str, summary: str) -> bool:
        """Store a release once; True if this call stored it (a digest already stored is left as it was)."""
        values = {
            "digest": digest,
            "published_at": at,
            "published_by": by,
            "message": message,
            "summary": summary,
            "files": json.dumps({name: body.decode("utf-8") for name, body in sorted(files.items())}),
        }
        with self.store.writing() as conn:
            return self.store.insert_once(conn, releases, values)

    def make_live(self, digest: str, at: datetime, by: str, action: str, message: str, summary: str) -> int:
        """Make a stored release the live one; returns its place in the log."""
        with self.store.writing() as conn:
            row = conn.execute(
                release_log.insert()
                .values(digest=digest, at=at, by=by, action=action, message=message, summary=summary)
                .returning(release_log.c.seq)
            ).first()
        assert row is not None
        return int(row[0])

    def live(self) -> tuple[int, str] | None:
        """(log position, digest) of the live release; None before anything was published."""
        with self.store.reading() as conn:
            row = conn.execute(
                select(release_log.c.seq, release_log.c.digest).order_by(release_log.c.seq.desc()).limit(1)
            ).first()
        return (int(row[0]), str(row[1])) if row else None

    def get(self, digest: str) -> StoredRelease | None:
        """The release stored under `digest` (a unique prefix of it will do)."""
        with self.store.reading() as conn:
            rows = conn.execute(select(releases).where(releases.c.digest.startswith(digest, autoescape=True)).limit(2)).all()
        if len(rows) != 1:
            return None
        row = rows[0]
        files = {name: body.encode("utf-8") for name, body in json.loads(row.files).items()}
        return StoredRelease(row.digest, row.published_at, row.published_by, row.message, row.summary, files)

    def history(self, limit: int = 50) -> list[LogEntry]:
        """The newest entries of the live-release log first."""
        return self._entries(select(release_log).order_by(release_log.c.seq.desc()).limit(limit))

    def made_live(self, digest: str, limit: int = 50) -> list[LogEntry]:
        """Each time the release `digest` (in full) was made live, newest first."""
        query = select(release_log).where(release_log.c.digest == digest).order_by(release_log.c.seq.desc()).limit(limit)
        return self._entries(query)

    def live_before(self, seq: int) -> LogEntry | None:
        """The log's entry just before `seq`: the release that was live until then (None for the first)."""
        query = select(release_log).where(release_log.c.seq < seq).order_by(release_log.c.seq.desc()).limit(1)
        found = self._entries(query)
        return found[0] if found else None

    def _entries(self, query: Select[Any]) -> list[LogEntry]:
        with self.store.reading() as conn:
            rows = conn.execute(query).all()
        return [LogEntry(r.seq, r.digest, r.at, r.by, r.action, r.message, r.summary) for r in rows]
