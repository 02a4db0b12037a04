"""`xorlab experiment NAME`: one of the tutorial's experiments, through the results store."""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Callable, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .. import experiments
from ..engines import ENGINES
from ..experiments import budget
from ..experiments.base import Scale
from ..store import FILENAME, Store, StoreError
from ..engines.plan import MAX_SEEDS
from .options import UsageError, int_at_least, out_path
from .scheduler import add_cluster_options, executor_from_args

T = TypeVar("T")


def add_scale_options(p: argparse.ArgumentParser, out_default: str) -> None:
    """Options shared by `experiment` and `study`: size, output folder, engine."""
    p.add_argument("--seeds", type=int_at_least(1, MAX_SEEDS), default=None, metavar="N",
                   help=f"seeds per setting (default: {FULL_SEEDS}, or {QUICK_SEEDS} with --quick)")
    p.add_argument("--quick", action="store_true",
                   help=f"a small version for a first look: fewer settings, {QUICK_SEEDS} seeds and "
                   f"{QUICK_EPOCHS}-epoch budgets unless --seeds/--epochs say otherwise (default: off)")
    p.add_argument("--out", metavar="DIR", type=out_path, default=out_default,
                   help=f"output folder: results store, findings, figures (default: {out_default})")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="training engine; auto is jax (default: auto)")
    p.add_argument("--epochs", type=int_at_least(1), default=None,
                   help="override every epoch budget, for tiny trial runs (default: each "
                   "experiment's own, the tutorial's 100 unless it says otherwise)")
    add_cluster_options(p)


# The sizes are set in `experiments.budget`, with every other size of the study.
FULL_SEEDS, QUICK_SEEDS, QUICK_EPOCHS = budget.SEEDS, budget.QUICK_SEEDS, budget.QUICK_EPOCHS


def scale_from_args(args: argparse.Namespace) -> Scale:
    seeds = args.seeds if args.seeds is not None else (QUICK_SEEDS if args.quick else FULL_SEEDS)
    epochs = args.epochs if args.epochs is not None or not args.quick else QUICK_EPOCHS
    return Scale(seeds=seeds, quick=args.quick, epochs=epochs)


def table(name: str, rows: list[dict]) -> Table:
    from ..report.text import cell, columns

    t = Table(title=escape(name), title_justify="left")
    cols = columns(rows)
    text = [[cell(r.get(c)) for c in cols] for r in rows]
    for i, c in enumerate(cols):
        # values are never cut or folded; long headers fold onto a second line instead
        width = max((len(row[i]) for row in text), default=1)
        t.add_column(escape(c), justify="left" if i == 0 else "right", overflow="fold", min_width=width)
    for row in text:
        t.add_row(*(Text(v) for v in row))  # values are data, never markup
    return t


def print_section(console: Console, section) -> None:
    console.rule(escape(section.title))
    for name, rows in section.findings.tables.items():
        t = table(name, rows)
        # wider than the terminal rather than cut: every value stays in the output
        need = console.measure(t).minimum
        console.print(t, width=max(console.width, need), crop=False)
    console.print(section.findings.answer, highlight=False, markup=False)
    console.print()


def check_out_dir(prog: str, out: Path) -> None:
    """Refuse an output folder that cannot hold the store, before any run is trained."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{prog}: error: argument --out: {str(out)!r} is a file, not a folder "
                         f"(see '{prog} --help')")
    try:
        Store(out / FILENAME).close()
    except StoreError as err:
        raise UsageError(f"{prog}: error: argument --out: {err}") from None
    except OSError as err:
        raise UsageError(f"{prog}: error: argument --out: cannot use {str(out)!r}: {err.strerror or err} "
                         f"(see '{prog} --help')") from None


def interrupted_message(prog: str, out: Path) -> str:
    with Store(out / FILENAME) as store:
        kept = len(store)
    return (f"{prog}: interrupted; {kept} finished runs are kept in {out / FILENAME}. "
            "Run the same command again to resume.")


def run_in_store(args: argparse.Namespace, work: Callable[..., T], progress=None, **more) -> T | None:
    """`work(out, scale, engine, progress=..., executor=..., **more)` (a study function)
    with the options' output folder (checked first), scale, engine and executor, and a
    progress bar (default: a new one); None when interrupted by Ctrl-C, having said
    what is kept."""
    out = Path(args.out)
    check_out_dir(args.prog, out)
    # The study machinery (figures, statistics) loads only when a command needs it,
    # so that `xorlab train` and `--help` start fast.
    from ..progress import RunProgress

    progress = RunProgress() if progress is None else progress
    executor = executor_from_args(args)
    try:
        return work(out, scale_from_args(args), args.engine, progress=progress, executor=executor, **more)
    except KeyboardInterrupt:
        progress.stop()
        print(interrupted_message(args.prog, out), file=sys.stderr)
        return None
    finally:
        progress.stop()
        executor.close()


def add_parser(sub) -> None:
    names = experiments.names()
    p = sub.add_parser(
        "experiment",
        help="run one of the tutorial's experiments over many seeds",
        description="Run one experiment over many seeds, print its tables and answer, and write "
        "its findings (JSON, CSV, PNG, SVG) under OUT/NAME. Runs are kept in OUT/runs.sqlite and "
        f"reused. Experiments: {', '.join(names) or 'none yet'}.",
        epilog="examples:\n  xorlab experiment activation\n  xorlab experiment lr --seeds 200 --out lr-study",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", metavar="NAME", help="the experiment (see above)")
    add_scale_options(p, "xorlab-out")
    p.set_defaults(func=run, prog="xorlab experiment")


def run(args: argparse.Namespace) -> int:
    names = experiments.names()
    if args.name not in names:
        choices = f"choose from {', '.join(names)}" if names else "no experiments are installed"
        raise UsageError(f"{args.prog}: error: unknown experiment {args.name!r} ({choices})")
    from ..study import run_experiment

    section = run_in_store(args, functools.partial(run_experiment, args.name))
    if section is None:
        return 130
    if section.error is not None:
        print(f"{args.prog}: {args.name} failed: {section.error}", file=sys.stderr)
        return 1
    console = Console()
    print_section(console, section)
    console.print(f"Findings written to {Path(args.out) / args.name}/", highlight=False, soft_wrap=True)
    return 0
