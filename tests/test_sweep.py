import json
import socket

import pytest
import torch

from xorlab.sweep import Grid, parse_seeds

FIELDS = {"seed", "activation", "init", "center", "lr", "inputs", "hidden", "epochs", "final_test_loss",
          "final_correct", "test_total", "final_accuracy", "diverged", "test_loss", "accuracy"}


def test_a_grid_is_every_cell_for_every_seed():
    g = Grid(activation=("tanh", "relu"), center=(False, True), lr=(0.1, 1.0), seeds=(3, 4, 5))
    configs = g.configs()
    assert len(configs) == g.size == 2 * 2 * 2 * 3
    assert len(set(configs)) == len(configs)
    assert {c.seed for c in configs} == {3, 4, 5}


@pytest.mark.parametrize("text, seeds", [("3", (0, 1, 2)), ("5:8", (5, 6, 7))])
def test_seeds_are_a_count_or_a_range(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["0", "8:5", "a:b", "-2:3", "x"])
def test_bad_seed_specs_are_refused(text):
    with pytest.raises(ValueError):
        parse_seeds(text)


def test_sweep_writes_one_json_line_per_run_with_the_promised_fields(tmp_path, run_cli):
    out = tmp_path / "runs.jsonl"
    r = run_cli("sweep", "--activation", "sigmoid", "tanh", "--center", "raw", "centered", "--seeds", "2:5",
                "--epochs", "1", "--out", out)
    assert r.code == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 2 * 2 * 3
    assert all(FIELDS <= set(rec) for rec in records)
    assert {(rec["activation"], rec["center"], rec["seed"]) for rec in records} == {
        (a, c, s) for a in ("sigmoid", "tanh") for c in (False, True) for s in (2, 3, 4)}
    assert all(len(rec["test_loss"]) == len(rec["accuracy"]) == 1 for rec in records)
    where = {(rec["host"], rec["torch"], rec["cpu_capability"]) for rec in records}
    assert where == {(socket.gethostname(), torch.__version__, torch.backends.cpu.get_cpu_capability())}
    assert "Success rate per cell" in r.err
    assert "centred" in r.err and "centered" not in r.err  # one spelling in what is printed


def test_a_sweep_run_is_the_run_train_makes(tmp_path, run_cli):
    out = tmp_path / "runs.jsonl"
    run_cli("sweep", "--activation", "tanh", "--center", "centred", "--lr", "0.1", "--seeds", "7:8",
            "--epochs", "2", "--dtype", "float64", "--out", out, "--quiet")
    record = json.loads(out.read_text())
    single = tmp_path / "one.json"
    run_cli("train", "--seed", "7", "--activation", "tanh", "--center", "--lr", "0.1", "--epochs", "2",
            "--dtype", "float64", "--out", single)
    expected = json.loads(single.read_text())
    assert record["final_correct"] == expected["final_correct"]
    assert record["final_test_loss"] == pytest.approx(expected["final_test_loss"], rel=1e-9)


def test_bad_sweep_input_is_one_line_exit_2(run_cli):
    r = run_cli("sweep", "--lr", "0.1", "-3")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "--lr" in r.err
    r = run_cli("sweep", "--seeds", "9:2")
    assert r.code == 2 and "--seeds" in r.err


# --- the knobs ------------------------------------------------------------------------------

def test_a_grid_takes_several_values_of_each_knob():
    g = Grid(optimizer=("sgd", "adam"), batch_size=(10, 50), noise=(0.0, 0.3), weight_decay=(0.0, 1e-3),
             layers=(1, 2), seeds=(0, 1))
    configs = g.configs()
    assert len(configs) == g.size == 2 ** 6 and len(set(configs)) == len(configs)
    assert {(c.optimizer, c.batch_size, c.noise, c.weight_decay, c.layers) for c in configs} == {
        (o, b, n, w, l) for o in ("sgd", "adam") for b in (10, 50) for n in (0.0, 0.3) for w in (0.0, 1e-3)
        for l in (1, 2)}


def test_momentum_values_apply_to_the_momentum_optimizers_only():
    g = Grid(optimizer=("sgd", "momentum", "nesterov", "adam"), momentum=(0.5, 0.9), seeds=(0,))
    got = [(c.optimizer, c.momentum) for c in g.configs()]
    assert got == [("sgd", 0.9), ("momentum", 0.5), ("momentum", 0.9), ("nesterov", 0.5), ("nesterov", 0.9),
                   ("adam", 0.9)]


def test_sweep_lines_name_the_knobs_set_away_from_the_tutorials_values_only(tmp_path, run_cli):
    out = tmp_path / "runs.jsonl"
    r = run_cli("sweep", "--optimizer", "sgd", "adam", "--batch-size", "10", "50", "--noise", "0.1",
                "--seeds", "2", "--epochs", "1", "--engine", "classic", "--out", out)
    assert r.code == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    knobs = {"optimizer", "momentum", "batch_size", "noise", "weight_decay", "layers"}
    assert [sorted(set(rec) & knobs) for rec in records] == \
        [[]] * 2 + [["batch_size"]] * 2 + [["optimizer"]] * 2 + [["batch_size", "optimizer"]] * 2
    assert all(FIELDS <= set(rec) for rec in records)
    assert {(rec.get("optimizer"), rec.get("batch_size")) for rec in records} == {
        (None, None), (None, 50), ("adam", None), ("adam", 50)}
    assert "optimizer" in r.err and "batch_size" in r.err  # the summary table's varying columns


def test_a_sweep_run_with_knobs_is_the_run_train_makes(tmp_path, run_cli):
    knobs = ["--optimizer", "nesterov", "--momentum", "0.7", "--batch-size", "25", "--noise", "0.2",
             "--weight-decay", "0.001", "--layers", "2"]
    out, single = tmp_path / "runs.jsonl", tmp_path / "one.json"
    run_cli("sweep", *knobs, "--seeds", "3:4", "--epochs", "2", "--engine", "classic", "--out", out, "--quiet")
    run_cli("train", *knobs, "--seed", "3", "--epochs", "2", "--out", single)
    record, expected = json.loads(out.read_text()), json.loads(single.read_text())
    assert record["test_loss"] == expected["test_loss"] and record["final_correct"] == expected["final_correct"]
    assert {k: record[k] for k in ("optimizer", "momentum", "batch_size", "noise", "weight_decay", "layers")} == \
        {"optimizer": "nesterov", "momentum": 0.7, "batch_size": 25, "noise": 0.2, "weight_decay": 0.001, "layers": 2}


@pytest.mark.parametrize("engine", ["auto", "jax"])
def test_the_default_engine_sweeps_the_knobs(engine, tmp_path, run_cli):
    out = tmp_path / "runs.jsonl"
    r = run_cli("sweep", "--layers", "1", "2", "--optimizer", "sgd", "adam", "--seeds", "2", "--epochs", "1",
                "--engine", engine, "--out", out, "--quiet")
    assert r.code == 0, r.err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted((r.get("layers", 1), r.get("optimizer", "sgd"), r["seed"]) for r in records) == sorted(
        (layers, opt, seed) for layers in (1, 2) for opt in ("sgd", "adam") for seed in (0, 1))
    assert all(r["engine"] == "jax" for r in records)
