"""Experiment 4: the sigmoid net's plateaus, and what common stopping rules make of them.

The runs are the tutorial's own (sigmoid, default init, raw inputs, lr 0.01), one per
seed: the same configs as Experiment 1's sigmoid cell, so a store reuses them. Each
stopping rule is replayed on the recorded curves, as if it had watched training.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import matplotlib
import numpy as np
from matplotlib.figure import Figure  # not pyplot: no GUI backend, no global figure state

from .. import plots
from ..config import LOG_EVERY, TRAIN_BATCHES, RunConfig
from ..formatting import percent, rate_text
from ..result import RunResult
from ..stats import rate_row, wilson
from ..stopping import (
    ESCAPE_DROP, PLATEAU_REL_TOL, PLATEAU_WINDOW, SKLEARN_N_ITER_NO_CHANGE, SKLEARN_TOL,
    Plateau, epoch_mean, find_plateaus, patience_stop, sklearn_stop, target_stop,
)
from .base import Experiment, Findings, Lab, Scale

PATIENCES = (5, 10, 20)


@dataclass(frozen=True)
class Rule:
    key: str  # CSV column name
    label: str
    stop: Callable[[RunResult], "int | None"]  # epochs the rule lets the run train, None: all


def _sklearn_on_train(r: RunResult) -> int | None:
    return sklearn_stop(epoch_mean(r.train_loss))


def _sklearn_on_test(r: RunResult) -> int | None:
    return sklearn_stop(r.test_loss)


def _patience_on_test(patience: int, r: RunResult) -> int | None:
    return patience_stop(r.test_loss, patience)


def _at_full_accuracy(r: RunResult) -> int | None:
    return target_stop(r.accuracy, 1.0)


SKLEARN_LABEL = f"scikit-learn default (tol {SKLEARN_TOL:g}, {SKLEARN_N_ITER_NO_CHANGE} epochs)"
RULES = (
    Rule("sklearn_train", f"{SKLEARN_LABEL}, train loss", _sklearn_on_train),
    Rule("sklearn_test", f"{SKLEARN_LABEL}, test loss", _sklearn_on_test),
    *(Rule(f"patience_{p}", f"patience {p}, test loss", partial(_patience_on_test, p)) for p in PATIENCES),
    Rule("full_accuracy", "stop at 100% test accuracy", _at_full_accuracy),
)


def configs(scale: Scale) -> list[RunConfig]:
    """The tutorial's sigmoid runs, one per seed (Experiment 1's sigmoid cell)."""
    base = RunConfig(activation="sigmoid", epochs=scale.budget(100))
    return [base.replace(seed=s) for s in scale.seed_list()]


def is_false_stop(r: RunResult, stop: int | None) -> bool:
    """The rule stopped the run at an accuracy below the one it ends its budget with."""
    return stop is not None and bool(r.accuracy[stop - 1] < r.final_accuracy)


def rule_row(rule: Rule, results: list[RunResult]) -> dict:
    stops = [rule.stop(r) for r in results]
    budget = np.array([len(r.test_loss) for r in results])
    trained = np.array([s if s is not None else b for s, b in zip(stops, budget)])
    false = [is_false_stop(r, s) for r, s in zip(results, stops)]
    lost = [bool(r.success and s is not None and r.accuracy[s - 1] < 1.0) for r, s in zip(results, stops)]
    acc_at_stop = np.array([r.accuracy[t - 1] for r, t in zip(results, trained)])
    fired = [s for s in stops if s is not None]
    return {
        "rule": rule.label,
        "runs": len(results),
        "fires": len(fired),
        **rate_row(sum(false), len(results), count="false_stops", rate="false_stop_rate"),
        "lost_successes": sum(lost),
        "successes": sum(r.success for r in results),
        "mean_epochs_saved": float((budget - trained).mean()),
        "median_stop_epoch": float(np.median(fired)) if fired else None,
        "mean_accuracy_at_stop": float(acc_at_stop.mean()),
        "mean_final_accuracy": float(np.mean([r.final_accuracy for r in results])),
    }


def run_row(r: RunResult, plateaus: list[Plateau]) -> dict:
    escaped = [p for p in plateaus if p.escaped]
    return {
        "seed": r.config.seed,
        "final_accuracy": r.final_accuracy,
        "success": r.success,
        "plateaus": len(plateaus),
        "escaped_plateaus": len(escaped),
        "longest_escaped_plateau": max((p.length for p in escaped), default=0),
        "first_escape_epoch": escaped[0].end + 1 if escaped else None,
        "first_plateau_loss": escaped[0].level if escaped else None,
        "first_plateau_accuracy": float(r.accuracy[escaped[0].end]) if escaped else None,
        **{f"stop_{rule.key}": rule.stop(r) for rule in RULES},
    }


def pattern_numbers(runs: list[dict]) -> dict:
    """How common the tutorial's flat-then-drop pattern is, and how long the flats last."""
    rate = wilson(sum(row["escaped_plateaus"] > 0 for row in runs), len(runs))
    showing = [row for row in runs if row["escaped_plateaus"] > 0]
    lengths = [row["longest_escaped_plateau"] for row in showing]
    return {
        "runs": rate.n,
        "runs_with_pattern": rate.k,
        "pattern_rate": rate.p,
        "pattern_ci": [rate.low, rate.high],
        "runs_with_repeated_pattern": sum(row["escaped_plateaus"] > 1 for row in runs),
        "median_escaped_plateau_epochs": float(np.median(lengths)) if lengths else None,
        "max_escaped_plateau_epochs": max(lengths, default=None),
        "median_first_plateau_loss": _median([row["first_plateau_loss"] for row in showing]),
        "median_first_plateau_accuracy": _median([row["first_plateau_accuracy"] for row in showing]),
        "median_first_escape_epoch": _median([row["first_escape_epoch"] for row in showing]),
        "plateau_definition": {
            "window_epochs": PLATEAU_WINDOW,
            "relative_improvement_below": PLATEAU_REL_TOL,
            "escape_drop_at_least": ESCAPE_DROP,
            "curve": "test loss per epoch",
        },
    }


