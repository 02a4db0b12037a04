"""Engines train runs; every engine returns a `RunResult` for a config.

`classic` is the tutorial's loop, one run at a time: the reference. `fused` (the
default) trains each run's whole budget inside one compiled loop, runs side by side
in SIMD lanes over all cores (fused.py, kernels.py). `batched` trains many runs at
once with PyTorch's eager kernels, the hand-written gradients the fused kernels copy.
All are tested to agree with `classic`: exactly in the metrics up to
float rounding, which is why each engine's results are stored under its own name.
`run_many` is what the rest of xorlab calls; `plan.plan` says which runs it should be
given together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..config import RunConfig
from ..result import RunResult
from . import classic
from .plan import check_knobs as plan_check_knobs

ENGINES = ("auto", "fused", "classic", "batched")

# Bumped whenever an engine's numbers could change, so stored results are not reused.
# (A torch.compile engine, "compiled", was removed: slower than fused at every size.)
ENGINE_VERSIONS = {"fused": "1", "classic": "1", "batched": "2"}

ProgressCallback = Callable[[float], None]  # called with the runs done since the last call


@dataclass(frozen=True)
class EpochSnapshot:
    """Where some runs stand after an epoch: what a live view draws while they train.

    indices: positions, in the configs given to `run_many`, of the runs in this
    snapshot (an engine reports the runs it trains together; every run appears once
    per epoch). Arrays are per run, in `indices` order, copies the caller may keep.
    """

    epoch: int  # epochs finished, 1-based
    indices: tuple[int, ...]
    test_loss: np.ndarray  # (R,) float64: mean test-batch loss after this epoch
    test_correct: np.ndarray  # (R,) int64
    params: tuple[dict[str, np.ndarray], ...]  # each run's parameters, named as RunResult.params


EpochCallback = Callable[[EpochSnapshot], None]


def resolve(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    return "fused" if engine == "auto" else engine


def run_many(configs: Sequence[RunConfig], engine: str = "auto",
             on_progress: ProgressCallback | None = None,
             on_epoch: EpochCallback | None = None) -> list[RunResult]:
    """Train every config (each with its own seed); results in the order given.

    on_epoch, when given, receives an `EpochSnapshot` after every epoch of every group
    of runs trained together; it costs a copy of the runs' parameters per epoch, so
    only live views ask for it.
    """
    name = resolve(engine)
    for config in configs:  # the planner's rule, also for callers that did not plan
        plan_check_knobs(config, name)
    if name == "fused":
        from . import fused

        return fused.train_runs(configs, on_progress=on_progress, on_epoch=on_epoch)
    if name == "batched":
        from . import batched

        return batched.train_runs(configs, on_progress=on_progress, on_epoch=on_epoch)
    results = []
    for i, config in enumerate(configs):
        results.append(classic.train_run(config, on_epoch=_classic_snapshots(i, on_epoch)))
        if on_progress is not None:
            on_progress(1)
    return results


def _classic_snapshots(index: int, on_epoch: EpochCallback | None):
    """classic.train_run's per-epoch callback, turned into snapshots of one run."""
    if on_epoch is None:
        return None

    def report(epoch, _train_losses, test_loss, correct, params):
        on_epoch(EpochSnapshot(epoch, (index,), np.array([test_loss]), np.array([correct], dtype=np.int64),
                               (params,)))

    return report
