"""Engines train runs; every engine returns a `RunResult` for a config.

`classic` is the tutorial's loop, one run at a time: the reference. `batched` trains
many runs at once with PyTorch's eager kernels; `compiled` is the same computation
through torch.compile (faster for big sweeps after a one-off compile). Both are
tested to agree with `classic`: exactly in the metrics up to float rounding, which
is why each engine's results are stored under its own name.
`run_many` is what the rest of xorlab calls.
"""

from __future__ import annotations

from typing import Callable, Sequence

from ..config import RunConfig
from ..result import RunResult
from . import classic

ENGINES = ("auto", "classic", "batched", "compiled")

# Bumped whenever an engine's numbers could change, so stored results are not reused.
ENGINE_VERSIONS = {"classic": "1", "batched": "1", "compiled": "1"}

ProgressCallback = Callable[[float], None]  # called with the runs done since the last call


def resolve(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    return "batched" if engine == "auto" else engine


def run_many(configs: Sequence[RunConfig], engine: str = "auto",
             on_progress: ProgressCallback | None = None) -> list[RunResult]:
    """Train every config (each with its own seed); results in the order given."""
    name = resolve(engine)
    if name in ("batched", "compiled"):
        from . import batched

        return batched.train_runs(configs, on_progress=on_progress, compiled=name == "compiled")
    results = []
    for config in configs:
        results.append(classic.train_run(config))
        if on_progress is not None:
            on_progress(1)
    return results
