"""Build notebooks/xor_tutorial.ipynb from the cells below (the notebook is generated, not edited).

    .venv/bin/python notebooks/build_notebook.py          # rewrite the notebook
    .venv/bin/python notebooks/build_notebook.py --check  # exit 1 if it is out of date
    .venv/bin/python notebooks/build_notebook.py --source git+https://HOST/PATH/xorlab.git
                                                  # for Colab: what its first cell installs

The notebook is saved without outputs; run it in Jupyter or Colab to see them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

PATH = Path(__file__).with_name("xor_tutorial.ipynb")

INTRO = """\
# Train your own neural network on XOR, with xorlab

This notebook walks through the PyTorch XOR tutorial: the noisy XOR data, the 2-2-1
network, one training run with its loss curve and decision boundary, and then each of
the tutorial's experiments, answered over many seeds with success rates and
figures. Everything runs through [xorlab](../README.md), which reproduces the
tutorial's script number for number.

Run the cells from top to bottom. On your own machine, run `scripts/setup.sh` and
choose the project's `.venv` Python as the kernel. On Google Colab the first cell
installs xorlab from the source this notebook was built with, or, if it was built
without one, says how to install it."""

INSTALL = """\
import importlib
import importlib.util
import subprocess
import sys

# Where this kernel gets xorlab when it lacks it (on Colab): anything pip installs (a
# git URL, a wheel, a folder), set when this notebook was built
# (`notebooks/build_notebook.py --source SPEC`). A kernel that has xorlab (the
# project's .venv) installs nothing.
XORLAB_SOURCE = {source!r}


class NotInstalled(Exception):
    def _render_traceback_(self):  # IPython shows this one line instead of a traceback
        return [str(self)]


if importlib.util.find_spec("xorlab") is None:
    if XORLAB_SOURCE is None:
        raise NotInstalled("xorlab is not installed for this kernel: run `%pip install SPEC` in a cell "
                           "(SPEC: xorlab's git URL, wheel or folder) and run this cell again, or locally "
                           "run scripts/setup.sh and choose .venv/bin/python as the kernel")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", XORLAB_SOURCE], check=True)
    importlib.invalidate_caches()"""


def install_cell(source: str | None) -> str:
    return INSTALL.format(source=source)


PARAMETERS_INTRO = """\
## Parameters

How big the runs are. The tutorial trains for 100 epochs; the experiments below use
`SEEDS` seeds per setting (the full studies, `xorlab experiment`, use 100). Lower
them for a quicker pass."""

PARAMETERS = """\
SEED = 42  # the seed of the single run (the tutorial's Experiment 5 uses 42)
TRAIN_EPOCHS = 100  # the tutorial's nepochs
SEEDS = 10  # seeds per setting in each experiment
EPOCHS = None  # None: each experiment's own epoch budget; a number overrides it"""

IMPORTS = """\
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

import xorlab
from xorlab.config import RunConfig
from xorlab.data import make_data
from xorlab.engines.classic import train_run
from xorlab.tutorial_log import test_block
from xorlab.model import XorNet, build_model, parameter_count
from xorlab.result import LOGGED_BATCHES

config = RunConfig(seed=SEED, epochs=TRAIN_EPOCHS)
print(f"xorlab {xorlab.__version__}, torch {torch.__version__}")
config"""

DATA_INTRO = """\
## The data

`make_data` draws one example: two random bits, their XOR as the label, and up to 0.1
of noise on each, so that no test point is exactly a training point. `make_batch`
groups 10 examples into a mini-batch. xorlab draws the same numbers from the same
seed; here is the first batch the tutorial prints (inputs, then labels)."""

DATA = """\
data = make_data([config.seed], config.inputs, config.center)
batch_x, batch_y = data.sample_x[0, 0], data.sample_y[0, 0]  # (B, N), (B,)
print("inputs", batch_x.shape, "labels", batch_y.shape)
print("x1, x2, label:")
print(np.column_stack([batch_x, batch_y]).astype(np.float32))
print("train batches", data.train_x.shape[1], "test batches", data.test_x.shape[1])"""

MODEL_INTRO = """\
## The network

`dense1` maps the 2 inputs to 2 hidden units, a sigmoid bends them, and `dense2`
maps them to one output. These are the initial weights the tutorial prints for this
seed."""

MODEL = """\
model = build_model(config)
for name, p in model.named_parameters():
    print(name, tuple(p.shape), p.detach().numpy().round(4))
print("parameters:", parameter_count(config.inputs, config.hidden))"""

TRAIN_INTRO = """\
## One training run

SGD with learning rate 0.01 on the mean squared error, one step per mini-batch, 500
steps per epoch. Printed: the tutorial's test report every tenth epoch."""

TRAIN = """\
def report(epoch, losses, test_loss, correct, params):
    if epoch % 10 == 0 or epoch == config.epochs:
        print(f"epoch {epoch:3d}  " + test_block(test_loss, correct).strip())


result = train_run(config, on_epoch=report, data=data)
print("final accuracy", result.final_accuracy, "success" if result.success else "not yet 100%")"""

