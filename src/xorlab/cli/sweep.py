"""`xorlab sweep`: a grid of settings times many seeds, one JSON line per run."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import suppress

from rich.console import Console
from rich.table import Table

from ..config import ACTIVATIONS, DTYPES, INITS
from ..engines import ENGINES
from ..formatting import interval_text, percent
from ..sweep import CENTER_VALUES, Grid, distinct, parse_seeds, plan_sweep, run_chunks
from ..progress import RunProgress
from .options import check_out_file, int_at_least, out_path, positive_float
from .scheduler import add_cluster_options, executor_from_args
from .train import add_knob_options

SEEDS_FORM = "N means seeds 0 to N-1, A:B seeds A to B-1, with 0 <= A < B"


def seeds_arg(text: str) -> tuple[int, ...]:
    try:
        return parse_seeds(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{err}; {SEEDS_FORM}") from None


def add_parser(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="train a grid of settings over many seeds; JSON Lines out",
        description="Train every combination of the given settings for every seed (the "
        "jax engine trains thousands at once) and write one JSON object per run. "
        "Each run can be replayed with 'xorlab train --seed S' and the same settings.",
        epilog="examples:\n  xorlab sweep --activation sigmoid tanh relu --seeds 1000 --out runs.jsonl\n"
        "  xorlab sweep --activation tanh --center centred --lr 0.01 0.1 1 --seeds 100:200\n"
        "  xorlab sweep --inputs 3 --hidden 2 3 4 --epochs 300 --seeds 50 --quiet\n"
        "  xorlab sweep --optimizer sgd momentum adam --batch-size 10 50 --seeds 20 --engine classic",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--activation", nargs="+", choices=ACTIVATIONS, default=["sigmoid"],
                   help="activations to try (default: sigmoid)")
    p.add_argument("--init", nargs="+", choices=INITS, default=["default"], help="inits to try (default: default)")
    p.add_argument("--center", nargs="+", choices=list(CENTER_VALUES), default=["raw"],
                   help="raw 0/1 inputs, centred -1/+1 inputs, or both (default: raw)")
    p.add_argument("--lr", nargs="+", type=positive_float, default=[0.01], help="learning rates (default: 0.01)")
    p.add_argument("--inputs", nargs="+", type=int_at_least(1), default=[2], help="input counts N (default: 2)")
    p.add_argument("--hidden", nargs="+", type=int_at_least(1), default=[2], help="hidden sizes H (default: 2)")
    p.add_argument("--epochs", nargs="+", type=int_at_least(1), default=[100], help="epoch budgets (default: 100)")
    p.add_argument("--seeds", type=seeds_arg, default=parse_seeds("10"), metavar="N|A:B",
                   help="seeds 0..N-1, or A..B-1 (default: 10)")
    p.add_argument("--dtype", choices=DTYPES, default="float32", help="precision (default: float32)")
    add_knob_options(p, nargs="+")  # each a list of values to try, like --lr
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="classic: the one-run loop; jax: whole runs in one compiled program, "
                   "runs side by side; auto: jax (default: auto)")
    p.add_argument("--out", metavar="FILE", type=out_path, default=None, help="write JSON Lines to FILE (default: stdout)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary table (default: off)")
    add_cluster_options(p)
    # its seeds come from --seeds: a bad one is reported under that name
    p.set_defaults(func=run, prog="xorlab sweep", field_flags={"seed": "--seeds"})


def build_grid(args: argparse.Namespace) -> Grid:
    return Grid(activation=tuple(args.activation), init=tuple(args.init),
                center=tuple(CENTER_VALUES[c] for c in args.center), lr=tuple(args.lr),
                inputs=tuple(args.inputs), hidden=tuple(args.hidden), epochs=tuple(args.epochs),
                seeds=tuple(args.seeds), dtype=args.dtype, optimizer=tuple(args.optimizer),
                momentum=tuple(args.momentum), batch_size=tuple(args.batch_size), noise=tuple(args.noise),
                weight_decay=tuple(args.weight_decay), layers=tuple(args.layers))


def cell_text(value) -> str:
    return "centred" if value is True else "raw" if value is False else str(value)


def merged_note(prog: str, repeated: dict[str, tuple]) -> str:
    """One line naming the values that parse equal and are trained once."""
    parts = [f"--{f.replace('_', '-')} {' '.join(cell_text(v) for v in given)} is "
             f"{' '.join(cell_text(v) for v in distinct(given))}" for f, given in repeated.items()]
    return f"{prog}: note: repeated values merged, each trained and counted once: {'; '.join(parts)}"


def summary_table(results, grid: Grid) -> Table:
    """Success per cell; only the settings that vary across the grid get a column."""
    from ..stats import success_rows  # scipy: imported only when a table is drawn

    varying = [f for f in Grid.CELL if len(getattr(grid, f)) > 1] or ["activation"]
    table = Table(title="Success rate per cell (100% test accuracy), Wilson 95% CI")
    for col in (*varying, "runs", "success", "95% CI", "mean acc", "diverged"):
        table.add_column(col, justify="right")
    for r in success_rows(results, varying):
        cells = [cell_text(r[f]) for f in varying]
        table.add_row(*cells, str(r["runs"]), percent(r["success_rate"], 1),
                      interval_text(r["ci_low"], r["ci_high"]), percent(r["mean_accuracy"], 1), str(r["diverged"]))
    return table


def line(r) -> dict:
    """A run's JSON line: its summary, and where it was trained (host, torch version,
    PyTorch's CPU capability): float rounding can differ from one kind of CPU to
    another, so a reader comparing numbers across files needs to know. Every executor
    stamps this on its results."""
    return {**r.summary(), **r.extras["provenance"]}


def write_lines(out, name: str | None, lines: list[str]) -> None:
    """Each finished chunk is on disk before the next starts; a write error names the file."""
    try:
        out.write("".join(line + "\n" for line in lines))
        out.flush()
    except OSError as err:
        if name is None:
            raise
        raise OSError(err.errno, err.strerror, name) from None


def run(args: argparse.Namespace) -> int:
    grid, repeated = build_grid(args).as_set()
    if repeated:
        print(merged_note(args.prog, repeated), file=sys.stderr)
    configs, pieces = plan_sweep(grid, args.engine)  # refuses what cannot run, before any output
    err = Console(stderr=True)
    if args.out is not None:
        check_out_file(args.prog, args.out)
    executor = executor_from_args(args)  # an unusable cluster stops here, before --out is written
    out = open(args.out, "w") if args.out is not None else sys.stdout
    results = []
    progress = None if args.quiet else RunProgress(console=err)
    advance = progress.task("training", len(configs)) if progress else lambda n: None
    advance(0)  # a bar's first count is of runs already stored: none here, all are trained
    try:
        for chunk in run_chunks(configs, args.engine, advance, executor, pieces):
            write_lines(out, args.out, [json.dumps(line(r), allow_nan=False) for r in chunk])
            results.extend(chunk)
    except KeyboardInterrupt:
        err.print(f"interrupted: {len(results)} of {len(configs)} runs written")
        return 130
    finally:
        if progress:
            progress.stop()
        executor.close()  # on a cluster, also cancels tasks still out (Ctrl-C)
        if out is not sys.stdout:
            with suppress(OSError):  # a failed write has already said why
                out.close()
    if not args.quiet:
        err.print(summary_table(results, grid))
    return 0
