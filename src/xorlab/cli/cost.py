"""`xorlab cost`: what a study will cost before it runs (runs and units per experiment)."""

from __future__ import annotations

import argparse

from ..engines.plan import MAX_SEEDS
from ..experiments import budget
from ..experiments.base import Scale
from ..experiments.cost import Cost, estimate
from .options import int_at_least, positive_float


def add_parser(sub) -> None:
    p = sub.add_parser(
        "cost",
        help="estimate a study's runs and cost before running it",
        description="Each experiment's runs and their cost in units (one unit: one 100-epoch 2-2-1 run), "
        "counting runs that experiments share once; where an experiment decides as it goes (the "
        "learning-rate bisection, parity's search), an upper bound. Nothing is trained.",
        epilog="examples:\n  xorlab cost\n  xorlab cost --quick\n  xorlab cost --seeds 500 --ms-per-unit 2.5",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--seeds", type=int_at_least(1, MAX_SEEDS), default=None, metavar="N",
                   help=f"seeds per setting (default: {budget.SEEDS}, or {budget.QUICK_SEEDS} with --quick)")
    p.add_argument("--quick", action="store_true", help="the --quick study (default: off)")
    p.add_argument("--ms-per-unit", type=positive_float, default=None, metavar="MS",
                   help="an engine's milliseconds per unit, to estimate seconds (default: none)")
    p.set_defaults(func=run, prog="xorlab cost")


def run(args: argparse.Namespace) -> int:
    seeds = args.seeds or (budget.QUICK_SEEDS if args.quick else budget.SEEDS)
    scale = Scale(seeds=seeds, quick=args.quick, epochs=budget.QUICK_EPOCHS if args.quick else None)
    print("\n".join(table(estimate(scale), args.ms_per_unit)))
    return 0


def table(rows: list[Cost], ms_per_unit: float | None) -> list[str]:
    lines = [f"{'experiment':<12} {'runs':>8} {'units':>10} {'new runs':>9} {'new units':>10}"]
    lines += [f"{r.name:<12} {r.runs:>8} {r.units:>10.0f} {r.new_runs:>9} {r.new_units:>10.0f}" for r in rows]
    total = sum(r.new_units for r in rows)
    lines.append(f"{'total':<12} {sum(r.new_runs for r in rows):>8} {total:>10.0f}")
    if ms_per_unit is not None:
        lines.append(f"about {total * ms_per_unit / 1000:.0f} s at {ms_per_unit:g} ms per unit")
    return lines
