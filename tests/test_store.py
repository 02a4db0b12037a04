"""The results store: exact round trips (NaN included), reuse, chunked commits."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from conftest import COUNT_TOLERANCE, PARAMS_RTOL_ACROSS_MACHINES
from xorlab.config import RunConfig
from xorlab.engines import ENGINE_VERSIONS, classic
from xorlab.result import RunResult
from xorlab.store import Store, chunks, run_key


def fake_result(config: RunConfig, nan: bool = False) -> RunResult:
    """A run with the right shapes whose numbers depend on the config (and may be NaN)."""
    rng = np.random.default_rng(config.seed)
    e, h, n = config.epochs, config.hidden, config.inputs
    train = rng.random((e, 5)).astype(np.float32)
    test = rng.random(e)
    if nan:
        train[-1, 2:] = np.nan
        test[-1] = np.inf
    params = {"dense1.weight": rng.random((h, n), dtype=np.float32),
              "dense1.bias": rng.random(h, dtype=np.float32),
              "dense2.weight": np.full((1, h), np.nan if nan else 0.5, dtype=np.float32),
              "dense2.bias": rng.random(1, dtype=np.float32)}
    return RunResult(config, train, test, rng.integers(0, 501, e), params, engine="classic")


class CountingRunner:
    """Stands in for run_many: records every batch of configs it is asked to train."""

    def __init__(self, nan_seeds=()):
        self.calls: list[list[RunConfig]] = []
        self.nan_seeds = set(nan_seeds)

    def __call__(self, configs, engine="auto", on_progress=None):
        self.calls.append(list(configs))
        if on_progress is not None:
            on_progress(len(configs))
        return [fake_result(c, nan=c.seed in self.nan_seeds) for c in configs]

    @property
    def trained(self) -> int:
        return sum(len(c) for c in self.calls)


def assert_same_run(a: RunResult, b: RunResult) -> None:
    assert a.config == b.config
    for name in ("train_loss", "test_loss", "test_correct"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)  # NaN == NaN here
    assert a.params.keys() == b.params.keys()
    for k in a.params:
        assert a.params[k].dtype == b.params[k].dtype
        np.testing.assert_array_equal(a.params[k], b.params[k])


def configs(seeds, **kw):
    return [RunConfig(seed=s, epochs=3, **kw) for s in seeds]


def test_round_trip_keeps_nan_inf_dtypes_and_shapes(tmp_path):
    runner = CountingRunner(nan_seeds={1})
    cs = configs([0, 1], activation="tanh", hidden=3)
    with Store(tmp_path / "runs.sqlite", runner=runner) as store:
        fresh = store.run(cs, engine="classic")
    with Store(tmp_path / "runs.sqlite", runner=runner) as store:
        again = store.run(cs, engine="classic")
    assert runner.trained == 2
    for a, b in zip(fresh, again):
        assert_same_run(a, b)
    assert math.isnan(again[1].train_loss[-1, 3]) and again[1].diverged and not again[0].diverged


def test_status_is_stored_explicitly(tmp_path):
    with Store(tmp_path / "runs.sqlite", runner=CountingRunner(nan_seeds={1})) as store:
        store.run(configs([0, 1]), engine="classic")
    db = sqlite3.connect(tmp_path / "runs.sqlite")
    rows = dict(db.execute("SELECT seed, status FROM runs"))
    assert rows == {0: "ok", 1: "diverged"}
    loss = dict(db.execute("SELECT seed, final_test_loss FROM runs"))
    assert loss[1] is None and loss[0] is not None


def test_real_run_round_trip(tmp_path):
    config = RunConfig(seed=3, epochs=1, activation="relu", init="uniform", center=True)
    with Store(tmp_path / "runs.sqlite") as store:
        [fresh] = store.run([config], engine="classic")
    with Store(tmp_path / "runs.sqlite") as store:
        [stored] = store.run([config], engine="classic")
    assert_same_run(fresh, stored)
    assert_same_run(stored, classic.train_run(config))


def test_results_come_back_in_the_order_asked_and_duplicates_train_once(tmp_path):
    runner = CountingRunner()
    cs = configs([5, 2, 5, 9]) + configs([2], activation="relu")
    with Store(tmp_path / "runs.sqlite", runner=runner) as store:
        results = store.run(cs, engine="classic")
    assert [r.config for r in results] == cs
    assert runner.trained == 4


def test_reuse_trains_only_the_missing_runs(tmp_path):
    runner = CountingRunner()
    with Store(tmp_path / "runs.sqlite", runner=runner) as store:
        store.run(configs([0, 1]), engine="classic")
        store.run(configs([0, 1, 2, 3]), engine="classic")
        assert [c.seed for c in runner.calls[-1]] == [2, 3]
        assert runner.trained == 4 and len(store) == 4


def test_a_new_engine_version_retrains(tmp_path, monkeypatch):
    runner = CountingRunner()
    with Store(tmp_path / "runs.sqlite", runner=runner) as store:
        store.run(configs([0]), engine="classic")
        monkeypatch.setitem(ENGINE_VERSIONS, "classic", "test-next")
        store.run(configs([0]), engine="classic")
    assert runner.trained == 2


def test_the_key_includes_engine_and_version():
    c = RunConfig(seed=0)
    assert run_key(c, "classic") != run_key(c, "jax")
    assert c.key() in run_key(c, "classic")


def test_each_chunk_is_committed_before_the_next_trains(tmp_path):
    path = tmp_path / "runs.sqlite"

    class Interrupting(CountingRunner):
        def __call__(self, cs, engine="auto", on_progress=None):
            if self.calls:
                committed = sqlite3.connect(path).execute("SELECT COUNT(*) FROM runs").fetchone()[0]
                assert committed == self.trained
                raise KeyboardInterrupt
            return super().__call__(cs, engine, on_progress)

    runner = Interrupting()
    with Store(path, runner=runner) as store:
        with pytest.raises(KeyboardInterrupt):
            store.run(configs(range(5)), engine="classic", chunk_runs=2)
    with Store(path) as store:
        assert len(store) == 2


def test_chunks_keep_batchable_configs_together():
    cs = [RunConfig(seed=s, activation=a) for s in range(3) for a in ("tanh", "sigmoid")]
    parts = list(chunks(cs, 3))
    assert [len(p) for p in parts] == [3, 3]
    assert all(len({c.activation for c in p}) == 1 for p in parts)


def test_configs_without_a_seed_are_refused(tmp_path):
    with Store(tmp_path / "runs.sqlite", runner=CountingRunner()) as store:
        with pytest.raises(ValueError, match="seed"):
            store.run([RunConfig()], engine="classic")


def test_progress_counts_reused_and_trained_runs(tmp_path):
    seen = []
    with Store(tmp_path / "runs.sqlite", runner=CountingRunner()) as store:
        store.run(configs([0]), engine="classic")
        store.run(configs([0, 1, 2]), engine="classic", on_progress=seen.append)
    assert sum(seen) == 3 and seen[0] == 1


def test_each_run_records_the_torch_build_and_cpu_capability(tmp_path):
    import torch

    with Store(tmp_path / "runs.sqlite", runner=CountingRunner()) as store:
        store.run(configs([0]), engine="classic")
    db = sqlite3.connect(tmp_path / "runs.sqlite")
    assert db.execute("SELECT torch_version, cpu_capability FROM runs").fetchall() == [
        (torch.__version__, torch.backends.cpu.get_cpu_capability())]


def test_a_store_from_before_those_columns_gains_them_and_keeps_its_runs(tmp_path):
    from xorlab import store as store_module

    # schema 1: the runs table before the provenance columns (host, torch_version, cpu_capability)
    old_schema = store_module.SCHEMA.split("    host TEXT")[0].rstrip().rstrip(",") + "\n);"
    [config] = configs([0])
    with sqlite3.connect(tmp_path / "runs.sqlite") as db:
        db.executescript(old_schema)
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO runs (key, config_key, config, seed, engine, engine_version, status, "
                   "final_test_loss, final_correct, final_accuracy, success, layout, arrays) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   store_module.row(fake_result(config), "classic"))
    db.close()
    runner = CountingRunner()
    with Store(tmp_path / "runs.sqlite", runner=runner) as store:
        store.run(configs([0, 1]), engine="classic")
    assert runner.trained == 1  # the old run was reused
    db = sqlite3.connect(tmp_path / "runs.sqlite")
    assert dict(db.execute("SELECT seed, cpu_capability IS NULL FROM runs")) == {0: 1, 1: 0}


# A store written by xorlab before the knobs (optimizer, batch size, noise, ...) existed:
# runs.sqlite of `Store.run` for these configs on the classic engine, made with that code.
BEFORE_KNOBS = Path(__file__).parent / "fixtures" / "store" / "before_knobs.sqlite"
BEFORE_KNOBS_CONFIGS = [RunConfig(seed=0, epochs=2), RunConfig(seed=1, epochs=2),
                        RunConfig(seed=3, epochs=2, activation="tanh", center=True, lr=0.1, dtype="float64")]


def test_a_store_from_before_the_knobs_is_reused_without_training(tmp_path):
    path = tmp_path / "runs.sqlite"
    shutil.copy(BEFORE_KNOBS, path)
    runner = CountingRunner()
    with Store(path, runner=runner) as store:
        results = store.run(BEFORE_KNOBS_CONFIGS, engine="classic")
        assert runner.trained == 0 and len(store) == 3
        assert [r.config for r in results] == BEFORE_KNOBS_CONFIGS  # old rows read back with the defaults
        assert all(r.config.knobs() == {} and r.train_loss.shape == (2, 5) for r in results)
        # the stored numbers are the ones classic trains now (float64; within rounding, as
        # the fixture may come from another CPU): the tutorial's path is unchanged
        again = classic.train_run(BEFORE_KNOBS_CONFIGS[2])
        assert abs(again.final_correct - results[2].final_correct) <= COUNT_TOLERANCE
        assert all(np.allclose(again.params[k], results[2].params[k], rtol=PARAMS_RTOL_ACROSS_MACHINES, atol=0)
                   for k in again.params)
        # a knob set away from its default is another run, trained and stored beside them
        store.run([BEFORE_KNOBS_CONFIGS[0].replace(optimizer="adam")], engine="classic")
        assert runner.trained == 1 and len(store) == 4
    db = sqlite3.connect(path)
    stored = [json.loads(c) for (c,) in db.execute("SELECT config FROM runs ORDER BY created, seed")]
    assert [c.get("optimizer") for c in stored] == [None, None, None, "adam"]
    db.close()


def test_two_connections_opening_a_new_store_at_once_both_get_it(tmp_path):
    """The playground's two jobs (or two studies) may open a new store at the same moment:
    neither may see a half-made schema or a lock it did not wait for."""
    import threading

    errors = []
    for i in range(20):
        path = tmp_path / f"s{i}.sqlite"
        start = threading.Barrier(2)

        def open_it():
            start.wait()
            try:
                with Store(path) as store:
                    assert len(store) == 0
            except Exception as err:  # noqa: BLE001 - collected and asserted below
                errors.append(repr(err))

        threads = [threading.Thread(target=open_it) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def test_a_store_compiles_its_later_chunks_programs_while_the_first_trains(tmp_path, monkeypatch):
    """Chunks train one run_many call each; the jax engine is told of the later ones
    first, so their programs compile on background threads meanwhile."""
    from xorlab.engines import jax_engine

    queued = []
    ahead = jax_engine.ahead
    monkeypatch.setattr(jax_engine, "ahead", lambda wanted: queued.append([w[0].hidden for w in wanted])
                        or ahead(wanted))
    configs = [RunConfig(seed=s, epochs=1, hidden=h, activation="tanh") for h in (2, 3, 4) for s in (0, 1)]
    with Store(tmp_path / "runs.sqlite") as store:
        results = store.run(configs, engine="jax")
    assert queued[0] == [3, 4]  # then each run_many call's own pieces after its first: none
    assert [r.config for r in results] == configs
