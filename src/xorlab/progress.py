"""A progress bar on stderr for long batches of runs: runs done / total, rate, ETA.

The bar appears only once a batch has taken longer than `DELAY_S`, so quick lookups
(everything already stored) and tiny grids stay silent.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
                TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                TextColumn("{task.fields[eta]}"), console=self.console)
            self._progress.start()
        return self._progress

    def task(self, label: str, total: int):
        """The first call counts runs found already stored: they count towards the bar
        but not towards the rate and ETA, which are those of training."""
        start = time.monotonic()
        done, stored, task_id = 0, None, None

        def advance(n: int) -> None:
            nonlocal done, stored, task_id
            done += n
            if stored is None:
                stored = n
            elapsed = time.monotonic() - start
            if task_id is None and elapsed < self.delay_s:
                return
            fields = speed(done - stored, total - done, elapsed)
            if task_id is None:
                task_id = self._bar().add_task(label, total=total, **fields)
            self._bar().update(task_id, completed=done, **fields)

        return advance

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def speed(trained: int, left: int, elapsed: float) -> dict[str, str]:
    """The rate and ETA shown on the bar, from the runs trained so far."""
    if trained <= 0 or elapsed <= 0:
        return {"rate": "- runs/s", "eta": "ETA -"}
    rate = trained / elapsed
    eta = int(left / rate)
    return {"rate": f"{rate:.1f} runs/s", "eta": f"ETA {eta // 60}:{eta % 60:02d}"}
