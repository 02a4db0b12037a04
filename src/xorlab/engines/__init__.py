"""Engines train runs; every engine returns the same `RunResult` for the same config.

`classic` is the tutorial's loop, one run at a time. `batched` trains many runs at once
and is tested to agree with it. `run_many` is what the rest of xorlab calls.
"""

from __future__ import annotations

from typing import Callable, Sequence

from ..config import RunConfig
from ..result import RunResult
from . import classic

ENGINES = ("auto", "classic", "batched")

# Bumped whenever an engine's numbers could change, so stored results are not reused.
ENGINE_VERSIONS = {"classic": "1", "batched": "1"}

ProgressCallback = Callable[[int], None]  # called with the number of runs just finished


def resolve(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    return "batched" if engine == "auto" else engine


def run_many(configs: Sequence[RunConfig], engine: str = "auto",
             on_progress: ProgressCallback | None = None) -> list[RunResult]:
    """Train every config (each with its own seed); results in the order given."""
    name = resolve(engine)
    if name == "batched":
        from . import batched

        return batched.train_runs(configs, on_progress=on_progress)
    results = []
    for config in configs:
        results.append(classic.train_run(config))
        if on_progress is not None:
            on_progress(1)
    return results
