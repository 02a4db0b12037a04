"""A progress bar on stderr for long batches of runs: runs done / total, rate, ETA.

The bar appears only once a batch has taken longer than `DELAY_S`, so quick lookups
(everything already stored) and tiny grids stay silent.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

DELAY_S = 2.0


class RunProgress:
    """One bar per `task(label, total)`; call the returned function with runs finished."""

    def __init__(self, console: Console | None = None, delay_s: float = DELAY_S):
        self.console = console or Console(stderr=True)
        self.delay_s = delay_s
        self._progress: Progress | None = None

    def _bar(self) -> Progress:
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} runs/s"), TimeElapsedColumn(),
                TextColumn("ETA"), TimeRemainingColumn(), console=self.console)
            self._progress.start()
        return self._progress

    def task(self, label: str, total: int):
        start = time.monotonic()
        done = 0
        task_id = None

        def advance(n: int) -> None:
            nonlocal done, task_id
            done += n
            elapsed = time.monotonic() - start
            if task_id is None and elapsed < self.delay_s:
                return
            rate = f"{done / elapsed:.1f}" if elapsed > 0 else "-"
            if task_id is None:
                task_id = self._bar().add_task(label, total=total, rate=rate)
            self._bar().update(task_id, completed=done, rate=rate)

        return advance

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
