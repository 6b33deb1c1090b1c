"""Section 5: where a whole call's time goes, sampled by pyinstrument over the in-process call loop of section 1."""

from __future__ import annotations

import time

from bench.figures import Section
from bench.in_process import Apps, run_calls

TREE_LINES = 40
FLAT_LINES = 25
INTERVAL = 0.0005  # seconds between samples: a webhook of ~1 ms still gets a few


def run(apps: Apps, quick: bool) -> Section:
    """Profile new calls through the router (records on), the same way section 1 plays them."""
    try:
        from pyinstrument import Profiler
    except ImportError:  # installed by `make bench` (the `bench` extra)
        return Section(
            "5. Profile of the hot path", ["Not measured: pyinstrument is not installed (`pip install -e '.[bench]'`)."], []
        )
    count = 60 if quick else 300
    batch = apps.calls(count)
    profiler = Profiler(interval=INTERVAL)
    begin = time.perf_counter()
    profiler.start()
    _, bad = run_calls(apps.apps["router"], batch)
    profiler.stop()
    elapsed = time.perf_counter() - begin
    tree = _body(profiler.output_text(unicode=False, color=False, show_all=False))[:TREE_LINES]
    flat = _body(profiler.output_text(unicode=False, color=False, flat=True))[:FLAT_LINES]
    lines = [
        f"pyinstrument {INTERVAL * 1000:g} ms sampling over {count} whole calls ({count * len(apps.steps)} webhooks, "
        f"{bad} not 200) through `wsgi_app`, records on (SQLite): {elapsed:.1f} s with the profiler on.",
        "",
        f"The call tree, the {TREE_LINES} heaviest lines (`show_all=False`):",
        "",
        "```",
        *tree,
        "```",
        "",
        f"The {FLAT_LINES} functions with the most self time:",
        "",
        "```",
        *flat,
        "```",
    ]
    return Section("5. Profile of the hot path", lines, [])


def _body(text: str) -> list[str]:
    """The profile's lines without pyinstrument's banner (everything up to the first blank line after it)."""
    lines = text.rstrip().splitlines()
    for n, line in enumerate(lines):
        if n > 0 and not line.strip():
            return [line for line in lines[n + 1 :] if line.strip() and not line.startswith("Profile at ")]
    return lines
