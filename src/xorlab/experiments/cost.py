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
from . import budget, get, names, parity
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


def main(argv: list[str] | None = None) -> int:
    """`python -m xorlab.experiments.cost [--seeds N] [--quick] [--ms-per-unit MS]`: the table."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m xorlab.experiments.cost",
                                description="Estimate a study's runs and cost units before running it.")
    p.add_argument("--seeds", type=int, default=None, help=f"seeds per setting (default: {budget.SEEDS})")
    p.add_argument("--quick", action="store_true", help="the --quick study (default: off)")
    p.add_argument("--ms-per-unit", type=float, default=None,
                   help="an engine's milliseconds per unit, for seconds (default: none)")
    args = p.parse_args(argv)
    seeds = args.seeds or (budget.QUICK_SEEDS if args.quick else budget.SEEDS)
    if seeds < 1:
        p.error("--seeds must be at least 1")
    scale = Scale(seeds=seeds, quick=args.quick, epochs=budget.QUICK_EPOCHS if args.quick else None)
    rows = estimate(scale)
    print(f"{'experiment':<12} {'runs':>8} {'units':>10} {'new runs':>9} {'new units':>10}")
    for r in rows:
        print(f"{r.name:<12} {r.runs:>8} {r.units:>10.0f} {r.new_runs:>9} {r.new_units:>10.0f}")
    total = sum(r.new_units for r in rows)
    print(f"{'total':<12} {sum(r.new_runs for r in rows):>8} {total:>10.0f}")
    if args.ms_per_unit is not None:
        print(f"about {total * args.ms_per_unit / 1000:.0f} s at {args.ms_per_unit:g} ms per unit")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
