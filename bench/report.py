"""BENCHMARKS.md: the machine, the targets with met or missed, then each section's figures."""

from __future__ import annotations

from bench.figures import Section


def markdown(
    machine: list[tuple[str, str]],
    sections: list[Section],
    *,
    quick: bool,
    note: str,
    load_before: str,
    load_after: str,
    minutes: float,
) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python -m bench`, bench/__main__.py){' with QUICK=1: shorter runs and fewer repeats' if quick else ''}, "
        f'in {minutes:.1f} minutes. Figures only: nothing here passes or fails. "median [IQR]" is the median and '
        "interquartile range over repeats; each ratio is taken within a round (the apps interleaved), then its median and spread.",
        "",
    ]
    if note:
        lines += [f"**Note:** {note}", ""]
    lines += [
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {what} | {value} |" for what, value in machine),
        f"| load average (1, 5, 15 min) | {load_before} before, {load_after} after |",
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "| --- | --- | --- |",
    ]
    for section in sections:
        for target in section.targets:
            lines.append(f"| {target.goal} | {target.measured} | **{target.verdict}** |")
    for section in sections:
        lines += ["", f"## {section.title}", "", *section.lines]
    return "\n".join(lines) + "\n"
