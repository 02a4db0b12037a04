"""The batched engine: many independent runs trained as one computation."""

from __future__ import annotations

from typing import Callable, Sequence

from ..config import RunConfig
from ..result import RunResult
from . import classic


def train_runs(configs: Sequence[RunConfig], on_progress: Callable[[int], None] | None = None) -> list[RunResult]:
    # Interim: the batched kernels land next; until then this delegates to the
    # reference loop so that callers already use the final API.
    results = []
    for config in configs:
        results.append(classic.train_run(config))
        if on_progress is not None:
            on_progress(1)
    return results
