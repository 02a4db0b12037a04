"""The bonus (parity), the baselines, the conclusion, and the loss-landscape helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from xorlab import landscape
from xorlab.config import ConfigError, RunConfig
from xorlab.data import make_data
from xorlab.engines import classic
from xorlab.experiments import baselines, budget, conclusion, get, names, parity
from xorlab.experiments.base import Lab, Scale, write_findings
from xorlab.model import TORCH_DTYPES, XorNet
from xorlab.result import RunResult

TINY = Scale(seeds=2, epochs=1, quick=True)


class RecordingLab(Lab):
    """The classic engine behind a cache keyed by config: every run trains once per module,
    and `results` holds what the experiment was given."""

    def __init__(self):
        super().__init__(engine="classic")
        self.cache: dict[str, RunResult] = {}
        self.results: list[RunResult] = []

    def run(self, configs):
        todo = [c for c in configs if c.key() not in self.cache]
        for c, r in zip(todo, super().run(todo)):
            self.cache[c.key()] = r
        out = [self.cache[c.key()] for c in configs]
        self.results += out
        return out


@pytest.fixture(scope="module")
def lab():
    return RecordingLab()


def xor_solution() -> dict[str, np.ndarray]:
    """A hand-built sigmoid XOR net: hidden OR and AND units, output OR - AND."""
    return {
        "dense1.weight": np.array([[20.0, 20.0], [20.0, 20.0]]),
        "dense1.bias": np.array([-10.0, -30.0]),
        "dense2.weight": np.array([[1.0, -1.0]]),
        "dense2.bias": np.array([0.0]),
    }


def random_params(inputs: int, hidden: int, seed: int) -> dict[str, np.ndarray]:
    g = np.random.default_rng(seed)
    return {"dense1.weight": g.normal(size=(hidden, inputs)), "dense1.bias": g.normal(size=hidden),
            "dense2.weight": g.normal(size=(1, hidden)), "dense2.bias": g.normal(size=1)}


# --- landscape ---------------------------------------------------------------------


def test_registered_in_experiments():
    assert {"parity", "baselines", "conclusion"} <= set(names())
    assert get("parity").name == "parity" and get("conclusion").title == "Conclusion"


def test_loss_equals_the_trainers_final_test_loss():
    config = RunConfig(epochs=1, seed=3, dtype="float64", activation="tanh")
    result = classic.train_run(config)
    data = make_data([3])
    assert landscape.loss(result.params, data.test_x[0], data.test_y[0], "tanh") == pytest.approx(
        result.final_test_loss, rel=1e-12)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "linear"])
def test_path_ends_equal_direct_evaluation(activation):
    a, b = random_params(3, 4, seed=1), random_params(3, 4, seed=2)
    data = make_data([5], inputs=3)
    x, y = data.train_x[0], data.train_y[0]
    t, losses = landscape.path_losses(a, b, x, y, activation, steps=11)
    for params, end in ((a, losses[0]), (b, losses[-1])):
        net = XorNet(3, 4, activation).to(TORCH_DTYPES["float64"])
        net.load_state_dict({k: torch.as_tensor(v) for k, v in params.items()})
        direct, _ = classic.evaluate(net, torch.as_tensor(x), torch.as_tensor(y))
        assert end == pytest.approx(direct, rel=1e-12)
    assert t[0] == 0.0 and t[-1] == 1.0 and len(losses) == 11


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("hidden", [2, 3, 5])
def test_hidden_permutation_leaves_outputs_and_loss_unchanged(activation, hidden):
    params = random_params(2, hidden, seed=hidden)
    permuted = landscape.permute_hidden(params, landscape.cyclic_order(hidden))
    assert not np.allclose(permuted["dense1.weight"], params["dense1.weight"])
    data = make_data([0])
    x, y = data.test_x[0], data.test_y[0]
    np.testing.assert_allclose(landscape.outputs(permuted, x, activation), landscape.outputs(params, x, activation),
                               rtol=1e-12, atol=1e-12)
    assert landscape.loss(permuted, x, y, activation) == pytest.approx(landscape.loss(params, x, y, activation), rel=1e-12)


def test_cyclic_order_moves_every_unit():
    for h in range(2, 7):
        order = landscape.cyclic_order(h)
        assert sorted(order) == list(range(h)) and all(order != np.arange(h))


def test_interpolate_hits_both_ends():
    a, b = random_params(2, 2, 0), random_params(2, 2, 1)
    for k in a:
        np.testing.assert_array_equal(landscape.interpolate(a, b, 0.0)[k], a[k])
        np.testing.assert_allclose(landscape.interpolate(a, b, 1.0)[k], b[k])


def test_loss_rises_between_an_xor_solution_and_its_permutation():
    data = make_data([0])
    a = xor_solution()
    b = landscape.permute_hidden(a, [1, 0])
    t, losses = landscape.path_losses(a, b, data.train_x[0], data.train_y[0], "sigmoid", steps=21)
    assert losses[0] == pytest.approx(losses[-1], rel=1e-12)
    assert losses[0] < 0.01  # the hand-built net solves the noisy XOR
    assert losses.max() > 10 * losses[0]  # above both ends: the loss is not convex


# --- baselines ---------------------------------------------------------------------

CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
CORNER_Y = np.array([0.0, 1.0, 1.0, 0.0])


@pytest.mark.parametrize("name", ["logistic regression", "linear regression", "linear SVM"])
def test_linear_models_get_at_most_three_xor_corners(name):
    data = make_data([0])
    model = baselines.fit(name, *baselines.train_points(data, 0), seed=0)
    assert baselines.tutorial_accuracy(model.predict(CORNERS), CORNER_Y) <= 0.75
    exact = baselines.fit(name, np.repeat(CORNERS, 5, axis=0), np.repeat(CORNER_Y, 5), seed=0)
    assert baselines.tutorial_accuracy(exact.predict(CORNERS), CORNER_Y) <= 0.75


def test_rbf_svm_solves_xor_corners():
    data = make_data([0])
    model = baselines.fit("RBF-kernel SVM", *baselines.train_points(data, 0), seed=0)
    assert baselines.tutorial_accuracy(model.predict(CORNERS), CORNER_Y) == 1.0
    exact = baselines.fit("RBF-kernel SVM", np.repeat(CORNERS, 5, axis=0), np.repeat(CORNER_Y, 5), seed=0)
    assert baselines.tutorial_accuracy(exact.predict(CORNERS), CORNER_Y) == 1.0


def test_tutorial_accuracy_rounds_output_and_target():
    assert baselines.tutorial_accuracy(np.array([0.4, 0.6, 1.4, -0.6]), np.array([0.05, 1.02, 1.0, 0.0])) == 0.75


def test_one_class_training_set_gets_a_constant_predictor():
    model = baselines.fit("logistic regression", CORNERS[:1].repeat(3, axis=0), np.zeros(3))
    assert list(model.predict(CORNERS)) == [0, 0, 0, 0]


def test_baselines_experiment_tiny(lab, tmp_path):
    exp = get("baselines")
    findings = exp.run(lab, TINY)
    rows = {r["model"]: r for r in findings.tables["accuracy"]}
    assert set(rows) == set(baselines.SKLEARN_MODELS) | set(baselines.NETS)
    nets = [r for r in lab.results if r.config.epochs == 1]
    for name, act in baselines.NETS.items():
        cell = [r for r in nets if r.config.activation == act]
        assert rows[name]["runs"] == len(cell) == 2
        assert rows[name]["mean_accuracy"] == pytest.approx(np.mean([r.final_accuracy for r in cell]))
        assert rows[name]["successes"] == sum(r.success for r in cell)
    for name, kind in baselines.SKLEARN_MODELS.items():
        assert rows[name]["runs"] == 2 and 0 <= rows[name]["min_accuracy"] <= rows[name]["max_accuracy"] <= 1
        assert (rows[name]["max_accuracy"] < 0.9) if kind == "linear" else (rows[name]["mean_accuracy"] > 0.99)
    curve = findings.tables["learning_curve"]
    assert {r["train_points"] for r in curve} == set(baselines.CURVE_SIZES)
    assert len(curve) == len(baselines.CURVE_SIZES) * len(baselines.SKLEARN_MODELS)
    assert all(isinstance(f, Figure) for f in findings.figures.values())
    assert "kernel SVM scores" in findings.answer
    written = write_findings(exp, findings, tmp_path)
    assert (tmp_path / "baselines" / "decision_boundaries.png").exists() and len(written) > 4


# --- conclusion --------------------------------------------------------------------


def test_permutation_path_of_a_hand_built_solution_rises():
    data = make_data([0])
    run = RunResult(RunConfig(seed=0), np.zeros((1, 5)), np.zeros(1), np.full(1, 500), xor_solution())
    path = conclusion.permutation_path(run, data.train_x[0], data.train_y[0], steps=21)
    assert path["loss_start"] == pytest.approx(path["loss_end"], rel=1e-12)
    assert path["loss_start"] == pytest.approx(path["loss_direct"], rel=1e-12)
    assert path["rise_above_ends"] > 0 and path["ratio_to_ends"] > 10
    assert 0 < path["t_at_max"] < 1


def test_conclusion_experiment_tiny(lab):
    findings = get("conclusion").run(lab, TINY)
    n = findings.numbers
    assert n["loss_start"] == pytest.approx(n["loss_end"], rel=1e-9)
    assert n["loss_start"] == pytest.approx(n["loss_direct"], rel=1e-9)
    path = findings.tables["permutation_path"]
    assert len(path) == conclusion.PATH_STEPS
    assert max(r["loss"] for r in path) == n["loss_max"] >= n["loss_start"]
    chosen = [r for r in lab.results if r.config.seed == n["seed"] and r.config.activation == "sigmoid"]
    assert chosen and chosen[0].success == n["solved"]
    # The answer reuses the baselines' comparison, not a copy of it.
    assert findings.tables["accuracy"][0]["model"] == next(iter(baselines.SKLEARN_MODELS))
    assert "permutation_path" in findings.figures and "convex" in findings.answer


# --- parity ------------------------------------------------------------------------


def test_parity_design_default_large_and_quick():
    d = parity.design(Scale())
    assert d.inputs == (2, 3, 4, 5, 6) and d.seeds == 100 and d.screen == budget.PARITY_SCREEN_SEEDS
    assert [r.name for r in d.recipes] == ["tutorial", "solving"]
    tutorial, solving = d.recipes
    assert (tutorial.activation, tutorial.center, tutorial.init, tutorial.lr, tutorial.epochs) == \
        ("sigmoid", False, "default", 0.01, 100)
    assert (solving.activation, solving.center, solving.init, solving.epochs) == \
        ("tanh", True, "uniform", budget.PARITY_SOLVE_EPOCHS)
    assert parity.design(Scale(seeds=500)).inputs == tuple(range(2, 9))
    quick = parity.design(Scale(quick=True, seeds=20, epochs=20))
    assert quick.inputs == (2, 3) and quick.seeds == quick.screen == 20
    assert quick.recipes[0].epochs == 20 and quick.recipes[1].epochs == 20 * budget.PARITY_SOLVE_EPOCHS // 100
    plan = d.plan()
    assert d.depths == (1, 2) and [(r.name, r.layers) for r in d.searched()] == [
        ("tutorial", 1), ("tutorial", 2), ("solving", 1), ("solving", 2)]
    assert plan["cells_at_most"] == 2 * 2 * sum(2 * n - 1 for n in d.inputs)
    assert plan["runs_at_most"] == 100 * plan["cells_at_most"] and plan["screen_units"] < plan["units_at_most"]


@pytest.mark.parametrize("bad", [1, 9, "4", True])
def test_parity_rejects_out_of_range_inputs(bad):
    with pytest.raises(ConfigError):
        parity.ParityExperiment(max_inputs=bad)


def test_theory_sizes():
    assert [parity.setiono_hidden(n) for n in range(2, 9)] == [2, 2, 3, 3, 4, 4, 5]
    assert [parity.threshold_hidden(n) for n in range(2, 5)] == [2, 3, 4]


def fake_result(config: RunConfig, success: bool) -> RunResult:
    h, n = config.hidden, config.inputs
    correct = np.full(config.epochs, 500 if success else 400)
    params = {"dense1.weight": np.zeros((h, n)), "dense1.bias": np.zeros(h),
              "dense2.weight": np.zeros((1, h)), "dense2.bias": np.zeros(1)}
    return RunResult(config, np.zeros((config.epochs, 5)), np.zeros(config.epochs), correct, params)


class FakeLab(Lab):
    """Runs succeed where `solves(config)` says; records every call."""

    def __init__(self, solves):
        super().__init__(runner=lambda configs: [fake_result(c, solves(c)) for c in configs])
        self.calls: list[list[RunConfig]] = []

    def run(self, configs):
        self.calls.append(list(configs))
        return super().run(configs)


def cells_of(searches, recipe: str, inputs: int) -> list[tuple[int, str, int, int]]:
    s = next(s for s in searches if s.recipe.name == recipe and s.inputs == inputs)
    return [(c["hidden"], c["stage"], c["runs"], c["successes"]) for c in s.cells]


def test_search_screens_each_size_and_stops_at_the_first_that_passes():
    # H = N - 1: none; H = N: 80% (screening cannot rule 90% out, all seeds then fail it);
    # H >= N + 1: every seed.
    lab = FakeLab(lambda c: c.hidden > c.inputs or (c.hidden == c.inputs and c.seed % 5 != 0))
    d = parity.Design((3,), parity.recipes(Scale(epochs=1)), seeds=50, screen=20)
    searches = parity.search(lab, d)
    assert cells_of(searches, "solving", 3) == [(2, "screen", 20, 0), (3, "screen", 20, 16), (3, "full", 50, 40),
                                                 (4, "screen", 20, 20), (4, "full", 50, 50)]
    row = parity.minimal_row(searches[0])
    assert list(row) == parity.CSV_COLUMNS
    assert (row["min_hidden"], row["seeds"], row["success_rate"]) == (4, 50, 1.0)
    assert row["ci_low"] == pytest.approx(parity.wilson(50, 50).low)
    # every open search advances in the same call: one call per round, not per cell
    assert len(lab.calls) == 5 and {c.activation for c in lab.calls[0]} == {"sigmoid", "tanh"}


def test_search_that_finds_nothing_names_its_range_and_best_cell():
    lab = FakeLab(lambda c: c.seed < c.hidden)  # rate grows with H, never reaches 90% of 50
    d = parity.Design((2,), parity.recipes(Scale(epochs=1)), seeds=50, screen=20, depths=(1,))
    [tutorial, _] = parity.search(lab, d)
    assert [c["hidden"] for c in tutorial.cells] == [2, 3, 4] and tutorial.found is None
    row = parity.minimal_row(tutorial)
    assert row["min_hidden"] is None and row["seeds"] == 20 and row["success_rate"] == pytest.approx(4 / 20)
    assert "none up to H = 4" in parity.cell_text(row, 4)


def test_depth_compares_units_in_all_at_the_smallest_passing_sizes():
    # One layer passes from H = N + 1, two layers from H = 2 (units in all: 2 x 2 = 4).
    lab = FakeLab(lambda c: c.hidden >= (c.inputs + 1 if c.layers == 1 else 2))
    d = parity.Design((2, 3, 4), parity.recipes(Scale(epochs=1)), seeds=20, screen=20)
    rows = [parity.minimal_row(s) for s in parity.search(lab, d)]
    depth = [r for r in parity.depth_rows(rows, d) if r["recipe"] == "solving"]
    assert [(r["inputs"], r["one_layer_units"], r["two_layer_units"], r["fewer_with_two_layers"]) for r in depth] == [
        (2, 3, 4, False), (3, 4, 4, False), (4, 5, 4, True)]
    text = parity.depth_text(parity.depth_rows(rows, d))
    assert "the solving recipe with two hidden layers needs fewer units in all for N = 4" in text
    assert {r["layers"] for r in rows} == {1, 2} and len(rows) == 2 * 2 * 3


def test_parity_ruled_out_is_the_wilson_upper_bound():
    assert parity.ruled_out(15, 20) and not parity.ruled_out(16, 20)
    assert not parity.ruled_out(20, 20) and parity.ruled_out(0, 20)


def test_parity_experiment_tiny(lab, tmp_path):
    exp = parity.ParityExperiment(max_inputs=3)
    scale = Scale(seeds=3, epochs=1)
    findings = exp.run(lab, scale)
    rows = findings.tables["minimal_hidden"]
    assert [(r["recipe"], r["layers"], r["inputs"]) for r in rows] == [
        (name, layers, n) for name in ("tutorial", "solving") for layers in (1, 2) for n in (2, 3)]
    for r in rows:  # every cell is honest: its numbers are those of its runs
        if r["min_hidden"] is not None:
            same = [x for x in lab.results if (x.config.inputs, x.config.hidden, x.config.center, x.config.layers)
                    == (r["inputs"], r["min_hidden"], r["center"], r["layers"]) and x.config.seed < r["seeds"]]
            assert r["success_rate"] >= 0.9 and sum(x.success for x in same) >= 0.9 * r["seeds"]
    for c in findings.tables["search"]:
        assert 2 <= c["hidden"] <= 2 * c["inputs"] and c["runs"] == 3
    assert "Setiono" in findings.answer and "Wilamowski" in findings.answer
    assert [a["inputs"] for a in findings.tables["answer"]] == [2, 3]
    written = write_findings(exp, findings, tmp_path)
    header = (tmp_path / "parity" / "minimal_hidden.csv").read_text().splitlines()[0]
    assert header == ",".join(parity.CSV_COLUMNS)
    assert any(p.name == "minimal_hidden.png" for p in written)


# --- the study's cost ------------------------------------------------------------------


def test_cost_estimate_counts_shared_runs_once():
    from xorlab.config import ACTIVATIONS
    from xorlab.experiments import cost

    rows = {r.name: r for r in cost.estimate(Scale(seeds=3, epochs=1))}
    assert list(rows) == names()
    assert rows["activation"].runs == 3 * len(ACTIVATIONS) and rows["activation"].units == pytest.approx(3 * 4 * 0.01)
    assert rows["termination"].new_runs == 0 and rows["conclusion"].new_runs == 0  # Experiment 1's and the baselines' runs
    assert rows["init"].new_runs == rows["init"].runs / 2


@pytest.mark.parametrize("solves", [lambda c: False, lambda c: True, lambda c: c.hidden >= c.inputs])
def test_cost_estimate_bounds_what_parity_really_runs(solves):
    from xorlab.experiments import cost

    scale = Scale(seeds=30, epochs=1)
    lab = FakeLab(solves)
    parity.search(lab, parity.design(scale, max_inputs=4))
    ran = {c for call in lab.calls for c in call}
    bound = parity.EXPERIMENT.configs(Scale(seeds=30, epochs=1))
    assert cost.units(ran) <= cost.units(set(c for c in bound if c.inputs <= 4))


def test_every_experiment_lists_the_runs_it_asks_for():
    """`cost` reads each experiment's own list (Experiment.configs), so a new experiment
    without one fails here, not in a silently wrong estimate."""
    from xorlab.experiments import cost, get

    scale = Scale(seeds=2, epochs=1)
    listed = {n: get(n).configs(scale) for n in names()}
    assert all(cs and all(c.seed is not None for c in cs) for cs in listed.values())
    assert {r.name: r.runs for r in cost.estimate(scale)} == {n: len(set(cs)) for n, cs in listed.items()}
