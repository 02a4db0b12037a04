"""Beyond the tutorial: what rescues the failing runs (Newcombe's interval, the lr tuning,
the experiment at a tiny scale on the classic loop)."""

from __future__ import annotations

import pytest

from xorlab.config import KNOB_DEFAULTS, RunConfig
from xorlab.experiments import budget, cost, names, rescue
from xorlab.experiments.base import Lab, Scale, write_findings
from xorlab.result import RunResult
from xorlab.stats import newcombe

TINY = Scale(seeds=2, epochs=1, quick=True)


def test_newcombe_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, Table II example (a): 56/70 - 48/80.
    d = newcombe(56, 70, 48, 80)
    assert d.d == pytest.approx(0.2)
    assert (d.low, d.high) == pytest.approx((0.0524, 0.3339), abs=1e-4)


@pytest.mark.parametrize("k1, n1, k2, n2", [(0, 20, 0, 20), (20, 20, 0, 20), (0, 100, 100, 100), (7, 9, 3, 11)])
def test_newcombe_stays_in_range_and_contains_the_difference(k1, n1, k2, n2):
    d = newcombe(k1, n1, k2, n2)
    assert -1 <= d.low <= d.d <= d.high <= 1
    flipped = newcombe(k2, n2, k1, n1)
    assert (flipped.low, flipped.high) == pytest.approx((-d.high, -d.low))


def fake(config: RunConfig, correct: int) -> RunResult:
    import numpy as np

    return RunResult(config, np.zeros((1, 5)), np.zeros(1), np.array([correct]), {})


def test_the_tuned_rate_has_most_successes_then_accuracy_then_is_smaller():
    base = RunConfig(optimizer="adam", epochs=1)
    results = ([fake(base.replace(lr=0.001, seed=s), 500) for s in range(2)]
               + [fake(base.replace(lr=0.01, seed=s), 500 - s) for s in range(2)]
               + [fake(base.replace(lr=0.1, seed=s), 500) for s in range(2)]
               + [fake(base.replace(lr=0.1, seed=s, activation="relu"), 400) for s in range(2)]
               + [fake(base.replace(lr=0.01, seed=s, activation="relu"), 450) for s in range(2)])
    assert rescue.best_rates(results) == {("sigmoid", "Adam"): 0.001, ("relu", "Adam"): 0.01}


def test_every_change_moves_one_knob_and_tuning_seeds_are_never_reported():
    configs = rescue.configs(TINY)
    reported = {c.seed for c in configs}
    assert reported == set(TINY.seed_list())
    assert not reported & set(rescue.tuning_seeds(Scale(seeds=100)))
    n = TINY.seeds
    for i, a in enumerate(rescue.RECIPES):
        block = configs[i * len(rescue.CHANGES) * n:(i + 1) * len(rescue.CHANGES) * n]
        base = block[0]
        assert base.activation == a and base.knobs() == {} and base.lr == 0.01
        for j, change in enumerate(rescue.CHANGES[1:], start=1):
            c = block[j * n]
            moved = {f for f in ("optimizer", "batch_size", "noise", "weight_decay", "hidden", "layers")
                     if getattr(c, f) != getattr(base, f)}
            assert moved == set(change.changes), change.label
            assert (c.lr != base.lr) == (change.tuned and c.lr != 0.01)


def test_the_cost_estimate_counts_the_experiment():
    rows = {r.name: r for r in cost.estimate(TINY)}
    assert "rescue" in names() and "rescue" in rows
    assert rows["rescue"].runs == len(set(rescue.tuning_configs(TINY) + rescue.configs(TINY)))


@pytest.mark.parametrize("k", [0, 1])
def test_cost_is_steps_and_relative_arithmetic(k):
    base = RunConfig(epochs=3)
    assert rescue.cost(base.replace(batch_size=1), base) == {"steps": 15000, "work_vs_unchanged": 1.0}
    assert rescue.cost(base.replace(batch_size=50), base)["steps"] == 300
    assert rescue.cost(base.replace(hidden=4), base)["work_vs_unchanged"] == pytest.approx(17 / 9)
    assert rescue.cost(base.replace(layers=2), base)["work_vs_unchanged"] == pytest.approx(15 / 9)


def test_the_experiment_at_a_tiny_scale(tmp_path):
    seen: list[RunResult] = []

    def runner(configs):
        out = Lab(engine="classic").run(configs)
        seen.extend(out)
        return out

    one = Scale(seeds=1, epochs=1, quick=True)  # the classic loop, kept short
    findings = rescue.EXPERIMENT.run(Lab(runner=runner), one)
    table = findings.tables["rescue"]
    assert [(r["activation"], r["change"]) for r in table] == [
        (a, c.label) for a in rescue.RECIPES for c in rescue.CHANGES]
    tuned = findings.numbers["learning_rates"]
    lrs = {tuple(k.split("/", 1)): lr for k, lr in tuned.items()}
    trained = {x.config: x for x in seen}
    expected = rescue.configs(one, lrs)
    for i, r in enumerate(table):  # each rate is its runs' own, on the reported seeds
        runs = [trained[c] for c in expected[i * one.seeds:(i + 1) * one.seeds]]
        assert {x.config.lr for x in runs} == {r["lr"]} and all(x.config.seed in one.seed_list() for x in runs)
        assert r["runs"] == one.seeds and r["successes"] == sum(x.success for x in runs)
        assert r["diff_low"] <= r["difference"] <= r["diff_high"]
    assert set(tuned) == {f"{a}/{c.label}" for a in rescue.RECIPES for c in rescue.CHANGES if c.tuned}
    assert all(lr in budget.RESCUE_LRS["adam"] for lr in tuned.values())
    assert "sigmoid" in findings.answer and "relu" in findings.answer
    written = write_findings(rescue.EXPERIMENT, findings, tmp_path)
    assert {p.name for p in written} >= {"rescue.csv", "rescue.png", "findings.json"}
