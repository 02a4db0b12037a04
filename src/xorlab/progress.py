"""A progress bar on stderr for long batches of runs: runs done / total, rate, ETA.

One bar per label: an experiment asks the store for runs several times (a grid, then
refinements, then a search that grows), and every call under the same label adds its
runs to the same bar, so the bar's total is the experiment's real total once it ends
(it grows while an experiment decides what to run next). A bar appears only once its
label has taken longer than `DELAY_S`, so quick lookups (everything already stored)
and tiny grids stay silent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

DELAY_S = 2.0


@dataclass
class _Bar:
    """One label's counts: runs asked for, runs done, runs found already stored."""

    total: int = 0
    done: int = 0
    stored: int = 0
    start: float = field(default_factory=time.monotonic)
    task_id: TaskID | None = None


class RunProgress:
    """One bar per label; `task(label, total)` adds `total` runs to the label's bar and
    returns the function to call with runs finished."""

    def __init__(self, console: Console | None = None, delay_s: float = DELAY_S):
        self.console = console or Console(stderr=True)
        self.delay_s = delay_s
        self._progress: Progress | None = None
        self._bars: dict[str, _Bar] = {}

    def _live(self) -> Progress:
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                TextColumn("{task.fields[eta]}"), console=self.console)
            self._progress.start()
        return self._progress

    def task(self, label: str, total: int):
        """The first call of the returned function counts runs found already stored:
        they count towards the bar but not towards the rate and ETA, which are those
        of training."""
        bar = self._bars.setdefault(label, _Bar())
        bar.total += total
        first = True

        def advance(n: int) -> None:
            nonlocal first
            bar.done += n
            if first:
                bar.stored += n
                first = False
            self._show(label, bar)

        return advance

    def _show(self, label: str, bar: _Bar) -> None:
        elapsed = time.monotonic() - bar.start
        if bar.task_id is None and elapsed < self.delay_s:
            return
        fields = speed(bar.done - bar.stored, bar.total - bar.done, elapsed)
        if bar.task_id is None:
            bar.task_id = self._live().add_task(label, total=bar.total, **fields)
        self._live().update(bar.task_id, total=bar.total, completed=shown(bar.done), **fields)

    def stop(self) -> None:
        """Close the bars; a later task starts new ones below what was printed."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self._bars = {}


def shown(done: float) -> float:
    """Runs done as the bar shows them. Engines report fractions of a piece as it trains
    (runs x epochs done / epochs), and a sum of float fractions can end a hair below the
    whole (4912.999999999995 of 4913), which the bar would print as 4912/4913."""
    return round(done, 6)


def speed(trained: int, left: int, elapsed: float) -> dict[str, str]:
    """The rate and ETA shown on the bar, from the runs trained so far."""
    if trained <= 0 or elapsed <= 0:
        return {"rate": "- runs/s", "eta": "ETA -"}
    rate = trained / elapsed
    eta = int(left / rate)
    return {"rate": f"{rate:.1f} runs/s", "eta": f"ETA {eta // 60}:{eta % 60:02d}"}
