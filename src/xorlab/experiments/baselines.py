"""Overview: why linear models fail on XOR, and what a kernel or a hidden layer changes.

The tutorial's overview claims that SVMs, linear and logistic regression "can't learn
it, no matter how much data it given (assuming no feature engineering)", and its
footnote that an SVM can with a kernel. Here scikit-learn's linear regression
(thresholded by the tutorial's rounding rule), logistic regression, a linear SVM and an
RBF-kernel SVM are trained on exactly the data a seeded run trains on (`make_data`),
scored on the same 500 test points with the tutorial's accuracy rule (a point is correct
when round(output) == round(target)), next to the tutorial's network with and without
its hidden non-linearity (trained through the lab like every other run).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import SVC, LinearSVC

from .. import plots
from ..config import RunConfig
from ..data import XorData, make_data
from ..formatting import percent
from ..landscape import outputs
from ..result import RunResult
from ..stats import rate_row
from . import budget
from .base import Experiment, Findings, Lab, Scale

# name -> kind; "linear" models draw one straight boundary, "kernel" a curved one.
SKLEARN_MODELS = {
    "linear regression": "linear",
    "logistic regression": "linear",
    "linear SVM": "linear",
    "RBF-kernel SVM": "kernel",
}

# The networks compared, each at the tutorial's settings but for its activation.
NETS = {
    "linear net (2-2-1, no activation)": "linear",
    "tutorial net (2-2-1, sigmoid)": "sigmoid",
    "2-2-1 net, tanh": "tanh",
}

# Training-set sizes for the learning curve: from one batch to the tutorial's 5,000 points.
CURVE_SIZES = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
CURVE_SEEDS = budget.CURVE_SEEDS  # data sets per size; sklearn's fits are deterministic given the data
CURVE_SEEDS_QUICK = budget.CURVE_SEEDS_QUICK

# On the four XOR corners, equally likely, any straight boundary gets at most 3 right.
LINEAR_CEILING = 0.75

# The input plane drawn in boundary figures: the raw corners 0/1 plus noise up to 0.1.
PLANE = (-0.4, 1.5)


def make_model(name: str, seed: int):
    """A fresh scikit-learn estimator with its library defaults (seeded where it draws)."""
    if name == "linear regression":
        return LinearRegression()
    if name == "logistic regression":
        return LogisticRegression()
    if name == "linear SVM":
        return LinearSVC(random_state=seed)
    if name == "RBF-kernel SVM":
        return SVC(kernel="rbf")
    raise KeyError(name)


def fit(name: str, x: np.ndarray, y: np.ndarray, seed: int = 0):
    """Fit model `name` on points x (P, N) with noisy targets y (P,).

    Regression fits the targets as they are; classifiers fit the rounded targets (the
    class the tutorial's rule compares with). A tiny training set holding one class
    only gets scikit-learn's constant predictor, since the classifiers refuse it.
    """
    labels = np.round(y).astype(int)
    if name == "linear regression":
        return make_model(name, seed).fit(x, y)
    if len(np.unique(labels)) < 2:
        return DummyClassifier(strategy="most_frequent").fit(x, labels)
    return make_model(name, seed).fit(x, labels)


def tutorial_accuracy(output: np.ndarray, target: np.ndarray) -> float:
    """The tutorial's `test()` rule: share of points with round(output) == round(target)."""
    return float(np.mean(np.round(output) == np.round(target)))


def train_points(data: XorData, run: int, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The first `size` training points of one run, in stream order: x (P, N), y (P,)."""
    x = data.train_x[run].reshape(-1, data.train_x.shape[-1])
    y = data.train_y[run].reshape(-1)
    return x[:size], y[:size]


def test_points(data: XorData, run: int) -> tuple[np.ndarray, np.ndarray]:
    """One run's 500 test points: x (P, N), y (P,)."""
    return data.test_x[run].reshape(-1, data.test_x.shape[-1]), data.test_y[run].reshape(-1)


def sklearn_accuracies(name: str, data: XorData, seeds: list[int], size: int | None = None) -> np.ndarray:
    """Test accuracy (R,) of model `name` trained on each seed's first `size` points."""
    acc = np.empty(len(seeds))
    for i, seed in enumerate(seeds):
        model = fit(name, *train_points(data, i, size), seed=seed)
        acc[i] = tutorial_accuracy(model.predict(test_points(data, i)[0]), test_points(data, i)[1])
    return acc


def _row(model: str, kind: str, acc: np.ndarray) -> dict:
    return {
        "model": model, "kind": kind, "runs": len(acc),  # (this column order: runs before the accuracies)
        "mean_accuracy": float(acc.mean()), "min_accuracy": float(acc.min()), "max_accuracy": float(acc.max()),
        **rate_row(int(np.sum(acc == 1.0)), len(acc)),
    }


def net_configs(seeds: list[int], epochs: int) -> list[RunConfig]:
    """The networks of NETS, one run per seed, in NETS order."""
    return [RunConfig(activation=act, epochs=epochs, seed=s) for act in NETS.values() for s in seeds]


@dataclass
class Comparison:
    """Every model's accuracy on the same data: rows, the nets' runs, the data itself."""

    rows: list[dict]
    runs: dict[str, list[RunResult]]  # net name -> its runs, in seed order
    data: XorData
    seeds: list[int]


def compare(lab: Lab, scale: Scale) -> Comparison:
    """Train every model on each seed's data and score it on that seed's test set."""
    seeds = scale.seed_list()
    data = make_data(seeds)
    rows = [_row(name, kind, sklearn_accuracies(name, data, seeds)) for name, kind in SKLEARN_MODELS.items()]
    results = lab.run(net_configs(seeds, scale.budget(100)))
    runs = {name: results[i * len(seeds):(i + 1) * len(seeds)] for i, name in enumerate(NETS)}
    for name, cell in runs.items():
        kind = "linear" if NETS[name] == "linear" else "network"
        rows.append(_row(name, kind, np.array([r.final_accuracy for r in cell])))
    return Comparison(rows, runs, data, seeds)


def learning_curve(seeds: list[int], sizes=CURVE_SIZES) -> list[dict]:
    """Each scikit-learn model's test accuracy as its training set grows (first P points)."""
    data = make_data(seeds)
    rows = []
    for name, kind in SKLEARN_MODELS.items():
        for size in sizes:
            acc = sklearn_accuracies(name, data, seeds, size)
            rows.append({"model": name, "kind": kind, "train_points": size, "runs": len(seeds),
                         "mean_accuracy": float(acc.mean()), "min_accuracy": float(acc.min()),
                         "max_accuracy": float(acc.max())})
    return rows


# --- figures -----------------------------------------------------------------------


def _plane(points: int = 161) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grid over the input plane: xx, yy (G, G) and the points (G*G, 2)."""
    xx, yy = np.meshgrid(np.linspace(*PLANE, points), np.linspace(*PLANE, points))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def _draw_boundary(ax, predicted: np.ndarray, x: np.ndarray, y: np.ndarray, title: str) -> None:
    xx, yy, _ = _plane(int(np.sqrt(predicted.size)))
    ax.contourf(xx, yy, predicted.reshape(xx.shape), levels=[-1e9, 0.5, 1e9], colors=["#dbe9f6", "#fde0c5"])
    cls = np.round(y)
    ax.scatter(x[cls == 0, 0], x[cls == 0, 1], s=6, c="#1f77b4", label="XOR = 0")
    ax.scatter(x[cls == 1, 0], x[cls == 1, 1], s=6, c="#ff7f0e", label="XOR = 1")
    ax.set_title(title, fontsize=9)
    ax.set_xlim(*PLANE)
    ax.set_ylim(*PLANE)
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")


def _shown_run(runs: list[RunResult]) -> int:
    """The run drawn for a net: its first success, else its most accurate run."""
    for i, r in enumerate(runs):
        if r.success:
            return i
    return int(np.argmax([r.final_accuracy for r in runs]))


def boundary_figure(comparison: Comparison) -> Figure:
    """Each model's predicted class over the input plane (shaded) with the test points."""
    fig, axes = plots.new_figure(ncols=4, nrows=2, width=12, height=7)
    axes = axes.ravel()
    _, _, grid = _plane()
    data, seeds = comparison.data, comparison.seeds
    x_test, y_test = test_points(data, 0)
    for ax, name in zip(axes, SKLEARN_MODELS):
        model = fit(name, *train_points(data, 0), seed=seeds[0])
        acc = tutorial_accuracy(model.predict(x_test), y_test)
        _draw_boundary(ax, np.round(model.predict(grid)), x_test, y_test, f"{name}\nseed {seeds[0]}: {percent(acc)}")
    for ax, (name, runs) in zip(axes[len(SKLEARN_MODELS):], comparison.runs.items()):
        i = _shown_run(runs)
        x_i, y_i = test_points(data, i)
        predicted = np.round(outputs(runs[i].params, grid, NETS[name]))
        _draw_boundary(ax, predicted, x_i, y_i, f"{name}\nseed {seeds[i]}: {percent(runs[i].final_accuracy)}")
    for ax in axes[len(SKLEARN_MODELS) + len(comparison.runs):]:
        ax.set_visible(False)
    axes[0].legend(loc="upper right", fontsize=7)
    fig.suptitle("Predicted class over the input plane (orange: round(output) = 1) and the test points")
    return fig


def curve_figure(rows: list[dict]) -> Figure:
    """Mean test accuracy vs training points (log x), min-max band over data sets."""
    fig, [[ax]] = plots.new_figure(width=7, height=4.5)
    for name in SKLEARN_MODELS:
        cell = [r for r in rows if r["model"] == name]
        size = [r["train_points"] for r in cell]
        ax.plot(size, [r["mean_accuracy"] for r in cell], marker="o", label=name)
        ax.fill_between(size, [r["min_accuracy"] for r in cell], [r["max_accuracy"] for r in cell], alpha=0.15)
    ax.axhline(LINEAR_CEILING, color="grey", linestyle="--", linewidth=1, label="best straight boundary (75%)")
    ax.set_xscale("log")
    ax.set_ylim(0.0, 1.05)
    ax.set_xlabel("training points (the first P of the tutorial's 5,000)")
    ax.set_ylabel("test accuracy (500 points)")
    ax.set_title("More data does not help a linear model learn XOR")
    ax.legend(fontsize=8, loc="lower right")
    return fig


# --- the experiment ----------------------------------------------------------------


def _by_model(rows: list[dict]) -> dict[str, dict]:
    return {r["model"]: r for r in rows}


def _percents(values: dict[str, float]) -> str:
    return ", ".join(f"{name} {percent(v)}" for name, v in values.items())


def answer(rows: list[dict], curve: list[dict]) -> str:
    m = _by_model(rows)
    linear = [r for r in rows if r["kind"] == "linear"]
    best_linear = max(linear, key=lambda r: r["max_accuracy"])
    largest = max(r["train_points"] for r in curve)
    at_largest = {r["model"]: r["mean_accuracy"] for r in curve if r["train_points"] == largest}
    rbf = m["RBF-kernel SVM"]
    best_net = max((r for r in rows if r["kind"] == "network"), key=lambda r: r["success_rate"])
    verdict = "No linear model learns XOR" if best_linear["max_accuracy"] < 1 else "A linear model reached 100% here"
    net = (f"a hidden layer does the same: the {best_net['model']} reached 100% in "
           f"{best_net['successes']}/{best_net['runs']} runs ({percent(best_net['mean_accuracy'])} mean)"
           if best_net["successes"] else
           f"no network with a hidden layer reached 100% at this budget (best mean {percent(best_net['mean_accuracy'])})")
    return (
        f"{verdict}: over {best_linear['runs']} data sets the best any of them reached is "
        f"{percent(best_linear['max_accuracy'])} (mean {_percents({r['model']: r['mean_accuracy'] for r in linear})}), "
        f"and with all {largest} training points they still average "
        f"{_percents({k: v for k, v in at_largest.items() if SKLEARN_MODELS[k] == 'linear'})}: "
        f"one straight boundary can separate at most 3 of XOR's 4 corners, so more data cannot help. "
        f"The footnote's kernel SVM scores {percent(rbf['mean_accuracy'])} on average "
        f"(100% on {rbf['successes']}/{rbf['runs']} data sets), because its kernel bends the boundary; "
        f"{net}, while the same net without its activation is affine "
        f"({percent(m['linear net (2-2-1, no activation)']['mean_accuracy'])} mean). "
        f"(The learning curve is a mean accuracy over {curve[0]['runs']} data sets per size, not a success "
        "rate: scikit-learn fits one model at a time and its fits vary little between data sets.)"
    )


class BaselinesExperiment(Experiment):
    name = "baselines"
    title = "Overview: why linear models fail on XOR"
    question = (
        "Note that even though XOR is a very simple function, many machine learning models such as "
        "Support Vector Machines [2], Linear Regression, Logistic Regression can't learn it, no matter how "
        "much data it given (assuming no feature engineering). [Footnote:] Support Vector Machine can solve "
        "XOR with the use of Kernels."
    )

    def configs(self, scale: Scale) -> list[RunConfig]:
        return net_configs(scale.seed_list(), scale.budget(100))

    def run(self, lab: Lab, scale: Scale) -> Findings:
        comparison = compare(lab, scale)
        curve_seeds = scale.seed_list()[: CURVE_SEEDS_QUICK if scale.quick else CURVE_SEEDS]
        curve = learning_curve(curve_seeds)
        return Findings(
            answer=answer(comparison.rows, curve),
            tables={"accuracy": comparison.rows, "learning_curve": curve},
            numbers={"seeds": comparison.seeds, "curve_seeds": curve_seeds,
                     "mean_accuracy": {r["model"]: r["mean_accuracy"] for r in comparison.rows}},
            figures={"decision_boundaries": boundary_figure(comparison), "learning_curve": curve_figure(curve)},
        )


EXPERIMENT = BaselinesExperiment()
