"""Beyond the tutorial: which single change rescues the runs that fail?

Two recipes fail often at the tutorial's budget: the tutorial's own (sigmoid, raw 0/1
inputs, lr 0.01), whose failures sit on the plateau, and the same with relu, whose
failures have dead units. For each, every change below is applied alone, on the same
seeds as the unchanged recipe, and its success rate is compared with the unchanged one.

The three optimizers other than SGD get their own learning rate: each is tried at a few
rates on other seeds (tuning seeds, never reported) and the best is used on the reported
seeds, so that "Adam fails" cannot mean "Adam at SGD's learning rate fails". The other
changes keep the recipe's learning rate, as a learner changing one knob would.

A change can win by doing more work rather than by being a better recipe (batch size 1
takes ten times the steps; a wider or deeper net more arithmetic per step), so each row
carries its cost beside its rate: gradient steps, and arithmetic relative to the
unchanged recipe (parameters x examples, both per epoch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from matplotlib.figure import Figure

from .. import plots
from ..config import RunConfig
from ..formatting import difference_text, rate_text
from ..model import parameter_count
from ..stats import newcombe, rate_row
from . import budget
from .base import Experiment, Findings, Lab, Scale


@dataclass(frozen=True)
class Change:
    """One knob moved away from the recipe; `tuned`: its learning rate is chosen on
    tuning seeds from `budget.RESCUE_LRS[optimizer]`."""

    label: str
    changes: dict = field(default_factory=dict)
    tuned: bool = False


CHANGES = (
    Change("unchanged"),
    Change("SGD + momentum 0.9", {"optimizer": "momentum"}, tuned=True),
    Change("Nesterov 0.9", {"optimizer": "nesterov"}, tuned=True),
    Change("Adam", {"optimizer": "adam"}, tuned=True),
    Change("batch size 1", {"batch_size": 1}),
    Change("batch size 50", {"batch_size": 50}),
    Change("noise 0", {"noise": 0.0}),
    Change("noise 0.3", {"noise": 0.3}),
    Change(f"weight decay {budget.RESCUE_WEIGHT_DECAY:g}", {"weight_decay": budget.RESCUE_WEIGHT_DECAY}),
    Change("3 hidden units", {"hidden": 3}),
    Change("4 hidden units", {"hidden": 4}),
    Change("2 hidden layers", {"layers": 2}),
)
RECIPES = {"sigmoid": "the tutorial's recipe (sigmoid)", "relu": "relu"}


def recipe(activation: str, scale: Scale) -> RunConfig:
    """The tutorial's run with this activation (raw inputs, default init, lr 0.01)."""
    return RunConfig(activation=activation, epochs=scale.budget(100))


def tuning_seeds(scale: Scale) -> list[int]:
    """Seeds for choosing learning rates: disjoint from every reported seed."""
    n = budget.RESCUE_TUNE_SEEDS_QUICK if scale.quick else budget.RESCUE_TUNE_SEEDS
    return [budget.RESCUE_TUNE_SEED_BASE + i for i in range(min(n, scale.seeds))]


def tuning_configs(scale: Scale) -> list[RunConfig]:
    """Every (recipe, tuned change, learning rate) on the tuning seeds."""
    return [recipe(a, scale).replace(lr=lr, seed=s, **c.changes)
            for a in RECIPES for c in CHANGES if c.tuned
            for lr in budget.RESCUE_LRS[c.changes["optimizer"]] for s in tuning_seeds(scale)]


def configs(scale: Scale, lrs: dict[tuple[str, str], float] | None = None) -> list[RunConfig]:
    """The reported runs: every (recipe, change) on the scale's seeds. `lrs` maps
    (activation, change label) to a tuned rate; without it, each tuned change is counted
    at its first candidate rate (the same number of runs, for the cost estimate)."""
    out = []
    for a in RECIPES:
        for c in CHANGES:
            lr = (lrs or {}).get((a, c.label), budget.RESCUE_LRS[c.changes["optimizer"]][0]) if c.tuned else None
            base = recipe(a, scale).replace(**c.changes, **({"lr": lr} if lr is not None else {}))
            out += [base.replace(seed=s) for s in scale.seed_list()]
    return out


def best_rates(results) -> dict[tuple[str, str], float]:
    """Per (activation, change): the tuning rate with the most successes, then the best
    mean final accuracy, then the smaller rate."""
    by: dict[tuple[str, str, float], list] = {}
    for r in results:
        c = r.config
        label = next(ch.label for ch in CHANGES if ch.tuned and ch.changes["optimizer"] == c.optimizer)
        by.setdefault((c.activation, label, c.lr), []).append(r)
    best: dict[tuple[str, str], tuple] = {}
    for (a, label, lr), runs in by.items():
        score = (sum(r.success for r in runs), sum(r.final_accuracy for r in runs) / len(runs), -lr)
        if (a, label) not in best or score > best[(a, label)][0]:
            best[(a, label)] = (score, lr)
    return {k: lr for k, (_, lr) in best.items()}


