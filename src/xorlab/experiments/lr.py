"""Experiment 5: for which learning rates does the tutorial's tanh net learn?

Exactly the tutorial's setting (tanh, centred inputs, default init, 100 epochs, seed 42
for Python and torch): a log grid of learning rates, refined by bisection wherever two
neighbours fall in different classes, gives seed 42's ranges. The same grid over many
seeds then shows how typical seed 42's answer is.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure  # not pyplot: no GUI backend, no global figure state

from .. import plots
from ..config import RunConfig
from ..formatting import percent
from ..result import RunResult
from ..stats import success_rows
from . import budget
from .base import Experiment, Findings, Lab, Scale

TUTORIAL_SEED = 42  # "Use random seed 42 for both python and torch" (Experiment 5)
LR_LOW, LR_HIGH = 1e-4, 10.0
# Sizes live in `budget`: GRID_POINTS lrs evenly spaced in log over LR_LOW .. LR_HIGH, both
# ends included (49 points: 48 steps of a factor 10**(5/48) ~ 1.27; quick, 11 points: a
# factor 10**0.5), each rounded to LR_DIGITS significant digits. Each bisection round
# halves the log gap at a class boundary: 6 rounds leave (10**(5/48)) ** (1/64) ~ 1.0038,
# under 0.5% per boundary (quick, 2 rounds: 10**(1/8) ~ 1.33).
GRID_POINTS = budget.LR_GRID_POINTS
QUICK_GRID_POINTS = budget.LR_GRID_POINTS_QUICK
BISECT_ROUNDS = budget.LR_BISECT_ROUNDS
QUICK_BISECT_ROUNDS = budget.LR_BISECT_ROUNDS_QUICK
# Seed 42's class boundaries (too slow | learns | stuck | unstable | diverges), each
# refined once a bisection round: what the cost estimate counts for the bisection.
BOUNDARIES = 4
LR_DIGITS = 4  # significant digits kept, so every lr replays as `xorlab train --lr`

# The classes, in the order of the question and the figures. "stuck" (finite, settled,
# below 100% and no longer improving) completes the tutorial's three answers, which
# otherwise leave a flat failure at a large lr unnamed.
CLASSES = ("too slow", "learns", "stuck", "unstable", "diverges")
COLOURS = {"too slow": "tab:blue", "learns": "tab:green", "stuck": "tab:purple",
           "unstable": "tab:orange", "diverges": "tab:red"}

# Curve tests on the test loss per epoch, over its last TAIL epochs.
TAIL = 10
SWING_FLOOR = 0.01  # MSE; below this, ups and downs are SGD noise near a solution
SWING_REL = 1.0  # the tail climbs, in total, by more than its own lowest loss
IMPROVING_REL = 1e-3  # the tail ends at least 0.1% below where it starts


def tail(loss: np.ndarray) -> np.ndarray:
    return np.asarray(loss, dtype=float)[-TAIL:]


def is_unsettled(loss: np.ndarray) -> bool:
    """Not settling: the last epochs' test loss keeps climbing back (total rise above
    both SWING_FLOOR and SWING_REL x its low), or it ends far above the run's best
    (more than twice the best and SWING_FLOOR above it)."""
    loss = np.asarray(loss, dtype=float)
    last = tail(loss)
    rise = float(np.clip(np.diff(last), 0, None).sum())
    climbing = rise > max(SWING_FLOOR, SWING_REL * last.min())
    far_above_best = loss[-1] - loss.min() > max(SWING_FLOOR, loss.min())
    return climbing or far_above_best


def is_improving(loss: np.ndarray) -> bool:
    last = tail(loss)
    return bool(last[-1] < last[0] * (1 - IMPROVING_REL))


def classify(r: RunResult) -> str:
    """One run's class: diverges (non-finite), unstable (finite, not settling), learns
    (100% at the end), too slow (below 100%, still improving), stuck (neither)."""
    if r.diverged:
        return "diverges"
    if is_unsettled(r.test_loss):
        return "unstable"
    if r.success:
        return "learns"
    return "too slow" if is_improving(r.test_loss) else "stuck"


def round_lr(lr: float) -> float:
    return float(f"{lr:.{LR_DIGITS}g}")


def lr_grid(points: int) -> list[float]:
    return [round_lr(x) for x in np.geomspace(LR_LOW, LR_HIGH, points)]


def base_config(scale: Scale) -> RunConfig:
    """The tutorial's Experiment 5 setting (the lr and seed are set per run)."""
    return RunConfig(activation="tanh", center=True, init="default", epochs=scale.budget(100))


