"""Shared test helpers: paths, the oracle, and running the CLI in-process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from xorlab.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
ORACLE = ROOT.parent / "shared" / "seed" / "oracle_tutorial_xor.py"
# The tests' own rendition of the tutorial's program: always present, run live.
TUTORIAL = ROOT / "tests" / "tutorial_xor.py"
_GOLDEN = json.loads((FIXTURES / "oracle" / "cases.json").read_text())
ORACLE_CASES = _GOLDEN["cases"]
# {"torch": ..., "cpu_capability": ...} of the machine that made the golden logs
GOLDEN_MADE_WITH = _GOLDEN["made_with"]


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys):
    """Run `xorlab ARGS...` in this process; return its exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def oracle_argv_to_flags(argv: list[str]) -> list[str]:
    """The oracle's positional arguments (SEED ACT INIT CENTER LR EPOCHS) as `xorlab train` flags."""
    seed, act, init, center, lr, epochs = argv
    flags = ["--seed", seed, "--activation", act, "--init", init, "--lr", lr, "--epochs", epochs]
    return flags + (["--center"] if center == "center" else [])


def log_lines(text: str) -> list[str]:
    """The tutorial's 'Train Epoch' and 'Test set' lines of a log."""
    return [line for line in text.splitlines() if line.startswith(("Train Epoch:", "Test set:"))]
