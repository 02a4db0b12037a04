"""The shared figures: each draws what it promises, from hand-built rows and runs."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure

from xorlab import plots
from xorlab.config import RunConfig
from xorlab.result import RunResult
from xorlab.stats import success_rows, wilson

RELU_XOR = {"dense1.weight": np.array([[1.0, 1.0], [1.0, 1.0]]), "dense1.bias": np.array([0.0, -1.0]),
            "dense2.weight": np.array([[1.0, -2.0]]), "dense2.bias": np.array([0.0])}


def run(config: RunConfig, correct: int = 500, p=RELU_XOR, test_loss=None) -> RunResult:
    loss = np.geomspace(0.25, 1e-3, config.epochs) if test_loss is None else np.asarray(test_loss, dtype=float)
    return RunResult(config, train_loss=np.tile(loss[:, None], (1, 5)), test_loss=loss,
                     test_correct=np.full(config.epochs, correct), params=p)


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


@pytest.fixture
def rows():
    runs = [run(RunConfig(activation=a, init=i, seed=s, epochs=3), correct=500 if s < k else 375)
            for a, i, k in [("sigmoid", "default", 1), ("tanh", "uniform", 3), ("relu", "default", 0)]
            for s in range(4)]
    return success_rows(runs, ["activation", "init"])


def test_success_bars_draw_one_bar_per_cell_with_its_wilson_interval(rows):
    fig = plots.success_bars(rows, ["activation", "init"])
    ax = fig.axes[0]
    bars = next(c for c in ax.containers if isinstance(c, BarContainer))
    assert [b.get_height() for b in bars] == pytest.approx([25, 75, 0])
    errorbar = next(c for c in ax.containers if isinstance(c, ErrorbarContainer))
    segments = errorbar.lines[2][0].get_segments()
    for seg, (k, n) in zip(segments, [(1, 4), (3, 4), (0, 4)]):
        assert (seg[0][1], seg[1][1]) == pytest.approx((100 * wilson(k, n).low, 100 * wilson(k, n).high))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["sigmoid\ndefault", "tanh\nuniform", "relu\ndefault"]
    assert bars[1].get_hatch() == "//"  # the uniform-init cell
    assert {t.get_text() for t in ax.texts} == {"1/4", "3/4", "0/4"}
    assert png_bytes(fig).startswith(b"\x89PNG")


def test_accuracy_strips_show_every_run_reproducibly():
    groups = {"a": [0.75, 1.0, 1.0], "b": [0.5, 0.75]}
    figs = [plots.accuracy_strips(groups, seed=1) for _ in range(2)]
    points = [[c.get_offsets() for c in f.axes[0].collections if isinstance(c, PathCollection)] for f in figs]
    assert [len(p) for p in points[0]] == [3, 2]
    np.testing.assert_array_equal(points[0][0][:, 1], [75, 100, 100])
    for a, b in zip(*points):
        np.testing.assert_array_equal(a, b)
    assert [t.get_text() for t in figs[0].axes[0].get_xticklabels()] == ["a", "b"]


def test_loss_curves_use_a_log_scale_and_survive_zero_and_nan_losses():
    runs = {"good": run(RunConfig(epochs=4)),
            "zero": run(RunConfig(epochs=4), test_loss=[0.2, 0.1, 0.0, 0.0]),
            "diverged": run(RunConfig(epochs=4), correct=0, test_loss=[0.3, math.inf, math.nan, math.nan])}
    fig = plots.loss_curves(runs)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert len(ax.lines) == 2 * len(runs)  # train (every 100 batches) and test (per epoch)
    assert len(ax.lines[0].get_xdata()) == 4 * 5
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(runs)
    png_bytes(fig)


@pytest.mark.parametrize("center", [False, True])
def test_decision_maps_show_the_output_and_every_hidden_unit(center):
    fig = plots.decision_maps(run(RunConfig(activation="relu", hidden=3, center=center, epochs=2),
                                  p={**RELU_XOR, "dense1.weight": np.ones((3, 2)), "dense1.bias": np.zeros(3),
                                     "dense2.weight": np.ones((1, 3))}))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0].startswith("output") and titles[1:] == [f"hidden unit {j} (relu)" for j in (1, 2, 3)]
    corners = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    xy = np.concatenate([c.get_offsets() for c in corners[:2]])
    low = -1 if center else 0
    assert sorted(map(tuple, xy.tolist())) == [(low, low), (low, 1), (1, low), (1, 1)]
    png_bytes(fig)


def test_decision_maps_mark_wrong_corners():
    or_net = {**RELU_XOR, "dense1.bias": np.zeros(2), "dense2.weight": np.array([[0.5, 0.5]])}
    fig = plots.decision_maps(run(RunConfig(activation="relu", epochs=2), correct=375, p=or_net))
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "wrong" in labels
    wrong = next(c for c in fig.axes[0].collections if c.get_label() == "wrong")
    assert wrong.get_offsets().tolist() == [[1, 1]]


def test_decision_maps_of_a_diverged_run_still_render():
    nan = {k: np.full_like(v, np.nan) for k, v in RELU_XOR.items()}
    png_bytes(plots.decision_maps(run(RunConfig(activation="tanh", epochs=2), correct=0, p=nan)))


def test_decision_maps_need_two_inputs():
    with pytest.raises(ValueError, match="2 inputs"):
        plots.decision_maps(run(RunConfig(inputs=3, epochs=2)))


def test_importing_the_library_leaves_the_matplotlib_backend_alone():
    # the backend is the caller's (a notebook's inline one, say): no library module picks
    # one or loads pyplot; figures are `Figure` objects saved through their own Agg canvas
    import subprocess
    import sys
    code = ("import importlib, pkgutil, sys, matplotlib, xorlab, xorlab.experiments\n"
            "def refuse(*a, **k): raise SystemExit('matplotlib.use called at import')\n"
            "matplotlib.use = refuse\n"
            "for pkg in (xorlab, xorlab.experiments):\n"
            "    for m in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + '.'):\n"
            "        if not m.name.endswith('__main__'):\n"
            "            importlib.import_module(m.name)\n"
            "assert 'xorlab.study' in sys.modules\n"
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot loaded'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_save_writes_png_and_svg_cropped_to_the_drawing(tmp_path):
    from PIL import Image

    from xorlab import plots

    fig, axes = plots.new_figure(2)
    axes[0, 0].plot([0, 1], [1, 0])
    axes[0, 1].set_ylabel("a label that needs room")
    paths = plots.save(fig, tmp_path / "two")
    assert [p.name for p in paths] == ["two.png", "two.svg"]
    assert "<svg" in paths[1].read_text()[:500]
    # The box is the drawing's tight box plus the usual pad, at the saving dpi.
    with Image.open(paths[0]) as png:
        width, height = png.size
    assert abs(width - round(fig.get_tightbbox().padded(0.1).width * plots.SAVE_DPI)) <= 2
    assert width < fig.get_figwidth() * plots.SAVE_DPI + 30 and height > 100
