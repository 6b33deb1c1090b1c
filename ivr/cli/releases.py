"""`ivr publish`, `ivr releases`, `ivr diff` and `ivr rollback`: how a configuration goes live."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from ivr import config as config_module
from ivr.cli.calls import records
from ivr.cli.common import LONDON, days, emit, person
from ivr.config.diff import DIFF_DAYS, removed, report, routing_changes
from ivr.core.errors import ConfigError
from ivr.live import Published, Publisher, ReleaseError
from ivr.settings import Settings


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add publish, releases, diff and rollback."""
    p = sub.add_parser("publish", parents=[common], help="validate the working files and make them the live release")
    p.add_argument("--message", "-m", default="", help="why: shown in `ivr releases` and the routing history")
    p.add_argument("--by", default="", help="who publishes (default: this user at this machine)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_publish)

    p = sub.add_parser("releases", parents=[common], help="the releases made live, newest first")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_releases)

    p = sub.add_parser("diff", parents=[common], help="how routing would change if the working files were published")
    p.add_argument("--against", metavar="RELEASE", help="compare with this release instead of the live one")
    p.add_argument("--days", type=days, default=DIFF_DAYS)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_diff)

    p = sub.add_parser("rollback", parents=[common], help="make an earlier release live again")
    p.add_argument("release", metavar="RELEASE")
    p.add_argument("--message", "-m", default="")
    p.add_argument("--by", default="")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_rollback)


@contextmanager
def _publisher(settings: Settings) -> Iterator[Publisher]:
    with records(need_schema=False) as store:
        store.upgrade()
        yield Publisher(store, settings.release_cache)


def _config_dir(args: argparse.Namespace, settings: Settings) -> Any:
    return args.config or settings.config_dir


def _by(args: argparse.Namespace) -> str:
    return person(args.by)


def _publish(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with _publisher(settings) as publisher:
        done = publisher.publish(_config_dir(args, settings), datetime.now(LONDON), _by(args), args.message)
    return _tell(args, done, "published")


def _rollback(args: argparse.Namespace) -> int:
    with _publisher(Settings.from_env()) as publisher:
        done = publisher.rollback(args.release, datetime.now(LONDON), _by(args), args.message)
    return _tell(args, done, "rolled back to")


def _tell(args: argparse.Namespace, done: Published, what: str) -> int:
    """What a publication or rollback did, and each routing change it made at once."""
    text = f"{what} {done.digest}: {done.summary}" if done.changed else f"{done.digest} is already the live release"
    told = "\n".join([text, *(f"  now: {change}" for change in done.changes_now)])
    data = {"release": done.digest, "published": done.changed, "summary": done.summary, "changes_now": list(done.changes_now)}
    emit(args, data, told)
    return 0


def _releases(args: argparse.Namespace) -> int:
    with _publisher(Settings.from_env()) as publisher:
        entries = publisher.releases.history(limit=args.limit)
    rows = [
        {
            "release": e.digest,
            "at": e.at.isoformat(),
            "by": e.by,
            "action": e.action,
            "message": e.message,
            "summary": e.summary,
            "live": index == 0,
        }
        for index, e in enumerate(entries)
    ]
    lines = [
        f"{e.at.astimezone(LONDON):%Y-%m-%d %H:%M}  {e.digest}  {e.action:<8}  {e.by}  {e.message or '-'}  ({e.summary})"
        + ("  <- live" if index == 0 else "")
        for index, e in enumerate(entries)
    ]
    emit(args, {"releases": rows}, "\n".join(lines) or "nothing has been published yet")
    return 0


def _diff(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with _publisher(settings) as publisher:
        if args.against:
            stored = publisher.releases.get(args.against)
            if stored is None:
                raise ReleaseError(f"no release {args.against!r} (see `ivr releases`)")
            base_digest: str | None = stored.digest
        else:
            live = publisher.releases.live()
            base_digest = live[1] if live else None
        base = config_module.load(publisher.folder_of(base_digest), prove_coverage=False) if base_digest else None
    # The proof is reported, not required: a change is previewed before it is fixed.
    working = config_module.load(_config_dir(args, settings), prove_coverage=False)
    try:
        config_module.load(_config_dir(args, settings))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"warning: {problem}", file=sys.stderr)
    start = datetime.now(LONDON)
    changes = routing_changes(base, working, start, start + timedelta(days=args.days))
    gone = removed(base, working)
    text = "\n".join(report(changes, gone, base_digest or "nothing published", args.days))
    data = {"against": base_digest, "working": working.digest, "changes": [c.as_json() for c in changes], "removed": gone}
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(text)
    return 0
