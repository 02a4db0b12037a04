"""Experiments 4 (termination) and 5 (learning rate): the classifier and rules on
hand-made runs, bisection against a known boundary, and both experiments end to end
on a tiny grid."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from xorlab import experiments
from xorlab.config import RunConfig
from xorlab.experiments import lr as lr_exp
from xorlab.experiments import termination
from xorlab.experiments.base import Lab, Scale, write_findings
from xorlab.result import RunResult

TOTAL = 500  # test points per run


def fake_run(test_loss, correct, lr=0.01, seed=0, activation="tanh") -> RunResult:
    """A run with the given test-loss curve (T,) and test-correct counts (T,) or final count."""
    test_loss = np.asarray(test_loss, dtype=float)
    epochs = len(test_loss)
    correct = np.broadcast_to(np.asarray(correct), (epochs,)).copy()
    config = RunConfig(activation=activation, lr=lr, seed=seed, epochs=epochs)
    params = {"dense1.weight": np.zeros((2, 2)), "dense1.bias": np.zeros(2),
              "dense2.weight": np.zeros((1, 2)), "dense2.bias": np.zeros(1)}
    return RunResult(config, np.repeat(test_loss[:, None], 5, axis=1), test_loss, correct, params)


# --- Experiment 5: classifying a run ---------------------------------------------------

def test_classify_a_non_finite_loss_as_diverges():
    assert lr_exp.classify(fake_run([0.9, 5.0, np.inf, np.nan], 0)) == "diverges"


def test_classify_a_settled_run_at_full_accuracy_as_learns():
    loss = np.concatenate([np.geomspace(1.0, 0.01, 50), 0.01 + 1e-4 * np.sin(np.arange(50))])
    assert lr_exp.classify(fake_run(loss, TOTAL)) == "learns"


def test_classify_a_still_falling_run_below_full_accuracy_as_too_slow():
    assert lr_exp.classify(fake_run(np.linspace(1.0, 0.8, 100), 300)) == "too slow"


def test_classify_a_flat_run_below_full_accuracy_as_stuck():
    assert lr_exp.classify(fake_run(np.full(100, 0.5), 375)) == "stuck"


def test_classify_a_bouncing_loss_as_unstable_even_at_full_accuracy():
    loss = np.concatenate([np.geomspace(1.0, 0.05, 80), np.tile([0.05, 0.4], 10)])
    assert lr_exp.classify(fake_run(loss, TOTAL)) == "unstable"


def test_classify_a_run_that_ends_far_above_its_best_as_unstable():
    loss = np.concatenate([np.geomspace(1.0, 0.01, 50), np.full(50, 0.3)])
    assert lr_exp.classify(fake_run(loss, 375)) == "unstable"


def test_small_noise_near_a_solution_is_not_instability():
    loss = np.concatenate([np.geomspace(1.0, 0.002, 90), np.tile([0.002, 0.003], 5)])
    assert lr_exp.classify(fake_run(loss, TOTAL)) == "learns"


# --- Experiment 5: ranges and bisection ------------------------------------------------

def test_ranges_merge_neighbours_and_put_edges_at_geometric_midpoints():
    spans = lr_exp.ranges({0.001: "too slow", 0.01: "learns", 0.1: "learns", 1.0: "diverges"})
    assert [(s["class"], s["lr_from"], s["lr_to"], s["points"]) for s in spans] == [
        ("too slow", 0.001, 0.001, 1), ("learns", 0.01, 0.1, 2), ("diverges", 1.0, 1.0, 1)]
    assert spans[1]["edge_low"] == pytest.approx(math.sqrt(0.001 * 0.01))
    assert spans[1]["edge_high"] == pytest.approx(math.sqrt(0.1))
    assert spans[0]["edge_low"] is None and spans[-1]["edge_high"] is None


def test_boundary_midpoints_only_between_different_classes():
    mids = lr_exp.boundary_midpoints({0.01: "learns", 0.04: "learns", 0.16: "diverges"})
    assert mids == [0.08]


def test_longest_stretch_picks_the_longest_run_of_neighbours():
    rows = [{"lr": lr, "ok": ok} for lr, ok in zip(range(8), [1, 0, 1, 1, 1, 0, 1, 1])]
    assert [row["lr"] for row in lr_exp.longest_stretch(rows, lambda row: row["ok"])] == [2, 3, 4]
    assert lr_exp.longest_stretch(rows, lambda row: False) == []


def test_context_quotes_the_best_rates_and_seed_42s_edges():
    sweep = [{"lr": lr, "runs": 10, "success_rate": p, "share_stuck": 0.0, "ci_low": p / 2, "ci_high": (1 + p) / 2}
             for lr, p in ((0.001, 0.0), (0.01, 0.5), (0.1, 1.0), (1.0, 1.0), (10.0, 0.0))]
    spans = lr_exp.ranges({0.001: "too slow", 0.01: "learns", 0.1: "learns", 10.0: "diverges"})
    text = lr_exp.context_text(sweep, spans)
    assert "highest success rate, 100% [50%, 100%], is reached from lr 0.1 to 1" in text
    assert "at least 90% of seeds succeed from lr 0.1 to 1." in text
    assert "50% of seeds succeed at lr 0.01 and 100% at lr 0.1" in text


def _threshold_lab(boundary: float, calls: list) -> Lab:
    """A lab whose runs learn below `boundary` and diverge at or above it."""
    def runner(configs):
        calls.append(list(configs))
        return [fake_run([0.5, 0.1], TOTAL, lr=c.lr, seed=c.seed) if c.lr < boundary
                else fake_run([0.5, np.nan], 0, lr=c.lr, seed=c.seed) for c in configs]
    return Lab(runner)


def test_the_lr_grid_is_what_lr_py_says():
    # GRID_POINTS evenly spaced in log from 1e-4 to 10, each step a factor 10**(5/48)
    grid = lr_exp.lr_grid(lr_exp.GRID_POINTS)
    assert len(grid) == 49 and grid[0] == lr_exp.LR_LOW and grid[-1] == lr_exp.LR_HIGH
    np.testing.assert_allclose(np.diff(np.log10(grid)), 5 / 48, atol=5e-4)  # 4 digits kept
    assert all(lr_exp.round_lr(x) == x for x in grid)
    quick = lr_exp.lr_grid(lr_exp.QUICK_GRID_POINTS)
    np.testing.assert_allclose(np.diff(np.log10(quick)), 0.5, atol=5e-4)
    # after the bisection rounds a boundary is pinned within 0.5%
    assert (10 ** (5 / 48)) ** (1 / 2 ** lr_exp.BISECT_ROUNDS) < 1.005


def test_bisection_closes_in_on_a_known_boundary():
    boundary, calls = 0.3, []
    lab = _threshold_lab(boundary, calls)
    base = RunConfig(activation="tanh", center=True, epochs=2, seed=42)
    grid = lr_exp.lr_grid(11)
    start = dict(zip(grid, lab.run([base.replace(lr=lr) for lr in grid])))
    refined = lr_exp.bisect(lab, base, start, rounds=6)
    spans = lr_exp.ranges({lr: lr_exp.classify(r) for lr, r in refined.items()})
    assert [s["class"] for s in spans] == ["learns", "diverges"]
    below, above = spans[0]["lr_to"], spans[1]["lr_from"]
    assert below < boundary <= above
    grid_gap = 10 ** 0.5
    assert above / below <= grid_gap ** (1 / 2**6) * 1.001
    assert all(len(batch) == 1 for batch in calls[1:])  # one boundary, one run per round


# --- Experiment 4: stopping rules on hand-made runs ------------------------------------

def _plateau_run(seed: int) -> RunResult:
    """Flat at 0.25 (75% right) for 40 epochs, then it escapes to 100%."""
    loss = np.concatenate([np.full(40, 0.25), 0.25 * 0.7 ** np.arange(1, 61)])
    correct = np.where(np.arange(100) < 45, 375, TOTAL)
    return fake_run(loss, correct, seed=seed, activation="sigmoid")


def _steady_run(seed: int) -> RunResult:
    return fake_run(0.25 * 0.9 ** np.arange(100), np.where(np.arange(100) < 10, 375, TOTAL),
                    seed=seed, activation="sigmoid")


def test_rules_count_a_stop_on_a_plateau_as_a_false_stop():
    results = [_plateau_run(0), _steady_run(1)]
    rows = {rule.key: termination.rule_row(rule, results) for rule in termination.RULES}
    # sklearn's rule fires 11 epochs into the 40-epoch plateau: one false stop of two.
    assert rows["sklearn_test"]["false_stops"] == 1 and rows["sklearn_test"]["lost_successes"] == 1
    assert rows["patience_20"]["false_stops"] == 1
    # Stopping at 100% fires at epochs 46 and 11: no false stop, saves (54 + 89) / 2.
    full = rows["full_accuracy"]
    assert full["false_stops"] == 0 and full["fires"] == 2
    assert full["mean_epochs_saved"] == pytest.approx((54 + 89) / 2)
    for row in rows.values():
        assert row["ci_low"] <= row["false_stop_rate"] <= row["ci_high"]


def test_run_rows_report_the_escaped_plateau():
    run = _plateau_run(3)
    row = termination.run_row(run, termination.find_plateaus(run.test_loss))
    assert row["seed"] == 3 and row["escaped_plateaus"] == 1
    assert row["longest_escaped_plateau"] == 40
    assert row["first_plateau_accuracy"] == 0.75
    assert row["stop_sklearn_test"] == 12


def test_termination_answer_quotes_the_pattern_and_the_rules():
    results = [_plateau_run(0), _steady_run(1)]
    runs = [termination.run_row(r, termination.find_plateaus(r.test_loss)) for r in results]
    pattern = termination.pattern_numbers(runs)
    rows = [termination.rule_row(rule, results) for rule in termination.RULES]
    text = termination.answer(pattern, rows)
    assert pattern["runs_with_pattern"] == 1 and pattern["median_escaped_plateau_epochs"] == 40
    assert "1 of 2 sigmoid runs (50% [" in text and "for a median of 40 epochs" in text
    assert "fires only in the 2 runs that reach 100%" in text


# --- Both experiments end to end on a tiny grid ----------------------------------------

TINY = Scale(seeds=2, epochs=2, quick=True)


class RecordingLab(Lab):
    """The real engine, remembering every run it was asked for."""

    def __init__(self):
        super().__init__()
        self.results: list[RunResult] = []

    def run(self, configs):
        results = super().run(configs)
        self.results += results
        return results


@pytest.fixture(scope="module")
def tiny_termination():
    lab = RecordingLab()
    return lab, termination.EXPERIMENT.run(lab, TINY)


@pytest.fixture(scope="module")
def tiny_lr():
    lab = RecordingLab()
    return lab, lr_exp.EXPERIMENT.run(lab, TINY)


def test_experiments_are_registered_under_their_names():
    assert experiments.get("termination").title == "Experiment 4 (termination criteria)"
    assert experiments.get("lr").title == "Experiment 5 (learning rate)"
    assert "flattens out" in experiments.get("termination").question
    assert "diverge and become unstable" in experiments.get("lr").question


def test_termination_runs_the_tutorials_sigmoid_configs(tiny_termination):
    lab, _ = tiny_termination
    assert [r.config for r in lab.results] == [
        RunConfig(activation="sigmoid", init="default", center=False, lr=0.01, epochs=2, seed=s) for s in (0, 1)]


def test_termination_tables_match_the_runs(tiny_termination):
    lab, findings = tiny_termination
    runs = findings.tables["runs"]
    assert [row["seed"] for row in runs] == [0, 1]
    assert [row["final_accuracy"] for row in runs] == [r.final_accuracy for r in lab.results]
    rules = findings.tables["stopping_rules"]
    assert [row["rule"] for row in rules] == [rule.label for rule in termination.RULES]
    for row in rules:
        assert row["runs"] == 2 and 0 <= row["false_stops"] <= row["fires"] <= 2
        assert 0 <= row["mean_epochs_saved"] <= 2
    for row in runs:
        assert all(row[f"stop_{rule.key}"] in (None, 1, 2) for rule in termination.RULES)
    assert findings.numbers["pattern"]["runs"] == 2
    assert set(findings.figures) == {"loss_curves", "stopping_rules"}
    assert "sigmoid runs" in findings.answer


def test_lr_runs_the_tutorials_setting_on_the_grid_and_seed_42(tiny_lr):
    lab, findings = tiny_lr
    base = RunConfig(activation="tanh", center=True, init="default", epochs=2)
    assert all(r.config == base.replace(lr=r.config.lr, seed=r.config.seed) for r in lab.results)
    grid = lr_exp.lr_grid(lr_exp.QUICK_GRID_POINTS)
    assert findings.numbers["grid"] == grid and len(grid) == 11
    assert grid[0] == pytest.approx(1e-4) and grid[-1] == pytest.approx(10)
    tried42 = {r.config.lr for r in lab.results if r.config.seed == 42}
    assert set(grid) <= tried42
    assert [p["lr"] for p in findings.tables["seed42"]] == sorted(tried42)


def test_lr_tables_match_the_runs(tiny_lr):
    lab, findings = tiny_lr
    by_lr_seed = {(r.config.lr, r.config.seed): r for r in lab.results}
    for point in findings.tables["seed42"]:
        assert point["class"] == lr_exp.classify(by_lr_seed[point["lr"], 42])
    spans = findings.tables["ranges"]
    assert sum(s["points"] for s in spans) == len(findings.tables["seed42"])
    assert all(a["class"] != b["class"] for a, b in zip(spans, spans[1:]))
    sweep = findings.tables["seeds"]
    assert [row["lr"] for row in sweep] == findings.numbers["grid"]
    for row in sweep:
        cell = [by_lr_seed[row["lr"], s] for s in (0, 1)]
        assert row["runs"] == 2 and row["successes"] == sum(r.success for r in cell)
        shares = [row[f"share_{c.replace(' ', '_')}"] for c in lr_exp.CLASSES]
        assert sum(shares) == pytest.approx(1.0)
    assert "seed 42" in findings.answer


def test_findings_are_written_and_json_safe(tiny_termination, tiny_lr, tmp_path):
    for exp, (_, findings) in ((termination.EXPERIMENT, tiny_termination), (lr_exp.EXPERIMENT, tiny_lr)):
        assert all(isinstance(fig, Figure) for fig in findings.figures.values())
        write_findings(exp, findings, tmp_path)
        saved = json.loads((tmp_path / exp.name / "findings.json").read_text())
        assert saved["answer"] == findings.answer
        for name in findings.figures:
            assert (tmp_path / exp.name / f"{name}.png").stat().st_size > 0
