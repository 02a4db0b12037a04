"""Engines train runs; every engine returns a `RunResult` for a config.

`classic` is the tutorial's loop, one run at a time, with `nn.Module` layers and
`torch.optim`: the reference for every knob. `jax` (the default) traces the same
training into one XLA program per setting and trains each run's whole budget inside
it, runs side by side (jax_engine.py, program.py). The two are tested to agree:
closely in float64, in the metrics in float32 (float rounding differs), which is why
each engine's results are stored under its own name. `run_many` is what the rest of
xorlab calls; `plan.plan` says which runs it should be given together.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..config import RunConfig
from ..result import EpochSnapshot, RunResult
from . import classic

ENGINES = ("auto", "jax", "classic")

# Bumped whenever an engine's numbers could change, so stored results are not reused.
# (Removed: "compiled", torch.compile, slower than fused at every size; "fused", numba
# kernels written by hand per recipe, and "batched", PyTorch's eager kernels, both
# slower than jax and unable to train the optimizers and depths without new kernels.)
# jax 2: Adam multiplies by its bias corrections' reciprocals (its numbers depended on
# whether one device or two trained the run: XLA rewrote the division in some programs).
ENGINE_VERSIONS = {"jax": "2", "classic": "1"}
ENGINE_MODULES = {"jax": "xorlab.engines.jax_engine", "classic": "xorlab.engines.classic"}

ProgressCallback = Callable[[float], None]  # called with the runs done since the last call


EpochCallback = Callable[[EpochSnapshot], None]


def resolve(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    return "jax" if engine == "auto" else engine


def run_many(configs: Sequence[RunConfig], engine: str = "auto",
             on_progress: ProgressCallback | None = None,
             on_epoch: EpochCallback | None = None, device: int = 0) -> list[RunResult]:
    """Train every config (each with its own seed); results in the order given.

    on_epoch, when given, receives an `EpochSnapshot` after every epoch: on the jax
    engine one per epoch of every run that trained it (all planned pieces advance in
    lockstep), on the classic one per epoch of each run in turn. It costs a copy of the
    runs' parameters per epoch, so only live views ask for it. `device`: the jax
    engine's device (counted from 0, modulo the devices) for pieces of one lane block
    (wider pieces use every device); the numbers do not depend on it.
    """
    name = resolve(engine)
    if name == "jax":
        from . import jax_engine

        return jax_engine.train_runs(configs, on_progress=on_progress, on_epoch=on_epoch, device=device)
    results = []
    for i, config in enumerate(configs):
        results.append(classic.train_run(config, on_epoch=_classic_snapshots(i, on_epoch)))
        if on_progress is not None:
            on_progress(1)
    return results


def prepare(chunks: Sequence[Sequence[RunConfig]], engine: str = "auto",
            devices: Sequence[int] | None = None) -> Callable[[], None]:
    """Start what can be done before these chunks are trained, one `run_many` call
    each (with `device=devices[k]`, default 0), in order: on the jax engine, compiling
    their programs on background threads while the chunks before them train. Returns
    the call that drops what has not started (for a caller that stops early)."""
    if resolve(engine) != "jax" or len(chunks) < 2:
        return lambda: None
    from . import jax_engine

    queued = jax_engine.prepare(chunks, devices)
    return lambda: jax_engine.cancel(queued)


def _classic_snapshots(index: int, on_epoch: EpochCallback | None):
    """classic.train_run's per-epoch callback, turned into snapshots of one run."""
    if on_epoch is None:
        return None

    def report(epoch, _train_losses, test_loss, correct, params):
        on_epoch(EpochSnapshot(epoch, (index,), np.array([test_loss]), np.array([correct], dtype=np.int64),
                               (params,)))

    return report
