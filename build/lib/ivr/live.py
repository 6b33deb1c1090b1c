"""The release in force: publishing it, following it, and always having something to answer with.

Publishing validates the working files in full (everything `ivr check` proves), stores them as an
immutable release and appends it to the live log. Every process follows that log from a thread
of its own and swaps in a compiled snapshot; a request only reads the snapshot in force.

A process always boots: from the live release; if the database cannot be reached, from the
local last-good copy; if there is none, from the working files if they are valid; and if even
that fails, with no snapshot at all, so that each line gets its static safe answer.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import pickle
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr import config as config_module
from ivr.config.diff import routing_changes, summary
from ivr.config.files import FOLDERS, Files, digest_of, read_files, write_atomically, write_bytes_atomically, write_folder
from ivr.config.snapshot import Snapshot
from ivr.core.errors import ConfigError, IvrError, Problem
from ivr.core.line import Line
from ivr.records.releases import ReleaseStore
from ivr.records.store import CallStore

log = logging.getLogger(__name__)
LONDON = ZoneInfo("Europe/London")
SUMMARY_DAYS = 14  # how far ahead a release's one-line summary looks for routing changes
LIVE_POINTER = "live"  # in the release cache: the digest of the last release this machine served
# While a background thread compiles a release (or validates the working files), a request thread
# waits for the GIL after each database call or socket read: up to sys.getswitchinterval() each
# time (5 ms by default), which adds up to 100 ms and more for one webhook. 0.5 ms keeps a
# request's waits to a few milliseconds; the compiling thread barely notices.
SWITCH_SECONDS = 0.0005


class ReleaseError(IvrError, LookupError):
    """A release that cannot be found or made live."""


@dataclass(frozen=True, slots=True)
class Published:
    """What `publish` or `rollback` did."""

    digest: str
    changed: bool  # False when that release was live already
    summary: str
    changes_now: tuple[str, ...]  # routing changes that took effect at once


@dataclass(frozen=True, slots=True)
class Working:
    """The working files as last seen: their digest, and the problems that keep them from going live."""

    digest: str
    problems: tuple[Problem, ...] = ()

    @property
    def refused(self) -> bool:
        return bool(self.problems)


# -- compiling ---------------------------------------------------------------------------------


def compile_folder(folder: Path, now: datetime | None = None, prove: bool = False) -> Snapshot:
    """A snapshot of the configuration in `folder`; a stored release was proven when it was published."""
    return Snapshot.of(config_module.load(folder, now=now, prove_coverage=prove))


def validate(files: Files, now: datetime) -> config_module.Config:
    """Everything `ivr check` proves, for exactly these files (not the folder they came from)."""
    with tempfile.TemporaryDirectory(prefix="ivr-validate-") as scratch:
        return config_module.load(write_folder(files, Path(scratch) / "files"), now=now)


def load_each_line(folder: Path) -> dict[str, Line]:
    """Each line that loads on its own, for static safe answers when the whole set does not."""
    found: dict[str, Line] = {}
    for schedule in sorted((folder / "schedules").glob("*.yaml")):
        flow = folder / "flows" / schedule.name
        with tempfile.TemporaryDirectory(prefix="ivr-line-") as scratch:
            try:
                files = {f"schedules/{schedule.name}": schedule.read_bytes(), f"flows/{flow.name}": flow.read_bytes()}
                cfg = config_module.load(write_folder(files, Path(scratch) / "line"), prove_coverage=False)
            except Exception:  # this line cannot be served; the others still can
                log.exception("line %s cannot be loaded even on its own", schedule.stem)
                continue
        found.update(cfg.lines)
    return found


# -- publishing --------------------------------------------------------------------------------


class Publisher:
    """Publishes and rolls back releases; each routing change it makes is written to the history."""

    def __init__(self, store: CallStore, cache: Path) -> None:
        self.store = store
        self.releases = ReleaseStore(store)
        self.cache = cache

    def publish(self, config_dir: Path, now: datetime, by: str, message: str) -> Published:
        """Validate the working files in full and make them the live release."""
        return self.publish_files(read_files(config_dir), now, by, message)

    def publish_files(self, files: Files, now: datetime, by: str, message: str) -> Published:
        """Validate exactly these files in full and make them the live release."""
        new = validate(files, now)
        return self._make_live(files, new, now, by, "publish", message)

    def rollback(self, digest: str, now: datetime, by: str, message: str) -> Published:
        """Make an earlier release live again, after proving it still leaves no gap from now on."""
        stored = self.releases.get(digest)
        if stored is None:
            raise ReleaseError(f"no release {digest!r} (see `ivr releases`)")
        new = validate(stored.files, now)
        return self._make_live(stored.files, new, now, by, "rollback", message or f"rolled back to {stored.digest}")

    def _make_live(self, files: Files, new: config_module.Config, now: datetime, by: str, action: str, message: str) -> Published:
        """Append the release to the live log, saying what it changes against the release live before it.

        Only lines whose files differ can route differently, so only those are read back and compared:
        a change to one line of 153 costs one line's comparison.
        """
        digest = digest_of(files)
        live = self.releases.live()
        if live is not None and live[1] == digest:
            return Published(digest, False, "already live", ())
        before = self._files_of(live[1]) if live else None
        changed = changed_lines(before or {}, files)
        # With nothing before, this is the first release; else the changed lines as they were (none if added).
        old = None if before is None else _load_lines(before, changed) or config_module.Config({}, "")
        new_part = new.only(changed)
        said = summary(old, new_part if old else new, now, now + timedelta(days=SUMMARY_DAYS))
        if action == "publish":
            self.releases.save(digest, files, now, by, message, said)
        self.releases.make_live(digest, now, by, action, message, said)
        return Published(digest, True, said, self._record_changes(old, new_part, now, digest, by))

    def folder_of(self, digest: str) -> Path:
        """The release's files in the local cache, fetched from the database the first time."""
        folder = self.cache / digest
        if not folder.is_dir():
            stored = self.releases.get(digest)
            if stored is None or stored.digest != digest:
                raise ReleaseError(f"no release {digest!r} in the database")
            write_folder(stored.files, folder)
        return folder

    def _files_of(self, digest: str) -> Files | None:
        try:
            return read_files(self.folder_of(digest))
        except (ConfigError, ReleaseError):
            log.warning("the live release %s cannot be read back; comparing against nothing", digest)
            return None

    def _record_changes(
        self, old: config_module.Config | None, new: config_module.Config, now: datetime, digest: str, by: str
    ) -> tuple[str, ...]:
        """Write each service whose destination changes at this instant into the routing history.

        The first release changes nothing: before it, the working files were routing the calls.
        """
        if old is None:
            return ()
        changes = routing_changes(old, new, now, now + timedelta(seconds=1))
        rows = [(c.line, c.service, c.old.key if c.old else None, c.new.key if c.new else None) for c in changes]
        # One transaction for all of them: a publication of many lines must not queue the calls' own writes.
        self.store.routing_changes_by_release(now, rows, digest, by)
        return tuple(change.describe_now() for change in changes)