def _median(values: list) -> float | None:
    return float(np.median(values)) if values else None


def example_runs(results: list[RunResult], plateaus: list[list[Plateau]], count: int = 5) -> list[int]:
    """Indices of runs to draw: those showing the pattern first, in seed order."""
    showing = [i for i, ps in enumerate(plateaus) if any(p.escaped for p in ps)]
    rest = [i for i in range(len(results)) if i not in showing]
    return (showing + rest)[:count]


def _rate_text(row: dict) -> str:
    return rate_text(row["false_stop_rate"], row["ci_low"], row["ci_high"])


def pattern_text(pattern: dict) -> str:
    n = pattern["runs"]
    if pattern["runs_with_pattern"]:
        return (f"{pattern['runs_with_pattern']} of {n} sigmoid runs "
                f"({percent(pattern['pattern_rate'])} [{percent(pattern['pattern_ci'][0])}, "
                f"{percent(pattern['pattern_ci'][1])}]) show the tutorial's pattern: the test loss stays flat "
                f"(under {percent(PLATEAU_REL_TOL)} better over {PLATEAU_WINDOW} epochs) for a median of "
                f"{pattern['median_escaped_plateau_epochs']:.0f} epochs (up to {pattern['max_escaped_plateau_epochs']}) "
                f"at a loss of about {pattern['median_first_plateau_loss']:.3f} and "
                f"{percent(pattern['median_first_plateau_accuracy'])} accuracy (medians of the first plateau), "
                f"then falls by at least {percent(ESCAPE_DROP)}"
                + (f"; in {pattern['runs_with_repeated_pattern']} runs it happens again."
                   if pattern["runs_with_repeated_pattern"] else "."))
    return (f"None of the {n} sigmoid runs shows a flat stretch followed by a large drop within "
            f"this budget, so the pattern could not be measured here.")


def rules_text(rows: list[dict]) -> str:
    """The loss rule that stops most runs early, the one that stops fewest, and the target rule."""
    loss_rules = [row for row in rows if row["rule"] != RULES[-1].label]
    worst = max(loss_rules, key=lambda row: row["false_stop_rate"])
    best = min(loss_rules, key=lambda row: (row["false_stop_rate"], -row["mean_epochs_saved"]))
    target = rows[-1]
    return (f"Of the loss-watching rules, {worst['rule']} fires in {worst['fires']} runs and stops "
            f"{_rate_text(worst)} of all runs before they reach their final accuracy (saving "
            f"{worst['mean_epochs_saved']:.0f} epochs on average); {best['rule']} fires in {best['fires']} and "
            f"stops {_rate_text(best)} early (saving {best['mean_epochs_saved']:.0f}); stopping at 100% "
            f"test accuracy never stops early by construction, but fires only in the {target['fires']} runs "
            f"that reach 100% and saves {target['mean_epochs_saved']:.0f} epochs on average.")


def answer(pattern: dict, rows: list[dict]) -> str:
    why = ("A flat loss is not a finished network: on a plateau the weights sit near a saddle of the loss "
           "(an MSE of 0.25 is what predicting 0.5 everywhere scores on 0/1 targets), where the gradient is "
           "tiny, so a rule that waits less than the plateau lasts mistakes it for convergence. scikit-learn's "
           "tol counts the plateau's tiny improvements as no change; a patience rule with no minimum "
           "improvement counts each as progress, so it fires less often and later.")
    return " ".join((pattern_text(pattern), rules_text(rows), why))


