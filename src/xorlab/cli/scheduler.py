"""`--scheduler` and `--task-runs`: the options of commands that can train on a cluster."""

from __future__ import annotations

import argparse
import logging
import os

from ..cluster import TASK_RUNS, ClusterError, DaskExecutor
from ..executor import Executor, LocalExecutor
from .options import UsageError, int_at_least

# Where a scheduler address may come from besides --scheduler.
SCHEDULER_ENV = "XORLAB_SCHEDULER"


def add_cluster_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="train on the Dask cluster of this scheduler, e.g. tcp://HOST:8786; needs "
                   f"xorlab[cluster] and the same xorlab and torch on every worker (default: "
                   f"${SCHEDULER_ENV} if set, else this machine)")
    p.add_argument("--task-runs", type=int_at_least(1), default=TASK_RUNS, metavar="N",
                   help=f"runs per cluster task, with --scheduler (default: {TASK_RUNS})")


def executor_from_args(args: argparse.Namespace) -> Executor:
    """The executor the options ask for; a cluster that cannot be used is a usage
    error (one line, exit status 2), found before anything is trained."""
    address = scheduler_address(args.scheduler)
    if address is not None:
        # Dask's client logs its reconnection attempts with tracebacks; the command
        # says what went wrong in one line instead.
        logging.getLogger("distributed").setLevel(logging.CRITICAL)
    try:
        return make_executor(address, args.task_runs)
    except ClusterError as err:
        raise UsageError(f"{args.prog}: error: {err}") from None


def scheduler_address(given: str | None) -> str | None:
    """The scheduler to use: --scheduler, else $XORLAB_SCHEDULER, else none (local).
    An empty value means local too."""
    address = given if given is not None else os.environ.get(SCHEDULER_ENV)
    if address is None or not address.strip():
        return None
    return address.strip()


def make_executor(scheduler: str | None = None, task_runs: int | None = None) -> Executor:
    """A local executor, or a Dask one connected to `scheduler` (raises
    `ClusterError` with a one-line reason when it cannot be used). Dask is imported
    only by connecting, only when a scheduler is given."""
    if scheduler is None:
        return LocalExecutor()
    return DaskExecutor(scheduler, task_runs=task_runs)