def changed_lines(old: Files, new: Files) -> set[str]:
    """The keys of the lines whose schedule or flow differs between two sets of files (added and removed too)."""
    keys = {Path(name).stem for name in (*old, *new)}
    return {key for key in keys if any(old.get(f"{folder}/{key}.yaml") != new.get(f"{folder}/{key}.yaml") for folder in FOLDERS)}


def _load_lines(files: Files, keys: set[str]) -> config_module.Config | None:
    """Just these lines of a stored release, unproven (it was proven when published)."""
    part = {name: body for name, body in files.items() if Path(name).stem in keys}
    with tempfile.TemporaryDirectory(prefix="ivr-compare-") as scratch:
        try:
            return config_module.load(write_folder(part, Path(scratch) / "files"), prove_coverage=False) if part else None
        except ConfigError:
            log.warning("the live release's lines %s cannot be read back; comparing against nothing", sorted(keys))
            return None


# -- following ---------------------------------------------------------------------------------


class LiveRelease:
    """The snapshot this process serves, kept up to date by a thread that follows the live log."""

    def __init__(
        self,
        config_dir: Path,
        publisher: Publisher,
        poll_seconds: float = 1.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config_dir = Path(config_dir)
        self.publisher = publisher
        self.poll_seconds = poll_seconds
        self._clock = clock
        self._snapshot: Snapshot | None = None
        self.source = "nothing"  # release, last-good copy, working files, or nothing
        self.since: float = time.time()  # when the snapshot in force went live here
        self.static_lines: dict[str, Line] = {}
        self.working: Working | None = None
        self._failed: set[str] = set()  # releases that would not compile here; not retried every poll
        self._seen: tuple[tuple[str, int, int], ...] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._following = True

    # -- what requests read ----------------------------------------------------------------------

    def current(self) -> Snapshot | None:
        """The snapshot in force, or None when nothing valid could be loaded (static answers only)."""
        return self._snapshot

    @property
    def digest(self) -> str | None:
        return self._snapshot.config.digest if self._snapshot else None

    # -- booting ---------------------------------------------------------------------------------

    def boot(self, from_releases: bool = True) -> None:
        """Load something to serve, in the documented order; never raises.

        `from_releases=False` serves the working files as they are (a simulated call tries them).
        """
        self._following = from_releases
        live = None
        try:
            live = self.publisher.releases.live() if from_releases else None
        except Exception as exc:  # noqa: BLE001 - an unreachable database must not stop a worker booting
            log.warning("the release log cannot be read (%s); booting from the local copy", _short(exc))
        if live is not None and self._adopt(live[1], "release"):
            return
        pointer = self.publisher.cache / LIVE_POINTER
        if from_releases and pointer.is_file():
            digest = pointer.read_text().strip()
            if (self.publisher.cache / digest).is_dir() and self._adopt(digest, "last-good copy"):
                return
        try:
            # Exactly what publishing would accept: read_files refuses links out of the folder and oversized files.
            snapshot = Snapshot.of(validate(read_files(self.config_dir), self._now()))
        except Exception as exc:  # noqa: BLE001 - ConfigError, or anything else the files cause
            log.error("no release, no local copy, and the working files are refused:\n%s", exc)
            self.static_lines = load_each_line(self.config_dir)
            log.error("serving static safe answers for %s", ", ".join(sorted(self.static_lines)) or "no line")
            return
        self._swap(snapshot, "working files")

    def _adopt(self, digest: str, source: str) -> bool:
        try:
            snapshot = self._compiled(digest)
        except Exception as exc:  # noqa: BLE001 - keep what is served; say so once
            if digest not in self._failed:
                log.error("release %s cannot be served here: %s", digest, _short(exc))
            self._failed.add(digest)
            return False
        self._swap(snapshot, source)
        write_atomically(self.publisher.cache / LIVE_POINTER, digest + "\n")
        return True

    def _compiled(self, digest: str) -> Snapshot:
        """The release compiled: by the first process on this machine, which saves it; loaded by the others.

        Every worker compiling the same release at once would take each a second or more of CPU
        from the calls; loading the saved snapshot takes a fraction of that. The file is named by
        the code's stamp too, so a deploy never loads a snapshot that older code pickled.
        """
        cache = self.publisher.cache
        folder = self.publisher.folder_of(digest)
        saved = cache / f"{digest}-{CODE_STAMP}.snapshot"
        with _locked(cache / f".{digest}.lock"):
            if saved.is_file():
                try:
                    loaded = pickle.loads(saved.read_bytes())  # written by this machine's own processes
                    if isinstance(loaded, Snapshot) and loaded.config.digest == digest:
                        return loaded
                except Exception:  # noqa: BLE001 - a damaged file is compiled again, never trusted
                    log.warning("the saved snapshot of %s could not be read; compiling it", digest)
            snapshot = compile_folder(folder)
            write_bytes_atomically(saved, pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL))
            return snapshot

    def _swap(self, snapshot: Snapshot, source: str) -> None:
        previous = self.digest
        self._snapshot = snapshot  # one reference assignment: a request sees the old or the new
        self.source = source
        self.since = time.time()
        self.static_lines = dict(snapshot.config.lines)
        log.warning("configuration %s is live from the %s (was %s)", snapshot.config.digest, source, previous or "nothing")

    # -- following -------------------------------------------------------------------------------

    def start(self) -> None:
        """Follow the live log (and watch the working files) from a daemon thread."""
        if self._thread is None:
            sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_SECONDS))
            self._thread = threading.Thread(target=self._follow, name="ivr-live-release", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _follow(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.refresh()

    def refresh(self) -> bool:
        """One look at the live log and the working files; True when a new release went live here."""
        with self._lock:
            changed = False
            try:
                live = self.publisher.releases.live() if self._following else None
                if live is not None and live[1] == self.digest and self.source != "release":
                    self.source = "release"  # the files served are now the published release: nothing to compile
                    self.publisher.folder_of(live[1])
                    write_atomically(self.publisher.cache / LIVE_POINTER, live[1] + "\n")
                elif live is not None and live[1] != self.digest and live[1] not in self._failed:
                    changed = self._adopt(live[1], "release")
            except Exception as exc:  # noqa: BLE001 - the database may be down; keep serving what we have
                log.warning("cannot read the release log: %s", _short(exc))
            try:
                self._look_at_working_files()
            except Exception:
                log.exception("could not check the working files")
            return changed

    def _look_at_working_files(self) -> None:
        """When the working files change, say whether they differ from the live release and why they are refused."""
        seen = fingerprint(self.config_dir)
        if seen == self._seen:
            return
        self._seen = seen
        try:
            files = read_files(self.config_dir)
        except ConfigError as exc:
            self.working = Working("", tuple(exc.problems))
            return
        digest = digest_of(files)
        if self.working is not None and self.working.digest == digest:
            return
        if digest == self.digest:
            self.working = Working(digest)
            return
        try:
            validate(files, self._now())
            self.working = Working(digest)
        except ConfigError as exc:
            self.working = Working(digest, tuple(exc.problems))

    def _now(self) -> datetime:
        return self._clock() if self._clock else datetime.now(LONDON)


def fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, size and modification time of every configuration file (a few stat calls)."""
    entries = []
    for folder in ("flows", "schedules"):
        for path in sorted((directory / folder).glob("*.yaml")):
            try:
                stat = path.stat()
            except OSError:  # removed between glob and stat, or a dangling link
                continue
            entries.append((f"{folder}/{path.name}", stat.st_size, stat.st_mtime_ns))
    return tuple(entries)


def _code_stamp() -> str:
    """Names this version of the package's code (its files' sizes and times), for saved snapshots."""
    package = Path(__file__).resolve().parent
    stamp = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        stat = path.stat()
        stamp.update(f"{path.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    stamp.update(sys.version.encode())
    return stamp.hexdigest()[:12]


CODE_STAMP = _code_stamp()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock shared by this machine's processes (released when the file closes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
