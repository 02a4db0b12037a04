"""The one mechanism every experiment shares.

An experiment is a small module with one `Experiment` subclass: it asks the `Lab`
for runs (a grid of configs, each with its seed), analyses them, and returns
`Findings`: an answer in words quoting the numbers, tables, JSON-safe numbers and
figures. `run_experiment` writes those to an output folder the same way for all.
Adding an experiment is one module plus one line in `experiments/__init__.py`.
"""

from __future__ import annotations

import csv
import itertools
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from .. import plots
from ..config import RunConfig
from ..engines import run_many
from ..formatting import json_safe
from ..result import RunResult
from . import budget


Runner = Callable[[Sequence[RunConfig]], list[RunResult]]


@dataclass(frozen=True)
class Scale:
    """How big a study is. `seeds` per grid cell; `quick` for a small version;
    `epochs`, when set, overrides the tutorial's budget (for tiny test grids)."""

    seeds: int = budget.SEEDS
    quick: bool = False
    epochs: int | None = None

    def seed_list(self) -> list[int]:
        return list(range(self.seeds))

    def budget(self, default: int = 100) -> int:
        return self.epochs if self.epochs is not None else default


def grid(scale: Scale, **axes: Sequence) -> list[RunConfig]:
    """The tutorial's run (lr 0.01, raw inputs, default init, sigmoid) with each named field
    varied over its values, times `scale.seed_list()` seeds; epochs from `scale.budget`."""
    base = RunConfig(epochs=scale.budget(100))
    names = list(axes)
    configs = []
    for values in itertools.product(*axes.values()):
        cell = base.replace(**dict(zip(names, values)))
        configs.extend(cell.replace(seed=s) for s in scale.seed_list())
    return configs


@dataclass
class Findings:
    """What an experiment found.

    answer: two or three sentences quoting the numbers and giving the reason.
    tables: name -> rows (dicts with the same keys); printed, and saved as CSV.
    numbers: JSON-safe values (NaN/inf become null), saved as JSON.
    figures: name -> matplotlib Figure; saved as PNG and SVG.
    """

    answer: str
    tables: dict[str, list[dict]] = field(default_factory=dict)
    numbers: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)


class Lab:
    """Where experiments get their runs: an engine, optionally behind a results store."""

    def __init__(self, runner: Runner | None = None, engine: str = "auto"):
        self._runner = runner or (lambda configs: run_many(configs, engine=engine))

    def run(self, configs: Sequence[RunConfig]) -> list[RunResult]:
        """Results for the configs, in order (each config must carry its seed)."""
        return self._runner(list(configs))


class Experiment(ABC):
    name: str  # the CLI name: `xorlab experiment NAME`
    title: str  # the tutorial's own section title
    question: str  # the tutorial's question, quoted

    @abstractmethod
    def run(self, lab: Lab, scale: Scale) -> Findings: ...

    def configs(self, scale: Scale) -> list[RunConfig]:
        """The runs this experiment asks the lab for at this scale: its grid, which `run`
        trains and `cost` estimates from, so the two cannot drift apart. Where it decides
        as it goes (Experiment 5's bisection, parity's search), an upper bound."""
        raise NotImplementedError(f"experiment {self.name!r} does not list its runs (Experiment.configs)")


def write_findings(exp: Experiment, findings: Findings, out_dir: Path) -> list[Path]:
    """Write answer, numbers (JSON), tables (CSV) and figures (PNG + SVG) under out_dir/NAME."""
    folder = Path(out_dir) / exp.name
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    summary = {"name": exp.name, "title": exp.title, "question": exp.question,
               "answer": findings.answer, "numbers": findings.numbers, "tables": findings.tables}
    path = folder / "findings.json"
    path.write_text(json.dumps(json_safe(summary), indent=1))
    written.append(path)
    for name, rows in findings.tables.items():
        path = folder / f"{name}.csv"
        with path.open("w", newline="") as f:
            if rows:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        written.append(path)
    for name, fig in findings.figures.items():
        written += plots.save(fig, folder / name)
    return written


def run_experiment(exp: Experiment, lab: Lab, scale: Scale, out_dir: Path | None = None) -> Findings:
    findings = exp.run(lab, scale)
    if out_dir is not None:
        write_findings(exp, findings, out_dir)
    return findings
