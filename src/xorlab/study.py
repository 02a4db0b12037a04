"""Run experiments through the results store and collect what the report needs.

`run_study` runs every experiment in the tutorial's order on one store; an experiment
that raises is recorded with its error and the others still run. A Ctrl-C propagates
after the store has committed every finished chunk, so the same command resumes.

A finished section leaves a manifest beside its files (manifest.py), and a later study
whose producer is the same, with every file intact, reuses the section instead of
re-analysing and re-drawing it, so a resumed study goes straight to the experiment that
was interrupted.
"""

from __future__ import annotations

import platform
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import torch

from . import __version__, experiments, machine, manifest
from .config import RunConfig
from .engines import ENGINE_VERSIONS, resolve
from .executor import Executor
from .experiments.base import Experiment, Findings, Lab, Scale, write_findings
from .progress import RunProgress
from .replay import train_command
from .result import RunResult
from .store import FILENAME, Store, StoreError

class StoreLab(Lab):
    """A Lab whose runs come from the store; remembers every config it was asked for."""

    def __init__(self, store: Store, engine: str = "auto", progress: RunProgress | None = None,
                 label: str = "runs", chunk_runs: int | None = None):
        super().__init__(runner=self._run, engine=engine)
        self.store, self.engine, self.progress = store, engine, progress
        self.label, self.chunk_runs = label, chunk_runs
        self.configs: list[RunConfig] = []

    def _run(self, configs: Sequence[RunConfig]) -> list[RunResult]:
        self.configs.extend(configs)
        on_progress = self.progress.task(self.label, len(configs)) if self.progress else None
        return self.store.run(configs, self.engine, on_progress=on_progress, chunk_runs=self.chunk_runs)


@dataclass
class Section:
    """One experiment's part of the report: its findings, or the error it raised."""

    name: str
    title: str
    question: str
    findings: Findings | None = None
    error: str | None = None
    figures: list[str] = field(default_factory=list)  # PNG paths relative to the study folder
    runs: int = 0
    seeds: list[int] = field(default_factory=list)  # the distinct seeds run, ascending
    replay: str | None = None  # `xorlab train` for one of its runs
    seconds: float = 0.0  # to run it, when it last ran
    reused: bool = False  # outputs of an earlier study, found current (see `reusable`)


@dataclass
class Study:
    """Everything a report states: the sections and how to reproduce them."""

    out_dir: Path
    command: str
    scale: Scale
    engine: str  # resolved engine name
    engine_version: str
    started: str  # UTC, ISO 8601
    version: str = __version__
    # host, torch version and CPU capability (float32 digits depend on it)
    provenance: dict[str, str] = field(default_factory=machine.provenance)
    torch_git: str = torch.version.git_version[:12]
    python_version: str = platform.python_version()
    store_file: str = FILENAME
    sections: list[Section] = field(default_factory=list)

    @property
    def failed(self) -> list[Section]:
        return [s for s in self.sections if s.error is not None]


def new_study(out_dir: Path, scale: Scale, engine: str, command: str) -> Study:
    name = resolve(engine)
    return Study(out_dir=Path(out_dir), command=command, scale=scale, engine=name,
                 engine_version=ENGINE_VERSIONS[name],
                 started=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))


# What a manifest records of a section besides its findings (see manifest.py).
RECORDED = ("title", "question", "figures", "runs", "seeds", "replay", "seconds")


def reused_section(name: str, made_by: dict, out_dir: Path) -> Section | None:
    """The section an earlier study left complete and current (manifest.reusable), or None."""
    found = manifest.reusable(name, made_by, out_dir)
    if found is None:
        return None
    recorded, findings = found
    return Section(name, findings=findings, reused=True, **{k: recorded[k] for k in RECORDED})


def run_section(exp: Experiment, store: Store, scale: Scale, out_dir: Path, engine: str = "auto",
                progress: RunProgress | None = None, chunk_runs: int | None = None) -> Section:
    """Run one experiment on the store and write its findings under out_dir/NAME, unless
    an earlier study left them complete and current (see manifest.py).
    An exception becomes the section's error; Ctrl-C is not caught."""
    out_dir = Path(out_dir)
    made_by = manifest.producer(exp, scale, resolve(engine))
    found = reused_section(exp.name, made_by, out_dir)
    if found is not None:
        return found
    manifest.forget(exp.name, out_dir)
    lab = StoreLab(store, engine, progress, label=exp.name, chunk_runs=chunk_runs)
    section = Section(exp.name, exp.title, exp.question)
    start = time.monotonic()
    written: list[Path] = []
    try:
        section.findings = exp.run(lab, scale)
        written = write_findings(exp, section.findings, out_dir)
        section.figures = [str(p.relative_to(out_dir)) for p in written if p.suffix == ".png"]
    except StoreError:
        raise  # a damaged or read-only store fails every experiment alike: stop, say so once
    except Exception as err:  # one failing experiment must not lose the others
        section.error = "".join(traceback.format_exception_only(type(err), err)).strip()
        section.error += "\n\n" + traceback.format_exc()
    finally:
        if section.findings is not None:
            for fig in section.findings.figures.values():
                fig.clear()  # written already: release the artists, a study holds many sections
    section.seconds = time.monotonic() - start
    section.runs = len({c.key() for c in lab.configs})
    if lab.configs:
        section.seeds = sorted({c.seed for c in lab.configs})
        section.replay = train_command(lab.configs[0])
    if section.error is None:
        manifest.write_manifest(exp.name, {k: getattr(section, k) for k in RECORDED}, section.findings,
                                written, made_by, manifest.runs_digest(lab.configs, made_by["engine"]), out_dir)
    return section


def run_experiment(name: str, out_dir: Path, scale: Scale, engine: str = "auto",
                   progress: RunProgress | None = None, executor: Executor | None = None) -> Section:
    """One experiment on the store in out_dir (`executor` trains; default: here)."""
    out_dir = Path(out_dir)
    with Store(out_dir / FILENAME, executor=executor) as store:
        return run_section(experiments.get(name), store, scale, out_dir, engine, progress)


def run_study(out_dir: Path, scale: Scale, engine: str = "auto", command: str = "xorlab study",
              names: Sequence[str] | None = None, progress: RunProgress | None = None,
              chunk_runs: int | None = None, on_section: Callable[[Section], None] | None = None,
              executor: Executor | None = None) -> Study:
    """Every experiment (default: `experiments.names()`, in order) on one store in out_dir;
    `on_section` is called with each finished section; `executor` trains (default: here)."""
    out_dir = Path(out_dir)
    study = new_study(out_dir, scale, engine, command)
    with Store(out_dir / FILENAME, executor=executor) as store:
        for name in names if names is not None else experiments.names():
            try:
                exp = experiments.get(name)
            except Exception as err:  # a broken module is reported like a failing run
                study.sections.append(Section(name, name, "", error=f"cannot load: {err!r}"))
                if on_section is not None:
                    on_section(study.sections[-1])
                continue
            study.sections.append(run_section(exp, store, scale, out_dir, engine, progress, chunk_runs))
            if on_section is not None:
                on_section(study.sections[-1])
    return study