def boundary_midpoints(classes: dict[float, str]) -> list[float]:
    """Geometric midpoints of neighbouring lrs in different classes, not yet tried."""
    lrs = sorted(classes)
    mids = {round_lr(math.sqrt(a * b)) for a, b in zip(lrs, lrs[1:]) if classes[a] != classes[b]}
    return sorted(mids - set(lrs))


def bisect(lab: Lab, base: RunConfig, results: dict[float, RunResult], rounds: int) -> dict[float, RunResult]:
    """Refine every class boundary of one seed's lr results, one batch of runs per round."""
    results = dict(results)
    for _ in range(rounds):
        mids = boundary_midpoints({lr: classify(r) for lr, r in results.items()})
        if not mids:
            break
        results.update(zip(mids, lab.run([base.replace(lr=lr) for lr in mids])))
    return results


def ranges(points: dict[float, str]) -> list[dict]:
    """Maximal runs of neighbouring lrs in one class; each edge is the geometric
    midpoint to the next tried lr (the best estimate of where the class changes)."""
    lrs = sorted(points)
    rows: list[dict] = []
    for i, lr in enumerate(lrs):
        if rows and rows[-1]["class"] == points[lr]:
            rows[-1].update(lr_to=lr, points=rows[-1]["points"] + 1)
        else:
            lower = math.sqrt(lrs[i - 1] * lr) if i else None
            if rows:
                rows[-1]["edge_high"] = lower
            rows.append({"class": points[lr], "lr_from": lr, "lr_to": lr, "points": 1,
                         "edge_low": lower, "edge_high": None})
    return rows


def sweep_rows(results: Sequence[RunResult]) -> list[dict]:
    """Per lr over all seeds: success rate with Wilson CI and each class's share."""
    rows = success_rows(results, by=["lr"])
    classes: dict[float, list[str]] = {}
    for r in results:
        classes.setdefault(r.config.lr, []).append(classify(r))
    for row in rows:
        found = classes[row["lr"]]
        row.update({f"share_{c.replace(' ', '_')}": found.count(c) / len(found) for c in CLASSES})
    return sorted(rows, key=lambda row: row["lr"])


def seed_points(results: dict[float, RunResult]) -> list[dict]:
    return [{"lr": lr, "class": classify(r), "final_test_loss": r.final_test_loss,
             "final_accuracy": r.final_accuracy, "diverged": r.diverged}
            for lr, r in sorted(results.items())]


def nearest(rows: list[dict], lr: float) -> dict:
    return min(rows, key=lambda row: abs(math.log(row["lr"] / lr)))


def edge_rows(rows: list[dict], low: float, high: float) -> tuple[dict, dict]:
    """The sweep rows at the lowest and highest grid lr inside [low, high] (the nearest
    ones when the range falls between two grid points)."""
    inside = [row for row in rows if low <= row["lr"] <= high]
    if not inside:
        return nearest(rows, low), nearest(rows, high)
    return inside[0], inside[-1]


def _span(row: dict) -> str:
    if row["lr_from"] == row["lr_to"]:
        return f"at lr {row['lr_from']:g}"
    return f"from lr {row['lr_from']:g} to {row['lr_to']:g}"


def _class_text(name: str, spans: list[dict]) -> str | None:
    if not spans:
        return None
    verbs = {"learns": "reaches 100% test accuracy", "too slow": "learns too slowly (still improving, below 100%)",
             "stuck": "settles below 100% without improving", "unstable": "does not settle (unstable)",
             "diverges": "diverges (the loss becomes non-finite)"}
    return f"{verbs[name]} {' and '.join(_span(s) for s in spans)}"


def longest_stretch(rows: list[dict], keep) -> list[dict]:
    """The longest run of neighbouring rows (sorted by lr) that all satisfy keep."""
    best: list[dict] = []
    current: list[dict] = []
    for row in rows:
        current = current + [row] if keep(row) else []
        if len(current) > len(best):
            best = current
    return best


