"""The clock's jobs, driven by a controllable clock."""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ivr.clock import DailyAt, Jobs, Leader, build_scheduler
from ivr.live import LiveRelease, Publisher
from ivr.notify.alerts import Alerts
from ivr.records.store import CallStore
from ivr.services import services_of
from tests.builders import shipped_copy
from tests.conftest import LONDON, RecordingHttpClient, london


@pytest.mark.parametrize(
    ("hour", "minute", "now", "expected"),
    [
        (1, 30, "2027-10-30T12:00", ["2027-10-31T01:30+01:00", "2027-11-01T01:30+00:00", "2027-11-02T01:30+00:00"]),
        (1, 30, "2027-03-27T12:00", ["2027-03-28T02:00+01:00", "2027-03-29T01:30+01:00", "2027-03-30T01:30+01:00"]),
        (6, 0, "2027-03-27T12:00", ["2027-03-28T06:00+01:00", "2027-03-29T06:00+01:00", "2027-03-30T06:00+01:00"]),
        (6, 0, "2027-10-31T05:59", ["2027-10-31T06:00+00:00", "2027-11-01T06:00+00:00", "2027-11-02T06:00+00:00"]),
    ],
    ids=["fall_back_0130_once", "spring_forward_0130_at_the_jump", "spring_forward_0600", "fall_back_0600"],
)
def test_daily_trigger_runs_once_per_local_day(hour: int, minute: int, now: str, expected: list[str]) -> None:
    """A daily job fires once each local date, across both clock changes."""
    trigger = DailyAt(hour, minute, LONDON)
    fired = []
    previous = None
    current = london(now)
    for _ in expected:
        nxt = trigger.get_next_fire_time(previous, current)
        fired.append(nxt)
        previous, current = nxt, nxt
    assert [f.isoformat(timespec="minutes") for f in fired] == expected


def test_daily_trigger_from_a_fire_time_moves_to_the_next_day() -> None:
    """Asked again at its own fire time (APScheduler does this), the trigger names the next day."""
    trigger = DailyAt(1, 30, LONDON)
    first = trigger.get_next_fire_time(None, london("2027-10-31T00:00"))
    second_occurrence_of_0130 = first + timedelta(hours=1)
    assert trigger.get_next_fire_time(first, second_occurrence_of_0130).date() == datetime(2027, 11, 1).date()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    shipped_copy(folder)
    return folder


@pytest.fixture
def alerts(http_client: RecordingHttpClient) -> Alerts:
    from ivr.notify.sms import TextSender

    return Alerts(TextSender("AC" + "2" * 32, "token", http_client), "+447911000001", "+441225000000")


@pytest.fixture
def store(tmp_path: Path) -> CallStore:
    made = CallStore(f"sqlite:///{tmp_path / 'calls.sqlite3'}", instance_path=tmp_path)
    made.upgrade()
    return made


def booted(config_dir: Path, store: CallStore, cache: Path) -> LiveRelease:
    """A process's live release over `config_dir`, booted (from the working files until one is published)."""
    live = LiveRelease(config_dir, Publisher(store, cache), poll_seconds=0, clock=lambda: london("2026-11-23T06:00"))
    live.boot()
    return live


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def jobs(config_dir: Path, tmp_path: Path, alerts: Alerts, store: CallStore, ticks: Ticks) -> Jobs:
    live = booted(config_dir, store, tmp_path / "releases")
    return Jobs(live, store, alerts, retention_days=400, settle_seconds=2.0, monotonic=ticks)


def test_routing_changes_are_recorded_as_they_happen(jobs: Jobs) -> None:
    """Watching across 17:00 on a Wednesday records 'MASH -> Out of Hours' at 17:00, once."""
    assert jobs.watch_routes(london("2027-03-03T16:59")) == []
    changes = jobs.watch_routes(london("2027-03-03T17:00:20"))
    assert (
        "17:00 Wiltshire Council children's services child-at-risk: the Multi-Agency Safeguarding Hub -> the Out of Hours Service"
        in changes
    )
    assert jobs.watch_routes(london("2027-03-03T17:00:40")) == []


def test_two_clocks_record_a_change_once(jobs: Jobs, config_dir: Path, alerts: Alerts) -> None:
    """A second clock process watching the same store does not record the same change again."""
    twin = Jobs(booted(config_dir, jobs.store, config_dir.parent / "twin-releases"), jobs.store, alerts)
    for clock in (jobs, twin):
        clock.watch_routes(london("2027-03-03T16:59"))
    first = jobs.watch_routes(london("2027-03-03T17:01"))
    second = twin.watch_routes(london("2027-03-03T17:01"))
    assert any("child-at-risk" in c for c in first)
    assert not any("wiltshire" in c.lower() and "child-at-risk" in c for c in second)


