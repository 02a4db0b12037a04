"""Conclusion: hidden layers do what linear models cannot, and the loss is not convex.

The first point reuses the baselines' comparison (the same function, the same runs).
The second is shown on a real solution: a network's loss is unchanged when its hidden
units are permuted (rows of dense1, columns of dense2), so a trained run and its
permutation are two equally good points. A convex function is, on the segment between
two points, at most the larger of its two end values; the loss measured along the
straight line between the solution and its permutation rises above both ends, so the
loss cannot be convex, and yet gradient descent found the solution.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .. import plots
from ..config import RunConfig
from ..formatting import percent
from ..landscape import cyclic_order, loss, path_losses, permute_hidden
from ..result import RunResult
from . import baselines
from .base import Experiment, Findings, Lab, Scale

PATH_STEPS = 101
# The run families a solution is taken from, in order of preference: the tutorial's own
# net first.
SOLUTION_NETS = ("tutorial net (2-2-1, sigmoid)", "2-2-1 net, tanh")


def pick_solution(runs: dict[str, list[RunResult]]) -> tuple[str, int, bool]:
    """The first successful run of SOLUTION_NETS: (net, index, True); without one, the
    most accurate run of the first net: (net, index, False)."""
    for name in SOLUTION_NETS:
        for i, r in enumerate(runs[name]):
            if r.success:
                return name, i, True
    first = runs[SOLUTION_NETS[0]]
    return SOLUTION_NETS[0], int(np.argmax([r.final_accuracy for r in first])), False


def permutation_path(run: RunResult, x: np.ndarray, y: np.ndarray, steps: int = PATH_STEPS) -> dict:
    """Loss from the run's final parameters (t = 0) to their hidden-unit permutation (t = 1).

    x (..., N), y (...): the run's own training data.
    """
    a = run.params
    b = permute_hidden(a, cyclic_order(run.config.hidden))
    t, losses = path_losses(a, b, x, y, run.config.activation, steps)
    peak = int(np.nanargmax(losses))
    ends = max(losses[0], losses[-1])
    return {
        "t": t, "loss": losses, "loss_start": float(losses[0]), "loss_end": float(losses[-1]),
        "loss_direct": loss(a, x, y, run.config.activation),
        "loss_max": float(losses[peak]), "t_at_max": float(t[peak]),
        "rise_above_ends": float(losses[peak] - ends), "ratio_to_ends": float(losses[peak] / ends),
    }


def path_figure(path: dict, title: str) -> Figure:
    fig, [[ax]] = plots.new_figure(width=6.5, height=4)
    ax.plot(path["t"], path["loss"], color="#1f77b4")
    ax.scatter([0, 1], [path["loss_start"], path["loss_end"]], color="green", zorder=3,
               label="the solution and its permutation (same loss)")
    ax.scatter([path["t_at_max"]], [path["loss_max"]], color="red", zorder=3, label="highest point on the line")
    ax.axhline(max(path["loss_start"], path["loss_end"]), color="grey", linestyle="--", linewidth=1,
               label="a convex loss stays below this line")
    ax.set_yscale("log")
    ax.set_xlabel("t: parameters (1 - t) * solution + t * permuted solution")
    ax.set_ylabel("training loss (MSE, 5,000 points)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return fig


def _accuracy_rows(rows: list[dict]) -> list[dict]:
    keep = ("model", "kind", "runs", "mean_accuracy", "max_accuracy", "successes", "success_rate", "ci_low", "ci_high")
    return [{k: r[k] for k in keep} for r in rows]


def answer(rows: list[dict], path: dict, net: str, seed: int, solved: bool) -> str:
    linear = [r for r in rows if r["kind"] == "linear"]
    best_linear = max(linear, key=lambda r: r["max_accuracy"])
    best_net = max((r for r in rows if r["kind"] == "network"), key=lambda r: r["success_rate"])
    layers = (f"while the {best_net['model']} reached 100% in {best_net['successes']}/{best_net['runs']} runs"
              if best_net["successes"] else "and at this budget no network with a hidden layer reached 100% either")
    which = ("a solution (100% test accuracy)" if solved
             else "the most accurate run (no run reached 100% at this scale, so this shows less)")
    rise = (f"yet on the straight line between the two the loss peaks at {path['loss_max']:.4g} "
            f"(t = {path['t_at_max']:.2f}), {path['ratio_to_ends']:.1f}x the ends. A convex function never exceeds "
            f"the larger end value on a segment, so the loss is not convex, and gradient descent found this "
            f"solution all the same"
            if path["rise_above_ends"] > 0 else
            "and on the straight line between the two the loss never rises above the ends, so this run alone "
            "does not rule out convexity")
    return (
        f"Multiple layers solve what linear models cannot: no linear model or linear net exceeded "
        f"{percent(best_linear['max_accuracy'])} on any data set, {layers}. "
        f"For {which} of the {net}, seed {seed}, permuting its hidden units gives the same loss "
        f"({path['loss_start']:.4g} at both ends), {rise}."
    )


class ConclusionExperiment(Experiment):
    name = "conclusion"
    title = "Conclusion"
    question = (
        "How multiple layers helped you solve a problem (learning XOR) that linear regression or logistic "
        "regression or Support Vector Machines [2] can't solve. The power of the gradient descent "
        "optimization method to solve problems even though the cost function is not convex."
    )

    def configs(self, scale: Scale) -> list[RunConfig]:
        return baselines.EXPERIMENT.configs(scale)  # the baselines' nets, trained once

    def run(self, lab: Lab, scale: Scale) -> Findings:
        comparison = baselines.compare(lab, scale)
        net, i, solved = pick_solution(comparison.runs)
        run = comparison.runs[net][i]
        x, y = baselines.train_points(comparison.data, i)
        path = permutation_path(run, x, y)
        seed = comparison.seeds[i]
        numbers = {k: v for k, v in path.items() if k not in ("t", "loss")}
        title = f"Loss between a solution (seed {seed}) and its hidden-unit permutation"
        return Findings(
            answer=answer(comparison.rows, path, net, seed, solved),
            tables={"accuracy": _accuracy_rows(comparison.rows),
                    "permutation_path": [{"t": float(t), "loss": float(v)} for t, v in zip(path["t"], path["loss"])]},
            numbers={**numbers, "net": net, "seed": seed, "solved": solved,
                     "config": run.config.to_dict()},
            figures={"permutation_path": path_figure(path, title)},
        )


EXPERIMENT = ConclusionExperiment()
