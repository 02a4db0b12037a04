"""Experiments 1-3 (activation, init, centering) and the failure-mode analysis they use.

Two kinds of runs: real ones on a tiny grid (2 seeds, 1 epoch), shared by all three
experiments through a caching lab, to check structure and that every number agrees
with the runs; and hand-built results whose outcome we choose, to check that the
answers follow the data (best, worst, significance, the named failure mode).
"""

from __future__ import annotations

import csv
import json
import math
import re

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from xorlab import diagnosis
from xorlab.config import RunConfig
from xorlab.engines import run_many
from xorlab.experiments import Lab, Scale, get, names, run_experiment
from xorlab.model import build_model, initial_parameters
from xorlab.result import RunResult
from xorlab.stats import wilson

from conftest import ROOT

TUTORIAL_TEXT = ROOT.parent / "shared" / "seed" / "000_4f15fad61cf45974.txt"
TINY = Scale(seeds=2, epochs=1)
EXPERIMENTS = ("activation", "init", "centering")
CELLS = {"activation": 4, "init": 6, "centering": 12}
FIELDS = {"activation": ("activation",), "init": ("activation", "init"),
          "centering": ("activation", "init", "center")}


# --- hand-built networks ----------------------------------------------------------


def params(w1, b1, w2, b2) -> dict[str, np.ndarray]:
    return {"dense1.weight": np.array(w1, dtype=np.float32), "dense1.bias": np.array(b1, dtype=np.float32),
            "dense2.weight": np.array([w2], dtype=np.float32), "dense2.bias": np.array([b2], dtype=np.float32)}


# relu: h1 = relu(x1 + x2), h2 = relu(x1 + x2 - 1), out = h1 - 2 h2 is XOR exactly on 0/1 corners.
RELU_XOR = params([[1, 1], [1, 1]], [0, -1], [1, -2], 0)
# sigmoid: h1 ~ OR, h2 ~ AND (steep, so flat at every corner but on both sides), out = h1 - h2.
SIGMOID_XOR = params([[20, 20], [20, 20]], [-10, -30], [1, -1], 0)
# relu with unit 1 off on every corner (its pre-activation is -x1 - x2 - 0.5 < 0).
RELU_DEAD = params([[1, 1], [-1, -1]], [0, -0.5], [0.5, 1], 0)
# sigmoid with unit 2 pinned near 1 on every corner (pre-activation 8 .. 10).
SIGMOID_SATURATED = params([[1, 1], [1, 1]], [-1, 8], [1, 1], -1)
# relu computing OR (both units alive): right on 3 of the 4 corners.
RELU_OR = params([[1, 1], [1, 1]], [0, 0], [0.5, 0.5], 0)


def fake_result(config: RunConfig, correct: int, p: dict, test_loss=None) -> RunResult:
    """A result with chosen final test accuracy (correct of 500) and final weights."""
    epochs = config.epochs
    test_loss = np.full(epochs, 0.1) if test_loss is None else np.asarray(test_loss, dtype=float)
    return RunResult(config, train_loss=np.tile(test_loss[:, None], (1, 5)), test_loss=test_loss,
                     test_correct=np.full(epochs, correct), params=p, engine="fake")


# --- the failure classifier --------------------------------------------------------


