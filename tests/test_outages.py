"""Outages during a burst of calls against a real gunicorn (4 workers, 200 calls of 5 requests each).

PostgreSQL stopped or frozen for 10 s, two workers killed, the SQLite folder made unwritable:
every call is answered, /healthz says records are waiting, and once the database is back every
fact of every answered call is stored exactly once. PostgreSQL here is always a cluster the test
starts itself (tests/pg_cluster.py); the machine's shared server is never stopped or frozen.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import Table, func, select

from ivr import config
from ivr.core.flow import CallFlow
from ivr.records.store import CallStore, acceptances, calls, events
from tests.builders import screened_copy
from tests.pg_cluster import Cluster, ClusterError, start_cluster
from tests.test_reliability import (
    CALLS,
    WORKERS,
    _children,
    assert_complete_and_unique,
    burst,
    gunicorn,
    http_transport,
    records_stored,
)

OUTAGE = 10.0  # seconds the database is away
OUTAGE_AT = 1.0  # seconds into the burst
SPREAD = 15.0  # calls keep starting for this long, so that hundreds of requests are answered during the outage
DRAIN = 60.0  # the longest the backlog may take to reach the database once it is back
SLOWEST = 1.0  # seconds: no request may wait longer on a frozen database
# What one call of the burst leaves, counted by hand from its five requests: the start menu
# played, key 1 pressed, child-at-risk routed to the team on duty, the team's answerer pressing
# to accept (the screening request), the dial connected, and the call's end.
ONE_CALL = Counter({"menu": 1, "key": 1, "route": 1, "screen": 1, "dial": 1, "end": 1})
# Capabilities that let root ignore file modes (capabilities(7): DAC_OVERRIDE 1, DAC_READ_SEARCH 2, FOWNER 3).
MODE_OVERRIDES = {"dac_override": 1, "dac_read_search": 2, "fowner": 3}


@pytest.fixture(scope="module")
def wiltshire() -> CallFlow:
    return CallFlow(config.load().line("wiltshire"))


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL server of this test's own, deleted after; fails (never skips) without the server binaries."""
    try:
        started = start_cluster()
    except ClusterError as exc:
        pytest.fail(f"PostgreSQL: {exc}", pytrace=False)
    try:
        yield started
    finally:
        started.stop()


# -- what the callers saw ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """One webhook request of the burst: its call, path, when it was sent, how long it took, the status (None: no answer)."""

    call: str
    path: str
    started: float
    seconds: float
    status: int | None