def _epoch_axis(epochs: int) -> np.ndarray:
    """x positions (epochs * 5,) of the logged train losses, in epochs (1-based like the tutorial)."""
    logged = np.arange(0, TRAIN_BATCHES, LOG_EVERY) / TRAIN_BATCHES  # (5,)
    return (np.arange(epochs)[:, None] + logged[None, :]).ravel() + 1


def loss_figure(results: list[RunResult], plateaus: list[list[Plateau]], examples: list[int]) -> Figure:
    fig, [[ax_train, ax_test, ax_one]] = plots.new_figure(ncols=3, width=15, height=4.2)
    epochs = np.arange(1, len(results[0].test_loss) + 1)
    for r in results:
        ax_test.plot(epochs, r.test_loss, color="0.8", lw=0.6)
    for i in examples:
        r = results[i]
        label = f"seed {r.config.seed}"
        ax_train.plot(_epoch_axis(len(r.test_loss)), r.train_loss.ravel(), lw=0.8, label=label)
        ax_test.plot(epochs, r.test_loss, lw=1.2, label=label)
    ax_train.set_title("Train loss every 100 batches")
    ax_test.set_title(f"Test loss per epoch (all {len(results)} runs in grey)")
    if examples:
        _detail(ax_one, results[examples[0]], plateaus[examples[0]])
    for ax in (ax_train, ax_test, ax_one):
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("MSE loss")
    ax_train.legend(fontsize=7)
    ax_test.legend(fontsize=7)
    fig.suptitle("Experiment 4: sigmoid loss curves (lr 0.01, default init, raw inputs)")
    return fig


def _detail(ax, r: RunResult, plateaus: list[Plateau]) -> None:
    """One run: its plateaus shaded, and where each rule would have stopped it."""
    epochs = np.arange(1, len(r.test_loss) + 1)
    ax.plot(epochs, r.test_loss, color="k", lw=1.2, label="test loss")
    for p in plateaus:
        ax.axvspan(p.start + 1, p.end + 1, color="tab:orange" if p.escaped else "0.85", alpha=0.3)
    colours = matplotlib.colormaps["tab10"]
    for j, rule in enumerate(RULES):
        stop = rule.stop(r)
        if stop is not None:
            ax.axvline(stop, color=colours(j), ls="--", lw=1, label=rule.label)
    ax.set_title(f"Seed {r.config.seed}: plateaus (orange: escaped) and stops")
    ax.legend(fontsize=6, loc="lower left")


def rules_figure(rows: list[dict]) -> Figure:
    fig, [[ax_false, ax_saved]] = plots.new_figure(ncols=2, width=11, height=3.8, sharey=True)
    y = np.arange(len(rows))
    rate = np.array([row["false_stop_rate"] for row in rows])
    err = np.array([[row["false_stop_rate"] - row["ci_low"], row["ci_high"] - row["false_stop_rate"]] for row in rows]).T
    ax_false.barh(y, 100 * rate, xerr=100 * err, color="tab:red", alpha=0.7, capsize=3)
    ax_false.set_xlabel("runs stopped before their final accuracy (%), Wilson 95% CI")
    ax_false.set_xlim(0, 100)
    ax_saved.barh(y, [row["mean_epochs_saved"] for row in rows], color="tab:blue", alpha=0.7)
    ax_saved.set_xlabel("mean epochs saved")
    ax_false.set_yticks(y, [row["rule"] for row in rows], fontsize=8)
    ax_false.invert_yaxis()
    fig.suptitle(f"Experiment 4: stopping rules on {rows[0]['runs']} sigmoid runs")
    return fig


class Termination(Experiment):
    name = "termination"
    title = "Experiment 4 (termination criteria)"
    question = ("When you use sigmoid activation, notice how the loss function flattens out, and then "
                "improves a lot, and then flattens, and then improves a lot. This kind of behavior is common "
                "for some problems (although not always), and it is quite tough to know whether the network "
                "has stopped learning, or just needs more time.")

    def configs(self, scale: Scale) -> list[RunConfig]:
        return configs(scale)

    def run(self, lab: Lab, scale: Scale) -> Findings:
        results = lab.run(self.configs(scale))
        plateaus = [find_plateaus(r.test_loss) for r in results]
        runs = [run_row(r, ps) for r, ps in zip(results, plateaus)]
        rows = [rule_row(rule, results) for rule in RULES]
        pattern = pattern_numbers(runs)
        examples = example_runs(results, plateaus)
        return Findings(
            answer=answer(pattern, rows),
            tables={"stopping_rules": rows, "runs": runs},
            numbers={"pattern": pattern, "rules": {rule.key: row for rule, row in zip(RULES, rows)}},
            figures={"loss_curves": loss_figure(results, plateaus, examples), "stopping_rules": rules_figure(rows)},
        )


EXPERIMENT = Termination()