def test_corners_are_the_parity_table():
    x, y = diagnosis.corners(2)
    assert x.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 1, 1, 0]
    x, y = diagnosis.corners(2, center=True)
    assert x.tolist() == [[-1, -1], [-1, 1], [1, -1], [1, 1]] and y.tolist() == [-1, 1, 1, -1]
    x, y = diagnosis.corners(3)
    assert x.shape == (8, 3) and y.tolist() == [int(v) for v in x.sum(axis=1) % 2]


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "linear"])
def test_forward_matches_the_trained_network(activation):
    config = RunConfig(activation=activation, seed=3)
    p = {k: v.numpy() for k, v in initial_parameters(config).items()}
    x = np.random.default_rng(0).normal(size=(7, 2))
    expected = build_model(config.replace(dtype="float64"))(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(diagnosis.forward(config, p, x)["out"], expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("layers", [2, 3])
def test_forward_of_a_deeper_net_matches_it_and_shows_every_hidden_unit(layers):
    config = RunConfig(activation="tanh", hidden=3, layers=layers, seed=5)
    p = {k: v.numpy() for k, v in initial_parameters(config).items()}
    x = np.random.default_rng(0).normal(size=(7, 2))
    expected = build_model(config.replace(dtype="float64"))(torch.as_tensor(x)).detach().numpy()
    net = diagnosis.forward(config, p, x)
    np.testing.assert_allclose(net["out"], expected, rtol=1e-6, atol=1e-7)
    assert net["pre"].shape == net["hidden"].shape == (7, 3 * layers)
    np.testing.assert_allclose(net["hidden"][:, :3], np.tanh(x @ p["dense1.weight"].T + p["dense1.bias"]), rtol=1e-6)
    d = diagnosis.diagnose(fake_result(config, 250, p))  # half right: a failure, with a mode
    assert d.mode not in (diagnosis.SUCCESS, diagnosis.DIVERGED) and all(u < 3 * layers for u in d.dead + d.saturated)


@pytest.mark.parametrize("activation,p", [("relu", RELU_XOR), ("sigmoid", SIGMOID_XOR)])
def test_a_perfect_xor_solution_has_no_dead_or_saturated_unit(activation, p):
    config = RunConfig(activation=activation)
    net = diagnosis.forward(config, p, diagnosis.corners(2)[0])
    assert diagnosis.corners_right(net["out"], diagnosis.corners(2)[1]) == 4
    assert diagnosis.dead_units(activation, net["pre"]) == ()
    assert diagnosis.saturated_units(activation, net["pre"]) == ()
    assert diagnosis.diagnose(fake_result(config, 500, p)).mode == diagnosis.SUCCESS


def test_a_relu_unit_off_on_every_corner_is_dead():
    d = diagnosis.diagnose(fake_result(RunConfig(activation="relu"), 375, RELU_DEAD))
    assert d.dead == (1,) and d.mode == diagnosis.DEAD_UNIT


def test_dead_units_are_a_relu_notion():
    pre = -np.ones((4, 2))
    assert diagnosis.dead_units("relu", pre) == (0, 1)
    assert diagnosis.dead_units("tanh", pre) == ()


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_a_unit_flat_and_on_one_side_of_every_corner_is_saturated(activation):
    d = diagnosis.diagnose(fake_result(RunConfig(activation=activation), 250, SIGMOID_SATURATED))
    assert d.saturated == (1,) and d.mode == diagnosis.SATURATED_UNIT


def test_a_failed_run_with_healthy_units_is_stuck_at_its_corner_count():
    d = diagnosis.diagnose(fake_result(RunConfig(activation="relu", epochs=20), 375, RELU_OR))
    assert (d.corners_right, d.corners) == (3, 4)
    assert d.mode == "stuck at 3 of 4 corners"


def test_a_failed_run_whose_loss_still_falls_is_still_learning():
    falling = np.linspace(0.25, 0.15, 20)
    d = diagnosis.diagnose(fake_result(RunConfig(activation="relu", epochs=20), 375, RELU_OR, falling))
    assert d.still_learning and d.mode == diagnosis.STILL_LEARNING


def test_still_learning_needs_a_finite_falling_curve():
    assert diagnosis.still_learning(np.array([0.3, 0.2]))
    assert not diagnosis.still_learning(np.array([0.2, 0.2, 0.2]))
    assert not diagnosis.still_learning(np.array([0.2]))
    assert not diagnosis.still_learning(np.array([0.3, float("nan")]))


def test_a_failed_run_predicting_the_mean_everywhere_has_constant_output():
    mean = params([[1, 1], [1, -1]], [0, 0], [0.01, 0.01], 0.5)
    d = diagnosis.diagnose(fake_result(RunConfig(activation="tanh"), 250, mean))
    assert d.constant and d.mode == diagnosis.CONSTANT


def test_a_failed_linear_run_is_affine():
    d = diagnosis.diagnose(fake_result(RunConfig(activation="linear"), 375, RELU_OR))
    assert d.mode == diagnosis.AFFINE


def test_a_diverged_run_is_recorded_not_raised():
    nan = params([[math.nan] * 2] * 2, [math.nan] * 2, [math.nan] * 2, math.nan)
    r = fake_result(RunConfig(activation="tanh"), 0, nan, [float("nan")] * 100)
    assert diagnosis.diagnose(r).mode == diagnosis.DIVERGED


def test_typical_picks_the_median_final_loss():
    runs = [fake_result(RunConfig(seed=s), 500, RELU_XOR, np.full(100, loss)) for s, loss in enumerate([0.3, 0.1, 0.2])]
    assert diagnosis.typical(runs, success=True).config.seed == 2
    assert diagnosis.typical(runs, success=False) is None


def test_failure_rows_count_every_failed_run():
    runs = [fake_result(RunConfig(activation="relu", seed=s), c, p)
            for s, (c, p) in enumerate([(500, RELU_XOR), (375, RELU_DEAD), (375, RELU_DEAD), (375, RELU_OR)])]
    rows = diagnosis.failure_rows(runs, ["activation"])
    assert [(r["mode"], r["runs"]) for r in rows] == [(diagnosis.DEAD_UNIT, 2), ("stuck at 3 of 4 corners", 1)]
    assert rows[0]["share"] == 0.5


# --- the experiments on hand-built outcomes ----------------------------------------


def scripted_lab(outcome) -> Lab:
    """A lab whose runs end as outcome(config) -> (correct of 500, params) says."""
    return Lab(lambda configs: [fake_result(c, *outcome(c)) for c in configs])


def test_activation_answer_names_best_worst_and_the_worst_ones_failure_mode():
    def outcome(c):
        if c.activation == "tanh":
            return 500, RELU_XOR
        if c.activation == "sigmoid":
            return (500, SIGMOID_XOR) if c.seed % 2 else (375, SIGMOID_SATURATED)
        return 375, RELU_DEAD

    f = get("activation").run(scripted_lab(outcome), Scale(seeds=40, epochs=5))
    assert f.answer.startswith("tanh works best and relu worst")
    assert str(wilson(40, 40)) in f.answer and str(wilson(0, 40)) in f.answer
    assert "40 of the 40 failed relu runs have a dead hidden unit" in f.answer
    assert "linear control reaches 0%" in f.answer
    assert f.numbers["best"] == "tanh" and f.numbers["worst"] == "relu"
    assert f.numbers["best_vs_worst_significant"] is True
    assert f.figures["decision_success"].get_suptitle().startswith("A typical successful run: tanh")
    assert f.figures["decision_failure"].get_suptitle().startswith("A typical failed run: relu")


def test_activation_answer_says_when_the_difference_is_not_significant():
    f = get("activation").run(scripted_lab(lambda c: (500, RELU_XOR) if c.seed == 0 else (375, RELU_OR)),
                              Scale(seeds=3, epochs=5))
    assert "No activation is significantly better" in f.answer
    assert f.numbers["best_vs_worst_significant"] is False


def test_init_answer_reports_significant_and_insignificant_changes():
    def outcome(c):
        if c.activation == "relu" and c.init == "default":
            return 375, RELU_DEAD
        return 500, RELU_XOR

    f = get("init").run(scripted_lab(outcome), Scale(seeds=30, epochs=5))
    assert f"relu {wilson(0, 30)} to {wilson(30, 30)}" in f.answer
    assert "helps significantly for relu" in f.answer
    assert "no significant difference for sigmoid, tanh" in f.answer
    assert "dead hidden unit go from 30 to 0 of 30" in f.answer
    assert f.numbers["uniform_vs_default"]["relu"]["significant"] is True
    assert f.numbers["uniform_vs_default"]["tanh"]["change"] == 0


def test_without_a_significant_change_the_answer_names_the_grids_main_failure():
    f = get("init").run(scripted_lab(lambda c: (375, RELU_OR)), Scale(seeds=5, epochs=5))
    assert "no significant difference for sigmoid, tanh, relu" in f.answer
    assert "Across the grid, 30 of the 30 failed runs settle with only 3 of 4 corners right" in f.answer


def test_findings_are_written_as_json_csv_and_figures(tmp_path):
    exp = get("activation")
    outcome = (lambda c: (500, RELU_XOR) if c.activation == "relu" else (375, RELU_OR))
    run_experiment(exp, scripted_lab(outcome), Scale(seeds=2, epochs=3), tmp_path)
    folder = tmp_path / "activation"
    saved = json.loads((folder / "findings.json").read_text())
    assert saved["title"] == exp.title and saved["numbers"]["best"] == "relu"
    assert saved["numbers"]["cells"]["relu"]["successes"] == 2
    with (folder / "failure_modes.csv").open() as f:
        assert {row["mode"] for row in csv.DictReader(f)} == {"stuck at 3 of 4 corners", diagnosis.AFFINE}
    for name in ("success_rates", "final_accuracy", "loss_curves", "decision_success", "decision_failure"):
        assert (folder / f"{name}.png").stat().st_size > 0 and (folder / f"{name}.svg").exists()


def test_centering_answer_reports_a_significant_drop():
    f = get("centering").run(scripted_lab(lambda c: (375, RELU_OR) if c.center else (500, RELU_XOR)),
                             Scale(seeds=20, epochs=5))
    assert "hurts significantly for" in f.answer
    assert "sigmoid/default" in f.answer and "relu/uniform" in f.answer
    assert all(not v["after"] for v in f.numbers["centred_vs_raw"].values())


# --- the experiments on real tiny runs ---------------------------------------------


class CachingLab(Lab):
    """Trains each config once across experiments, as the study's store does; records
    what each experiment asked for."""

    def __init__(self):
        self.cache: dict[RunConfig, RunResult] = {}
        self.asked: list[list[RunConfig]] = []
        super().__init__(self._run)

    def _run(self, configs):
        self.asked.append(list(configs))
        todo = [c for c in dict.fromkeys(configs) if c not in self.cache]
        self.cache.update(zip(todo, run_many(todo)))
        return [self.cache[c] for c in configs]


@pytest.fixture(scope="module")
def tiny():
    """Each experiment's findings on the tiny grid, and the lab that ran them."""
    lab = CachingLab()
    return lab, {name: get(name).run(lab, TINY) for name in EXPERIMENTS}


def test_experiments_are_registered_in_the_tutorials_order():
    assert [n for n in names() if n in EXPERIMENTS] == list(EXPERIMENTS)


def test_grids_coincide_so_shared_cells_are_trained_once(tiny):
    lab, _ = tiny
    activation, init, centering = (set(asked) for asked in lab.asked)
    assert {c for c in activation if c.activation != "linear"} == {c for c in init if c.init == "default"}
    assert init == {c for c in centering if not c.center}
    assert len(lab.cache) == len(centering) + TINY.seeds  # + the linear control


@pytest.mark.skipif(not TUTORIAL_TEXT.exists(), reason=f"the tutorial's text is not present at {TUTORIAL_TEXT}")
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_states_the_tutorials_section_and_question(name):
    tutorial = TUTORIAL_TEXT.read_text(errors="replace")
    exp = get(name)
    assert f"**{exp.title}**" in tutorial
    assert exp.question in tutorial


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_findings_have_tables_numbers_figures_and_an_answer(tiny, name):
    _, findings = tiny
    f = findings[name]
    assert set(f.tables) == {"success", "failure_modes"}
    assert {"success_rates", "final_accuracy", "loss_curves"} <= set(f.figures)
    assert all(isinstance(fig, Figure) for fig in f.figures.values())
    assert len(re.findall(r"[.!?](\s|$)", f.answer)) in (2, 3, 4)
    assert len(f.tables["success"]) == CELLS[name]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_success_counts_agree_with_the_runs(tiny, name):
    lab, findings = tiny
    f, fields = findings[name], FIELDS[name]
    asked = lab.asked[EXPERIMENTS.index(name)]
    for row in f.tables["success"]:
        cell = [lab.cache[c] for c in asked if all(getattr(c, k) == row[k] for k in fields)]
        assert row["runs"] == len(cell) == TINY.seeds
        assert row["successes"] == sum(r.final_correct == r.test_total for r in cell)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(
            (wilson(row["successes"], row["runs"]).low, wilson(row["successes"], row["runs"]).high))
        modes = [m for m in f.tables["failure_modes"] if all(m[k] == row[k] for k in fields)]
        assert sum(m["runs"] for m in modes) == row["runs"] - row["successes"]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_answer_quotes_every_cells_rate(tiny, name):
    _, findings = tiny
    f = findings[name]
    for row in f.tables["success"]:
        assert str(wilson(row["successes"], row["runs"])) in f.answer


def test_runs_are_reproducible(tiny):
    lab, _ = tiny
    config = next(iter(lab.cache))
    again = run_many([config])[0]
    np.testing.assert_array_equal(again.test_loss, lab.cache[config].test_loss)
