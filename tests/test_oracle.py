"""Differential tests against the tutorial's script (the oracle).

Golden logs in fixtures/oracle were made by running the oracle (make_fixtures.py);
when ../shared/seed is present, the live tests also run it on settings drawn here.
"""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from conftest import FIXTURES, ORACLE, ORACLE_CASES, log_lines, oracle_argv_to_flags


@pytest.mark.parametrize("case", ORACLE_CASES, ids=[c["name"] for c in ORACLE_CASES])
def test_train_prints_the_oracles_log_lines(case, run_cli):
    golden = (FIXTURES / "oracle" / f"{case['name']}.txt").read_text()
    result = run_cli("train", *oracle_argv_to_flags(case["argv"]))
    assert result.code == 0
    assert log_lines(result.out) == log_lines(golden)
    assert len(log_lines(golden)) == 6 * int(case["argv"][5])


SHORT_DEFAULT_INIT = [c for c in ORACLE_CASES if c["argv"][2] == "default" and int(c["argv"][5]) <= 5]


@pytest.mark.parametrize("case", SHORT_DEFAULT_INIT, ids=lambda c: c["name"])
def test_verbose_output_is_the_oracles_whole_stdout(case, run_cli):
    """With the default init, the script prints the weights it trains from, so all of
    stdout (sample batches, parameters, log) must match byte for byte."""
    golden = (FIXTURES / "oracle" / f"{case['name']}.txt").read_text()
    result = run_cli("train", "--verbose", *oracle_argv_to_flags(case["argv"]))
    assert result.out == golden


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
    result = run_cli("train", *oracle_argv_to_flags(argv))
    assert log_lines(result.out) == log_lines(oracle.stdout)
