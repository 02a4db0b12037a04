"""The tutorial notebook: up to date with its builder, and every cell runs at a reduced size."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import xorlab
from conftest import ROOT

NOTEBOOK = ROOT / "notebooks" / "xor_tutorial.ipynb"
BUILDER = ROOT / "notebooks" / "build_notebook.py"

REDUCED = "SEED = 42\nTRAIN_EPOCHS = 1\nSEEDS = 2\nEPOCHS = 1\n"

# A stand-in experiment, registered in the kernel before the experiments cell runs, so the
# test sees the loop show an answer and a figure whatever the registry holds today.
DEMO_EXPERIMENT = '''
import sys, types
from matplotlib.figure import Figure
from xorlab import experiments
from xorlab.experiments import Experiment, Findings

class Demo(Experiment):
    name, title, question = "demo", "Demo experiment", "Does the notebook show it?"

    def run(self, lab, scale):
        results = lab.run([RunConfig(seed=s, epochs=scale.budget()) for s in scale.seed_list()])
        figure = Figure()
        figure.add_subplot().plot([r.final_accuracy for r in results])
        rows = [{"seed": r.config.seed, "epochs": r.config.epochs} for r in results]
        return Findings(answer=f"DEMO ANSWER from {len(results)} runs", tables={"runs": rows},
                        figures={"accuracy": figure})

module = types.ModuleType("xorlab.experiments.demo_for_test")
module.EXPERIMENT = Demo()
sys.modules[module.__name__] = module
experiments.MODULES["demo"] = "demo_for_test"
'''


def load_builder():
    spec = importlib.util.spec_from_file_location("build_notebook", BUILDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_notebook_is_what_the_builder_makes():
    assert load_builder().main(["--check"]) == 0


def reduced_notebook() -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    parameters = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1
    parameters[0].source = REDUCED
    experiments = next(i for i, c in enumerate(nb.cells) if "names()" in c.source)
    nb.cells.insert(experiments, nbformat.v4.new_code_cell(DEMO_EXPERIMENT))
    return nb


def outputs_of(cell) -> tuple[str, list[str]]:
    """A cell's printed and displayed text, and the mime types it showed."""
    text, kinds = [], []
    for out in cell.get("outputs", []):
        text.append(out.get("text", ""))
        text.extend(str(v) for k, v in out.get("data", {}).items() if k.startswith("text/"))
        kinds.extend(out.get("data", {}))
    return "".join(text), kinds


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = reduced_notebook()
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}})
    with pytest.MonkeyPatch.context() as mp:
        # ipykernel's "python3" kernel starts `python` from PATH: make it this interpreter (the .venv's).
        mp.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
        client.execute()  # raises CellExecutionError if any cell fails
    return nb


def cell_with(nb, text):
    return next(c for c in nb.cells if c.cell_type == "code" and text in c.source)


def test_every_cell_runs_at_a_reduced_size(executed):
    for cell in executed.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is not None
            assert not [o for o in cell.outputs if o.output_type == "error"]


def test_the_kernel_is_the_projects_python(executed):
    text, _ = outputs_of(cell_with(executed, "xorlab.__version__"))
    assert f"xorlab {xorlab.__version__}" in text


def test_the_walkthrough_shows_data_model_and_one_run(executed):
    data, _ = outputs_of(cell_with(executed, "make_data(["))
    assert "inputs (10, 2) labels (10,)" in data
    model, _ = outputs_of(cell_with(executed, "parameter_count("))
    assert "parameters: 9" in model
    run, _ = outputs_of(cell_with(executed, "train_run("))
    assert "epoch   1  Test set:" in run and "Accuracy:" in run
    for plotted in ("plot_losses(result)", "plot_boundary(result, data)"):
        assert "image/png" in outputs_of(cell_with(executed, plotted))[1], plotted


def test_each_registered_experiment_shows_its_answer_table_and_figure(executed):
    text, kinds = outputs_of(cell_with(executed, "names()"))
    assert "Demo experiment" in text
    assert "DEMO ANSWER from 2 runs" in text  # SEEDS = 2 reached the experiment
    assert "| seed | epochs |" in text and "| 0 | 1 |" in text  # EPOCHS = 1 reached it too
    assert "image/png" in kinds


def run_install_cell(source: str | None, monkeypatch, importable: bool) -> list:
    """Run the first code cell as the builder makes it, in a kernel with or without xorlab;
    return the commands it ran."""
    import importlib.util
    import subprocess

    ran = []
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: real_find_spec(name, *a) if importable or name != "xorlab" else None)
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: ran.append(command))
    exec(compile(load_builder().install_cell(source), "install-cell", "exec"), {})
    return ran


def test_the_install_cell_does_nothing_where_xorlab_is_importable(monkeypatch):
    assert run_install_cell("git+https://example.org/xorlab.git", monkeypatch, importable=True) == []
    assert run_install_cell(None, monkeypatch, importable=True) == []


def test_the_install_cell_installs_from_the_source_it_was_built_with(monkeypatch):
    [command] = run_install_cell("git+https://example.org/xorlab.git", monkeypatch, importable=False)
    assert command[-1] == "git+https://example.org/xorlab.git" and "pip" in command


def test_the_install_cell_without_a_source_stops_with_one_line_on_how_to_install(monkeypatch):
    with pytest.raises(Exception) as stop:
        run_install_cell(None, monkeypatch, importable=False)
    [line] = stop.value._render_traceback_()  # what Jupyter shows instead of a traceback
    assert "xorlab is not installed" in line and "pip install" in line and "setup.sh" in line


def test_the_committed_notebook_names_no_guessed_source():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert "XORLAB_SOURCE = None" in nb.cells[1].source
    assert "github.com" not in NOTEBOOK.read_text()
