"""Comparing success across a grid of tutorial settings (Experiments 1-3 share this).

A grid is the tutorial's run with a few settings varied, every cell run on the same
seeds, so that cells shared by several experiments (e.g. sigmoid with default init on
raw inputs) are the same configs and a results store trains them once. A `Comparison`
holds the runs of one grid and turns them into the evidence every such experiment
shows: success rates with Wilson 95% intervals, failure modes, figures, and sentences.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from .. import diagnosis, plots
from ..result import RunResult
from ..stats import Rate, group, success_rows, wilson
from ..formatting import percent, plural
from .base import Findings

# Why each failure mode fails, for the answers: (what the runs do, why).
MODE_TEXT = {
    diagnosis.DEAD_UNIT: ("have a dead hidden unit",
                         "a ReLU unit that is off on all four corners gets no gradient, and the one unit left "
                         "cannot represent XOR"),
    diagnosis.SATURATED_UNIT: ("have a saturated hidden unit",
                              "its output is constant over the data and its gradient nearly zero, so it stops learning"),
    diagnosis.AFFINE: ("stay affine",
                      "without a hidden non-linearity the net is an affine map, and no affine map separates XOR"),
    diagnosis.STILL_LEARNING: ("were still improving when the budget ran out",
                              "their loss sits on long flat plateaus where the gradient is small, so they learn "
                              "too slowly for the epoch budget"),
    diagnosis.CONSTANT: ("output nearly the same value on every corner",
                        "they sit on the plateau where the net predicts the mean target, before the hidden units "
                        "have split the corners, and the gradient there is small"),
    diagnosis.DIVERGED: ("diverged", "the steps overshoot until the loss is no longer finite"),
}
STUCK_WHY = "a local minimum or plateau that fits only part of XOR holds them"


def mode_text(mode: str) -> tuple[str, str]:
    """(what the runs in this failure mode do, why they fail)."""
    if mode.startswith("stuck at"):
        return mode.replace("stuck at", "settle with only") + " right", STUCK_WHY
    return MODE_TEXT.get(mode, (f"end as {mode}", "see the failure-mode table"))



def label(source, fields: Sequence[str]) -> str:
    """"tanh", "tanh/uniform", "tanh/uniform/centred": from a RunConfig or a table row."""
    get = source.get if isinstance(source, dict) else lambda f: getattr(source, f)
    return "/".join(("centred" if get(f) else "raw") if f == "center" else str(get(f)) for f in fields)


def rate(row: dict) -> Rate:
    return wilson(row["successes"], row["runs"])


def disjoint(a: dict, b: dict) -> bool:
    """Whether two cells' 95% intervals do not overlap: the conservative reading of a difference."""
    return a["ci_high"] < b["ci_low"] or b["ci_high"] < a["ci_low"]