class TimedTransport:
    """`http_transport()` with each request's call, time taken and status noted."""

    def __init__(self) -> None:
        self._post = http_transport()
        self._lock = threading.Lock()
        self.sent: list[Sent] = []

    def __call__(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        started = time.monotonic()
        status: int | None = None
        try:
            status, body = self._post(url, params, headers)
            return status, body
        finally:
            # The answerer's requests carry its own leg's CallSid; they belong to the caller's call.
            call = params.get("ParentCallSid") or params["CallSid"]
            with self._lock:
                self.sent.append(Sent(call, urlsplit(url).path, started, time.monotonic() - started, status))

    def answered_within(self, start: float, end: float) -> list[Sent]:
        """Requests sent and answered 200 between `start` and `end` (time.monotonic())."""
        return [s for s in self.sent if s.status == 200 and start <= s.started and s.started + s.seconds <= end]

    def fully_answered(self) -> set[str]:
        """Calls whose every request was answered 200."""
        failed = {s.call for s in self.sent if s.status != 200}
        return {s.call for s in self.sent} - failed


# -- what /healthz said --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Health:
    at: float
    files: int
    bytes: int
    oldest_seconds: float
    failing: bool


class HealthWatch:
    """Asks /healthz every 0.2 s from a thread while inside `with`; keeps every answer."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.samples: list[Health] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="healthz-watch", daemon=True)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.wait(0.2):
                try:
                    body = session.get(f"{self.base}/healthz", timeout=2).json()
                except (requests.RequestException, ValueError):
                    continue  # a worker killed or busy: the next look will do
                backlog = body["records_backlog"]
                self.samples.append(
                    Health(
                        time.monotonic(), backlog["files"], backlog["bytes"], backlog["oldest_seconds"], body["records_failing"]
                    )
                )

    def within(self, start: float, end: float) -> list[Health]:
        return [h for h in self.samples if start <= h.at <= end]


def failing_cleared(base: str, timeout: float = 20) -> bool:
    """Whether /healthz soon says records_failing false 12 times in a row (the 4 workers take turns answering)."""
    deadline = time.monotonic() + timeout
    streak = 0
    while time.monotonic() < deadline and streak < 12:
        streak = 0 if requests.get(f"{base}/healthz", timeout=5).json()["records_failing"] else streak + 1
        time.sleep(0.05)
    return streak >= 12


# -- what the database holds ---------------------------------------------------------------------


def create_schema(url: str, instance: Path) -> None:
    """The schema, made before gunicorn starts (its workers would make it too, all at once)."""
    store = CallStore(url, instance_path=instance)
    try:
        store.upgrade()
    finally:
        store.close()


def stored_kinds(store: CallStore) -> dict[str, Counter[str]]:
    """How many events of each kind the database holds for each call."""
    query = select(events.c.call_sid, events.c.kind, func.count()).group_by(events.c.call_sid, events.c.kind)
    found: dict[str, Counter[str]] = {}
    with store.reading() as conn:
        for sid, kind, count in conn.execute(query):
            found.setdefault(sid, Counter())[kind] = count
    return found


def rows(store: CallStore, table: Table) -> int:
    with store.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def assert_every_fact_once(url: str, instance: Path, sids: list[str]) -> None:
    """Each call's events are exactly ONE_CALL, nothing else is stored, and one call row and one acceptance per call."""
    store = CallStore(url, instance_path=instance)
    try:
        stored = stored_kinds(store)
        wrong = {sid: dict(stored.get(sid, Counter())) for sid in sids if stored.get(sid) != ONE_CALL}
        assert wrong == {}, f"{len(wrong)} of {len(sids)} calls are not stored exactly once each, e.g. {list(wrong.items())[:3]}"
        assert sorted(stored) == sorted(sids)
        assert (rows(store, calls), rows(store, acceptances)) == (len(sids), len(sids))
        assert_complete_and_unique(store, sids)  # and read back as a person would, through CallStore.story
    finally:
        store.close()


# -- outages ---------------------------------------------------------------------------------------


def _stopped_for(cluster: Cluster) -> tuple[float, float]:
    """Stop the server OUTAGE_AT seconds from now, start it again OUTAGE seconds later; (down, up) in time.monotonic()."""
    time.sleep(OUTAGE_AT)
    down = up = time.monotonic()
    try:
        cluster.stop_server()
        down = time.monotonic()
        time.sleep(OUTAGE)
    finally:
        up = time.monotonic()
        if not (cluster.data / "postmaster.pid").exists():
            cluster.start_server()
    return down, up


def _frozen_for(cluster: Cluster) -> tuple[float, float, dict[int, str]]:
    """SIGSTOP the postmaster and every backend for OUTAGE seconds, always SIGCONT after; (down, up, state of each)."""
    time.sleep(OUTAGE_AT)
    postmaster = cluster.postmaster_pid()
    frozen: list[int] = []
    states: dict[int, str] = {}
    down = up = time.monotonic()
    try:
        os.kill(postmaster, signal.SIGSTOP)
        frozen.append(postmaster)
        for pid in _children(postmaster):  # listed once the postmaster is stopped: it starts no more
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                frozen.append(pid)
        down = time.monotonic()
        time.sleep(0.2)
        states = {pid: _state(pid) for pid in frozen}
        time.sleep(OUTAGE - 0.2)
    finally:
        up = time.monotonic()
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    return down, up, states


def _unwritable_for(folder: Path) -> tuple[float, float]:
    """Make `folder` 0555 and its files 0444 OUTAGE_AT seconds from now, for OUTAGE seconds; (down, up)."""
    time.sleep(OUTAGE_AT)
    files = sorted(folder.iterdir())
    down = up = time.monotonic()
    try:
        for path in files:
            path.chmod(0o444)
        folder.chmod(0o555)
        down = time.monotonic()
        time.sleep(OUTAGE)
    finally:
        up = time.monotonic()
        folder.chmod(0o755)
        for path in files:
            with contextlib.suppress(FileNotFoundError):
                path.chmod(0o644)
    return down, up


def _state(pid: int) -> str:
    """A process's state letter from /proc (T: stopped by a signal)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def _bound_by_file_modes() -> list[str]:
    """A command under which file modes bind gunicorn: as root, setpriv drops the capabilities that override them.

    Running as `nobody` would do too, but the venv's interpreter lives under /root (mode 0700); root
    without these capabilities is held to the modes exactly as any user is.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("setpriv (util-linux) is needed to run gunicorn without root's override of file modes", pytrace=False)
    drop = ",".join(f"-{name}" for name in MODE_OVERRIDES)
    return [setpriv, f"--bounding-set={drop}", f"--inh-caps={drop}", "--"]


def _overrides_file_modes(pid: int) -> bool:
    status = (Path("/proc") / str(pid) / "status").read_text()
    effective = int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:")), 16)
    return any(effective >> bit & 1 for bit in MODE_OVERRIDES.values())


def _journal_files(folder: Path, pid: int) -> list[Path]:
    """Worker `pid`'s journal files that hold lines."""
    found = []
    for path in folder.glob(f"{pid}-*.jsonl"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size > 0:
                found.append(path)
    return found


def _kill_while_journalling(folder: Path, pid: int) -> list[str]:
    """SIGKILL worker `pid` at a moment its journal holds lines not yet stored; the names of the files it left."""
    deadline = time.monotonic() + 10
    while not _journal_files(folder, pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"worker {pid} wrote nothing to its journal in 10 s")
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    return sorted(path.name for path in _journal_files(folder, pid))


# -- the tests -------------------------------------------------------------------------------------


def test_postgresql_stopped_for_10_s_mid_burst_every_call_answered_and_every_fact_stored_once(
    cluster: Cluster, tmp_path: Path, wiltshire: CallFlow
) -> None:
    """PostgreSQL stopped (pg_ctl -m fast) for 10 s mid-burst: no call fails, /healthz shows the backlog, all stored once after."""
    create_schema(cluster.url, tmp_path)
    transport = TimedTransport()
    with gunicorn(tmp_path, cluster.url, screened_copy(tmp_path / "screened")) as (_, base, _log), HealthWatch(base) as health:
        with ThreadPoolExecutor(1) as pool:
            outage = pool.submit(_stopped_for, cluster)
            sids, errors = burst(base, CALLS, transport, wiltshire, spread=SPREAD)
            down, up = outage.result(timeout=OUTAGE + 180)
        records_stored(base, DRAIN)
        cleared = failing_cleared(base)
    assert errors == []
    during = transport.answered_within(down, up)
    assert len(during) >= 300, f"only {len(during)} requests answered while the server was stopped: the burst missed the outage"
    seen = health.within(down, up)
    assert any(h.failing and h.files > 0 for h in seen), f"/healthz during the outage: {seen[-5:]}"
    assert max(h.oldest_seconds for h in seen) >= OUTAGE / 2, f"/healthz during the outage: {seen[-5:]}"
    assert cleared, "/healthz still says records_failing 20 s after the backlog was stored"
    assert_every_fact_once(cluster.url, tmp_path, sids)


def test_postgresql_frozen_for_10_s_mid_burst_no_request_waits_a_second(
    cluster: Cluster, tmp_path: Path, wiltshire: CallFlow
) -> None:
    """PostgreSQL's postmaster and backends SIGSTOPped for 10 s mid-burst: every request answered within 1 s, all stored once after."""
    create_schema(cluster.url, tmp_path)
    transport = TimedTransport()
    with gunicorn(tmp_path, cluster.url, screened_copy(tmp_path / "screened")) as (_, base, _log), HealthWatch(base) as health:
        with ThreadPoolExecutor(1) as pool:
            freeze = pool.submit(_frozen_for, cluster)
            sids, errors = burst(base, CALLS, transport, wiltshire, spread=SPREAD)
            down, up, states = freeze.result(timeout=OUTAGE + 60)
        records_stored(base, DRAIN)
    assert len(states) > 1 and set(states.values()) == {"T"}, f"not every server process was stopped: {states}"
    assert errors == []
    slow = sorted((s for s in transport.sent if s.seconds > SLOWEST), key=lambda s: -s.seconds)
    assert slow == [], f"{len(slow)} request(s) took over {SLOWEST} s, e.g. {slow[:5]}"
    during = transport.answered_within(down, up)
    assert len(during) >= 300, f"only {len(during)} requests answered while the server was frozen: the burst missed the freeze"
    seen = health.within(down, up)
    assert max(h.oldest_seconds for h in seen) >= OUTAGE / 2, f"/healthz during the freeze: {seen[-5:]}"
    # Nothing fails while the server is frozen (the ingester just waits): the wait itself is reported.
    assert any(h.failing for h in seen), f"/healthz never said records_failing during the freeze: {seen[-5:]}"
    assert_every_fact_once(cluster.url, tmp_path, sids)


def test_two_workers_killed_mid_burst_lose_nothing_they_answered(cluster: Cluster, tmp_path: Path, wiltshire: CallFlow) -> None:
    """SIGKILL to two workers at different moments, each with unstored lines: their journals are taken over, every answered call stored once."""
    create_schema(cluster.url, tmp_path)
    journal = tmp_path / "journal"
    transport = TimedTransport()
    with gunicorn(tmp_path, cluster.url, screened_copy(tmp_path / "screened")) as (process, base, log):
        workers = _children(process.pid)
        assert len(workers) == WORKERS

        def killer() -> dict[int, list[str]]:
            left = {}
            for pid, at in ((workers[0], 1.0), (workers[1], 3.0)):
                time.sleep(max(0.0, started + at - time.monotonic()))
                left[pid] = _kill_while_journalling(journal, pid)
            return left

        with ThreadPoolExecutor(1) as pool:
            started = time.monotonic()
            kills = pool.submit(killer)
            _sids, errors = burst(base, CALLS, transport, wiltshire, spread=6.0)
            left = kills.result(timeout=30)
        took = time.monotonic() - started
        records_stored(base, DRAIN)
        living = _children(process.pid)
        remaining = sorted(path.name for path in journal.iterdir() if path.name.endswith((".jsonl", ".lock")))
        text = log.read_text(errors="replace")
    assert took > 3.5, "the burst ended before the second kill"
    assert not set(left) & set(living), f"killed {sorted(left)}, still serving {living}"
    # A sync worker serves one request at a time: each kill cuts at most the call it was serving.
    assert len(errors) <= 2, errors
    assert all(left.values()), f"a worker was killed with nothing waiting in its journal: {left}"
    for pid, names in left.items():
        for name in names:
            assert f"storing {name}, left by a process that stopped" in text, f"worker {pid}'s {name} was not taken over"
        assert not [n for n in remaining if n.startswith(f"{pid}-")], f"worker {pid}'s journal is still there: {remaining}"
    assert not [n for n in remaining if n.endswith(".jsonl")], remaining
    answered = transport.fully_answered()
    assert len(answered) >= CALLS - 2
    store = CallStore(cluster.url, instance_path=tmp_path)
    try:
        stored = stored_kinds(store)
        lost_or_doubled = {sid: dict(stored.get(sid, Counter())) for sid in answered if stored.get(sid) != ONE_CALL}
        assert lost_or_doubled == {}, f"answered calls not stored exactly once: {lost_or_doubled}"
        doubled = {sid: dict(kinds) for sid, kinds in stored.items() if max(kinds.values()) > 1}
        assert doubled == {}, doubled
        assert len(answered) <= rows(store, calls) <= CALLS
        assert_complete_and_unique(store, sorted(answered))
    finally:
        store.close()


def test_sqlite_folder_made_unwritable_mid_burst_records_wait_and_are_stored_once(tmp_path: Path, wiltshire: CallFlow) -> None:
    """The SQLite folder 0555 and its files 0444 for 10 s mid-burst: no call fails, /healthz shows a growing backlog, all stored once after."""
    instance, folder = tmp_path / "instance", tmp_path / "db"
    instance.mkdir()
    folder.mkdir()
    url = f"sqlite:///{folder / 'calls.sqlite3'}"
    create_schema(url, instance)
    transport = TimedTransport()
    bound = _bound_by_file_modes()
    with (
        gunicorn(instance, url, screened_copy(tmp_path / "screened"), wrapper=bound) as (process, base, _log),
        HealthWatch(base) as health,
    ):
        overriding = [pid for pid in [process.pid, *_children(process.pid)] if _overrides_file_modes(pid)]
        if overriding:
            pytest.fail(f"gunicorn processes that ignore file modes: {overriding}", pytrace=False)
        with ThreadPoolExecutor(1) as pool:
            outage = pool.submit(_unwritable_for, folder)
            sids, errors = burst(base, CALLS, transport, wiltshire, spread=SPREAD)
            down, up = outage.result(timeout=OUTAGE + 60)
        records_stored(base, DRAIN)
        cleared = failing_cleared(base)
    during = transport.answered_within(down, up)
    if len(during) < 300:
        pytest.fail(f"only {len(during)} requests answered while the folder was unwritable: the burst missed it", pytrace=False)
    assert errors == []
    seen = health.within(down, up)
    waiting = [h for h in seen if h.files > 0]
    assert waiting, f"/healthz showed no backlog while the database could not be written: {seen[-5:]}"
    assert waiting[-1].bytes > waiting[0].bytes and waiting[-1].oldest_seconds >= OUTAGE / 2, (
        f"the backlog did not grow: {waiting}"
    )
    assert any(h.failing for h in seen), f"/healthz never said records_failing: {seen[-5:]}"
    assert cleared, "/healthz still says records_failing 20 s after the backlog was stored"
    assert_every_fact_once(url, instance, sids)
