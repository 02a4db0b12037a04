"""Differential tests against the tutorial's program (the oracle).

Exactness is per machine: PyTorch's CPU kernels, and so its float32 rounding, depend
on the vector unit (AVX-512, AVX2, or the portable default; ATEN_CPU_CAPABILITY picks
one). So:

- live: the tests' own rendition of the tutorial's program (tutorial_xor.py) runs here,
  beside `xorlab train`, and the two must print the same bytes, on any machine;
- golden: the logs in fixtures/oracle record the torch version and CPU capability they
  were made with, and must match line for line within the tolerance below, whatever
  the capability here: the same torch and capability are not the same machine (the
  BLAS and math kernels torch calls also choose code paths by CPU vendor and model;
  an AVX-512 EPYC prints 278/500 where the logs' machine printed 279);
- when ../shared/seed holds the project's copy of the oracle, it is run too.
"""

from __future__ import annotations

import math
import random
import re
import subprocess
import sys

import pytest

from conftest import (COUNT_TOLERANCE, FIXTURES, GOLDEN_MADE_WITH, LOSS_TOLERANCE, ORACLE, ORACLE_CASES,
                      TUTORIAL, log_lines, oracle_argv_to_flags)
from xorlab import machine

TRAIN_LINE = re.compile(r"Train Epoch: (\d+) (\d+)\tLoss: (\S+)$")
TEST_LINE = re.compile(r"Test set: Average loss: (\S+), Accuracy: (\d+)/(\d+) \((\S+)%\)$")


def tutorial(argv: list[str]) -> str:
    """The stdout of the tests' rendition of the tutorial's program, run here."""
    done = subprocess.run([sys.executable, str(TUTORIAL), *argv], capture_output=True, text=True, check=True)
    return done.stdout


def close_losses(a: str, b: str) -> bool:
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return abs(x - y) <= LOSS_TOLERANCE * (1 + 1e-6)


def line_mismatch(got: str, want: str) -> str | None:
    """Why `got` is not `want` within the cross-CPU tolerance, or None if it is."""
    if got == want:
        return None
    g, w = TRAIN_LINE.match(got), TRAIN_LINE.match(want)
    if g and w:
        if g[1] != w[1] or g[2] != w[2]:
            return "a different epoch or batch"
        return None if close_losses(g[3], w[3]) else f"loss {g[3]} vs {w[3]}"
    g, w = TEST_LINE.match(got), TEST_LINE.match(want)
    if g and w:
        if g[3] != w[3]:
            return "a different test set size"
        if not close_losses(g[1], w[1]):
            return f"test loss {g[1]} vs {w[1]}"
        if abs(int(g[2]) - int(w[2])) > COUNT_TOLERANCE:
            return f"accuracy {g[2]} vs {w[2]}"
        if g[4] != f"{100 * int(g[2]) / int(g[3]):.2f}":
            return "a percentage that is not its count's"
        return None
    return "a different line"


def assert_close_output(got: str, want: str) -> None:
    """Line for line: the same lines, and log values within the stated tolerance."""
    got_lines, want_lines = got.splitlines(), want.splitlines()
    assert len(got_lines) == len(want_lines), f"{len(got_lines)} lines, expected {len(want_lines)}"
    for number, (g, w) in enumerate(zip(got_lines, want_lines), 1):
        why = line_mismatch(g, w)
        assert why is None, f"line {number}: {why}:\n  got  {g!r}\n  want {w!r}"


def assert_matches_golden(got: str, golden: str) -> None:
    """A log made on another machine, or this one: never bit for bit (see the module docstring)."""
    assert_close_output(got, golden)


# --- live: xorlab against the tutorial's program, on this machine ---------------------

# (argv of tutorial_xor.py): the tutorial's own run far enough to pass epoch 21, where
# CPU capabilities part, and a short run for each experiment's switch.
LIVE_CASES = [
    ["42", "sigmoid", "default", "nocenter", "0.01", "22"],
    ["5", "tanh", "default", "center", "0.1", "2"],
    ["9", "relu", "default", "center", "0.5", "2"],
    ["42", "tanh", "default", "center", "1.0", "2"],  # diverges to nan
    ["7", "tanh", "uniform", "center", "0.1", "2"],
    ["2", "sigmoid", "uniform", "nocenter", "0.05", "2"],
]


