"""The `ivr` command: one module per command group registers its subcommands here.

Bad input gives one line on stderr and exit status 2; an invalid configuration gives one line
per problem and exit status 1; never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ivr.cli import calls, clock, flows, lines, releases
from ivr.core.errors import ConfigError, IvrError


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `ivr` command; returns the exit status."""
    parser = build_parser()
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
    parser = argparse.ArgumentParser(prog="ivr", description="Safeguarding line router.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="DIR", help="folder holding flows/ and schedules/")
    for group in (lines, releases, flows, calls, clock):
        group.register(sub, common)
    return parser


if __name__ == "__main__":
    sys.exit(main())
