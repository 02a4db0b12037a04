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
from xorlab.experiments import baselines, conclusion, get, names, parity
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


def test_parity_design_default_and_quick():
    d = parity.design(Scale())
    assert d.inputs == (2, 3, 4, 5, 6) and len(d.seeds) == 10
    assert len(parity.design(Scale(seeds=500)).seeds) == 50
    assert d.tutorial_epochs == 100 and d.long_epochs == 300
    assert parity.design(Scale(quick=True)).inputs == (2, 3)
    plan = d.plan()
    assert plan["tutorial_runs"] == sum(2 * n for n in d.inputs) * len(parity.ACTIVATIONS) * len(d.seeds)
    assert plan["runs_at_most"] == plan["tutorial_runs"] + plan["long_runs_at_most"]
    assert all(c.center and c.activation == "tanh" and c.lr == parity.long_lr(c.inputs) for c in d.long_upper_bound())


@pytest.mark.parametrize("bad", [1, 9, "4"])
def test_parity_rejects_out_of_range_inputs(bad):
    with pytest.raises(ConfigError):
        parity.ParityExperiment(max_inputs=bad)


def test_theory_sizes():
    assert [parity.setiono_hidden(n) for n in range(2, 9)] == [2, 2, 3, 3, 4, 4, 5]
    assert [parity.threshold_hidden(n) for n in range(2, 5)] == [2, 3, 4]


def test_smallest_hidden_thresholds():
    rates = [0.0, 0.02, 0.6, 0.95, 0.8]
    rows = [{"hidden": h, "successes": int(50 * p), "success_rate": p} for h, p in enumerate(rates, start=1)]
    assert [parity.smallest_hidden(rows, p) for p in (0.0, 0.5, 0.9)] == [2, 3, 4]
    assert parity.smallest_hidden(rows[:2], 0.5) is None


def fake_result(config: RunConfig, success: bool) -> RunResult:
    h, n = config.hidden, config.inputs
    correct = np.full(config.epochs, 500 if success else 400)
    params = {"dense1.weight": np.zeros((h, n)), "dense1.bias": np.zeros(h),
              "dense2.weight": np.zeros((1, h)), "dense2.bias": np.zeros(1)}
    return RunResult(config, np.zeros((config.epochs, 5)), np.zeros(config.epochs), correct, params)


def test_long_sweep_tries_every_size_from_2_to_n_in_one_call():
    calls = []
    lab = Lab(runner=lambda configs: calls.append(len(configs)) or [fake_result(c, c.hidden >= 3) for c in configs])
    d = parity.Design((3, 4), ("tanh",), tuple(range(10)), 1, 1)
    results = parity.long_sweep(lab, d)
    tried = {n: sorted({r.config.hidden for r in results if r.config.inputs == n}) for n in (3, 4)}
    assert tried == {3: [2, 3], 4: [2, 3, 4]}
    assert calls == [10 * (2 + 3)] and len(results) == 10 * (2 + 3)


def test_parity_experiment_tiny(lab):
    exp = parity.ParityExperiment(max_inputs=2, activations=("sigmoid", "tanh"))
    start = len(lab.results)
    findings = exp.run(lab, Scale(seeds=20, epochs=1, quick=True))
    runs = lab.results[start:]
    cells = findings.tables["success"]
    tut = [c for c in cells if c["budget"] == "tutorial"]
    assert {(c["activation"], c["hidden"]) for c in tut} == {(a, h) for a in ("sigmoid", "tanh") for h in range(1, 5)}
    for c in cells:
        cell = [r for r in runs if (r.config.activation, r.config.hidden, r.config.center) == (c["activation"], c["hidden"], c["center"])]
        assert c["runs"] == len(cell) == 2
        assert c["successes"] == sum(r.success for r in cell)
    assert findings.numbers["runs"] == len(runs)
    for t in findings.tables["smallest_hidden"]:
        same = [c for c in cells if (c["budget"], c["activation"], c["inputs"]) == (t["budget"], t["activation"], t["inputs"])]
        assert t["h_any"] == parity.smallest_hidden(same, 0.0) and t["h_90"] == parity.smallest_hidden(same, 0.9)
        assert t["setiono_sigmoid"] == 2
    assert set(findings.figures) == {"heatmap_tutorial", "heatmap_long"}
    assert "Setiono" in findings.answer and "estimated" in findings.answer