CURVES = """\
def plot_losses(result):
    \"\"\"The logged train losses (5 per epoch) and the test loss after each epoch.\"\"\"
    epochs = result.train_loss.shape[0]
    at = (np.arange(epochs)[:, None] + np.array(LOGGED_BATCHES) / result.config.train_batches).ravel()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(at, result.train_loss.ravel(), ".", ms=3, alpha=0.5, label="train loss (batches 0, 100, ..., 400)")
    ax.plot(np.arange(1, epochs + 1), result.test_loss, "-o", ms=3, label="test loss")
    ax.set(xlabel="epoch", ylabel="MSE", yscale="log", title="Loss during training")
    ax.legend()
    return fig


plot_losses(result);"""

BOUNDARY = """\
def trained_network(result):
    c = result.config
    net = XorNet(c.inputs, c.hidden, c.activation).double()
    net.load_state_dict({name: torch.as_tensor(v, dtype=torch.float64) for name, v in result.params.items()})
    return net


def plot_boundary(result, data):
    \"\"\"The network's output over the input plane; white lines where np.around changes class.\"\"\"
    low = -1.0 if result.config.center else 0.0
    grid = np.linspace(low - 0.3, 1.4, 200)
    gx, gy = np.meshgrid(grid, grid)  # (G, G) each
    points = torch.as_tensor(np.column_stack([gx.ravel(), gy.ravel()]))  # (G * G, 2)
    with torch.no_grad():
        out = trained_network(result)(points).numpy().reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    # Colours span the two labels, so the middle (white) is halfway between them.
    mesh = ax.pcolormesh(gx, gy, out, cmap="coolwarm", vmin=low, vmax=1.0, shading="auto")
    levels = np.arange(np.floor(out.min()) + 0.5, out.max(), 1.0)  # where np.around steps
    if len(levels):
        ax.contour(gx, gy, out, levels=levels, colors="white")
    test_x = data.test_x[0].reshape(-1, 2)  # (T * B, 2)
    test_y = data.test_y[0].ravel()
    ax.scatter(test_x[:, 0], test_x[:, 1], c=np.around(test_y), cmap="coolwarm", vmin=low, vmax=1.0,
               edgecolors="k", linewidths=0.3, s=12)
    fig.colorbar(mesh, label="network output", extend="both")
    ax.set(xlabel="x1", ylabel="x2", title="Decision boundary and test points")
    return fig


plot_boundary(result, data);"""

EXPERIMENTS_INTRO = """\
## The experiments

Each of the tutorial's experiments, at a small scale: `SEEDS` seeds per setting,
with the experiment's own answer in words and its figures. Success means 100% test
accuracy after the epoch budget; intervals are Wilson 95% intervals."""

EXPERIMENTS = """\
from xorlab.experiments import Lab, Scale, get, names, run_experiment


def markdown_table(rows, limit=20):
    head = list(rows[0])
    cells = lambda row: [f"{v:.3g}" if isinstance(v, float) else str(v) for v in row]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cells(row.values())) + " |" for row in rows[:limit]]
    return "\\n".join(lines)


scale = Scale(seeds=SEEDS, quick=True, epochs=EPOCHS)
print(f"{len(names())} experiments:", ", ".join(names()) or "none in this version of xorlab")
for name in names():
    experiment = get(name)
    findings = run_experiment(experiment, Lab(), scale)
    display(Markdown(f"### {experiment.title}\\n\\n> {experiment.question}\\n\\n{findings.answer}"))
    for table in findings.tables.values():
        if table:
            display(Markdown(markdown_table(table)))
    for figure in findings.figures.values():
        display(figure)
        plt.close(figure)"""

QUIZ_INTRO = """\
## The quiz

The tutorial's quiz is `xorlab quiz` in a terminal. To take it here, set
`TAKE_QUIZ = True` and run the cell: type the number of each answer, `q` to stop."""

QUIZ = """\
import sys

from xorlab.quiz import InputReader, build_bank, run_quiz

TAKE_QUIZ = False
if TAKE_QUIZ:
    run_quiz(build_bank(), InputReader(), sys.stdout)
else:
    print(len(build_bank()), "questions are waiting")"""


def cells(source: str | None = None) -> list:
    parameters = new_code_cell(PARAMETERS)
    parameters.metadata["tags"] = ["parameters"]  # the cell a runner overrides (papermill's name)
    return [
        new_markdown_cell(INTRO), new_code_cell(install_cell(source)),
        new_markdown_cell(PARAMETERS_INTRO), parameters, new_code_cell(IMPORTS),
        new_markdown_cell(DATA_INTRO), new_code_cell(DATA),
        new_markdown_cell(MODEL_INTRO), new_code_cell(MODEL),
        new_markdown_cell(TRAIN_INTRO), new_code_cell(TRAIN), new_code_cell(CURVES), new_code_cell(BOUNDARY),
        new_markdown_cell(EXPERIMENTS_INTRO), new_code_cell(EXPERIMENTS),
        new_markdown_cell(QUIZ_INTRO), new_code_cell(QUIZ),
    ]


def build(source: str | None = None) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells(source))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["colab"] = {"provenance": []}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids, so a rebuild changes nothing
    return nb


def text(source: str | None = None) -> str:
    return nbformat.writes(build(source)) + "\n"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the notebook is out of date")
    parser.add_argument("--source", metavar="SPEC", default=None,
                        help="what the first cell pip-installs where the kernel lacks xorlab (Colab): "
                        "a git URL, wheel or folder (default: none; the cell then says how to install)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.check:
        if not PATH.exists() or PATH.read_text() != text(args.source):
            print(f"{PATH} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    PATH.write_text(text(args.source))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
