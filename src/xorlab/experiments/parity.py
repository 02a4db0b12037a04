"""Experiment Bonus: XOR (parity) of N inputs, and how big the hidden layer must be.

For each N and each training recipe, the smallest hidden layer H that reaches 100% test
accuracy in at least 90% of seeds (`budget.PARITY_TARGET`), with its Wilson interval:
  - the tutorial's recipe: the tutorial's net and budget (sigmoid, raw 0/1 inputs,
    lr 0.01, 100 epochs), changing only the sizes, as the tutorial asks;
  - a recipe that solves parity: tanh with centred -1/+1 inputs (what Experiments 1 and
    3 find learns XOR most reliably), U(-1, 1) initial weights, lr 0.1 and a longer
    budget (`budget` says how it was found).
Both are set against theory: floor(N/2)+1 sigmoid units suffice (Setiono 1997) and N
threshold units in one hidden layer do (Wilamowski, Hunter & Malinowski 2003).

The search is adaptive, so its cost stays bounded: H goes up from
`PARITY_HIDDEN_START` and stops at the first H that passes, up to
`PARITY_HIDDEN_FACTOR * N`. Each cell is first screened on its first
`PARITY_SCREEN_SEEDS` seeds; a cell whose screening already rules out 90% (Wilson upper
bound below it) is passed over, and only a cell that may pass gets every seed. Every
open (recipe, N) search advances one step per round, and a round is one call to the
lab, so the engine trains each round as one batch. All sizes are in `budget`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure  # not pyplot: no GUI backend, no global figure state
from matplotlib.patches import Rectangle

from .. import plots
from ..config import ConfigError, RunConfig
from ..formatting import percent, rate_text
from ..result import RunResult
from ..stats import rate_row, wilson
from . import budget
from .base import Experiment, Findings, Lab, Scale

MAX_INPUTS = budget.PARITY_MAX_INPUTS
MAX_INPUTS_LIMIT = budget.PARITY_MAX_INPUTS_LIMIT
CSV_COLUMNS = ["inputs", "recipe", "layers", "activation", "epochs", "lr", "center", "min_hidden", "seeds",
               "success_rate", "ci_low", "ci_high"]


@dataclass(frozen=True)
class Recipe:
    """How a parity net is trained: everything but its sizes and seed."""

    name: str
    activation: str
    center: bool
    init: str
    lr: float
    epochs: int
    layers: int = 1  # hidden layers of H units each

    def config(self, inputs: int, hidden: int, seed: int) -> RunConfig:
        return RunConfig(inputs=inputs, hidden=hidden, activation=self.activation, center=self.center,
                         init=self.init, lr=self.lr, epochs=self.epochs, layers=self.layers, seed=seed)

    def describe(self) -> str:
        inputs = "centred -1/+1 inputs" if self.center else "raw 0/1 inputs"
        init = "U(-1, 1) init" if self.init == "uniform" else "PyTorch's default init"
        depth = "" if self.layers == 1 else f", {self.layers} hidden layers of H units"
        return (f"{self.activation}{depth}, {inputs}, {init}, lr {self.lr:g}, "
                f"{self.epochs} epoch{'' if self.epochs == 1 else 's'}")


def recipes(scale: Scale) -> tuple[Recipe, ...]:
    """The tutorial's recipe and the solving one, at this scale's budgets. The solving
    recipe's budget is PARITY_SOLVE_EPOCHS / 100 times the tutorial's, so `--quick` and
    `--epochs` shorten both alike."""
    tutorial_epochs = scale.budget(100)
    solve_epochs = max(1, round(tutorial_epochs * budget.PARITY_SOLVE_EPOCHS / 100))
    return (
        Recipe("tutorial", "sigmoid", False, "default", 0.01, tutorial_epochs),
        Recipe("solving", budget.PARITY_SOLVE_ACTIVATION, True, budget.PARITY_SOLVE_INIT, budget.PARITY_SOLVE_LR,
               solve_epochs),
    )


def setiono_hidden(inputs: int) -> int:
    """floor(N/2) + 1 sigmoid hidden units suffice for N-bit parity (Setiono 1997,
    Neural Computation 9(5))."""
    return inputs // 2 + 1


def threshold_hidden(inputs: int) -> int:
    """N threshold units in one hidden layer suffice (Wilamowski, Hunter & Malinowski
    2003, IJCNN)."""
    return inputs


def hidden_max(inputs: int) -> int:
    return budget.PARITY_HIDDEN_FACTOR * inputs


def cost_units(configs: Sequence[RunConfig]) -> float:
    """Cost in 100-epoch 2-2-1 runs (`budget`'s unit): the weights a step touches,
    N * H plus H * H per extra hidden layer, over the 2-2-1 net's 4, times epochs / 100."""
    return sum(c.hidden * (c.inputs + (c.layers - 1) * c.hidden) / 4 * c.epochs / 100 for c in configs)


@dataclass(frozen=True)
class Design:
    """What the experiment searches at a scale, before anything trains."""

    inputs: tuple[int, ...]
    recipes: tuple[Recipe, ...]
    seeds: int  # every seed of a cell that may pass
    screen: int  # the seeds a cell is screened on first
    depths: tuple[int, ...] = budget.PARITY_DEPTHS

    def searched(self) -> list[Recipe]:
        """Every recipe at every depth: one search per (recipe, depth, N)."""
        return [replace(r, layers=layers) for r in self.recipes for layers in self.depths]

    def plan(self) -> dict:
        """The most the search can run: every H screened, and every H given all seeds."""
        cells = [(r, n, h) for r in self.searched() for n in self.inputs
                 for h in range(budget.PARITY_HIDDEN_START, hidden_max(n) + 1)]
        screens = [r.config(n, h, s) for r, n, h in cells for s in range(self.screen)]
        full = [r.config(n, h, s) for r, n, h in cells for s in range(self.seeds)]
        return {"cells_at_most": len(cells), "runs_at_most": len(full),
                "units_at_most": round(cost_units(full), 1), "screen_runs": len(screens),
                "screen_units": round(cost_units(screens), 1)}


def max_inputs_for(scale: Scale, max_inputs: int) -> int:
    if scale.quick:
        return min(max_inputs, budget.PARITY_MAX_INPUTS_QUICK)
    if scale.seeds >= budget.PARITY_LARGE_AT_SEEDS and max_inputs == MAX_INPUTS:
        return budget.PARITY_MAX_INPUTS_LARGE
    return max_inputs


def design(scale: Scale, max_inputs: int = MAX_INPUTS) -> Design:
    """The search for a scale: `scale.seeds` seeds (100 by default) for a cell that may
    pass, after screening on PARITY_SCREEN_SEEDS of them."""
    top = max_inputs_for(scale, max_inputs)
    seeds = scale.seeds
    return Design(tuple(range(budget.PARITY_MIN_INPUTS, top + 1)), recipes(scale), seeds,
                  min(budget.PARITY_SCREEN_SEEDS, seeds))


# --- the search --------------------------------------------------------------------


def ruled_out(successes: int, runs: int, target: float = budget.PARITY_TARGET) -> bool:
    """The cell cannot reach `target`: its Wilson upper bound is below it."""
    return wilson(successes, runs).high < target


@dataclass
class Search:
    """One (recipe, depth, N) search, upward in H; `cells` records every cell tried."""

    recipe: Recipe
    inputs: int
    hidden: int = budget.PARITY_HIDDEN_START
    stage: str = "screen"  # or "full"
    found: int | None = None
    cells: list[dict] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.found is not None or self.hidden > hidden_max(self.inputs)

    def configs(self, d: Design) -> list[RunConfig]:
        count = d.screen if self.stage == "screen" else d.seeds
        return [self.recipe.config(self.inputs, self.hidden, s) for s in range(count)]

    def record(self, results: list[RunResult], d: Design) -> None:
        """Take a cell's results and decide the next step."""
        k, n = sum(r.success for r in results), len(results)
        self.cells.append({"recipe": self.recipe.name, "layers": self.recipe.layers, "inputs": self.inputs,
                           "hidden": self.hidden,
                           "stage": self.stage, **rate_row(k, n),
                           "diverged": sum(r.diverged for r in results)})
        if self.stage == "screen" and not ruled_out(k, n) and d.seeds > n:
            self.stage = "full"
            return
        if k >= budget.PARITY_TARGET * n and n == d.seeds:
            self.found = self.hidden
            return
        self.hidden, self.stage = self.hidden + 1, "screen"


def search(lab: Lab, d: Design) -> list[Search]:
    """Every (recipe, depth, N) search to its end, one lab call per round."""
    searches = [Search(r, n) for r in d.searched() for n in d.inputs]
    while open_ := [s for s in searches if not s.done]:
        batches = [s.configs(d) for s in open_]
        results = lab.run([c for b in batches for c in b])
        start = 0
        for s, b in zip(open_, batches):
            s.record(results[start:start + len(b)], d)
            start += len(b)
    return searches


# --- analysis ----------------------------------------------------------------------


def minimal_row(s: Search) -> dict:
    """The CSV row: the smallest passing H with its rate, or (none found) the best cell tried."""
    if s.found is not None:
        cell = [c for c in s.cells if c["hidden"] == s.found][-1]  # its largest sample
    else:
        most = max(c["runs"] for c in s.cells)
        cell = max((c for c in s.cells if c["runs"] == most), key=lambda c: (c["success_rate"], c["hidden"]))
    return {"inputs": s.inputs, "recipe": s.recipe.name, "layers": s.recipe.layers, "activation": s.recipe.activation,
            "epochs": s.recipe.epochs, "lr": s.recipe.lr, "center": s.recipe.center,
            "min_hidden": s.found, "seeds": cell["runs"], "success_rate": cell["success_rate"],
            "ci_low": cell["ci_low"], "ci_high": cell["ci_high"]}


def answer_rows(rows: list[dict], d: Design) -> list[dict]:
    """Per N: the theory's sizes and each recipe's smallest H with its rate, for reading."""
    out = []
    for n in d.inputs:
        row = {"inputs": n, "floor(N/2)+1 (Setiono 1997)": setiono_hidden(n),
               "N (Wilamowski et al. 2003)": threshold_hidden(n)}
        for r in rows:
            if r["inputs"] == n:
                depth = "" if r["layers"] == 1 else f", {r['layers']} layers"
                row[f"{r['recipe']} recipe{depth}"] = cell_text(r, hidden_max(n))
        out.append(row)
    return out


def cell_text(row: dict, top: int) -> str:
    rate = rate_text(row['success_rate'], row['ci_low'], row['ci_high'])
    if row["min_hidden"] is None:
        return f"none up to H = {top} (best {rate} of {row['seeds']})"
    return f"H = {row['min_hidden']}: {rate} of {row['seeds']}"


def _theory(rows: list[dict]) -> str:
    parts = []
    for r in rows:
        if r["min_hidden"] is None:
            continue
        n, h = r["inputs"], r["min_hidden"]
        where = ("below floor(N/2)+1" if h < setiono_hidden(n) else "at floor(N/2)+1" if h == setiono_hidden(n)
                 else "between floor(N/2)+1 and N" if h <= threshold_hidden(n) else "above N")
        parts.append(f"N={n}: {where}")
    return "; ".join(parts) if parts else "no N solved within the range"


def headline(by: dict[str, list[dict]], d: Design) -> str:
    """The answer in one sentence: each recipe's smallest H per N, the solving recipe first."""
    def sizes(rows: list[dict]) -> str:
        return ", ".join(f"N={r['inputs']}: " + (f"H = {r['min_hidden']}" if r["min_hidden"] is not None
                                                  else f"none up to {hidden_max(r['inputs'])}") for r in rows)

    recipes = list(reversed(d.recipes))
    return (f"Smallest hidden layer H with >= {percent(budget.PARITY_TARGET)} of seeds at 100% test accuracy: "
            + "; ".join(f"the {r.name} recipe {sizes(by[r.name])}" for r in recipes) + ".")


def depth_rows(rows: list[dict], d: Design) -> list[dict]:
    """Per recipe and N: units in all at the smallest passing size, one hidden layer (H)
    against two (2 x H); `fewer_with_two_layers` is None where a depth found no size."""
    out = []
    for r in d.recipes:
        for n in d.inputs:
            found = {x["layers"]: x["min_hidden"] for x in rows if (x["recipe"], x["inputs"]) == (r.name, n)}
            one, two = (None if found.get(k) is None else k * found[k] for k in (1, 2))
            out.append({"recipe": r.name, "inputs": n, "one_layer_units": one, "two_layer_units": two,
                        "fewer_with_two_layers": None if None in (one, two) else two < one})
    return out


def depth_text(rows: list[dict]) -> str:
    """Where a second hidden layer needs fewer units in all than one, per recipe."""
    parts = []
    for name in dict.fromkeys(r["recipe"] for r in rows):
        pairs = [r for r in rows if r["recipe"] == name and r["fewer_with_two_layers"] is not None]
        if not pairs:
            parts.append(f"the {name} recipe found no passing size at both depths for any N")
            continue
        sizes = ", ".join(f"N={r['inputs']}: {r['two_layer_units']} vs {r['one_layer_units']}" for r in pairs)
        fewer = [str(r["inputs"]) for r in pairs if r["fewer_with_two_layers"]]
        verdict = f"fewer units in all for N = {', '.join(fewer)}" if fewer else "no fewer units in all for any N"
        parts.append(f"the {name} recipe with two hidden layers needs {verdict} (units, two layers vs one: {sizes})")
    return "Depth: " + "; ".join(parts) + "."


def answer(rows: list[dict], d: Design, runs: int, units: float) -> str:
    by = {r.name: [row for row in rows if row["recipe"] == r.name and row["layers"] == 1] for r in d.recipes}
    parts = [headline(by, d), f"H was searched from {budget.PARITY_HIDDEN_START} to {budget.PARITY_HIDDEN_FACTOR}N; "
             "rates with their Wilson 95% intervals:"]
    for r in d.recipes:
        found = "; ".join(f"N={row['inputs']}: {cell_text(row, hidden_max(row['inputs']))}" for row in by[r.name])
        parts.append(f"The {r.name} recipe ({r.describe()}): {found}.")
    solving = by[d.recipes[-1].name]
    spare = any(r["min_hidden"] is not None and r["min_hidden"] > setiono_hidden(r["inputs"]) for r in solving)
    parts.append(f"Against theory (floor(N/2)+1 sigmoid units suffice, Setiono 1997; N threshold units, "
                 f"Wilamowski et al. 2003), the {d.recipes[-1].name} recipe's size is {_theory(solving)}"
                 + (": the theory's sizes are what a net can represent, while gradient descent from a random "
                    "start finds such a solution reliably only with spare units." if spare else "."))
    tutorial = by[d.recipes[0].name]
    stalled = [row["inputs"] for row in tutorial if row["min_hidden"] is None]
    if stalled:
        parts.append(f"At the tutorial's budget no size up to 2N suffices for N = {', '.join(map(str, stalled))}: "
                     "the parity of N bits is uncorrelated with every proper subset of its inputs, so from a random "
                     "start the gradient carries almost no signal and the net sits on a plateau, which raw 0/1 inputs "
                     "and lr 0.01 leave too little time to escape.")
    parts.append(depth_text(depth_rows(rows, d)))
    parts.append(f"Each cell was screened on {d.screen} seeds and, where 90% stayed possible, run on all {d.seeds} "
                 f"({runs} runs in all, {units:.0f} units of a 100-epoch 2-2-1 run; the search table lists every "
                 "cell tried).")
    return " ".join(parts)


# --- figures -----------------------------------------------------------------------


def success_matrix(cells: list[dict], inputs: Sequence[int], top: int) -> np.ndarray:
    """Success rate (len(inputs), top): row N, column H - 1, from each cell's largest
    sample; NaN where not tried."""
    m = np.full((len(inputs), top), np.nan)
    for c in sorted(cells, key=lambda c: c["runs"]):
        m[list(inputs).index(c["inputs"]), c["hidden"] - 1] = c["success_rate"]
    return m


def _panel(ax, cells: list[dict], rows: list[dict], inputs: Sequence[int], top: int, title: str):
    m = success_matrix(cells, inputs, top)
    ax.grid(False)  # a heat map: the cells are the grid
    image = ax.imshow(m, vmin=0, vmax=1, cmap="viridis", origin="lower", aspect="auto",
                      extent=(0.5, top + 0.5, inputs[0] - 0.5, inputs[-1] + 0.5))
    for i, n in enumerate(inputs):
        for h in range(1, top + 1):
            if np.isfinite(m[i, h - 1]):
                v = m[i, h - 1]
                ax.text(h, n, f"{100 * v:.0f}", ha="center", va="center", fontsize=7,
                        color="black" if v > 0.6 else "white")
        ax.add_patch(Rectangle((setiono_hidden(n) - 0.5, n - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.5))
        found = next((r["min_hidden"] for r in rows if r["inputs"] == n), None)
        if found is not None:
            ax.add_patch(Rectangle((found - 0.5, n - 0.5), 1, 1, fill=False, edgecolor="white", linewidth=2.5))
    ax.set_xticks(range(1, top + 1))
    ax.set_yticks(list(inputs))
    ax.set_xlabel("hidden units H")
    ax.set_ylabel("inputs N")
    ax.set_title(title, fontsize=9)
    return image


def search_figure(cells: list[dict], rows: list[dict], d: Design) -> Figure:
    """One panel per recipe (columns) and depth (rows): % of seeds at 100% test accuracy
    per (N, H) cell tried."""
    top = max(hidden_max(n) for n in d.inputs)
    fig, axes = plots.new_figure(ncols=len(d.recipes), nrows=len(d.depths), width=4.6 * len(d.recipes) + 1,
                                 height=3.6 * len(d.depths))
    for ax, r in zip(axes.T.flat, d.searched()):
        def mine(xs: list[dict]) -> list[dict]:
            return [x for x in xs if (x["recipe"], x["layers"]) == (r.name, r.layers)]

        image = _panel(ax, mine(cells), mine(rows), d.inputs, top, f"{r.name}: {r.describe()}")
    fig.colorbar(image, ax=list(axes.flat), label="share of seeds at 100% test accuracy")
    fig.suptitle("Smallest hidden layer for N-bit parity (numbers: % of seeds; blank: not needed or not tried;\n"
                 "white box: smallest H at >= 90%; red box: floor(N/2)+1 units, enough in theory)", fontsize=10)
    return fig


# --- the experiment ----------------------------------------------------------------


class ParityExperiment(Experiment):
    name = "parity"
    title = "Experiment Bonus (extend the neural network)"
    question = ("At what points did you need to change the size of the hidden layer for the network "
                "to achieve 100% accuracy?")

    def __init__(self, max_inputs: int = MAX_INPUTS):
        if (not isinstance(max_inputs, int) or isinstance(max_inputs, bool)
                or not budget.PARITY_MIN_INPUTS <= max_inputs <= MAX_INPUTS_LIMIT):
            raise ConfigError("inputs", f"parity needs a largest N from 2 to {MAX_INPUTS_LIMIT} (got {max_inputs!r})")
        self.max_inputs = max_inputs

    def design(self, scale: Scale) -> Design:
        return design(scale, self.max_inputs)

    def configs(self, scale: Scale) -> list[RunConfig]:
        """Every H screened, plus one cell per (recipe, depth, N) on every seed at the
        largest H: an upper bound on what the search runs (a recipe that solves N early
        screens fewer sizes)."""
        d = self.design(scale)
        out = []
        for r in d.searched():
            for n in d.inputs:
                top = hidden_max(n)
                out += [r.config(n, h, s) for h in range(budget.PARITY_HIDDEN_START, top + 1) for s in range(d.screen)]
                out += [r.config(n, top, s) for s in range(d.seeds)]
        return out

    def run(self, lab: Lab, scale: Scale) -> Findings:
        d = self.design(scale)
        searches = search(lab, d)
        rows = [minimal_row(s) for s in searches]
        cells = [c for s in searches for c in s.cells]
        configs = {s.recipe.config(c["inputs"], c["hidden"], seed) for s in searches for c in s.cells
                   for seed in range(c["runs"])}
        units = cost_units(list(configs))
        return Findings(
            answer=answer(rows, d, len(configs), units),
            tables={"answer": answer_rows(rows, d), "minimal_hidden": rows, "depth": depth_rows(rows, d),
                    "search": cells},
            numbers={"plan": d.plan(), "runs": len(configs), "units": units, "seeds": d.seeds,
                     "screen_seeds": d.screen, "inputs": list(d.inputs), "target": budget.PARITY_TARGET,
                     "recipes": {r.name: r.describe() for r in d.recipes}, "depths": list(d.depths),
                     "hidden_range": {n: [budget.PARITY_HIDDEN_START, hidden_max(n)] for n in d.inputs}},
            figures={"minimal_hidden": search_figure(cells, rows, d)},
        )


EXPERIMENT = ParityExperiment()
