"""What a study costs, before anything trains: runs and units per experiment.

A unit is one 100-epoch 2-2-1 run (the tutorial's); a run costs N * H / 4 * epochs / 100
units, since an engine's work per step grows with inputs times hidden units (a deeper
net adds H * H per extra layer: `parity.cost_units`). Seconds are
units times an engine's milliseconds per unit. Runs shared by experiments (Experiment 1's
sigmoid cell is also Experiment 4's runs and a baseline) train once, in the store, so
the total counts each distinct run once.

Each experiment lists its own runs (`Experiment.configs`), the list its `run` trains.
Two decide as they go and list an upper bound: Experiment 5 bisects seed 42's class
boundaries (counted as `lr.BOUNDARIES` new rates every round), and parity searches H
upward (counted as every H screened plus one cell per recipe, depth and N on every seed
at the largest H).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import RunConfig
from . import get, names, parity
from .base import Scale



@dataclass(frozen=True)
class Cost:
    name: str
    runs: int  # distinct runs this experiment asks for
    units: float  # their cost in 100-epoch 2-2-1 runs
    new_runs: int  # runs no earlier experiment asked for
    new_units: float


def units(configs) -> float:
    return parity.cost_units(list(configs))


def experiment_configs(scale: Scale) -> dict[str, list[RunConfig]]:
    """Each experiment's runs (upper bounds where it decides as it goes), in study order:
    what each experiment says it asks for (`Experiment.configs`), not a copy of it."""
    return {name: get(name).configs(scale) for name in names()}


def estimate(scale: Scale) -> list[Cost]:
    """Per experiment: its runs and units, and those no earlier experiment trained."""
    seen: set[RunConfig] = set()
    rows = []
    for name, configs in experiment_configs(scale).items():
        mine = set(configs)
        new = mine - seen
        seen |= mine
        rows.append(Cost(name, len(mine), round(units(mine), 3), len(new), round(units(new), 3)))
    return rows
