"""Statistics for success rates: Wilson score intervals and per-cell summaries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from scipy.stats import binomtest

from .formatting import rate_text
from .result import RunResult


@dataclass(frozen=True)
class Rate:
    """k successes out of n, with a Wilson 95% interval (Wilson 1927; Brown, Cai &
    DasGupta 2001 recommend it over the normal approximation for small n or p near 0/1)."""

    k: int
    n: int
    low: float
    high: float

    @property
    def p(self) -> float:
        return self.k / self.n if self.n else float("nan")

    def __str__(self) -> str:
        return rate_text(self.p, self.low, self.high)


def wilson(k: int, n: int, confidence: float = 0.95) -> Rate:
    if n == 0:
        return Rate(0, 0, float("nan"), float("nan"))
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return Rate(int(k), int(n), float(ci.low), float(ci.high))


@dataclass(frozen=True)
class Difference:
    """p1 - p2 for two independent rates, with a 95% interval."""

    d: float
    low: float
    high: float


def newcombe(k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95) -> Difference:
    """The difference of two independent proportions with Newcombe's hybrid score interval
    (Newcombe 1998, method 10): the two Wilson intervals combined. Like Wilson's, it stays
    inside [-1, 1] and behaves at 0% and 100%, where the normal (Wald) interval does not."""
    a, b = wilson(k1, n1, confidence), wilson(k2, n2, confidence)
    d = a.p - b.p
    low = d - ((a.p - a.low) ** 2 + (b.high - b.p) ** 2) ** 0.5
    high = d + ((a.high - a.p) ** 2 + (b.p - b.low) ** 2) ** 0.5
    return Difference(d, low, high)


def rate_row(k: int, n: int, count: str = "successes", rate: str = "success_rate") -> dict:
    """The columns every rate table shares, in this order: runs, the count, the rate and
    its Wilson 95% interval (`ci_low`, `ci_high`; the report shows them as one column)."""
    r = wilson(k, n)
    return {"runs": r.n, count: r.k, rate: r.p, "ci_low": r.low, "ci_high": r.high}


def group(results: Iterable[RunResult], by: Sequence[str]) -> dict[tuple, list[RunResult]]:
    """Results grouped by config fields, in first-seen order."""
    groups: dict[tuple, list[RunResult]] = defaultdict(list)
    for r in results:
        groups[tuple(getattr(r.config, f) for f in by)].append(r)
    return dict(groups)


def success_rows(results: Iterable[RunResult], by: Sequence[str]) -> list[dict]:
    """One row per cell: runs, successes (100% test accuracy), rate with Wilson CI,
    mean and median final accuracy, diverged runs."""
    rows = []
    for key, cell in group(results, by).items():
        acc = np.array([r.final_accuracy for r in cell])
        rows.append({
            **dict(zip(by, key)),
            **rate_row(sum(r.success for r in cell), len(cell)),
            "mean_accuracy": float(acc.mean()),
            "median_accuracy": float(np.median(acc)),
            "diverged": sum(r.diverged for r in cell),
        })
    return rows
