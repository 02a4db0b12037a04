"""Sweeps: a Cartesian grid of settings times a range of seeds, run on any engine."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Iterator, Sequence

from .config import KNOB_DEFAULTS, MOMENTUM_OPTIMIZERS, ConfigError, RunConfig
from .engines import resolve
from .engines.plan import MAX_RUNS, plan
from .executor import Executor, LocalExecutor, in_order
from .result import RunResult

CENTER_VALUES = {"raw": False, "centred": True, "centered": True}  # both spellings accepted


@dataclass(frozen=True)
class Grid:
    """Every combination of these settings, for every seed."""

    activation: tuple[str, ...] = ("sigmoid",)
    init: tuple[str, ...] = ("default",)
    center: tuple[bool, ...] = (False,)
    lr: tuple[float, ...] = (0.01,)
    inputs: tuple[int, ...] = (2,)
    hidden: tuple[int, ...] = (2,)
    epochs: tuple[int, ...] = (100,)
    seeds: tuple[int, ...] = tuple(range(10))
    dtype: str = "float32"
    optimizer: tuple[str, ...] = ("sgd",)
    momentum: tuple[float, ...] = (0.9,)
    batch_size: tuple[int, ...] = (10,)
    noise: tuple[float, ...] = (0.1,)
    weight_decay: tuple[float, ...] = (0.0,)
    layers: tuple[int, ...] = (1,)

    # The settings that make a grid cell (everything but the seed).
    CELL = ("activation", "init", "center", "lr", "inputs", "hidden", "epochs",
            "optimizer", "momentum", "batch_size", "noise", "weight_decay", "layers")

    def cells(self) -> list[dict]:
        """Every combination of the settings, in order. Momentum is read by the momentum
        optimizers only: the others take one cell at its default, not one per value."""
        cells = []
        for values in itertools.product(*(getattr(self, f) for f in self.CELL)):
            cell = dict(zip(self.CELL, values))
            if cell["optimizer"] not in MOMENTUM_OPTIMIZERS:
                cell["momentum"] = KNOB_DEFAULTS["momentum"]
            cells.append(cell)
        return list({tuple(c.items()): c for c in cells}.values())

    def configs(self) -> list[RunConfig]:
        """One config per cell and seed; seeds vary fastest. Validates every value."""
        return [RunConfig(**cell, seed=seed, dtype=self.dtype) for cell in self.cells() for seed in self.seeds]

    def as_set(self) -> tuple[Grid, dict[str, tuple]]:
        """This grid with each setting's repeated values merged (`--lr 0.1 0.10 1e-1` is
        one learning rate, trained and counted once), and the settings that had repeats,
        with their values as given."""
        repeated = {f: getattr(self, f) for f in (*self.CELL, "seeds")
                    if len(distinct(getattr(self, f))) < len(getattr(self, f))}
        return replace(self, **{f: distinct(v) for f, v in repeated.items()}), repeated

    @property
    def size(self) -> int:
        n = len(self.seeds)
        for f in self.CELL:
            n *= len(getattr(self, f))
        return n  # at most len(configs()): momentum values collapse for the other optimizers


def distinct(values: Sequence) -> tuple:
    """Each value once, in the order first given."""
    return tuple(dict.fromkeys(values))


def parse_seeds(text: str) -> tuple[int, ...]:
    """'N' -> seeds 0..N-1; 'A:B' -> seeds A..B-1. Raises ValueError with a reason."""
    try:
        if ":" in text:
            a, b = (int(part) for part in text.split(":", 1))
        else:
            a, b = 0, int(text)
    except ValueError:
        raise ValueError(f"expected a count N or a range A:B of integers (got {text!r})") from None
    if a < 0 or b <= a:
        raise ValueError(f"the range must be non-empty and start at 0 or above (got {text!r})")
    if b - a > MAX_RUNS:
        raise ValueError(f"at most {MAX_RUNS:,} seeds in one sweep (got {b - a:,})")
    return tuple(range(a, b))


def plan_sweep(grid: Grid, engine: str = "auto") -> tuple[list[RunConfig], list[list[int]]]:
    """The grid's configs and the planner's pieces of them (indices), before anything
    trains: a grid larger than one sweep may hold, a bad value or a size that cannot
    fit in memory is refused here (ConfigError naming the setting)."""
    if grid.size > MAX_RUNS:
        raise ConfigError("seed", f"the grid has {grid.size:,} runs, more than the {MAX_RUNS:,} "
                          "one sweep may hold")
    configs = grid.configs()  # validates every value
    return configs, plan(configs, engine=resolve(engine))


def run_chunks(configs: Sequence[RunConfig], engine: str = "auto", on_progress=None,
               executor: Executor | None = None, pieces: list[list[int]] | None = None) -> Iterator[list[RunResult]]:
    """Results piece by piece as the planner cuts them (engines/plan.py; `pieces` if
    already planned), in piece order whatever the executor (default: here), so a
    caller can save each piece as it comes."""
    if pieces is None:
        pieces = plan(configs, engine=resolve(engine))
    runs = [[configs[i] for i in piece] for piece in pieces]
    yield from in_order((executor or LocalExecutor()).map(runs, engine, on_progress))