@pytest.mark.parametrize("argv", LIVE_CASES, ids=lambda a: "-".join(a))
def test_train_prints_what_the_tutorials_program_prints_here(argv, run_cli):
    """Byte for byte on this machine: all of stdout with --verbose where the program
    prints the weights it trains from (default init), else the log lines."""
    expected = tutorial(argv)
    if argv[2] == "default":
        got = run_cli("train", "--verbose", *oracle_argv_to_flags(argv))
        assert got.out == expected
    else:
        got = run_cli("train", *oracle_argv_to_flags(argv))
        assert log_lines(got.out) == log_lines(expected)
    assert got.code == 0
    assert len(log_lines(expected)) == 6 * int(argv[5])


# tutorial_xor.py with each knob changed the way a user would write the change
# (SEED ACT INIT CENTER LR EPOCHS, then OPTIMIZER MOMENTUM BATCH_SIZE NOISE WEIGHT_DECAY LAYERS).
KNOB_CASES = [
    ["3", "sigmoid", "default", "nocenter", "0.05", "1", "momentum", "0.9", "10", "0.1", "0", "1"],
    ["4", "tanh", "default", "center", "0.02", "1", "nesterov", "0.5", "10", "0.1", "0", "1"],
    ["5", "relu", "default", "center", "0.01", "1", "adam", "0.9", "10", "0.1", "0", "1"],
    ["6", "sigmoid", "default", "nocenter", "0.01", "1", "sgd", "0.9", "1", "0.1", "0", "1"],
    ["7", "tanh", "default", "center", "0.05", "1", "sgd", "0.9", "7", "0.1", "0", "1"],
    ["8", "sigmoid", "default", "nocenter", "0.5", "1", "sgd", "0.9", "50", "0.1", "0", "1"],
    ["9", "sigmoid", "default", "nocenter", "1.0", "1", "sgd", "0.9", "500", "0.1", "0", "1"],
    ["10", "tanh", "default", "center", "0.05", "1", "sgd", "0.9", "10", "0", "0", "1"],
    ["11", "sigmoid", "default", "nocenter", "0.05", "1", "sgd", "0.9", "10", "0.3", "0", "1"],
    ["12", "sigmoid", "default", "nocenter", "0.05", "1", "sgd", "0.9", "10", "0.1", "0.001", "1"],
    ["13", "tanh", "default", "center", "0.05", "1", "sgd", "0.9", "10", "0.1", "0", "2"],
    ["14", "relu", "uniform", "center", "0.05", "1", "sgd", "0.9", "10", "0.1", "0", "3"],
    ["15", "tanh", "default", "center", "0.01", "2", "adam", "0.9", "50", "0.3", "0.001", "2"],
    ["16", "sigmoid", "uniform", "nocenter", "0.1", "2", "momentum", "0.8", "7", "0", "0.01", "3"],
]