@dataclass
class Comparison:
    """The runs of one grid, split into cells by `fields`, with their diagnoses."""

    results: list[RunResult]
    fields: tuple[str, ...]
    rows: list[dict] = field(init=False)  # stats.success_rows plus each cell's main failure mode
    modes: dict[str, Counter] = field(init=False)  # cell label -> failure mode counts
    cells: dict[str, list[RunResult]] = field(init=False)

    def __post_init__(self) -> None:
        self.cells = {label(dict(zip(self.fields, k)), self.fields): v for k, v in group(self.results, self.fields).items()}
        self.modes = {name: diagnosis.mode_counts(runs) for name, runs in self.cells.items()}
        self.rows = [self._with_main_failure(r) for r in success_rows(self.results, self.fields)]

    def _with_main_failure(self, row: dict) -> dict:
        failed = Counter({m: n for m, n in self.modes[label(row, self.fields)].items() if m != diagnosis.SUCCESS})
        main = failed.most_common(1)
        return {**row, "main_failure": main[0][0] if main else "", "main_failure_runs": main[0][1] if main else 0}

    def row(self, **where) -> dict:
        return next(r for r in self.rows if all(r[k] == v for k, v in where.items()))

    def name(self, row: dict) -> str:
        return label(row, self.fields)

    @property
    def epochs(self) -> int:
        return self.results[0].config.epochs

    @property
    def seeds(self) -> int:
        return self.rows[0]["runs"]

    def failure_table(self) -> list[dict]:
        return diagnosis.failure_rows(self.results, self.fields)

    def numbers(self) -> dict:
        return {
            "epochs": self.epochs,
            "seeds_per_cell": self.seeds,
            "cells": {self.name(r): {"runs": r["runs"], "successes": r["successes"], "success_rate": r["success_rate"],
                                     "ci95": [r["ci_low"], r["ci_high"]], "mean_accuracy": r["mean_accuracy"]}
                      for r in self.rows},
            "failure_modes": {name: dict(c) for name, c in self.modes.items()},
        }

    def figures(self, order: Sequence[dict], what: str) -> dict:
        """Success bars, accuracy strips, loss curves of typical runs, and decision maps of a
        typical success (from the best cell that has one) and a typical failure (from the
        worst cell that has one). order: the cells to draw runs from, best first."""
        names = [self.name(r) for r in self.rows]
        figs = {
            "success_rates": plots.success_bars(self.rows, self.fields, title=f"{what}: runs at 100% test accuracy"),
            "final_accuracy": plots.accuracy_strips(
                {n: [r.final_accuracy for r in self.cells[n]] for n in names},
                colors=[plots.cell_color(r) for r in self.rows], title=f"{what}: final test accuracy of every run"),
        }
        success, failure = self.typical_run(order, True), self.typical_run(order[::-1], False)
        picks = [r for r in (success, failure, *self.extremes(order)) if r is not None]
        picks = [r for i, r in enumerate(picks) if all(r is not p for p in picks[:i])][:4]
        if picks:
            figs["loss_curves"] = plots.loss_curves(
                {self.run_label(r): r for r in picks}, title=f"{what}: typical runs (train solid, test dashed)")
        for key, kind, run in (("decision_success", "successful", success), ("decision_failure", "failed", failure)):
            if run is not None and run.config.inputs == 2:
                figs[key] = plots.decision_maps(run, title=f"A typical {kind} run: {label(run.config, self.fields)} "
                                                           f"seed {run.config.seed}, {percent(run.final_accuracy, 1)} "
                                                           "test accuracy")
        return figs

    def typical_run(self, order: Sequence[dict], success: bool) -> RunResult | None:
        """The typical successful (or failed) run of the first cell in order that has one."""
        runs = (diagnosis.typical(self.cells[self.name(row)], success) for row in order)
        return next((r for r in runs if r is not None), None)

    def extremes(self, order: Sequence[dict]) -> list[RunResult | None]:
        """Typical failure of the best cell and typical success of the worst, for contrast."""
        return [diagnosis.typical(self.cells[self.name(order[0])], False),
                diagnosis.typical(self.cells[self.name(order[-1])], True)]

    def run_label(self, run: RunResult) -> str:
        return f"{label(run.config, self.fields)} seed {run.config.seed} ({'success' if run.success else 'failure'})"


def ranked(rows: Sequence[dict]) -> list[dict]:
    """Cells best first: by success rate, then mean final accuracy."""
    return sorted(rows, key=lambda r: (r["success_rate"], r["mean_accuracy"]), reverse=True)


def failure_reason(comparison: Comparison, row: dict) -> str:
    """One sentence naming a cell's most common failure mode, from its counts, and why."""
    failed = row["runs"] - row["successes"]
    if failed == 0:
        return f"Every {comparison.name(row)} run reached 100%."
    mode, count = row["main_failure"], row["main_failure_runs"]
    does, why = mode_text(mode)
    return f"{count} of the {failed} failed {comparison.name(row)} runs {does}: {why}."