def _lr_span(rows: list[dict]) -> str:
    return f"at lr {rows[0]['lr']:g}" if len(rows) == 1 else f"from lr {rows[0]['lr']:g} to {rows[-1]['lr']:g}"


def context_text(sweep: list[dict], spans: list[dict], reliable: float = 0.9) -> str:
    """Seed 42's answer against the success rate over all seeds."""
    top_rate = max(row["success_rate"] for row in sweep)
    top = longest_stretch(sweep, lambda row: row["success_rate"] == top_rate)
    text = (f"Over {sweep[0]['runs']} seeds per lr, the highest success rate, {percent(top_rate)} "
            f"[{percent(top[0]['ci_low'])}, {percent(top[0]['ci_high'])}], is reached {_lr_span(top)}")
    good = longest_stretch(sweep, lambda row: row["success_rate"] >= reliable)
    text += (f"; at least {percent(reliable)} of seeds succeed {_lr_span(good)}." if good
             else f"; no lr reaches {percent(reliable)}.")
    learns = [s for s in spans if s["class"] == "learns"]
    if learns:
        lo, hi = edge_rows(sweep, learns[0]["lr_from"], learns[-1]["lr_to"])
        text += (f" At the edges of seed {TUTORIAL_SEED}'s learning range, {percent(lo['success_rate'])} of seeds "
                 f"succeed at lr {lo['lr']:g} and {percent(hi['success_rate'])} at lr {hi['lr']:g}.")
    stuck = max(sweep, key=lambda row: row["share_stuck"])
    if stuck["share_stuck"] > 0:
        text += (f" Many failures are not slow runs but runs that settle below 100% and stop improving "
                 f"(stuck: up to {percent(stuck['share_stuck'])} of seeds, at lr {stuck['lr']:g}).")
    return text


def why_text(spans: list[dict], epochs: int) -> str:
    large = ("overshoots, so the loss bounces and, larger still, overflows"
             if any(s["class"] == "unstable" for s in spans) else "overshoots until the loss overflows")
    return f"Too small a step cannot cross the loss surface in {epochs} x 500 SGD steps; too large a step {large}."


def answer(points: list[dict], spans: list[dict], sweep: list[dict], epochs: int) -> str:
    parts = [_class_text(c, [s for s in spans if s["class"] == c]) for c in CLASSES]
    seed42 = (f"With seed {TUTORIAL_SEED} (tanh, centred inputs, {epochs} epochs, {len(points)} learning rates "
              f"from {LR_LOW:g} to {LR_HIGH:g}) the network " + "; it ".join(p for p in parts if p) + ".")
    if not any(s["class"] == "unstable" for s in spans):
        seed42 += (" No tried learning rate gives a finite loss that fails to settle: past the last settling "
                   "one, training diverges outright.")
    return " ".join((seed42, context_text(sweep, spans), why_text(spans, epochs)))


def phase_figure(points: list[dict], spans: list[dict]) -> Figure:
    fig, [[ax]] = plots.new_figure(width=9, height=4)
    for s in spans:
        ax.axvspan(s["edge_low"] or s["lr_from"], s["edge_high"] or s["lr_to"], color=COLOURS[s["class"]], alpha=0.15)
    finite = [p for p in points if math.isfinite(p["final_test_loss"])]
    top = max([p["final_test_loss"] for p in finite], default=1.0) * 3
    for c in CLASSES:
        mine = [p for p in points if p["class"] == c]
        if mine:
            y = [p["final_test_loss"] if math.isfinite(p["final_test_loss"]) else top for p in mine]
            ax.scatter([p["lr"] for p in mine], y, color=COLOURS[c], s=18, label=c,
                       marker="x" if c == "diverges" else "o")
    for s in spans[1:]:
        ax.annotate(f"{s['edge_low']:.3g}", (s["edge_low"], 0), xycoords=("data", "axes fraction"),
                    xytext=(2, 4), textcoords="offset points", fontsize=8, rotation=90, va="bottom")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate (class edges marked: geometric midpoints between neighbours)")
    ax.set_ylabel("final test loss (non-finite drawn at the top)")
    ax.set_title(f"Experiment 5: seed {TUTORIAL_SEED}, tanh, centred inputs ({len(points)} learning rates)")
    ax.legend(fontsize=8)
    return fig


