"""Figures every experiment reuses, in one readable style.

Figures are built with `matplotlib.figure.Figure` on an Agg canvas, never through
pyplot: nothing opens a window, no global figure list grows during a study, and the
caller saves (`fig.savefig`) or embeds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import activations
from .diagnosis import corners, forward
from .config import TRAIN_BATCHES
from .formatting import percent
from .result import LOGGED_BATCHES, RunResult

STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "legend.fontsize": 9,
}

# One colour per activation across all figures (Okabe & Ito's colour-blind-safe palette).
ACTIVATION_COLORS = {name: a.color for name, a in activations.REGISTRY.items()}
DEFAULT_COLOR = "#56B4E9"
PANEL = 3.2  # inches per small-multiple panel
LOSS_FLOOR = 1e-12  # a loss of exactly 0 cannot sit on a log axis


def new_figure(ncols: int = 1, nrows: int = 1, width: float | None = None,
               height: float | None = None, **subplots) -> tuple[Figure, np.ndarray]:
    """A figure on an Agg canvas and its axes (nrows, ncols), in the project style; every
    experiment's figure starts here. `subplots`: e.g. sharex=True, passed to `fig.subplots`."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width or PANEL * ncols + 0.6, height or PANEL * nrows), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, squeeze=False, **subplots)
    for ax in axes.flat:
        _style_axes(ax)
    return fig, axes


SAVE_DPI = 120
FORMATS = ("png", "svg")


def save(fig: Figure, stem: Path) -> list[Path]:
    """Write `fig` as stem.png and stem.svg, cropped to what it draws.

    The layout is computed once: one draw runs the constrained layout and measures the
    tight box, then the layout is frozen and each format draws once more into that box.
    (savefig(bbox_inches="tight") per format would run the layout four times, two draws
    per format: the larger part of a study's figure time.)
    """
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    box = fig.get_tightbbox(canvas.get_renderer()).padded(matplotlib.rcParams["savefig.pad_inches"])
    fig.set_layout_engine("none")
    paths = []
    for ext in FORMATS:
        path = stem.with_name(f"{stem.name}.{ext}")
        fig.savefig(path, dpi=SAVE_DPI, bbox_inches=box)
        paths.append(path)
    return paths


def _style_axes(ax) -> None:
    # rc_context only reaches artists made inside it; set what later calls would reset.
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(True, alpha=STYLE["grid.alpha"])
    ax.set_axisbelow(True)


def cell_label(row: Mapping, fields: Sequence[str]) -> str:
    """A short label for a grid cell: "tanh", "tanh\\nuniform", "tanh\\nuniform\\ncentred"."""
    parts = []
    for f in fields:
        v = row[f]
        if f == "center":
            parts.append("centred" if v else "raw")
        else:
            parts.append(str(v))
    return "\n".join(parts)


def cell_color(row: Mapping) -> str:
    return ACTIVATION_COLORS.get(row.get("activation"), DEFAULT_COLOR)


def success_bars(rows: Sequence[Mapping], fields: Sequence[str], title: str = "") -> Figure:
    """Success rate per cell (rows from `stats.success_rows`) with Wilson 95% CI error bars,
    each bar annotated with successes/runs. Cells whose `init` is uniform are hatched and
    centred ones have a dark edge, so the grid's axes read without a legend."""
    fig, axes = new_figure(width=max(4.0, 0.75 * len(rows) + 1.5), height=3.6)
    ax = axes[0, 0]
    x = np.arange(len(rows))
    p = np.array([100 * r["success_rate"] for r in rows])
    err = np.array([[100 * (r["success_rate"] - r["ci_low"]) for r in rows],
                    [100 * (r["ci_high"] - r["success_rate"]) for r in rows]])  # (2, cells)
    bars = ax.bar(x, p, color=[cell_color(r) for r in rows], width=0.7,
                  yerr=err, capsize=4, ecolor="#333333", error_kw={"linewidth": 1})
    for bar, r in zip(bars, rows):
        if r.get("init") == "uniform":
            bar.set_hatch("//")
        if r.get("center"):
            bar.set_edgecolor("#222222")
            bar.set_linewidth(1.5)
    for xi, r in zip(x, rows):
        ax.annotate(f"{r['successes']}/{r['runs']}", (xi, 100 * r["ci_high"]), xytext=(0, 3),
                    textcoords="offset points", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [cell_label(r, fields) for r in rows])
    ax.set_ylim(0, 112)
    ax.set_ylabel("runs at 100% test accuracy (%)")
    ax.set_title(title or "Success rate with Wilson 95% CI")
    return fig


def accuracy_strips(groups: Mapping[str, Sequence[float]], colors: Sequence[str] | None = None,
                    title: str = "", seed: int = 0) -> Figure:
    """Final test accuracy of every run, one jittered strip per cell, with the median marked.
    The jitter comes from its own generator (seed), so the figure is reproducible."""
    rng = np.random.default_rng(seed)
    labels = list(groups)
    fig, axes = new_figure(width=max(4.0, 0.75 * len(labels) + 1.5), height=3.6)
    ax = axes[0, 0]
    for i, label in enumerate(labels):
        acc = 100 * np.asarray(groups[label], dtype=float)  # (runs,)
        color = colors[i] if colors else DEFAULT_COLOR
        ax.scatter(i + rng.uniform(-0.25, 0.25, len(acc)), acc, s=16, alpha=0.6, color=color, linewidths=0, zorder=3)
        if len(acc):
            ax.hlines(np.median(acc), i - 0.32, i + 0.32, color="#555555", linewidth=2, zorder=2)
    ax.axhline(100, color="#222222", linestyle=":", linewidth=1)
    ax.set_xticks(np.arange(len(labels)), labels)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_ylabel("final test accuracy (%)")
    ax.set_title(title or "Final test accuracy of every run (bar: median)")
    return fig


