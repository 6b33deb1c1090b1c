"""The `ivr` command: one module per command group registers its subcommands here.

Bad input gives one line on stderr and exit status 2; an invalid configuration gives one line
per problem and exit status 1; never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from ivr.core.errors import ConfigError, IvrError

# The commands each group adds. Only the group of the command being run is imported, so that
# `ivr check` never loads the web app, the database, the clock or Twilio's library.
GROUPS: dict[str, tuple[str, ...]] = {
    "lines": ("check", "route", "timeline", "coverage"),
    "releases": ("publish", "releases", "diff", "rollback"),
    "flows": ("simulate", "shortcuts", "fallback-twiml"),
    "calls": ("db", "calls"),
    "clock": ("clock",),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `ivr` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except (IvrError, ValueError, LookupError) as exc:
        print(f"ivr {args.command}: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _one_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(text.split())


def build_parser() -> argparse.ArgumentParser:
    """The parser of every `ivr` command."""
    return _parser(None)


def _parser(command: str | None) -> argparse.ArgumentParser:
    """The parser with only the group of `command` when it names one; else every group (help, a typo)."""
    parser = argparse.ArgumentParser(prog="ivr", description="Safeguarding line router.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="DIR", help="folder holding flows/ and schedules/")
    wanted = [group for group, commands in GROUPS.items() if command in commands] or list(GROUPS)
    for group in wanted:
        _group(group).register(sub, common)
    return parser


def _group(name: str) -> ModuleType:
    """A command group's module, imported when its commands are wanted."""
    if name == "lines":
        from ivr.cli import lines

        return lines
    if name == "releases":
        from ivr.cli import releases

        return releases
    if name == "flows":
        from ivr.cli import flows

        return flows
    if name == "calls":
        from ivr.cli import calls

        return calls
    if name == "clock":
        from ivr.cli import clock

        return clock
    raise LookupError(f"no command group {name!r}")


if __name__ == "__main__":
    sys.exit(main())
