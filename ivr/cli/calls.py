"""`ivr db upgrade`, `ivr calls` and `ivr calls show SID`: the call records for people."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ivr.cli.common import LONDON, parse_time
from ivr.core.errors import IvrError
from ivr.records.store import LATEST, CallStore, StoreError
from ivr.records.story import call_json, listing, tell
from ivr.services import Settings


class UnknownCall(IvrError, LookupError):
    """A call SID with no record."""

    def __init__(self, sid: str) -> None:
        super().__init__(f"no call {sid!r} in the call records")
        self.sid = sid


def open_store() -> CallStore:
    """The store the app uses: DATABASE_URL, else SQLite in the instance folder (IVR_INSTANCE_PATH)."""
    settings = Settings.from_env()
    return CallStore(settings.database_url, instance_path=settings.instance_path, hash_key=settings.hash_key.encode() or None)


def register(sub: Any, _common: argparse.ArgumentParser) -> None:
    """Add `ivr db upgrade`, `ivr calls` and `ivr calls show SID`."""
    db = sub.add_parser("db", help="the call records database")
    db_sub = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    p = db_sub.add_parser("upgrade", help="create or upgrade the schema (safe to run twice)")
    p.set_defaults(handler=_upgrade)

    p = sub.add_parser("calls", help="recent calls and their path; 'calls show SID' tells one call's story")
    p.add_argument("--line", help="only this line's calls")
    p.add_argument("--since", metavar="TIME", help="only calls started at or after TIME (ISO 8601, London time)")
    p.add_argument("--limit", type=int, default=100, help="at most this many calls (default 100)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_list)
    calls_sub = p.add_subparsers(dest="calls_command", metavar="show")
    show = calls_sub.add_parser("show", help="one call's story in plain words")
    show.add_argument("sid")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)


@contextmanager
def records(need_schema: bool = True) -> Iterator[CallStore]:
    """The call records' store; a database error becomes one line naming the database."""
    store = open_store()
    try:
        if need_schema and store.schema_version() < LATEST:
            raise StoreError(f"the call records at {_shown(store)} have no schema yet: run `ivr db upgrade`")
        yield store
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StoreError(f"cannot use the call records at {_shown(store)}: {reason}") from exc
    finally:
        store.close()


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
    with records() as store:
        found = store.calls(line=args.line, since=since, limit=args.limit)
    if args.json:
        print(json.dumps([call_json(c) for c in found], indent=2))
    else:
        print("\n".join(listing(c) for c in found) if found else "no calls")
    return 0


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
