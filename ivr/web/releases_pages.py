"""The release pages: each release made live, newest first, and for one release who made it live,
when and why, its files, and the routing difference it made in the words `ivr diff` prints.

Read-only: nothing here publishes or rolls back. The log and the releases' files are read through
the time-limited reader (ivr/web/records.py); the difference is then worked out here, off the database.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ivr import config as config_module
from ivr.config.diff import DIFF_DAYS, removed, report, routing_changes
from ivr.config.files import Files, write_folder
from ivr.config.loader import Config
from ivr.core.errors import ConfigError
from ivr.live import changed_lines
from ivr.records.releases import LogEntry, ReleaseStore, StoredRelease
from ivr.services import LONDON, current
from ivr.web.records import RecordsUnavailable, read_records

HISTORY_SHOWN = 50
MADE_LIVE_SHOWN = 10  # a release rolled back to again and again: its newest times made live
Page = str | tuple[str, int] | Response


def register(bp: Blueprint) -> None:
    """Add /admin/releases and /admin/releases/<digest> to the admin blueprint."""
    bp.add_url_rule("/releases", view_func=releases)
    bp.add_url_rule("/releases/<digest>", view_func=release)


def releases() -> Page:
    """Each release made live, newest first, the live one tagged."""
    store = current().publisher.releases
    try:
        entries = read_records("the release history", lambda: store.history(limit=HISTORY_SHOWN + 1))
    except RecordsUnavailable as exc:
        return render_template("admin/releases.html", entries=[], problem=str(exc)), 503
    return render_template(
        "admin/releases.html", entries=entries[:HISTORY_SHOWN], more=len(entries) > HISTORY_SHOWN, shown=HISTORY_SHOWN
    )


@dataclass(frozen=True, slots=True)
class Step:
    """One time a release was made live: the release live before it, and the difference, as `ivr diff` says it."""

    entry: LogEntry
    before: LogEntry | None
    difference: tuple[str, ...] = ()  # empty for the first release: nothing was live before it
    problem: str = ""  # why the difference could not be worked out

    @property
    def since(self) -> datetime:
        """Where the comparison starts: the moment it was made live (`ivr diff` compares from now), London time."""
        return self.entry.at.astimezone(LONDON)


@dataclass(frozen=True, slots=True)
class FileRow:
    """One file of a release, with its own digest and whether it differs from the release live before."""

    name: str
    digest: str
    changed: bool | None  # None: nothing to compare with


@dataclass(frozen=True, slots=True)
class _Found:
    stored: StoredRelease
    live: str | None
    made_live: list[tuple[LogEntry, LogEntry | None]]
    files_of: dict[str, Files]  # the files of each release live before one of its steps


def release(digest: str) -> Page:
    """One release: who, when and why, its files, and each routing difference it made when made live."""
    store = current().publisher.releases
    try:
        found = read_records(f"release {digest}", lambda: _read(store, digest))
    except RecordsUnavailable as exc:
        return render_template("admin/release.html", digest=digest, problem=str(exc)), 503
    if found is None:
        return render_template("admin/not_found.html", back=url_for("admin.releases"), back_text="All releases"), 404
    if found.stored.digest != digest:  # a unique prefix, as `ivr rollback` takes: the page lives at the full digest
        return redirect(url_for("admin.release", digest=found.stored.digest))
    steps = [_step(found, entry, before) for entry, before in found.made_live]
    newest_before = found.files_of.get(steps[0].before.digest) if steps and steps[0].before else None
    return render_template(
        "admin/release.html",
        digest=digest,
        release=found.stored,
        live=found.live == digest,
        steps=steps,
        files=_files(found.stored.files, newest_before),
        days=DIFF_DAYS,
    )


def _read(store: ReleaseStore, digest: str) -> _Found | None:
    """Everything the page needs from the database, in one read: the release, its log entries, the files before each."""
    stored = store.get(digest)
    if stored is None:
        return None
    made_live = [(entry, store.live_before(entry.seq)) for entry in store.made_live(stored.digest, limit=MADE_LIVE_SHOWN)]
    files_of: dict[str, Files] = {}
    for _, before in made_live:
        if before is not None and before.digest not in files_of:
            earlier = store.get(before.digest)
            if earlier is not None and earlier.digest == before.digest:
                files_of[before.digest] = earlier.files
    live = store.live()
    return _Found(stored, live[1] if live else None, made_live, files_of)


def _step(found: _Found, entry: LogEntry, before: LogEntry | None) -> Step:
    if before is None:
        return Step(entry, None)
    earlier = found.files_of.get(before.digest)
    if earlier is None:
        return Step(entry, before, problem=f"The files of release {before.digest} are not in the database.")
    try:
        told = difference(earlier, found.stored.files, entry.at.astimezone(LONDON), before.digest)
    except ConfigError as exc:
        first = exc.problems[0] if exc.problems else exc
        return Step(entry, before, problem=f"The releases' files no longer load with this version of the router: {first}")
    return Step(entry, before, tuple(told))


def difference(before: Files, after: Files, start: datetime, against: str) -> list[str]:
    """What `ivr diff --against <before>` prints for `after`, over DIFF_DAYS from `start`.

    As publishing does, only the lines whose files differ are read and compared: the others cannot route differently.
    """
    changed = changed_lines(before, after)
    old, new = _lines(before, changed), _lines(after, changed)
    changes = routing_changes(old, new, start, start + timedelta(days=DIFF_DAYS))
    return report(changes, removed(old, new), against, DIFF_DAYS)


def _lines(files: Files, keys: set[str]) -> Config:
    """These lines of a stored release, unproven (it was proven when published); none at all is an empty Config."""
    part = {name: body for name, body in files.items() if Path(name).stem in keys}
    if not part:
        return Config({}, "")
    with tempfile.TemporaryDirectory(prefix="ivr-page-diff-") as scratch:
        return config_module.load(write_folder(part, Path(scratch) / "files"), prove_coverage=False)


def _files(files: Files, before: Files | None) -> list[FileRow]:
    return [
        FileRow(name, hashlib.sha256(body).hexdigest()[:16], None if before is None else before.get(name) != body)
        for name, body in sorted(files.items())
    ]