@pytest.mark.parametrize("argv", KNOB_CASES, ids=lambda a: "-".join(a[6:]))
def test_each_knob_prints_what_the_tutorials_program_prints_with_that_change(argv, run_cli):
    """Byte for byte on this machine, as above; the train lines count examples in
    batches of the run's size (`batch_idx * len(data)`)."""
    expected = tutorial(argv)
    flags = oracle_argv_to_flags(argv)
    got = run_cli("train", *(["--verbose"] if argv[2] == "default" else []), *flags)
    assert got.code == 0
    assert (got.out if argv[2] == "default" else log_lines(got.out)) == \
        (expected if argv[2] == "default" else log_lines(expected))
    batches = -(-5000 // int(argv[8]))
    assert len(log_lines(expected)) == int(argv[5]) * (-(-batches // 100) + 1)


def test_verbose_states_the_torch_build_and_cpu_capability_on_stderr(run_cli):
    r = run_cli("train", "--verbose", "--seed", "1", "--epochs", "1")
    assert machine.describe() in r.err and "on this machine" in r.err
    assert machine.cpu_capability() not in r.out  # stdout stays the tutorial's


def test_a_diverging_live_case_really_diverges():
    assert "nan" in tutorial(["42", "tanh", "default", "center", "1.0", "2"])


# --- golden logs ------------------------------------------------------------------------

@pytest.mark.parametrize("case", ORACLE_CASES, ids=[c["name"] for c in ORACLE_CASES])
def test_train_prints_the_oracles_log_lines(case, run_cli):
    golden = (FIXTURES / "oracle" / f"{case['name']}.txt").read_text()
    result = run_cli("train", *oracle_argv_to_flags(case["argv"]))
    assert result.code == 0
    assert_matches_golden("\n".join(log_lines(result.out)), "\n".join(log_lines(golden)))
    assert len(log_lines(golden)) == 6 * int(case["argv"][5])


SHORT_DEFAULT_INIT = [c for c in ORACLE_CASES if c["argv"][2] == "default" and int(c["argv"][5]) <= 5]


@pytest.mark.parametrize("case", SHORT_DEFAULT_INIT, ids=lambda c: c["name"])
def test_verbose_output_is_the_oracles_whole_stdout(case, run_cli):
    """With the default init, the script prints the weights it trains from, so all of
    stdout (sample batches, parameters, log) must match."""
    golden = (FIXTURES / "oracle" / f"{case['name']}.txt").read_text()
    result = run_cli("train", "--verbose", *oracle_argv_to_flags(case["argv"]))
    assert_matches_golden(result.out, golden)


def test_golden_logs_record_what_made_them():
    assert set(GOLDEN_MADE_WITH) == {"torch", "cpu_capability"}
    assert all(GOLDEN_MADE_WITH.values())


def test_the_cross_cpu_tolerance_is_the_stated_one():
    want = ("Train Epoch: 21 400\tLoss: 0.2481\n\n"
            "Test set: Average loss: 0.2479, Accuracy: 279/500 (55.80%)\n")
    assert_close_output(want.replace("0.2481", "0.2480").replace("279/500 (55.80%)", "277/500 (55.40%)"), want)
    for wrong in (want.replace("0.2481", "0.2483"),  # a loss 2 off in its 4th decimal
                  want.replace("0.2479,", "0.2477,"),
                  want.replace("279/500 (55.80%)", "276/500 (55.20%)"),  # a count 3 off
                  want.replace("(55.80%)", "(55.60%)"),  # a percentage that does not follow
                  want.replace("Epoch: 21", "Epoch: 22"),
                  want.replace("0.2481", "nan"),
                  want + "\n",  # a line more
                  want.replace("Test set", "Test sets")):
        with pytest.raises(AssertionError):
            assert_close_output(wrong, want)
    assert_close_output(want.replace("0.2481", "nan"), want.replace("0.2481", "nan"))


# --- the project's copy of the oracle, where present -------------------------------------

def live_cases(n: int) -> list[list[str]]:
    rng = random.Random(20261128)
    cases = []
    for _ in range(n):
        cases.append([
            str(rng.randrange(10**6)),
            rng.choice(["sigmoid", "tanh", "relu"]),
            rng.choice(["default", "uniform"]),
            rng.choice(["nocenter", "center"]),
            repr(rng.choice([0.003, 0.01, 0.05, 0.2, 0.5, 2.0])),
            "2",
        ])
    return cases


@pytest.mark.skipif(not ORACLE.exists(), reason=f"the oracle is not present at {ORACLE}")
@pytest.mark.parametrize("argv", live_cases(6), ids=lambda a: "-".join(a))
def test_train_matches_the_live_oracle(argv, run_cli):
    oracle = subprocess.run([sys.executable, str(ORACLE), *argv], capture_output=True, text=True, check=True)
    assert tutorial(argv) == oracle.stdout  # the tests' rendition is the oracle, to the byte
    result = run_cli("train", *oracle_argv_to_flags(argv))
    assert log_lines(result.out) == log_lines(oracle.stdout)