def test_changes_missed_while_down_are_recorded_at_their_own_times(jobs: Jobs) -> None:
    """After a gap in watching, each change is recorded at the instant it happened."""
    jobs.watch_routes(london("2027-03-05T15:00"))  # Friday
    changes = [
        c
        for c in jobs.watch_routes(london("2027-03-06T10:00"))
        if c.startswith(("16:00 Wilts", "00:00 Wilts", "09:00 Wilts")) and "child-at-risk" in c
    ]
    assert [c[:5] for c in changes] == ["16:00", "00:00", "09:00"]


def test_daily_check_is_quiet_on_the_shipped_files(jobs: Jobs, alerts: Alerts) -> None:
    """The shipped configuration proves 90 days of cover and raises no alert."""
    assert jobs.check_coverage(london("2026-11-23T06:00")) == []
    assert alerts.sent == []


def test_daily_check_alerts_an_override_ending_within_a_day(
    jobs: Jobs, config_dir: Path, http_client: RecordingHttpClient
) -> None:
    """An override ending in 12 hours is alerted, by log and by text message."""
    schedule = config_dir / "schedules" / "hampshire.yaml"
    schedule.write_text(
        schedule.read_text().replace(
            "overrides: []",
            (
                "overrides:\n  - {services: [child-at-risk], to: out-of-hours, from: 2026-11-20T09:00, "
                "until: 2026-11-23T18:00, reason: CRT office move}\n"
            ),
        )
    )
    jobs.live.publisher.publish(config_dir, london("2026-11-23T05:00"), "admin", "CRT office move")
    assert jobs.live.refresh()
    found = jobs.check_coverage(london("2026-11-23T06:00"))
    assert found == ["hampshire override to out-of-hours (CRT office move) ends at 2026-11-23 18:00 GMT"]
    (text,) = http_client.requests
    assert text["data"]["To"] == "+447911000001" and "CRT office move" in text["data"]["Body"]


def test_invalid_configuration_dropped_in_fires_the_alert_once(
    jobs: Jobs, config_dir: Path, alerts: Alerts, ticks: Ticks
) -> None:
    """A broken file, once settled, is refused and alerted once; the live release keeps routing."""
    now = london("2027-03-03T11:00")
    jobs.live.publisher.publish(config_dir, now, "admin", "first release")
    jobs.live.refresh()
    before = jobs.live.digest
    (config_dir / "schedules" / "wiltshire.yaml").write_text("line: wiltshire\nservices: [\n")
    assert jobs.releases(now) == []  # just changed: not settled yet
    ticks.now += 2.5
    refused = jobs.releases(now)
    assert len(refused) == 1 and refused[0].startswith(
        "a configuration change was refused (1 problems, first: schedules/wiltshire.yaml:"
    )
    ticks.now += 5
    assert jobs.releases(now) == []  # the same refusal is not alerted again
    jobs.live.refresh()
    snapshot = jobs.live.current()
    assert snapshot is not None and snapshot.config.digest == before
    assert snapshot.config.router("wiltshire").route("child-at-risk", now).destination.key == "mash"
    assert [a for a in alerts.sent if "refused" in a] == refused


def test_a_settled_valid_change_is_published_automatically(
    config_dir: Path, tmp_path: Path, alerts: Alerts, store: CallStore, ticks: Ticks
) -> None:
    """With automatic publishing on, a valid change goes live only after the files stop changing."""
    live = booted(config_dir, store, tmp_path / "releases")
    jobs = Jobs(live, store, alerts, auto_publish=True, settle_seconds=2.0, monotonic=ticks)
    now = london("2027-03-03T11:00")
    schedule = config_dir / "schedules" / "wiltshire.yaml"
    schedule.write_text(schedule.read_text().replace("name: the Multi-Agency Safeguarding Hub", "name: the MASH"))
    assert jobs.releases(now) == []
    ticks.now += 1.0
    assert jobs.releases(now) == [] and live.publisher.releases.live() is None  # still settling
    ticks.now += 0.5
    schedule.write_text(schedule.read_text() + "\n")  # written to again: settling starts over
    assert jobs.releases(now) == []
    ticks.now += 1.5
    assert jobs.releases(now) == [] and live.publisher.releases.live() is None
    ticks.now += 1.5
    published = jobs.releases(now)
    found = live.publisher.releases.live()
    assert found is not None and published == [f"published {found[1]} automatically: first release: 3 lines"]
    assert jobs.releases(now) == []  # announced once, as published, not again as a new release
    assert live.refresh() and live.digest == found[1]
    decision = live.current().config.router("wiltshire").route("child-at-risk", now)  # type: ignore[union-attr]
    assert decision.destination is not None and decision.destination.name == "the MASH"