def shift_reason(comparison: Comparison, before: dict, after: dict) -> str:
    """The failure mode whose count changed most between two cells, and why it matters."""
    a, b = comparison.modes[comparison.name(before)], comparison.modes[comparison.name(after)]
    modes = [m for m in set(a) | set(b) if m != diagnosis.SUCCESS]
    mode = max(modes, key=lambda m: (abs(b[m] - a[m]), m), default=None)
    if mode is None or a[mode] == b[mode]:
        return ""
    does, why = mode_text(mode)
    return (f"The runs that {does} go from {a[mode]} to {b[mode]} of {before['runs']} "
            f"({comparison.name(before)} to {comparison.name(after)}); {why}.")


def pair_answer(comparison: Comparison, field_name: str, before, after, change: str) -> str:
    """Answer "did changing field_name from before to after help?" for every other cell:
    the rates with CIs, which changes are significant, and the reason for the largest one."""
    pairs = _pairs(comparison, field_name, before, after)
    rest = [f for f in comparison.fields if f != field_name]
    quoted = "; ".join(f"{label(b, rest)} {rate(b)} to {rate(a)}" for b, a in pairs)
    first = (f"{change} moves the share of runs at 100% test accuracy after {plural(comparison.epochs, 'epoch')} "
             f"({comparison.seeds} seeds per cell, 95% CI) as follows: {quoted}.")
    verdicts = {"helps significantly for": [], "hurts significantly for": [], "makes no significant difference for": []}
    for b, a in pairs:
        key = ("makes no significant difference for" if not disjoint(b, a)
               else "helps significantly for" if a["success_rate"] > b["success_rate"] else "hurts significantly for")
        verdicts[key].append(label(b, rest))
    second = ("Reading a change as significant only when the two 95% intervals are disjoint, it "
              + ", and ".join(f"{k} {', '.join(v)}" for k, v in verdicts.items() if v) + ".")
    significant = [p for p in pairs if disjoint(*p)]
    if significant:
        b, a = max(significant, key=lambda p: abs(p[1]["success_rate"] - p[0]["success_rate"]))
        third = shift_reason(comparison, b, a)
    else:
        third = overall_failure(comparison)
    return " ".join(s for s in (first, second, third) if s)


def overall_failure(comparison: Comparison) -> str:
    """The most common failure mode over the whole grid, and why."""
    total = sum((Counter({m: n for m, n in c.items() if m != diagnosis.SUCCESS}) for c in comparison.modes.values()),
                Counter())
    if not total:
        return ""
    mode, count = total.most_common(1)[0]
    does, why = mode_text(mode)
    return f"Across the grid, {count} of the {sum(total.values())} failed runs {does}: {why}."


def _pairs(comparison: Comparison, field_name: str, before, after) -> list[tuple[dict, dict]]:
    """(before, after) rows that differ only in field_name, in table order."""
    rest = [f for f in comparison.fields if f != field_name]
    pairs = []
    for b in comparison.rows:
        if b[field_name] == before:
            a = comparison.row(**{field_name: after, **{f: b[f] for f in rest}})
            pairs.append((b, a))
    return pairs


def pair_numbers(comparison: Comparison, field_name: str, before, after) -> dict:
    """Per other-cell: the change in success rate and whether the 95% intervals are disjoint."""
    rest = [f for f in comparison.fields if f != field_name]
    return {label(b, rest): {"before": b["success_rate"], "after": a["success_rate"],
                             "change": a["success_rate"] - b["success_rate"], "significant": disjoint(b, a)}
            for b, a in _pairs(comparison, field_name, before, after)}


def findings(comparison: Comparison, answer: str, numbers: dict, order: Sequence[dict], what: str) -> Findings:
    return Findings(
        answer=answer,
        tables={"success": comparison.rows, "failure_modes": comparison.failure_table()},
        numbers={**comparison.numbers(), **numbers},
        figures=comparison.figures(order, what),
    )

