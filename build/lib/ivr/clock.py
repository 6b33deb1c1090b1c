"""The clock: scheduled jobs that keep routing safe (APScheduler 3.x, Europe/London).

Jobs are plain methods given the instant, so tests drive them with any clock. Several clock
processes may run (one per machine) and any web worker may host one; only the leader runs jobs.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ivr.config.files import digest_of, read_files
from ivr.core.errors import ConfigError
from ivr.core.schedule import local_instant
from ivr.live import LiveRelease, fingerprint, validate
from ivr.notify.alerts import Alerts
from ivr.services import Services

log = logging.getLogger(__name__)
LONDON = ZoneInfo("Europe/London")
COVERAGE_AHEAD = timedelta(days=90)
EXPIRY_WARNING = timedelta(hours=24)
LEASE_SECONDS = 90
WATCH_SECONDS = 20
AUTOMATIC = "automatic publishing"  # who publishes settled working files
RELEASE_SECONDS = 1  # how often the leader looks at the working files and the live log


class DailyAt(BaseTrigger):
    """Once per local date at a wall-clock time, whatever the clocks do.

    On the day the clocks go back a 01:30 job runs at the first 01:30 only; on the day they go
    forward, a time inside the missing hour runs when the clocks jump. (APScheduler's own cron
    trigger runs such a job twice in autumn.)
    """

    def __init__(self, hour: int, minute: int, timezone: tzinfo = LONDON) -> None:
        self.minute_of_day = hour * 60 + minute
        self.timezone = timezone

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        # Compared as timestamps: aware datetimes sharing a zone compare by wall clock.
        after = max(previous_fire_time.timestamp(), now.timestamp()) if previous_fire_time else now.timestamp() - 1e-6
        day = datetime.fromtimestamp(after, self.timezone).date()
        candidate = local_instant(day, self.minute_of_day, self.timezone)  # type: ignore[arg-type]
        while candidate.timestamp() <= after:
            day += timedelta(days=1)
            candidate = local_instant(day, self.minute_of_day, self.timezone)  # type: ignore[arg-type]
        return candidate

    def __str__(self) -> str:
        return f"daily at {self.minute_of_day // 60:02d}:{self.minute_of_day % 60:02d} ({self.timezone})"


class Leader:
    """Whether this process leads the clock: a PostgreSQL advisory lock, else a lease row."""

    def __init__(self, store: Any, holder: str | None = None, name: str = "ivr-clock") -> None:
        self.store = store
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self.name = name
        self._held = contextlib.ExitStack()
        self._lock: Any = None

    def __call__(self, now: datetime) -> bool:
        if not self.store.is_postgresql:
            return bool(self.store.try_lead(self.name, self.holder, now, LEASE_SECONDS))
        if self._lock is not None and not self._lock.alive():
            # The server frees the lock with a lost session; another clock may hold it now.
            log.warning("clock leadership lost with its database session; trying again")
            self.release()
        if self._lock is None:
            lock = self._held.enter_context(self.store.advisory_lock(self.name))
            if lock.taken:
                self._lock = lock
            else:
                self._held.close()
        return self._lock is not None

    def release(self) -> None:
        self._held.close()
        self._lock = None


class Jobs:
    """The clock's work."""

    def __init__(
        self,
        live: LiveRelease,
        store: Any,
        alerts: Alerts,
        retention_days: int = 400,
        auto_publish: bool = False,
        settle_seconds: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.live = live
        self.store = store
        self.alerts = alerts
        self.retention = timedelta(days=retention_days)
        self.auto_publish = auto_publish
        self.settle_seconds = settle_seconds
        self._monotonic = monotonic
        self._watched_until: dict[tuple[str, str], datetime] = {}
        self._files_seen: tuple[tuple[str, int, int], ...] | None = None
        self._files_since = 0.0
        self._handled: set[str] = set()  # working-file digests already published or alerted
        self._announced: int | None = None  # the live log's last entry already announced

    def check_coverage(self, now: datetime) -> list[str]:
        """Prove every always-open service has no gap for 90 days; warn of overrides ending soon."""
        snapshot = self.live.current()
        found = []
        if snapshot is None:
            found.append("no valid configuration is live: callers get the static safe answer only")
        lines = snapshot.config.lines if snapshot else {}
        for key, line in lines.items():
            router = line.router
            for service in router.schedule.services.values():
                if not service.always_open:
                    continue
                for gap in router.coverage(service.key, now, now + COVERAGE_AHEAD):
                    found.append(
                        f"{key} {service.key} has no destination from {gap.start:%Y-%m-%d %H:%M} to {gap.end:%Y-%m-%d %H:%M %Z}"
                    )
            for override in router.schedule.overrides:
                if override.end is None:
                    log.warning(
                        "%s: override to %s is in force until further notice (%s)", key, override.destination, override.reason
                    )
                elif 0 < override.end.timestamp() - now.timestamp() <= EXPIRY_WARNING.total_seconds():
                    found.append(
                        f"{key} override to {override.destination} ({override.reason}) ends at {override.end:%Y-%m-%d %H:%M %Z}"
                    )
        for message in found:
            self.alerts.alert(message)
        if not found:
            log.info("coverage proved for %d days from %s", COVERAGE_AHEAD.days, now.isoformat(timespec="minutes"))
        return found

    def releases(self, now: datetime) -> list[str]:
        """Publish settled, valid working files (when automatic); alert once per refused change and per new release."""
        said = []
        seen = fingerprint(self.live.config_dir)
        if seen != self._files_seen:
            self._files_seen, self._files_since = seen, self._monotonic()
        elif self._monotonic() - self._files_since >= self.settle_seconds:
            said.extend(self._settled(now, seen))
        said.extend(self._announce())
        for message in said:
            self.alerts.alert(message)
        return said

    def _settled(self, now: datetime, seen: tuple[tuple[str, int, int], ...]) -> list[str]:
        try:
            files = read_files(self.live.config_dir)
        except ConfigError as exc:
            files, refused = None, exc
        if files is not None:
            if fingerprint(self.live.config_dir) != seen:
                return []  # written to while being read: wait for it to settle again
            digest = digest_of(files)
            if digest == self.live.digest or digest in self._handled:
                return []
            try:
                validate(files, now)
            except ConfigError as exc:
                refused = exc
            else:
                self._handled.add(digest)
                if not self.auto_publish:
                    return []
                done = self.live.publisher.publish_files(files, now, AUTOMATIC, "working files changed")
                return [f"published {done.digest} automatically: {done.summary}"] if done.changed else []
        key = "refused:" + str(refused)
        if key in self._handled:
            return []
        self._handled.add(key)
        first = refused.problems[0] if refused.problems else "unknown problem"
        return [f"a configuration change was refused ({len(refused.problems)} problems, first: {first}); the live release stays"]

    def _announce(self) -> list[str]:
        entries = self.live.publisher.releases.history(limit=20)
        if self._announced is None:  # a new leader announces only what comes after it took over
            self._announced = entries[0].seq if entries else 0
            return []
        fresh = [e for e in reversed(entries) if e.seq > self._announced]
        if fresh:
            self._announced = fresh[-1].seq
        fresh = [e for e in fresh if not (e.by == AUTOMATIC and e.digest in self._handled)]  # told as published
        return [f"release {e.digest} made live ({e.action}) by {e.by}: {e.message or e.summary}" for e in fresh]

    def purge(self, now: datetime) -> int:
        """Delete call records older than the retention period."""
        removed = int(self.store.purge(now - self.retention))
        log.info("retention: removed %d calls older than %d days", removed, self.retention.days)
        return removed

    def watch_routes(self, now: datetime) -> list[str]:
        """Record each routing change since the last look, at the exact instant it happened."""
        changes: list[str] = []
        snapshot = self.live.current()
        if snapshot is None:
            return changes
        for key, line in snapshot.config.lines.items():
            router = line.router
            name = line.flow.name
            for service in router.schedule.services:
                since = self._watched_until.get((key, service))
                self._watched_until[(key, service)] = now
                if since is None or since.timestamp() >= now.timestamp():
                    continue
                intervals = router.timeline(service, since - timedelta(seconds=1), now)
                for before, after in itertools.pairwise(intervals):
                    old, new = before.destination, after.destination
                    if (old.key if old else None) == (new.key if new else None):
                        continue
                    if self.store.routing_change(key, service, after.start, old.key if old else None, new.key if new else None):
                        text = f"{after.start:%H:%M} {name} {service}: {old.name if old else 'closed'} -> {new.name if new else 'closed'}"
                        log.info("routing change: %s", text)
                        changes.append(text)
        return changes


def build_scheduler(
    jobs: Jobs,
    leader: Leader,
    clock: Callable[[], datetime],
    scheduler: BaseScheduler | None = None,
) -> BaseScheduler:
    """A scheduler with the clock's jobs; each runs only while this process leads."""
    scheduler = scheduler or BackgroundScheduler(timezone=LONDON)

    def led(work: Callable[[datetime], Any], name: str) -> Callable[[], None]:
        def run() -> None:
            now = clock()
            try:
                if leader(now):
                    work(now)
            except Exception:  # one failed run must not stop the clock
                log.exception("clock job %s failed", name)
                jobs.alerts.alert(f"the clock job {name} failed; see the log")

        return run

    scheduler.add_job(led(jobs.check_coverage, "coverage"), DailyAt(6, 0), id="coverage", coalesce=True, misfire_grace_time=3600)
    scheduler.add_job(led(jobs.purge, "purge"), DailyAt(3, 15), id="purge", coalesce=True, misfire_grace_time=3600)
    every: list[tuple[Callable[[datetime], Any], str, str, int]] = [
        (jobs.releases, "releases", "releases", RELEASE_SECONDS),
        (jobs.watch_routes, "routing changes", "watch", WATCH_SECONDS),
    ]
    for work, name, job_id, seconds in every:
        trigger = IntervalTrigger(seconds=seconds, timezone=LONDON)
        scheduler.add_job(led(work, name), trigger, id=job_id, coalesce=True, max_instances=1)
    return scheduler


def jobs_for(services: Services) -> tuple[Jobs, Leader]:
    """The clock's jobs over a process's services, and who leads them."""
    settings = services.settings
    jobs = Jobs(
        services.live,
        services.store,
        services.alerts,
        settings.retention_days,
        auto_publish=settings.publishes_automatically,
        settle_seconds=settings.settle_seconds,
    )
    return jobs, Leader(services.store)


def start_in_app(services: Services) -> BaseScheduler:
    """The clock inside a web process (`make run`); with several workers only the leader works."""
    jobs, leader = jobs_for(services)
    scheduler = build_scheduler(jobs, leader, services.clock)
    scheduler.start()
    services.scheduler = scheduler
    log.info("clock started in the web process")
    return scheduler


def run_forever(services: Services) -> None:
    """The `clock` process of the Procfile."""
    jobs, leader = jobs_for(services)
    scheduler = build_scheduler(jobs, leader, services.clock, BlockingScheduler(timezone=LONDON))
    log.info("clock process started as %s", leader.holder)
    try:
        scheduler.start()
    finally:
        leader.release()
