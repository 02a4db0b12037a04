"""What the playground shows of runs, as JSON: numbers (non-finite ones as null), success
rates with their Wilson intervals, the difference of two sides with Newcombe's interval
and its verdict in words, summaries of finished runs and failure modes of live ones.
Plain functions of runs and snapshots; the statistics are `stats`', the words
`formatting`'s, the modes `diagnosis`'."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .. import diagnosis
from ..config import RunConfig
from ..formatting import difference_verdict, json_number, json_safe
from ..result import RunResult
from ..stats import newcombe, wilson

ACCURACY_BINS = 20  # histogram of final accuracy: 5% bins
DIFFERENCE_METHOD = "Newcombe's hybrid score interval (from Wilson intervals)"


def finite(values: Sequence[float], digits: int = 6) -> list[float | None]:
    """JSON-safe numbers: NaN and infinities (a diverged run) become null."""
    return [json_number(round(v, digits)) for v in map(float, values)]


def params_json(params: dict[str, np.ndarray] | None) -> dict[str, list] | None:
    """A run's parameters as nested lists, non-finite entries as null."""
    if params is None:
        return None
    return {name: json_safe(np.round(np.asarray(value, dtype=np.float64), 7)) for name, value in params.items()}


def rate_json(k: int, n: int) -> dict[str, Any]:
    r = wilson(k, n)
    return {"k": r.k, "n": r.n, "low": r.low if n else None, "high": r.high if n else None}


@dataclass(frozen=True)
class Side:
    """One side of a job: its runs are `first` .. `first + count - 1`."""

    name: str
    first: int
    count: int

    @property
    def runs(self) -> range:
        return range(self.first, self.first + self.count)

    def json(self) -> dict[str, Any]:
        return {"name": self.name, "first": self.first, "count": self.count}


def summarise(results: Sequence[RunResult]) -> dict[str, Any]:
    """What the page shows when a job (or one side of it) is done: success k/n with its
    Wilson interval, the histogram of final accuracy, and each run's failure mode."""
    modes = [diagnosis.diagnose(r).mode for r in results]
    acc = np.array([r.final_accuracy for r in results])
    hist, _ = np.histogram(acc, bins=ACCURACY_BINS, range=(0.0, 1.0))
    k = sum(r.success for r in results)
    return {"rate": rate_json(k, len(results)), "histogram": hist.tolist(), "modes": ranked(Counter(modes)),
            "runs": [{"seed": r.config.seed, "success": r.success, "final_accuracy": r.final_accuracy,
                      "final_loss": finite([r.final_test_loss])[0], "diverged": r.diverged, "mode": m}
                     for r, m in zip(results, modes)]}


def ranked(counts: Counter) -> list[tuple[str, int]]:
    """Modes, most common first (ties by name)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def rates(sides: Sequence[Side], accuracy: dict[int, float], epoch: int) -> dict[str, Any]:
    """The success rates so far from each run's latest accuracy: `rate` (A's), and with
    a comparison `rate_b` and the `difference`."""
    out = []
    for s in sides:
        latest = [accuracy[i] for i in s.runs if i in accuracy]
        out.append({**rate_json(sum(a == 1.0 for a in latest), len(latest)), "epoch": epoch})
    if len(out) == 1:
        return {"rate": out[0]}
    return {"rate": out[0], "rate_b": out[1], "difference": difference_json(*out)}


def difference_json(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """B's success rate minus A's with Newcombe's 95% interval, and the verdict in words."""
    out: dict[str, Any] = {"estimate": None, "low": None, "high": None, "level": 0.95, "method": DIFFERENCE_METHOD,
                           "verdict": "No run has finished an epoch on both sides yet."}
    if a["n"] and b["n"]:
        d = newcombe(b["k"], b["n"], a["k"], a["n"])
        out.update(estimate=d.d, low=d.low, high=d.high, verdict=difference_verdict(d.low, d.high))
    return out


def live_modes(configs: Sequence[RunConfig], snaps: list[dict], params: list[dict | None],
               side: Side) -> list[tuple[str, int]]:
    """Failure modes of one side's runs as they stand now, from the snapshots so far and
    each run's latest parameters (`Job.copy`)."""
    loss: dict[int, list[float]] = {}
    correct: dict[int, list[float]] = {}
    for s in snaps:
        for i, l, a in zip(s["runs"], s["loss"], s["accuracy"]):
            loss.setdefault(i, []).append(np.nan if l is None else l)
            correct.setdefault(i, []).append(a)
    now = []
    for i in side.runs:
        if params[i] is None or i not in loss:
            continue
        c, tl = configs[i], np.array(loss[i])
        now.append(RunResult(c, np.zeros((len(tl), 5)), tl,
                             np.round(np.array(correct[i]) * c.test_total).astype(np.int64), params[i]))
    return ranked(diagnosis.mode_counts(now))