def cost(config: RunConfig, base: RunConfig) -> dict:
    """Steps per run and arithmetic relative to `base` (parameters x examples per epoch,
    the same number of epochs and examples whatever the batch size)."""
    steps = config.epochs * config.train_batches
    work = parameter_count(config.inputs, config.hidden, config.layers) / parameter_count(
        base.inputs, base.hidden, base.layers)
    return {"steps": steps, "work_vs_unchanged": work}


def rows(results: Sequence, scale: Scale, lrs: dict[tuple[str, str], float]) -> list[dict]:
    """One row per (recipe, change): its rate, the difference from the unchanged recipe
    with Newcombe's 95% interval, and its cost. Results in `configs` order."""
    out, n = [], scale.seeds
    for i, a in enumerate(RECIPES):
        block = results[i * len(CHANGES) * n:(i + 1) * len(CHANGES) * n]
        base_k = sum(r.success for r in block[:n])
        for j, c in enumerate(CHANGES):
            runs = block[j * n:(j + 1) * n]
            k = sum(r.success for r in runs)
            diff = newcombe(k, n, base_k, n)
            out.append({"activation": a, "change": c.label, "lr": runs[0].config.lr,
                        **rate_row(k, n), "difference": diff.d, "diff_low": diff.low, "diff_high": diff.high,
                        "diverged": sum(r.diverged for r in runs), **cost(runs[0].config, block[0].config)})
    return out


def significant(row: dict) -> bool:
    return row["diff_low"] > 0


def answer(table: list[dict], scale: Scale) -> str:
    """Two sentences per the issue: per recipe, which changes rescue runs (their interval
    for the difference excludes 0) and the best one with its cost."""
    parts = []
    for a, name in RECIPES.items():
        mine = [r for r in table if r["activation"] == a]
        base, changed = mine[0], mine[1:]
        best = max(changed, key=lambda r: (r["success_rate"], -r["work_vs_unchanged"], -r["steps"]))
        helps = [r["change"] for r in changed if significant(r)]
        verdict = (f"{len(helps)} of {len(changed)} single changes raise it significantly ({', '.join(helps)})"
                   if helps else f"none of the {len(changed)} single changes raises it significantly")
        parts.append(
            f"For {name} ({rate_text(base['success_rate'], base['ci_low'], base['ci_high'])} of {scale.seeds} seeds "
            f"at 100% after {scale.budget(100)} epochs), {verdict}; the best is "
            f"{best['change']} at {rate_text(best['success_rate'], best['ci_low'], best['ci_high'])} "
            f"({difference_text(best['difference'], best['diff_low'], best['diff_high'])}, "
            f"{best['steps']:,} steps, {best['work_vs_unchanged']:.2g}x the arithmetic).")
    return " ".join(parts)


def forest_figure(table: list[dict]) -> Figure:
    """Per recipe, each change's success rate and Wilson interval, beside the unchanged
    recipe's band: the figure that carries the answer."""
    fig, axes = plots.new_figure(len(RECIPES), width=5.2 * len(RECIPES), height=0.32 * len(CHANGES) + 1.2,
                                 sharey=True)
    for ax, (a, name) in zip(axes[0], RECIPES.items()):
        mine = [r for r in table if r["activation"] == a]
        ys = range(len(mine))[::-1]
        base = mine[0]
        ax.axvspan(100 * base["ci_low"], 100 * base["ci_high"], color="0.85", zorder=0)
        for y, r in zip(ys, mine):
            color = "tab:green" if significant(r) else ("tab:red" if r["diff_high"] < 0 else "0.3")
            ax.errorbar(100 * r["success_rate"], y, xerr=[[100 * (r["success_rate"] - r["ci_low"])],
                        [100 * (r["ci_high"] - r["success_rate"])]], fmt="o", color=color, capsize=3)
        ax.set_yticks(list(ys), [r["change"] for r in mine])
        ax.set_xlim(-2, 102)
        ax.set_xlabel("runs at 100% test accuracy (%), Wilson 95% CI")
        ax.set_title(f"{name}: grey band = unchanged", fontsize=9)
    fig.suptitle("What rescues the failing runs? (green: significantly better, red: worse)")
    return fig


class RescueExperiment(Experiment):
    name = "rescue"
    title = "Beyond the tutorial: what rescues the failing runs?"
    question = ("Which single change rescues the runs that fail: momentum, Nesterov, Adam, a smaller or larger "
                "batch, less or more noise, weight decay, a wider or a deeper net?")

    def configs(self, scale: Scale) -> list[RunConfig]:
        return tuning_configs(scale) + configs(scale)

    def run(self, lab: Lab, scale: Scale) -> Findings:
        lrs = best_rates(lab.run(tuning_configs(scale)))
        table = rows(lab.run(configs(scale, lrs)), scale, lrs)
        return Findings(
            answer=answer(table, scale),
            tables={"rescue": table},
            numbers={"learning_rates": {f"{a}/{label}": lr for (a, label), lr in lrs.items()},
                     "candidate_rates": budget.RESCUE_LRS, "tuning_seeds": tuning_seeds(scale),
                     "seeds": scale.seeds},
            figures={"rescue": forest_figure(table)},
        )


EXPERIMENT = RescueExperiment()