@pytest.mark.usefixtures("alerts")
def test_a_release_published_elsewhere_is_announced_once(jobs: Jobs, config_dir: Path) -> None:
    """The leader alerts each release made live after it took over, once."""
    now = london("2027-03-03T11:00")
    assert jobs.releases(now) == []  # takes over: nothing to announce yet
    done = jobs.live.publisher.publish(config_dir, now, "alice", "first release")
    assert jobs.releases(now) == [f"release {done.digest} made live (publish) by alice: first release"]
    assert jobs.releases(now) == []


def test_purge_removes_calls_older_than_retention(jobs: Jobs) -> None:
    """Calls started more than 400 days ago are purged; newer ones stay."""
    now = london("2027-03-03T03:15")
    jobs.store.call_started("CAold", "wiltshire", now - timedelta(days=401), "+447911123456", "+441225000000")
    jobs.store.call_started("CAnew", "wiltshire", now - timedelta(days=399), "+447911123456", "+441225000000")
    assert jobs.purge(now) == 1
    assert [c.call_sid for c in jobs.store.calls()] == ["CAnew"]


def test_only_the_leader_runs_jobs(jobs: Jobs) -> None:
    """Of two clocks sharing the database, one leads; the other takes over when the lease lapses."""
    first, second = Leader(jobs.store, "machine-a"), Leader(jobs.store, "machine-b")
    now = london("2027-03-03T12:00")
    assert first(now) is True
    assert second(now) is False
    assert first(now + timedelta(seconds=30)) is True
    assert second(now + timedelta(seconds=200)) is True
    assert first(now + timedelta(seconds=210)) is False


def test_scheduler_runs_the_jobs_only_when_leading(jobs: Jobs) -> None:
    """The scheduled job functions consult the leader each time they run."""
    from apscheduler.schedulers.background import BackgroundScheduler

    class Follower:
        def __call__(self, _now: datetime) -> bool:
            return False

    ran: list[Any] = []
    jobs.purge = lambda now: ran.append(now) or 0  # type: ignore[method-assign]
    scheduler = build_scheduler(jobs, Follower(), lambda: london("2027-03-03T03:15"), BackgroundScheduler(timezone=LONDON))
    scheduler.get_job("purge").func()
    assert ran == []
    scheduler = build_scheduler(jobs, lambda _now: True, lambda: london("2027-03-03T03:15"), BackgroundScheduler(timezone=LONDON))  # type: ignore[arg-type]
    scheduler.get_job("purge").func()
    assert ran == [london("2027-03-03T03:15")]
    assert {job.id for job in scheduler.get_jobs()} == {"coverage", "purge", "releases", "watch"}


def test_make_run_hosts_the_clock_in_the_web_process(settings: dict[str, Any]) -> None:
    """With IVR_RUN_CLOCK (what `make run` sets) the web app starts the clock's jobs itself."""
    from ivr.app import create_app

    app = create_app({**settings, "IVR_RUN_CLOCK": True})
    scheduler = services_of(app).scheduler
    try:
        assert scheduler.running
        assert {job.id for job in scheduler.get_jobs()} == {"coverage", "purge", "releases", "watch"}
    finally:
        scheduler.shutdown(wait=False)


def test_postgresql_leader_loses_leadership_with_its_session(tmp_path: Path) -> None:
    """On PostgreSQL one clock leads; if its session dies, it knows, and another takes over."""
    from sqlalchemy import func, select

    from tests.pg import postgres_schema

    with postgres_schema() as url:
        store = CallStore(url, instance_path=tmp_path, hash_key=b"k")
        store.upgrade()
        lock_name = f"ivr-clock-{secrets.token_hex(4)}"  # advisory locks span the database, not the schema
        first, second = Leader(store, "machine-a", lock_name), Leader(store, "machine-b", lock_name)
        now = london("2027-03-03T12:00")
        try:
            assert (first(now), second(now)) == (True, False)
            assert first(now) is True, "a leader keeps leading while its session lives"
            with store.engine.connect() as admin:
                admin.execute(select(func.pg_terminate_backend(first._lock.pid)))
                admin.commit()
                # Termination is asynchronous: wait for the session, and with it the lock, to be gone.
                for _ in range(100):
                    if not _session_exists(admin, first._lock.pid):
                        break
                    time.sleep(0.05)
            assert second(now) is True
            assert first(now) is False
        finally:
            first.release()
            second.release()
            store.close()


def _session_exists(conn: Any, pid: int) -> bool:
    from sqlalchemy import column, func, select, table

    activity = table("pg_stat_activity", column("pid"))
    found = conn.execute(select(func.count()).select_from(activity).where(activity.c.pid == pid)).scalar() > 0
    conn.commit()  # statistics views are a snapshot per transaction
    return bool(found)
