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
