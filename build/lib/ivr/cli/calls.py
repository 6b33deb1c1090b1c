"""`ivr db upgrade`, `ivr calls`, `ivr calls show SID` and legal holds: the call records for people."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ivr.cli.common import LONDON, UsageError, parse_time, person
from ivr.records.ingest import Ingester
from ivr.records.journal import Journal
from ivr.records.recorder import Recorder
from ivr.records.store import LATEST, CallStore, StoreError, UnknownCall
from ivr.records.story import call_json, held, listing, tell
from ivr.services import Settings

OUTCOMES = "connected (talked to a team), completed, busy, no-answer, failed, canceled, or none (not ended yet)"


def open_store() -> CallStore:
    """The store the app uses: DATABASE_URL, else SQLite in the instance folder (IVR_INSTANCE_PATH)."""
    settings = Settings.from_env()
    return CallStore(settings.database_url, instance_path=settings.instance_path, hash_key=settings.hash_key.encode() or None)


def register(sub: Any, _common: argparse.ArgumentParser) -> None:
    """Add `ivr db upgrade`, `ivr calls`, `ivr calls show SID`, `ivr calls hold SID` and `ivr calls release SID`."""
    db = sub.add_parser("db", help="the call records database")
    db_sub = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    p = db_sub.add_parser("upgrade", help="create or upgrade the schema (safe to run twice)")
    p.set_defaults(handler=_upgrade)

    p = sub.add_parser(
        "calls",
        help="recent calls and their path; 'calls show SID' tells one call's story",
        description="Recent calls, newest first: start (London time), SID, line, outcome, the team that "
        "answered (or none), and the path. Times are London wall-clock times: 2026-12-26 or 2026-12-26T09:30.",
    )
    p.add_argument("--line", help="only this line's calls")
    p.add_argument("--service", help="only calls routed to this service at any point (a call may be routed to several)")
    p.add_argument("--outcome", help=f"only calls that ended so: {OUTCOMES}")
    p.add_argument("--since", metavar="TIME", help="only calls started at or after TIME (a date: from its start)")
    p.add_argument("--until", metavar="TIME", help="only calls started before TIME (a date: to its end, the day included)")
    p.add_argument("--held", action="store_true", help="only calls under a legal hold")
    p.add_argument("--limit", type=int, default=100, help="at most this many calls (default 100)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_list)
    calls_sub = p.add_subparsers(dest="calls_command", metavar="{show,hold,release}")
    show = calls_sub.add_parser("show", help="one call's story in plain words, with its legal holds")
    show.add_argument("sid")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)
    hold = calls_sub.add_parser("hold", help="keep a call past the retention purge (a legal hold); holding twice changes nothing")
    release = calls_sub.add_parser("release", help="release a call's legal hold: the retention purge applies to it again")
    for command, handler in ((hold, _hold), (release, _release)):
        command.add_argument("sid")
        command.add_argument("--reason", required=True, help="why, as it should be read in the call's history")
        command.add_argument("--by", default="", help="who (default: this user at this machine)")
        command.set_defaults(handler=handler)


@contextmanager
def records(need_schema: bool = True) -> Iterator[CallStore]:
    """The call records' store; a database error becomes one line naming the database."""
    store = open_store()
    try:
        if need_schema and store.schema_version() < LATEST:
            raise StoreError(f"the call records at {_shown(store)} have no schema yet: run `ivr db upgrade`")
        if need_schema:
            _store_left_records(store)
        yield store
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StoreError(f"cannot use the call records at {_shown(store)}: {reason}") from exc
    finally:
        store.close()


def _store_left_records(store: CallStore) -> None:
    """Records that stopped processes on this machine left in their journals are stored first; a backlog is said."""
    journal = Journal(Settings.from_env().journal_folder)
    try:
        Ingester(Recorder(store, journal), journal, store, interval=0).ingest_once()
    except (OSError, SQLAlchemyError) as exc:
        print(f"note: could not store the records left in {journal.folder}: {exc}", file=sys.stderr)
    backlog = journal.backlog()
    if backlog.files:
        print(
            f"note: {backlog.files} journal file(s) in {journal.folder} still wait for the database "
            f"(the oldest for {int(backlog.oldest_seconds)} s): the newest calls may be missing below",
            file=sys.stderr,
        )


def _shown(store: CallStore) -> str:
    return store.engine.url.render_as_string(hide_password=True)


def _upgrade(_args: argparse.Namespace) -> int:
    with records(need_schema=False) as store:
        applied = store.upgrade()
        where = _shown(store)
    if applied:
        print(f"applied migrations {applied} to {where}: schema version {LATEST}")
    else:
        print(f"{where} is up to date: schema version {LATEST}")
    return 0


def _list(args: argparse.Namespace) -> int:
    since = parse_time(args.since, LONDON) if args.since else None
    until = _until(args.until) if args.until else None
    outcome = None if args.outcome is None else "" if args.outcome.strip().lower() == "none" else args.outcome.strip()
    with records() as store:
        found = store.calls(
            line=args.line,
            since=since,
            limit=args.limit,
            until=until,
            service=args.service,
            outcome=outcome,
            held=args.held,
        )
    if args.json:
        print(json.dumps([call_json(c) for c in found], indent=2))
    else:
        print("\n".join(listing(c) for c in found) if found else "no calls")
    return 0


def _until(text: str) -> datetime:
    """A date means up to the end of that day (so `--since D --until D` is the whole day D)."""
    end = parse_time(text, LONDON)
    return parse_time(f"{text.strip()}T24:00", LONDON) if len(text.strip()) == 10 else end


def _show(args: argparse.Namespace) -> int:
    with records() as store:
        story = store.story(args.sid)
    if story is None:
        raise UnknownCall(args.sid)
    if args.json:
        data = {
            "call": call_json(story.call),
            "events": [{"at": e.at.isoformat(), "kind": e.kind, "detail": e.detail} for e in story.events],
            "story": tell(story),
        }
        print(json.dumps(data, indent=2))
    else:
        print("\n".join(tell(story)))
    return 0


def _hold(args: argparse.Namespace) -> int:
    with records() as store:
        placed = store.hold(args.sid, datetime.now(UTC), person(args.by), _reason(args))
        standing = [h for h in store.holds(args.sid) if h.open]
    said = held(standing[-1]) if standing else ""
    print(f"held {args.sid}: {said}" if placed else f"{args.sid} was already held; nothing changed: {said}")
    return 0


def _release(args: argparse.Namespace) -> int:
    with records() as store:
        released = store.release(args.sid, datetime.now(UTC), person(args.by), _reason(args))
        placed = store.holds(args.sid)
    if not released:
        print(f"{args.sid} is not held; nothing to release")
    else:
        print(f"released {args.sid}: {held(placed[-1])}")
    return 0


def _reason(args: argparse.Namespace) -> str:
    reason = " ".join(args.reason.split())
    if not reason:
        raise UsageError("a legal hold needs a --reason that says why")
    return reason
