"""Figures with their spread over repeats, and the targets they are held against (met or missed, never failed)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Spread:
    """A figure measured `n` times: its median, quartiles and extremes."""

    median: float
    q1: float
    q3: float
    lo: float
    hi: float
    n: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Spread:
        values = sorted(samples)
        if len(values) == 1:
            (only,) = values
            return cls(only, only, only, only, only, 1)
        # "inclusive" keeps the quartiles inside the samples when there are only a few repeats.
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return cls(statistics.median(values), q1, q3, values[0], values[-1], len(values))

    def show(self, digits: int = 1, unit: str = "") -> str:
        """'1.52 ms (IQR 1.50-1.55, min-max 1.49-1.61, n=7)'; one repeat has no spread to show."""
        median = f"{self.median:,.{digits}f}{unit}"
        if self.n == 1:
            return f"{median} (n=1, no spread)"
        return (
            f"{median} (IQR {self.q1:,.{digits}f}-{self.q3:,.{digits}f}, "
            f"min-max {self.lo:,.{digits}f}-{self.hi:,.{digits}f}, n={self.n})"
        )

    def cell(self, digits: int = 1) -> str:
        """The median and IQR for a table cell: '1.52 [1.50-1.55]'."""
        if self.n == 1:
            return f"{self.median:,.{digits}f}"
        return f"{self.median:,.{digits}f} [{self.q1:,.{digits}f}-{self.q3:,.{digits}f}]"


@dataclass(frozen=True, slots=True)
class Target:
    """A goal and what was measured against it; `met` is None when it could not be measured."""

    goal: str
    measured: str
    met: bool | None

    @property
    def verdict(self) -> str:
        return "not measured" if self.met is None else "met" if self.met else "missed"


@dataclass
class Section:
    """One part of BENCHMARKS.md: a title, Markdown lines, and the targets it measured."""

    title: str
    lines: list[str]
    targets: list[Target]
