"""Sizes that cannot fit, or would run without bound, are refused up front: one short
line naming the option, exit status 2, no traceback, nothing trained or written."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize(
    "args, flag",
    [
        (["train", "--epochs", "1000000000"], "--epochs"),
        (["train", "--epochs", "100000000000000000000"], "--epochs"),
        (["sweep", "--epochs", "1000000000", "--seeds", "1"], "--epochs"),
        (["sweep", "--seeds", "10000000000"], "--seeds"),
        (["sweep", "--seeds", "100000000"], "--seeds"),
        (["sweep", "--seeds", "1000", "--lr", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1",
          "--activation", "sigmoid", "tanh", "relu", "linear", "--hidden", "1", "2", "3", "4", "5", "6", "7",
          "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23", "24",
          "25", "26"], "--seeds"),
        (["study", "--seeds", "1000000000"], "--seeds"),
        (["experiment", "activation", "--quick", "--seeds", "1000000000"], "--seeds"),
        (["sweep", "--hidden", "100000", "--seeds", "1", "--epochs", "1"], "--hidden"),
    ],
)
def test_sizes_beyond_reach_are_a_one_line_usage_error(args, flag, run_cli, tmp_path):
    out = tmp_path / "out"
    r = run_cli(*args, "--out", out)
    assert r.code == 2, r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0] and "Traceback" not in r.err
    assert not out.exists() or not any(out.iterdir() if out.is_dir() else [1])


def test_a_wide_input_layer_runs_in_bounded_memory(run_cli, tmp_path):
    """200 inputs took 8 GB before the compiled data stream; now one run's own data."""
    out = tmp_path / "runs.jsonl"
    r = run_cli("sweep", "--inputs", "200", "--seeds", "1", "--epochs", "1", "--quiet", "--out", out)
    assert r.code == 0, r.err
    (line,) = out.read_text().splitlines()
    assert json.loads(line)["inputs"] == 200