def sweep_figure(sweep: list[dict], spans: list[dict]) -> Figure:
    fig, [[ax_rate], [ax_share]] = plots.new_figure(nrows=2, width=9, height=6, sharex=True)
    lr = np.array([row["lr"] for row in sweep])
    rate = np.array([row["success_rate"] for row in sweep])
    ax_rate.fill_between(lr, [100 * row["ci_low"] for row in sweep], [100 * row["ci_high"] for row in sweep],
                         color="tab:green", alpha=0.25, label="Wilson 95% CI")
    ax_rate.plot(lr, 100 * rate, color="tab:green", marker=".", label="success rate")
    for s in spans:
        if s["class"] == "learns":
            ax_rate.axvspan(s["edge_low"] or s["lr_from"], s["edge_high"] or s["lr_to"], color="0.6", alpha=0.2)
    ax_rate.set_ylabel("runs at 100% (%)")
    ax_rate.set_title(f"Experiment 5: {sweep[0]['runs']} seeds per lr (grey: where seed {TUTORIAL_SEED} learns)")
    ax_rate.legend(fontsize=8)
    shares = [[row[f"share_{c.replace(' ', '_')}"] for row in sweep] for c in CLASSES]
    ax_share.stackplot(lr, 100 * np.array(shares), labels=CLASSES, colors=[COLOURS[c] for c in CLASSES], alpha=0.8)
    ax_share.set_xscale("log")
    ax_share.set_xlabel("learning rate")
    ax_share.set_ylabel("share of seeds (%)")
    ax_share.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def unique(configs: Sequence[RunConfig]) -> list[RunConfig]:
    return list(dict.fromkeys(configs))


class LearningRate(Experiment):
    name = "lr"
    title = "Experiment 5 (learning rate)"
    question = ("For what range of values does the network learn and reach 100% accuracy? For what values "
                "does the network training diverge and become unstable? For what values does it learn too "
                "slowly to each optimal accuracy in 100 epochs?")

    def configs(self, scale: Scale) -> list[RunConfig]:
        """Seed 42's grid and every seed's, and the bisection counted as BOUNDARIES new
        rates a round (distinct by a tiny offset): an upper bound."""
        base = base_config(scale)
        grid = lr_grid(QUICK_GRID_POINTS if scale.quick else GRID_POINTS)
        rounds = QUICK_BISECT_ROUNDS if scale.quick else BISECT_ROUNDS
        seed42 = [base.replace(lr=x, seed=TUTORIAL_SEED) for x in grid]
        bisected = [base.replace(lr=1e-9 * (i + 1), seed=TUTORIAL_SEED) for i in range(rounds * BOUNDARIES)]
        return seed42 + bisected + [base.replace(lr=x, seed=s) for x in grid for s in scale.seed_list()]

    def run(self, lab: Lab, scale: Scale) -> Findings:
        base = base_config(scale)
        grid = lr_grid(QUICK_GRID_POINTS if scale.quick else GRID_POINTS)
        seeds = scale.seed_list()
        tutorial = [base.replace(lr=lr, seed=TUTORIAL_SEED) for lr in grid]
        sweep_configs = [base.replace(lr=lr, seed=s) for lr in grid for s in seeds]
        todo = unique(tutorial + sweep_configs)
        by_config = dict(zip(todo, lab.run(todo)))
        rounds = QUICK_BISECT_ROUNDS if scale.quick else BISECT_ROUNDS
        results42 = bisect(lab, base.replace(seed=TUTORIAL_SEED),
                           {c.lr: by_config[c] for c in tutorial}, rounds)
        points = seed_points(results42)
        spans = ranges({p["lr"]: p["class"] for p in points})
        sweep = sweep_rows([by_config[c] for c in sweep_configs])
        return Findings(
            answer=answer(points, spans, sweep, base.epochs),
            tables={"seed42": points, "ranges": spans, "seeds": sweep},
            numbers={"seed": TUTORIAL_SEED, "grid": grid, "bisected": len(points) - len(grid),
                     "ranges": spans, "seeds": len(seeds),
                     "definitions": {"tail_epochs": TAIL, "swing_floor": SWING_FLOOR, "swing_rel": SWING_REL,
                                     "improving_rel": IMPROVING_REL}},
            figures={"phase_diagram": phase_figure(points, spans), "success_vs_lr": sweep_figure(sweep, spans)},
        )


EXPERIMENT = LearningRate()
