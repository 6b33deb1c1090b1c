"""`make bench`: run every section, print its figures as it ends, and write BENCHMARKS.md.

Environment:
  BENCH_QUICK=1   shorter runs and fewer repeats (`make bench QUICK=1`), for a busy or shared machine
  BENCH_ONLY      some sections only, comma-separated: in-process, http, engine, ingest, profile
  BENCH_OUT       where to write the report (default BENCHMARKS.md; with BENCH_ONLY, nothing is written unless set)
  BENCH_NOTE      a sentence to print at the top of the report (e.g. that the machine was shared)
The router's own log lines go to a file (named at the end), as a deployment's would, not to the terminal.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import engine, hot_path, in_process, ingest, machine, over_http, postgres, report
from bench.figures import Section

SECTIONS = ("in-process", "http", "engine", "ingest", "profile")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # ivr.app's


def main() -> int:
    quick = os.environ.get("BENCH_QUICK", "").lower() not in ("", "0", "false", "no")
    only = [name for name in os.environ.get("BENCH_ONLY", "").split(",") if name]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        print(f"BENCH_ONLY: no section {', '.join(sorted(unknown))} (there are {', '.join(SECTIONS)})", file=sys.stderr)
        return 2
    out = os.environ.get("BENCH_OUT") or ("" if only else "BENCHMARKS.md")
    handle, log_path = tempfile.mkstemp(prefix="ivr-bench-", suffix=".log")
    os.close(handle)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, filename=log_path)
    began, load_before = time.monotonic(), machine.load_average()
    done: dict[str, Section] = {}
    failed = False

    def section(name: str, action: Callable[[], Section]) -> None:
        nonlocal failed
        if only and name not in only:
            return
        print(f"== {name} ...", flush=True)
        try:
            done[name] = action()
        except Exception:  # noqa: BLE001 - one broken section must not lose the others' figures
            failed = True
            text = traceback.format_exc()
            print(text, file=sys.stderr)
            done[name] = Section(f"{name}: failed", ["```", *text.rstrip().splitlines()[-12:], "```"], [])
        print("\n".join([f"## {done[name].title}", "", *done[name].lines, ""]), flush=True)

    with tempfile.TemporaryDirectory(prefix="ivr-bench-") as folder, postgres.server() as (pg_url, pg_why):
        scratch = Path(folder)
        machine_rows = machine.describe(pg_url)
        apps: list[in_process.Apps] = []

        def first() -> Section:
            found, built = in_process.run(quick, scratch / "in-process")
            apps.append(built)
            return found

        section("in-process", first)
        section("profile", lambda: hot_path.run(apps[0] if apps else in_process.Apps(scratch / "profile"), quick))
        section("engine", lambda: engine.run(quick))
        section("ingest", lambda: ingest.run(quick, scratch / "ingest", pg_url, pg_why))
        section("http", lambda: over_http.run(quick, scratch / "http", pg_url, pg_why))

    minutes = (time.monotonic() - began) / 60
    ordered = [done[name] for name in ("in-process", "http", "engine", "ingest", "profile") if name in done]
    text = report.markdown(
        machine_rows,
        ordered,
        quick=quick,
        note=os.environ.get("BENCH_NOTE", ""),
        load_before=load_before,
        load_after=machine.load_average(),
        minutes=minutes,
    )
    targets = [line for line in text.split("## Targets", 1)[1].split("\n## ", 1)[0].splitlines() if line.startswith("| ")]
    print("## Targets\n\n" + "\n".join(targets))
    if out:
        Path(out).write_text(text)
        print(f"\nwrote {out} in {minutes:.1f} minutes; the router's log lines are in {log_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
