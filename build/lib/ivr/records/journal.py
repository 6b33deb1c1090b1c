"""The call records' journal: each process appends what its webhooks heard to files of its own.

A webhook's facts are one line, written with one `write` to a file opened for appending, before
the caller is answered. Once `write` returns the line is the kernel's: a process killed at any
instant afterwards loses nothing (a machine losing power may lose the last moments; see README).
The ingester (ivr.records.ingest) moves closed files into the database and deletes them.

Layout of the folder (one per machine, shared by its processes):

    <owner>.lock                   held (flock) by the living process `owner` for its whole life
    <owner>.<seq>.<ms>.jsonl       its journal files; `ms` is when the first line was written
    unreadable/                    lines that could not be read, kept for a person to look at

A lock file nobody holds belongs to a dead process: the next process to look takes its files over.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
SUFFIX = ".jsonl"
LOCK_SUFFIX = ".lock"
UNREADABLE = "unreadable"

# One record operation: a list whose first item says what it is (see ivr.records.recorder).
Op = list[Any]


@dataclass(frozen=True, slots=True)
class Segment:
    """One journal file."""

    path: Path
    owner: str
    seq: int
    started_ms: int

    @classmethod
    def parse(cls, path: Path) -> Segment | None:
        parts = path.name[: -len(SUFFIX)].split(".") if path.name.endswith(SUFFIX) else []
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
            return None
        return cls(path, parts[0], int(parts[1]), int(parts[2]))


@dataclass(frozen=True, slots=True)
class Backlog:
    """What this machine's journals hold that the database does not have yet."""

    files: int = 0
    bytes: int = 0
    oldest_seconds: float = 0.0  # age of the oldest line waiting; 0 when nothing waits

    def as_json(self) -> dict[str, Any]:
        return {"files": self.files, "bytes": self.bytes, "oldest_seconds": round(self.oldest_seconds, 1)}


class JournalError(OSError):
    """The journal cannot be written (the folder is missing, full or read-only)."""


