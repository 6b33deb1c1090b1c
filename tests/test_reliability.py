"""Bursts of calls against a real gunicorn with several workers: nothing lost, nothing doubled."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from ivr import config
from ivr.core.flow import CallFlow
from ivr.records.store import CallStore
from ivr.simulate import Caller
from tests.builders import screened_copy, shipped_copy
from tests.conftest import TOKEN, london
from tests.pg import postgres_schema

CALLS = 200
WORKERS = 4
THREADS = 12
AT = london("2027-03-03T11:00")  # not used by the server's clock: the real one decides
# The bursts run with every team screened by a person (tests.builders.screened_copy), so that the
# acceptance, the record most exposed to two writers, is written under load too.
EXPECTED_KINDS = ("menu", "key", "route", "screen", "dial", "end")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(
    tmp_path: Path,
    database_url: str,
    config_dir: Path = config.PROJECT_DIR,
    extra_env: dict[str, str] | None = None,
    wrapper: Sequence[str] = (),
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """A real gunicorn serving the app on a loopback port; yields (process, base URL, log file).

    `wrapper` is a command that runs it and execs it in place (e.g. to drop privileges), so the
    process is still gunicorn's master.
    """
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "IVR_ENV": "production",
        "TWILIO_AUTH_TOKEN": TOKEN,
        "IVR_PUBLIC_URL": base,
        "DATABASE_URL": database_url,
        "IVR_INSTANCE_PATH": str(tmp_path),
        "IVR_CONFIG_DIR": str(config_dir),
        "IVR_HASH_KEY": "reliability-test",
        "IVR_DEFAULT_LINE": "wiltshire",  # production refuses to start without it: the shipped lines list no numbers
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        **(extra_env or {}),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *wrapper,
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:ivr.gunicorn_conf",  # as the Procfile runs it
                "--workers",
                str(WORKERS),
                "--bind",
                f"127.0.0.1:{port}",
                "--graceful-timeout",
                "3",
                "--timeout",
                "30",
                "ivr.app:create_app()",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                # Every worker has booted its configuration (each says so once), not only the first.
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200 and booted(log) >= WORKERS:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log.read_text()[-3000:]}", pytrace=False)
            time.sleep(0.2)
        yield process, base, log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def records_stored(base: str, timeout: float = 30) -> None:
    """Wait until every call record written so far has left the journals for the database."""
    deadline = time.monotonic() + timeout
    while True:
        backlog = requests.get(f"{base}/healthz", timeout=5).json()["records_backlog"]
        if backlog["files"] == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"call records still waiting after {timeout} s: {backlog}")
        time.sleep(0.1)


def booted(log: Path) -> int:
    """How many workers have said what they serve (a release, a local copy, the working files or static answers)."""
    text = log.read_text(errors="replace")
    return text.count(" is live from the ") + text.count("serving static safe answers for")


def http_transport(retry_every: int = 0) -> Callable[[str, dict[str, str], dict[str, str]], tuple[int, str]]:
    """POST over HTTP; with `retry_every`, every n-th request is sent twice, as Twilio retries do."""
    local = threading.local()
    sent = Counter[str]()

    def post(url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        response = session.post(url, data=params, headers=headers, timeout=20)
        sent["n"] += 1
        if retry_every and sent["n"] % retry_every == 0:
            response = session.post(url, data=params, headers=headers, timeout=20)
        return response.status_code, response.text

    return post


def burst(
    base: str, count: int, transport: Callable[..., tuple[int, str]], flow: CallFlow, spread: float = 0.0
) -> tuple[list[str], list[str]]:
    """Play `count` calls at once (press 1, the team answers and accepts); return (sids, errors).

    With `spread`, call n starts no sooner than n * spread / count seconds in: calls keep coming for that long.
    """
    sids = [f"CA{n:032d}" for n in range(count)]
    errors: list[str] = []
    started = time.monotonic()

    def one(n: int) -> None:
        sid = sids[n]
        if spread:
            time.sleep(max(0.0, started + n * spread / count - time.monotonic()))
        try:
            result = Caller(transport, TOKEN, flow, base, AT, "1", "+447911123456", ["completed"], sid=sid).run()
            assert result.connected_to, f"{sid} was not connected"
        except Exception as exc:  # noqa: BLE001 - collected and asserted on below
            errors.append(f"{sid}: {exc}")

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, range(count)))
    return sids, errors


def kinds_of(store: CallStore, sid: str) -> Counter[str]:
    story = store.story(sid)
    assert story is not None, f"no record of {sid}"
    return Counter(event.kind for event in story.events)


def assert_complete_and_unique(store: CallStore, sids: list[str]) -> None:
    for sid in sids:
        kinds = kinds_of(store, sid)
        assert all(kinds[k] == 1 for k in EXPECTED_KINDS), f"{sid}: {dict(kinds)}"


@pytest.fixture(scope="module")
def wiltshire() -> CallFlow:
    cfg = config.load()
    return CallFlow(cfg.line("wiltshire"))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_burst_of_200_calls_every_record_complete_once(backend: str, tmp_path: Path, wiltshire: CallFlow, request: Any) -> None:
    """200 concurrent calls (one request in 7 sent twice) leave exactly one of each record per call."""
    url = f"sqlite:///{tmp_path / 'calls.sqlite3'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    with gunicorn(tmp_path, url, screened_copy(tmp_path / "screened")) as (_, base, _log):
        sids, errors = burst(base, CALLS, http_transport(retry_every=7), wiltshire)
        records_stored(base)
    assert errors == []
    store = CallStore(url, instance_path=tmp_path)
    assert len(store.calls(line="wiltshire", limit=1000)) == CALLS
    assert_complete_and_unique(store, sids)


def test_metrics_add_up_every_workers_counts(tmp_path: Path, wiltshire: CallFlow) -> None:
    """/metrics, whichever worker answers it, counts every call of a burst served by all four."""
    with gunicorn(tmp_path, f"sqlite:///{tmp_path / 'calls.sqlite3'}", screened_copy(tmp_path / "screened")) as (_, base, _log):
        _sids, errors = burst(base, 40, http_transport(), wiltshire)
        pages = [requests.get(f"{base}/metrics", timeout=5).text for _ in range(8)]
        answered_by = {line for line in (tmp_path / "gunicorn.log").read_text().splitlines() if " call CA" in line}
    assert errors == [] and len(answered_by) == 40
    for page in pages:
        assert 'ivr_calls_total{line="wiltshire"} 40.0' in page, page[:2000]
        assert 'ivr_webhooks_total{step="answer"} 40.0' in page
        assert 'ivr_call_outcomes_total{line="wiltshire",outcome="connected",service="child-at-risk"} 40.0' in page
        assert 'ivr_webhook_seconds_count{step="dialled"} 40.0' in page
        assert "ivr_records_backlog_files" in page


def test_worker_killed_mid_burst_loses_at_most_its_request(tmp_path: Path, wiltshire: CallFlow) -> None:
    """SIGKILL to a worker during a burst fails at most the call it was serving; the database stays sound."""
    db = tmp_path / "calls.sqlite3"
    with gunicorn(tmp_path, f"sqlite:///{db}", screened_copy(tmp_path / "screened")) as (process, base, _log):
        workers = _children(process.pid)
        assert len(workers) == WORKERS

        def killer() -> None:
            time.sleep(0.8)
            os.kill(workers[0], signal.SIGKILL)

        thread = threading.Thread(target=killer)
        thread.start()
        started = time.monotonic()
        sids, errors = burst(base, CALLS, http_transport(), wiltshire)
        thread.join()
        assert time.monotonic() - started > 0.8, "the burst ended before the kill"
        assert workers[0] not in _children(process.pid), "the worker was not killed"
        records_stored(base)
    assert len(errors) <= 1, errors
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store = CallStore(f"sqlite:///{db}", instance_path=tmp_path)
    failed = {e.split(":")[0] for e in errors}
    assert_complete_and_unique(store, [s for s in sids if s not in failed])


def test_invalid_configuration_dropped_in_mid_burst(tmp_path: Path, wiltshire: CallFlow) -> None:
    """A broken schedule written while calls are served fails no call; the live one routes; the leader alerts once."""
    config_dir = tmp_path / "config"
    shipped_copy(config_dir)
    clock_in_workers = {"IVR_RUN_CLOCK": "1", "IVR_SETTLE_SECONDS": "0.5"}
    with gunicorn(tmp_path, f"sqlite:///{tmp_path / 'calls.sqlite3'}", config_dir, clock_in_workers) as (_, base, log):

        def vandal() -> None:
            time.sleep(0.5)
            (config_dir / "schedules" / "wiltshire.yaml").write_text("line: wiltshire\nservices: {child-at-risk: {rules: []}}\n")

        threading.Thread(target=vandal).start()
        _sids, errors = burst(base, CALLS, http_transport(), wiltshire)
        deadline = time.monotonic() + 20
        while "ALERT: a configuration change was refused" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        healths = [requests.get(f"{base}/healthz", timeout=5).json() for _ in range(12)]
    assert errors == []
    assert all(h["ok"] and h["working_files"] == "refused" for h in healths), healths
    assert log.read_text().count("ALERT: a configuration change was refused") == 1


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A clean PostgreSQL schema for this test, dropped after (fails, never skips, when the server is down)."""
    with postgres_schema() as url:
        yield url