def loss_curves(runs: Mapping[str, RunResult], title: str = "") -> Figure:
    """Train loss (every 100 batches, solid) and test loss (per epoch, dashed) of a few runs,
    on a log scale so that plateaus and late drops are visible."""
    fig, axes = new_figure(width=6.4, height=3.8)
    ax = axes[0, 0]
    for i, (label, r) in enumerate(runs.items()):
        color = f"C{i}"
        epochs = r.train_loss.shape[0]
        t = (np.arange(epochs)[:, None] + np.array(LOGGED_BATCHES)[None, :] / TRAIN_BATCHES).ravel()  # (E*5,)
        ax.plot(t, np.maximum(r.train_loss.ravel(), LOSS_FLOOR), color=color, linewidth=1, alpha=0.8, label=label)
        ax.plot(np.arange(1, epochs + 1), np.maximum(r.test_loss, LOSS_FLOOR), color=color,
                linestyle="--", linewidth=1.5)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE loss (log scale)")
    ax.set_title(title or "Loss curves: train (solid), test (dashed)")
    ax.legend(loc="best")
    return fig


def input_plane(center: bool, steps: int = 161) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grid over the input plane around the data: xx, yy (S, S) and the points (S*S, 2)."""
    low, high = (-1.5, 1.6) if center else (-0.5, 1.6)  # corners plus their 0.1 of noise, with margin
    xs = np.linspace(low, high, steps)
    xx, yy = np.meshgrid(xs, xs)  # (S, S)
    return xx, yy, np.stack([xx.ravel(), yy.ravel()], axis=1)


def decision_maps(result: RunResult, title: str = "") -> Figure:
    """The network over the input plane, rebuilt from the run's final weights: its output
    (with the rounding boundaries the tutorial's accuracy uses) and each hidden unit's
    activation (with the line where its pre-activation is 0). Corners are marked by
    target; a cross marks a corner the net gets wrong. Two-input runs only."""
    c = result.config
    if c.inputs != 2:
        raise ValueError(f"decision maps need 2 inputs (this run has {c.inputs})")
    xx, yy, points = input_plane(c.center)
    net = forward(c, result.params, points)
    cx, cy = corners(2, c.center)
    corner_out = forward(c, result.params, cx)["out"]
    fig, axes = new_figure(ncols=1 + c.hidden, height=PANEL + 0.3)
    _output_panel(axes[0, 0], xx, yy, net["out"].reshape(xx.shape), cx, cy, corner_out)
    for j in range(c.hidden):
        _hidden_panel(axes[0, 1 + j], xx, yy, net["hidden"][:, j].reshape(xx.shape),
                      net["pre"][:, j].reshape(xx.shape), j, c.activation)
        _mark_corners(axes[0, 1 + j], cx, cy)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncols=3)
    fig.suptitle(title or f"{c.activation}, seed {c.seed}: final test accuracy {percent(result.final_accuracy, 1)}")
    return fig


def _output_panel(ax, xx, yy, out, cx, cy, corner_out) -> None:
    finite = np.isfinite(out)
    if finite.any():
        # rasterized: in SVG a mesh of 10^4 cells is one embedded image, not 10^4 paths
        mesh = ax.pcolormesh(xx, yy, np.where(finite, out, np.nan), cmap="RdBu_r", shading="auto",
                             rasterized=True, vmin=np.nanmin(out), vmax=max(np.nanmax(out), np.nanmin(out) + 1e-9))
        ax.figure.colorbar(mesh, ax=ax, shrink=0.8)
        # round(output) changes at half-integers: these are the net's decision boundaries.
        levels = np.arange(np.floor(np.nanmin(out)) + 0.5, np.nanmax(out), 1.0)[:8]
        if len(levels):
            ax.contour(xx, yy, out, levels=levels, colors="k", linewidths=1.2, linestyles="solid")
    _mark_corners(ax, cx, cy, wrong=np.round(corner_out) != np.round(cy))
    ax.set_title("output (lines: round() steps)")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_aspect("equal")


def _hidden_panel(ax, xx, yy, hidden, pre, j, activation) -> None:
    mesh = ax.pcolormesh(xx, yy, hidden, cmap="viridis", shading="auto", rasterized=True)
    ax.figure.colorbar(mesh, ax=ax, shrink=0.8)
    if pre.min() < 0 < pre.max():
        ax.contour(xx, yy, pre, levels=[0.0], colors="w", linewidths=1.2, linestyles="--")
    ax.set_title(f"hidden unit {j + 1} ({activation})")
    ax.set_xlabel("x1")
    ax.set_aspect("equal")


def _mark_corners(ax, cx, cy, wrong=None) -> None:
    high = cy > cy.min()
    ax.scatter(cx[high, 0], cx[high, 1], marker="o", s=60, facecolor="w", edgecolor="k", zorder=3, label="target high")
    ax.scatter(cx[~high, 0], cx[~high, 1], marker="s", s=60, facecolor="k", edgecolor="w", zorder=3, label="target low")
    if wrong is not None and wrong.any():
        ax.scatter(cx[wrong, 0], cx[wrong, 1], marker="x", s=110, color="#E69F00", linewidths=2.5,
                   zorder=4, label="wrong")