class Journal:
    """This process's journal, in `folder`; thread-safe."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._lock = threading.Lock()
        self._fd: int | None = None  # the file being appended to
        self._current: Path | None = None
        self._seq = 0
        self._closed_upto = 0  # our files numbered up to this are closed
        self._held: int | None = None  # our lock file, held while we live

    # -- writing ---------------------------------------------------------------------------------

    def append(self, ops: list[Op]) -> None:
        """Write `ops` as one line with one write; raises JournalError if it cannot be written whole."""
        line = (json.dumps(ops, separators=(",", ":"), ensure_ascii=False, default=str) + "\n").encode()
        with self._lock:
            try:
                fd = self._fd if self._fd is not None else self._open()
                written = os.write(fd, line)
            except OSError as exc:
                raise JournalError(
                    exc.errno, f"cannot append to the call-record journal in {self.folder}: {exc.strerror}"
                ) from exc
            if written != len(line):  # a full disk: the torn line is skipped when read; start a new file
                self._close_current()
                raise JournalError(0, f"the call-record journal in {self.folder} took {written} of {len(line)} bytes")

    def rotate(self) -> Path | None:
        """Close the file being appended to, so it can be ingested; returns it, or None if there was none."""
        with self._lock:
            return self._close_current()

    def close(self) -> None:
        """Stop appending and let go of the lock file (what is left is taken over by the next process)."""
        with self._lock:
            self._close_current()
            if self._held is not None:
                os.close(self._held)
                self._held = None

    def _open(self) -> int:
        if self._held is None:
            self._held = self._take_lock()
        self._seq += 1
        path = self.folder / f"{self.owner}.{self._seq:08d}.{int(time.time() * 1000)}{SUFFIX}"
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        self._current = path
        return self._fd

    def _close_current(self) -> Path | None:
        path, fd = self._current, self._fd
        self._fd = self._current = None
        if fd is not None:
            os.close(fd)
            self._closed_upto = self._seq
        return path

    def _take_lock(self) -> int:
        """Our lock file, locked before it is visible, so no other process ever sees it unheld while we live."""
        self.folder.mkdir(parents=True, exist_ok=True)
        draft = self.folder / f".{self.owner}{LOCK_SUFFIX}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(draft, self.folder / f"{self.owner}{LOCK_SUFFIX}")
        return fd

    # -- reading ---------------------------------------------------------------------------------

    def closed_segments(self) -> list[Segment]:
        """Our files no longer appended to, oldest first."""
        # By number, not by "not the current one": a file opened while we list must not count as closed.
        upto = self._closed_upto
        found = [s for s in self.segments() if s.owner == self.owner and s.seq <= upto]
        return sorted(found, key=lambda s: s.seq)

    def segments(self) -> list[Segment]:
        """Every journal file in the folder, of every process."""
        return [s for s in (Segment.parse(self.folder / name) for name in _listdir(self.folder)) if s is not None]

    @contextlib.contextmanager
    def orphans(self) -> Iterator[list[Segment]]:
        """The files of processes that died (their lock is free), held so that no other process takes them too.

        Leaving the block removes the dead process's lock file: call `forget` for each file once stored.
        """
        taken: list[tuple[Path, int]] = []
        try:
            owners: set[str] = set()
            for name in _listdir(self.folder):
                if not name.endswith(LOCK_SUFFIX) or name.startswith("."):
                    continue
                owner = name[: -len(LOCK_SUFFIX)]
                if owner == self.owner:
                    continue
                fd = _try_lock(self.folder / name)
                if fd is not None:
                    taken.append((self.folder / name, fd))
                    owners.add(owner)
            # Files whose lock file is gone (a taker died after removing it) are anybody's: owners
            # of living processes always have one, made before their first file.
            living = {n[: -len(LOCK_SUFFIX)] for n in _listdir(self.folder) if n.endswith(LOCK_SUFFIX)}
            found = [s for s in self.segments() if s.owner in owners or (s.owner not in living and s.owner != self.owner)]
            yield sorted(found, key=lambda s: (s.started_ms, s.owner, s.seq))
            for path, _fd in taken:
                if not any(s.owner == path.name[: -len(LOCK_SUFFIX)] for s in self.segments()):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
        finally:
            for _path, fd in taken:
                os.close(fd)

    def forget(self, segment: Segment) -> None:
        """Delete a file whose every line is stored."""
        with contextlib.suppress(FileNotFoundError):
            segment.path.unlink()

    def set_aside(self, segment: Segment, lines: list[bytes]) -> Path:
        """Keep lines that cannot be read where a person will find them."""
        folder = self.folder / UNREADABLE
        folder.mkdir(exist_ok=True)
        kept = folder / segment.path.name
        with open(kept, "ab") as out:
            out.writelines(line if line.endswith(b"\n") else line + b"\n" for line in lines)
        return kept

    def backlog(self, now: float | None = None) -> Backlog:
        """Every file waiting in the folder (this machine's processes alike): count, size, age of the oldest."""
        now = time.time() if now is None else now
        files = size = 0
        oldest: int | None = None
        for segment in self.segments():
            try:
                length = segment.path.stat().st_size
            except FileNotFoundError:
                continue  # stored and deleted while we looked
            if length == 0:
                continue
            files += 1
            size += length
            oldest = segment.started_ms if oldest is None else min(oldest, segment.started_ms)
        return Backlog(files, size, max(0.0, now - oldest / 1000) if oldest is not None else 0.0)

    def find(self, needle: bytes) -> bool:
        """Whether any line waiting in the folder (any process's) contains `needle`."""
        for segment in self.segments():
            with contextlib.suppress(FileNotFoundError), open(segment.path, "rb") as f:
                if needle in f.read():
                    return True
        return False


def read_lines(segment: Segment) -> list[tuple[bytes, list[Op] | None]]:
    """Each line of a file as written, with its operations, or None when it cannot be read."""
    with open(segment.path, "rb") as f:
        data = f.read()
    found: list[tuple[bytes, list[Op] | None]] = []
    for raw in data.splitlines(keepends=True):
        if not raw.strip():
            continue
        ops: Any = None
        if raw.endswith(b"\n"):  # a line without its end was cut short (a full disk)
            try:
                ops = json.loads(raw)
            except ValueError:
                ops = None
        good = isinstance(ops, list) and all(isinstance(op, list) and op for op in ops)
        found.append((raw, ops if good else None))
    return found


def _listdir(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):  # nothing was ever written there
        return []


def _try_lock(path: Path) -> int | None:
    """An open, locked descriptor of `path` when nobody else holds it; else None."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd
