"""Configuration releases under real failure: a real gunicorn, killed workers, a stopped database, files half written.

Every call here goes over loopback HTTP to four gunicorn workers, signed as Twilio signs it. The
server's clock is the real one, so the assertions hold at any hour: a diversion covering all of
2026-2030 sends Hampshire's child-at-risk calls to a team no rule sends them to (the CRT
professionals' line or the LADO), so a call shows by its dialled number which release routed it.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
import requests
from twilio.request_validator import RequestValidator

from ivr import config
from ivr.config.files import digest_of, read_files
from ivr.core.flow import CallFlow
from ivr.live import Publisher
from ivr.records.releases import ReleaseStore
from ivr.records.store import CallStore
from ivr.simulate import Caller
from tests.builders import (
    CRT_OUT_OF_HOURS,
    HANTS_PROFESSIONALS,
    HANTS_PUBLIC,
    IOW_PUBLIC,
    LADO,
    MASH,
    WILTS_OUT_OF_HOURS,
    shipped_copy,
)
from tests.conftest import TOKEN
from tests.pg import postgres_schema
from tests.test_reliability import WORKERS, _children, _free_port, gunicorn

LONDON = ZoneInfo("Europe/London")
# A half-written file stays unchanged for PAUSE seconds: two runs of the leader's 1 s job see it
# unchanged, so only the settle time (SETTLE, longer) keeps it from being published.
PAUSE = 2.2
SETTLE = 4
CALLER = "+447911123456"
# Hampshire child-at-risk by the shipped rules: the CRT in office hours, Out of Hours at all other times.
UNDIVERTED = frozenset({HANTS_PUBLIC, CRT_OUT_OF_HOURS})
# Each line's static safe answer: its urgent service's rule and fallback numbers (hand-written from the pages).
STATIC_NUMBERS = {
    "hampshire": [HANTS_PUBLIC, CRT_OUT_OF_HOURS],
    "isle-of-wight": [IOW_PUBLIC, CRT_OUT_OF_HOURS],
    "wiltshire": [MASH, WILTS_OUT_OF_HOURS],
}
DIVERSION = (
    "overrides:\n"
    "  - {{services: [child-at-risk], to: {to}, from: 2026-01-01T00:00, until: 2030-01-01T00:00, reason: test diversion}}\n"
)


# -- configuration folders ---------------------------------------------------------------------


def diverted(folder: Path, to: str) -> Path:
    """A copy of the shipped configuration in `folder` with Hampshire's child-at-risk calls diverted to `to`."""
    shipped_copy(folder)
    path = folder / "schedules" / "hampshire.yaml"
    path.write_text(diverted_text(path.read_text(), to))
    return folder


def diverted_text(schedule: str, to: str) -> str:
    """Hampshire's schedule text with the all-time diversion to `to` in place of `overrides: []`."""
    assert schedule.count("overrides: []\n") == 1, "the shipped Hampshire schedule has changed shape"
    return schedule.replace("overrides: []\n", DIVERSION.format(to=to))


def publish(database_url: str, folder: Path, instance: Path) -> str:
    """Publish the files in `folder` as `ivr publish` does, from this process; the release's digest."""
    store = CallStore(database_url, instance_path=instance)
    try:
        done = Publisher(store, instance / "releases").publish(folder, datetime.now(LONDON), "test", "published by the test")
    finally:
        store.close()
    assert done.changed, f"{folder} was live already"
    return done.digest


@functools.cache
def flow_of(line: str) -> CallFlow:
    """The shipped flow of `line`: the simulated caller reads only its menus and destination names."""
    cfg = config.load()
    return CallFlow(cfg.line(line))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The call records' database: a SQLite file, or a fresh PostgreSQL schema (fails, never skips, when it is down)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'calls.sqlite3'}"
    else:
        with postgres_schema() as url:
            yield url


# -- the server --------------------------------------------------------------------------------


@dataclass
class Server:
    """A running gunicorn: its master process, base URL, log, and access log (which names each request's worker)."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path
    access: Path

    def workers(self) -> set[int]:
        return set(_children(self.process.pid))


@contextmanager
def serving(instance: Path, database_url: str, config_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """gunicorn with 4 workers, `instance` as IVR_INSTANCE_PATH, and an access log of worker pid and URL."""
    instance.mkdir(parents=True, exist_ok=True)
    access = instance / "access.log"
    cmd_args = f"--access-logfile {shlex.quote(str(access))} --access-logformat {shlex.quote('%(p)s %(U)s?%(q)s')}"
    env = {"GUNICORN_CMD_ARGS": cmd_args, **(extra_env or {})}
    with gunicorn(instance, database_url, config_dir, env) as (process, base, log):
        yield Server(process, base, log, access)


def sample_health(server: Server, count: int, threads: int = 8) -> list[tuple[int, dict[str, Any]]]:
    """`count` concurrent GET /healthz, each paired with the pid of the worker that answered it."""
    probes = [secrets.token_hex(6) for _ in range(count)]

    def get(probe: str) -> dict[str, Any]:
        response = requests.get(f"{server.base}/healthz", params={"probe": probe}, timeout=5)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    with ThreadPoolExecutor(threads) as pool:
        bodies = list(pool.map(get, probes))
    # gunicorn writes the access line just after the response is sent: wait for it, briefly.
    deadline = time.monotonic() + 5
    while True:
        logged = re.findall(r"^<(\d+)> /healthz\?probe=(\w+)$", server.access.read_text(), re.M)
        by_probe = {probe: int(pid) for pid, probe in logged}
        if all(p in by_probe for p in probes) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    missing = [p for p in probes if p not in by_probe]
    assert not missing, f"{len(missing)} probes are not in the access log"
    return [(by_probe[p], body) for p, body in zip(probes, bodies)]


def health_of_every_worker(server: Server, seconds: float = 10) -> dict[int, dict[str, Any]]:
    """/healthz as each of the master's live workers answers it, sampling until every one has answered."""
    wanted = server.workers()
    assert len(wanted) == WORKERS, f"{len(wanted)} workers: {sorted(wanted)}"
    seen: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + seconds
    while not wanted <= seen.keys():
        assert time.monotonic() < deadline, f"workers {sorted(wanted - seen.keys())} never answered /healthz"
        seen.update(sample_health(server, 16))
    return {pid: seen[pid] for pid in wanted}


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll `condition` until it holds; fail naming `what` after `seconds`. Returns the time it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"not within {seconds} s: {what}"
        time.sleep(0.1)
    return time.monotonic() - started


def every_worker_on(server: Server, digest: str, source: str = "release") -> Callable[[], bool]:
    """A condition: every worker serves `digest`, loaded from `source`."""

    def check() -> bool:
        return all(h["release"] == digest and h["source"] == source for h in health_of_every_worker(server).values())

    return check


# -- calls -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    """One simulated call: when it started (monotonic), its line, the number it was connected to, or its error."""

    started: float
    line: str
    number: str | None
    error: str = ""


@dataclass
class TimedTransport:
    """POST over HTTP, keeping each request's latency as the caller sees it (time.perf_counter)."""

    latencies: list[tuple[float, float, str]] = field(default_factory=list)  # (started, seconds, path)

    def __call__(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        started = time.perf_counter()
        response = requests.post(url, data=params, headers=headers, timeout=20)
        self.latencies.append((started, time.perf_counter() - started, url.split("/", 3)[-1]))
        return response.status_code, response.text


def call(base: str, line: str = "hampshire", transport: TimedTransport | None = None) -> Placed:
    """One call to `line`: press 1 (child at risk); the team answers and accepts."""
    started = time.monotonic()
    try:
        result = Caller(
            transport or TimedTransport(), TOKEN, flow_of(line), base, datetime.now(LONDON), "1", CALLER, ["completed"]
        ).run()
    except Exception as exc:  # noqa: BLE001 - kept and asserted on by the test
        return Placed(started, line, None, f"{type(exc).__name__}: {exc}")
    return Placed(started, line, result.connected_to, "" if result.connected_to else "not connected")


class CallLoop:
    """Calls one after another at a steady pace from a thread of its own, until stopped (at most 120 s)."""

    def __init__(self, base: str, every: float, lines: tuple[str, ...] = ("hampshire",)) -> None:
        self.base = base
        self.every = every
        self.lines = lines
        self.placed: list[Placed] = []
        self.transport = TimedTransport()
        self._turn = threading.Lock()  # held while a call is in progress
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="call-loop", daemon=True)

    def __enter__(self) -> CallLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the call loop did not stop"

    @contextmanager
    def between_calls(self) -> Iterator[None]:
        """Do something while no call is in progress."""
        with self._turn:
            yield

    @property
    def errors(self) -> list[Placed]:
        return [p for p in self.placed if p.error]

    def _run(self) -> None:
        next_at = time.monotonic()
        ends = next_at + 120
        n = 0
        while not self._stop.wait(max(0.0, next_at - time.monotonic())) and time.monotonic() < ends:
            with self._turn:
                self.placed.append(call(self.base, self.lines[n % len(self.lines)], self.transport))
            n += 1
            next_at += self.every


class HealthWatch:
    """GET /healthz at a steady pace from a thread of its own; keeps every digest seen."""

    def __init__(self, base: str, every: float) -> None:
        self.base = base
        self.every = every
        self.digests: list[str | None] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-watch", daemon=True)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        ends = time.monotonic() + 120
        while not self._stop.wait(self.every) and time.monotonic() < ends:
            try:
                self.digests.append(requests.get(f"{self.base}/healthz", timeout=5).json()["release"])
            except Exception as exc:  # noqa: BLE001 - kept and asserted on by the test
                self.failures.append(f"{type(exc).__name__}: {exc}")


def dialled_numbers(body: str) -> list[str]:
    """The numbers of every <Dial><Number> in a TwiML document, in order."""
    doc = ElementTree.fromstring(body)
    assert doc.tag == "Response", body
    return [(n.text or "").strip() for dial in doc.iter("Dial") for n in dial if n.tag == "Number"]


def signed_post(base: str, path: str, params: dict[str, str]) -> requests.Response:
    """POST as Twilio would, with a valid X-Twilio-Signature."""
    url = f"{base}{path}"
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    return requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)


def break_a_file(config_dir: Path) -> None:
    """Leave an unreadable schedule in the working files, as a half-finished edit would."""
    (config_dir / "schedules" / "wiltshire.yaml").write_text("line: wiltshire\ndestinations: [mash, {\n")


# -- the tests ---------------------------------------------------------------------------------


def test_killed_worker_comes_back_on_the_published_release_despite_a_broken_file(database_url: str, tmp_path: Path) -> None:
    """With a broken file on disk, a SIGKILLed worker is replaced; 30 s of calls all route by the published release."""
    config_dir = shipped_copy(tmp_path / "config")
    staged = diverted(tmp_path / "staged", "crt-professionals")
    with serving(tmp_path / "server", database_url, config_dir) as server:
        digest = publish(database_url, staged, tmp_path / "publisher")
        wait_until(every_worker_on(server, digest), 10, f"every worker on {digest}")
        break_a_file(config_dir)
        wait_until(lambda: all(h["working_files"] == "refused" for h in health_of_every_worker(server).values()), 10, "refused")
        before = server.workers()
        victim = min(before)
        with CallLoop(server.base, every=0.15) as calls:
            time.sleep(0.5)
            with calls.between_calls():
                os.kill(victim, signal.SIGKILL)
                killed_at = time.monotonic()
            time.sleep(30)
        master_alive = server.process.poll() is None
        after = server.workers()
        healths = health_of_every_worker(server)
    after_kill = [p for p in calls.placed if p.started > killed_at]
    assert len(after_kill) >= 100, f"only {len(after_kill)} calls in the 30 s after the kill"
    assert calls.errors == [], calls.errors[:5]
    assert {p.number for p in calls.placed} == {HANTS_PROFESSIONALS}, "a call was not routed by the published diversion"
    assert master_alive, "the gunicorn master died"
    assert victim not in after and len(after - before) == 1, f"before {sorted(before)}, after {sorted(after)}"
    for pid, health in healths.items():
        assert health["ok"] and health["release"] == digest and health["source"] == "release", (pid, health)
        assert health["working_files"] == "refused", (pid, health)


def test_two_publications_a_second_apart_every_worker_on_the_second_within_3_seconds(database_url: str, tmp_path: Path) -> None:
    """Two releases published 1 s apart: within 3 s all 40 /healthz samples name the second; every call then routes by it."""
    config_dir = shipped_copy(tmp_path / "config")
    first = diverted(tmp_path / "first", "crt-professionals")
    second = diverted(tmp_path / "second", "lado")
    with serving(tmp_path / "server", database_url, config_dir) as server:
        publish(database_url, first, tmp_path / "publisher")
        time.sleep(1)
        digest = publish(database_url, second, tmp_path / "publisher")
        published = time.monotonic()
        samples: list[tuple[int, dict[str, Any]]] = []
        while time.monotonic() - published < 3:
            samples = sample_health(server, 40)
            if all(h["release"] == digest for _, h in samples):
                break
        took = time.monotonic() - published
        healths = health_of_every_worker(server)
        placed = [call(server.base) for _ in range(30)]
    assert all(h["release"] == digest for _, h in samples), f"after {took:.1f} s: {[h['release'] for _, h in samples]}"
    assert took <= 3, f"every worker was on {digest} only after {took:.1f} s"
    assert all(h["release"] == digest for h in healths.values()), healths
    assert [p.number for p in placed] == [LADO] * 30, [p for p in placed if p.number != LADO]


def test_file_written_line_by_line_never_goes_live_half_written(database_url: str, tmp_path: Path) -> None:
    """A schedule written line by line over 3 s, pausing 2.2 s at a valid prefix: nothing half-written goes live."""
    config_dir = shipped_copy(tmp_path / "config")
    schedule = config_dir / "schedules" / "hampshire.yaml"
    new_text = diverted_text(schedule.read_text(), "crt-professionals")
    old = digest_of(read_files(config_dir))
    automatic = {"IVR_RUN_CLOCK": "1", "IVR_AUTO_PUBLISH": "1", "IVR_SETTLE_SECONDS": str(SETTLE)}
    with serving(tmp_path / "server", database_url, config_dir, automatic) as server:
        # Booted from the working files, which are then live already: nothing to publish until they change.
        wait_until(every_worker_on(server, old, "working files"), 15, "every worker on the working files")
        with CallLoop(server.base, every=0.1) as calls, HealthWatch(server.base, every=0.05) as watch:
            lines = new_text.splitlines(keepends=True)
            with schedule.open("w") as out:
                for line in lines:
                    out.write(line)
                    out.flush()
                    # Just before the diversion the file is valid but incomplete: linger there, short of settling.
                    time.sleep(PAUSE if line == "closures: []\n" else (3 - PAUSE) / len(lines))
            new = digest_of(read_files(config_dir))
            wait_until(every_worker_on(server, new), 15, "the complete file published and followed")
            adopted = time.monotonic()
            time.sleep(2)
        master_alive = server.process.poll() is None
        store = CallStore(database_url, instance_path=tmp_path / "reader")
        try:
            history = ReleaseStore(store).history()
            live = ReleaseStore(store).get(new)
        finally:
            store.close()
        log = server.log.read_text()
    assert master_alive
    assert calls.errors == [] and watch.failures == [], (calls.errors[:5], watch.failures[:5])
    assert len(calls.placed) >= 50, f"only {len(calls.placed)} calls"
    assert {p.number for p in calls.placed} <= UNDIVERTED | {HANTS_PROFESSIONALS}, "a call went neither the old nor the new way"
    assert {p.number for p in calls.placed if p.started > adopted} == {HANTS_PROFESSIONALS}
    assert set(watch.digests) == {old, new}, f"/healthz named {set(watch.digests) - {old, new}} besides {old} and {new}"
    assert [(e.digest, e.by) for e in history] == [(new, "automatic publishing")], "a half-written file was published"
    assert live is not None and live.files["schedules/hampshire.yaml"] == new_text.encode(), (
        "the release is not the complete file"
    )
    assert log.count(f"ALERT: published {new} automatically") == 1, "the new release was not alerted exactly once"


def unreachable(database_url: str, tmp_path: Path) -> str:
    """A database URL of the same kind that cannot be opened: a closed loopback port, or a SQLite file under a plain file."""
    if database_url.startswith("sqlite"):
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("")
        return f"sqlite:///{blocker}/calls.sqlite3"
    return f"postgresql://postgres@127.0.0.1:{_free_port()}/test"


def open_a_gap(config_dir: Path) -> None:
    """Hampshire's shipped schedule without child-at-risk's Out of Hours rule: the set is refused, each line loads alone."""
    shipped = (config.PROJECT_DIR / "schedules" / "hampshire.yaml").read_text()
    rule = '      - {name: Out of Hours, to: out-of-hours, days: every day, time: "00:00-24:00", on: any}\n'
    assert rule in shipped, "the shipped Hampshire schedule has changed shape"
    (config_dir / "schedules" / "hampshire.yaml").write_text(shipped.replace(rule, "", 1))


def test_database_unreachable_at_boot_last_good_copy_then_working_files_then_static_answers(
    database_url: str, tmp_path: Path
) -> None:
    """With the database down, workers boot from the last-good copy, else the working files, else each line's static answer."""
    config_dir = diverted(tmp_path / "config", "lado")  # the working files divert to the LADO
    staged = diverted(tmp_path / "staged", "crt-professionals")  # the release diverts to the CRT professionals
    instance = tmp_path / "server"
    with serving(instance, database_url, config_dir) as server:
        digest = publish(database_url, staged, tmp_path / "publisher")
        wait_until(every_worker_on(server, digest), 10, f"every worker on {digest}")
        served = call(server.base)
    assert served.number == HANTS_PROFESSIONALS, served
    assert (instance / "releases" / "live").read_text().strip() == digest

    down = unreachable(database_url, tmp_path)
    with serving(instance, down, config_dir) as server:
        from_copy = health_of_every_worker(server)
        placed = [call(server.base) for _ in range(12)]
    assert all(h["ok"] and h["source"] == "last-good copy" and h["release"] == digest for h in from_copy.values()), from_copy
    assert [p.number for p in placed] == [HANTS_PROFESSIONALS] * 12, placed

    with serving(tmp_path / "fresh", down, config_dir) as server:
        from_files = health_of_every_worker(server)
        placed = [call(server.base) for _ in range(12)]
    working = digest_of(read_files(config_dir))
    assert all(h["ok"] and h["source"] == "working files" and h["release"] == working for h in from_files.values()), from_files
    assert [p.number for p in placed] == [LADO] * 12, placed

    open_a_gap(config_dir)
    with serving(tmp_path / "bare", down, config_dir) as server:
        nothing = health_of_every_worker(server)
        answers = {
            line: [signed_post(server.base, f"/voice/{line}", {"CallSid": f"CA{n:032d}", "From": CALLER}) for n in range(8)]
            for line in STATIC_NUMBERS
        }
        master_alive = server.process.poll() is None
    assert master_alive
    assert all(not h["ok"] and h["source"] == "nothing" and h["release"] is None for h in nothing.values()), nothing
    for line, responses in answers.items():
        for response in responses:
            assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/xml"), response.text
            assert dialled_numbers(response.text) == STATIC_NUMBERS[line], f"{line}: {response.text}"


def unauthenticated_pages(base: str) -> list[requests.Response]:
    """Every page anyone may ask for without a password or a Twilio signature, and a few that do not exist."""
    get = ["/healthz", "/healthz?verbose=1", "/metrics", "/", "/admin/", "/admin/calls/CA1", "/voice/wiltshire", "/no-such-page"]
    get += ["/voice/fallback?line=wiltshire", "/voice/wiltshire/menu/main", "/static/../schedules/wiltshire.yaml"]
    post = ["/voice/wiltshire", "/voice", "/voice/fallback", "/voice/status", "/healthz"]
    pages = [requests.get(f"{base}{path}", timeout=5) for path in get]
    pages += [requests.post(f"{base}{path}", data={"CallSid": "CA1", "From": CALLER}, timeout=5) for path in post]
    forged = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    pages += [requests.post(f"{base}/voice/wiltshire", data={"CallSid": "CA1"}, headers=forged, timeout=5)]
    return pages


def secret_outside(tmp_path: Path) -> tuple[str, Path]:
    """A valid Wiltshire schedule outside any configuration folder, holding a secret string; (secret, its path)."""
    secret = f"SECRET-{secrets.token_hex(8)}"
    outside = tmp_path / "outside" / "wiltshire.yaml"
    outside.parent.mkdir()
    shipped = (config.PROJECT_DIR / "schedules" / "wiltshire.yaml").read_text()
    outside.write_text(f"# {secret}\n" + shipped.replace("name: the Multi-Agency Safeguarding Hub", f"name: the hub {secret}"))
    return secret, outside


def link_in(config_dir: Path, outside: Path) -> None:
    """Make schedules/wiltshire.yaml a link to `outside`."""
    link = config_dir / "schedules" / "wiltshire.yaml"
    link.unlink()
    link.symlink_to(outside)


def test_healthz_and_every_unauthenticated_page_never_show_a_linked_files_contents(tmp_path: Path) -> None:
    """schedules/wiltshire.yaml linked to a file outside the folder: no unauthenticated page shows its contents or path."""
    secret, outside = secret_outside(tmp_path)
    config_dir = shipped_copy(tmp_path / "config")
    password = {"IVR_ADMIN_PASSWORD": secrets.token_hex(8)}
    database = f"sqlite:///{tmp_path / 'calls.sqlite3'}"
    with serving(tmp_path / "server", database, config_dir, password) as server:
        digest = publish(database, config_dir, tmp_path / "publisher")
        link_in(config_dir, outside)
        wait_until(lambda: all(h["working_files"] == "refused" for h in health_of_every_worker(server).values()), 10, "refused")
        following = health_of_every_worker(server)
        pages = unauthenticated_pages(server.base)
    with serving(tmp_path / "fresh", f"sqlite:///{tmp_path / 'empty.sqlite3'}", config_dir, password) as server:
        pages += unauthenticated_pages(server.base)
    assert all(h["release"] == digest and h["refused_problems"] == 1 for h in following.values()), following
    for page in pages:
        shown = page.text + "".join(f"{k}: {v}" for k, v in page.headers.items())
        assert secret not in shown and str(outside.parent) not in shown, f"{page.request.method} {page.url}: {shown[:500]}"


def test_worker_never_boots_from_working_files_that_publishing_refuses(tmp_path: Path) -> None:
    """With no release and no local copy, a schedule linked from outside the folder is refused at boot as `ivr publish` refuses it."""
    _, outside = secret_outside(tmp_path)
    config_dir = shipped_copy(tmp_path / "config")
    link_in(config_dir, outside)
    with serving(tmp_path / "server", f"sqlite:///{tmp_path / 'calls.sqlite3'}", config_dir) as server:
        wait_until(lambda: all(h["working_files"] != "unknown" for h in health_of_every_worker(server).values()), 10, "looked")
        healths = health_of_every_worker(server)
    for pid, health in healths.items():
        assert health["working_files"] == "refused", (pid, health)
        assert health["source"] == "nothing" and not health["ok"], f"worker {pid} serves files it calls refused: {health}"


SHIPPED_LINES = ("hampshire", "isle-of-wight", "wiltshire")
PUBLISH = """\
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo
from ivr.live import Publisher
from ivr.records.store import CallStore
store = CallStore(sys.argv[1], instance_path=Path(sys.argv[3]))
done = Publisher(store, Path(sys.argv[3]) / "releases").publish(Path(sys.argv[2]), datetime.now(ZoneInfo("Europe/London")), "test", "")
print(done.digest)
"""


def with_synthetic_lines(folder: Path, copies: int) -> Path:
    """The shipped configuration plus `copies` of each shipped line under the keys `<line>-<n>`, each with its own number."""
    shipped_copy(folder)
    n = 0
    for line in SHIPPED_LINES:
        for copy in range(1, copies + 1):
            n += 1
            for part in ("flows", "schedules"):
                text = (folder / part / f"{line}.yaml").read_text()
                text, found = re.subn(r"^line: .*$", f"line: {line}-{copy}", text, count=1, flags=re.M)
                if part == "flows":
                    # Ofcom's drama range for London: valid numbers that ring nobody.
                    text, numbers = re.subn(r"^numbers: \[\]$", f'numbers: ["+44207946{n:04d}"]', text, count=1, flags=re.M)
                    found += numbers - 1
                assert found == 1, f"{part}/{line}.yaml has changed shape"
                (folder / part / f"{line}-{copy}.yaml").write_text(text)
    return folder


def publish_in_subprocess(database_url: str, folder: Path, instance: Path) -> str:
    """Publish as `ivr publish` would, from a process of its own (its CPU time is not the client's)."""
    done = subprocess.run(
        [sys.executable, "-c", PUBLISH, database_url, str(folder), str(instance)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def slowest(latencies: list[tuple[float, float, str]], phases: dict[str, float]) -> str:
    """The slowest request of each phase (phases: name -> when it began, by time.perf_counter), in milliseconds."""
    names = sorted(phases, key=phases.__getitem__)
    report = []
    for name, begins, ends in zip(names, [phases[n] for n in names], [phases[n] for n in names[1:]] + [float("inf")]):
        inside = [(seconds, path) for started, seconds, path in latencies if begins <= started < ends]
        if inside:
            seconds, path = max(inside)
            report.append(
                f"{name} (+{begins - phases['calls']:.1f} s): {len(inside)} requests, slowest {seconds * 1000:.0f} ms ({path.split('?')[0]})"
            )
    return "; ".join(report)


def swaps(server: Server, digest: str) -> list[float]:
    """When each worker swapped `digest` in, by time.perf_counter, from the log's millisecond timestamps."""
    offset = time.time() - time.perf_counter()
    found = re.findall(rf"^(\S+ \S+),(\d+) WARNING ivr.live: configuration {digest} is live", server.log.read_text(), re.M)
    return sorted(datetime.strptime(wall, "%Y-%m-%d %H:%M:%S").timestamp() + int(ms) / 1000 - offset for wall, ms in found)


def went_live(database_url: str, instance: Path, digest: str, seconds: float) -> Callable[[], float | None]:
    """Watch the live log from a thread; the returned function gives when `digest` became live (time.perf_counter)."""
    seen: list[float] = []

    def watch() -> None:
        store = CallStore(database_url, instance_path=instance)
        try:
            ends = time.monotonic() + seconds
            while not seen and time.monotonic() < ends:
                live = ReleaseStore(store).live()
                if live is not None and live[1] != digest:
                    seen.append(time.perf_counter())
                time.sleep(0.05)
        finally:
            store.close()

    thread = threading.Thread(target=watch, name="live-watch", daemon=True)
    thread.start()

    def when() -> float | None:
        thread.join(timeout=seconds)
        return seen[0] if seen else None

    return when


def test_153_line_publication_under_steady_calls_no_request_over_100_ms(database_url: str, tmp_path: Path) -> None:
    """Publishing 153 lines while the 3 shipped lines take calls: no request over 100 ms; every worker adopts it within 5 s."""
    config_dir = shipped_copy(tmp_path / "config")
    big = with_synthetic_lines(tmp_path / "big", 50)
    with serving(tmp_path / "server", database_url, config_dir) as server:
        shipped = publish(database_url, config_dir, tmp_path / "publisher")
        wait_until(every_worker_on(server, shipped), 10, "every worker on the shipped release")
        with CallLoop(server.base, every=0.1, lines=SHIPPED_LINES) as calls:
            phases = {"calls": time.perf_counter()}
            time.sleep(1)
            live_at = went_live(database_url, tmp_path / "watcher", shipped, 60)
            phases["publishing"] = time.perf_counter()
            digest = publish_in_subprocess(database_url, big, tmp_path / "publisher")
            phases["published"] = time.perf_counter()
            # Watched in the log, not by asking /healthz, which would queue requests in front of the calls.
            wait_until(lambda: len(swaps(server, digest)) >= WORKERS, 30, "every worker swapped the 153 lines in")
            time.sleep(2)
        swapped = swaps(server, digest)
        healths = health_of_every_worker(server)
    became_live = live_at()
    assert became_live is not None
    phases.update({"live": became_live, "first swap": swapped[0], "last swap": swapped[-1]})
    latencies = calls.transport.latencies
    assert calls.errors == [], calls.errors[:5]
    assert all(p.number in STATIC_NUMBERS[p.line] for p in calls.placed), [
        p for p in calls.placed if p.number not in STATIC_NUMBERS[p.line]
    ]
    assert all(h["release"] == digest and h["source"] == "release" for h in healths.values()), healths
    adoption = swapped[-1] - became_live
    worst = max(seconds for _, seconds, _ in latencies)
    assert len(latencies) >= 100, f"only {len(latencies)} requests"
    assert worst < 0.1 and adoption <= 5, (
        f"slowest request {worst * 1000:.0f} ms; the last worker swapped the 153 lines in {adoption:.1f} s after they went live; "
        + slowest(latencies, phases)
    )
