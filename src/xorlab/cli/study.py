"""`xorlab study`: every experiment, then the report (HTML and Markdown)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..files import printable
from .experiment import add_scale_options, run_in_store, scale_from_args


def add_parser(sub) -> None:
    p = sub.add_parser(
        "study",
        help="run every experiment and write the report",
        description="Run all of the tutorial's experiments over many seeds, then write a "
        "self-contained HTML report (OUT/report.html) and a Markdown version (OUT/report.md), "
        "organised by the tutorial's sections. Runs are kept in OUT/runs.sqlite: a second "
        "study reuses them, and an interrupted one resumes where it stopped.",
        epilog="examples:\n  xorlab study\n  xorlab study --quick --out quick-study\n"
        "  xorlab study --seeds 500",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_scale_options(p, "xorlab-study")
    p.set_defaults(func=run, prog="xorlab study")


def command_line(args: argparse.Namespace) -> str:
    """The full command, every option explicit, as the report states it. --scheduler and
    --task-runs are left out on purpose: on the same kind of CPU, where the runs train
    does not change their numbers (tested with loopback workers; every stored run
    records where it ran), and a cluster's address means nothing to a reader."""
    scale = scale_from_args(args)
    parts = ["xorlab", "study", "--out", printable(args.out), "--seeds", str(scale.seeds), "--engine", args.engine]
    if args.quick:
        parts.append("--quick")
    if scale.epochs is not None:
        parts += ["--epochs", str(scale.epochs)]
    return shlex.join(parts)


def section_line(s) -> str:
    from ..formatting import plural

    if s.error is not None:
        return f"[red]✗[/red] {escape(s.title)}: failed: {escape(s.error.splitlines()[0])}"
    took = "reused: its files are current" if s.reused else f"{s.seconds:.1f} s"
    return f"[green]✓[/green] {escape(s.title)} ({plural(s.runs, 'run')}, {took})"


def run(args: argparse.Namespace) -> int:
    from ..progress import RunProgress
    from ..report import write_report
    from ..study import run_study

    console, progress = Console(), RunProgress()

    def on_section(s) -> None:
        progress.stop()  # the bar restarts below the line for the next experiment
        console.print(section_line(s), highlight=False, soft_wrap=True)

    study = run_in_store(args, run_study, progress, command=command_line(args), on_section=on_section)
    if study is None:
        return 130
    try:
        html_path, md_path = write_report(study)
    except OSError as err:  # a full disk: no half-written report is left, and the runs are stored
        print(f"{args.prog}: error: cannot write {err.filename}: {err.strerror or err}; the runs are kept "
              f"in {Path(args.out) / 'runs.sqlite'}: make room and run the same command again", file=sys.stderr)
        return 1
    console.print(f"Report: {html_path} (Markdown: {md_path})", highlight=False, soft_wrap=True)
    if study.failed:
        names = ", ".join(s.name for s in study.failed)
        print(f"{args.prog}: {len(study.failed)} experiment(s) failed: {names} "
              "(their errors are in the report)", file=sys.stderr)
        return 1
    return 0
