"""Run experiments through the results store and collect what the report needs.

`run_study` runs every experiment in the tutorial's order on one store; an experiment
that raises is recorded with its error and the others still run. A Ctrl-C propagates
after the store has committed every finished chunk, so the same command resumes.

A finished section leaves `OUT/NAME/manifest.json` beside its files: what produced
them (xorlab's version and a digest of its source, the scale, the engine and its
version, PyTorch and the CPU capability, a digest of the runs' store keys), a digest of
every file written, and the findings the report needs. A later study whose producer is
the same, with every file intact, reuses the section instead of re-analysing and
re-drawing it (figures cost seconds each), so a resumed study goes straight to the
experiment that was interrupted.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import time
import traceback
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import torch

from . import __version__, experiments, machine
from .config import RunConfig
from .engines import ENGINE_VERSIONS, resolve
from .executor import Executor
from .experiments.base import Experiment, Findings, Lab, Scale, write_findings
from .progress import RunProgress
from .replay import train_command
from .result import RunResult
from .store import FILENAME, Store, StoreError, run_key

MANIFEST = "manifest.json"


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


@functools.cache
def source_digest() -> str:
    """sha256 of every xorlab source file: a changed analysis or figure is another producer,
    even where the version string was not bumped."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def producer(exp: Experiment, scale: Scale, engine: str) -> dict:
    """What a section's outputs depend on besides its runs (engine: the resolved name).
    The runs follow from these; their keys are recorded beside them too."""
    return {"experiment": exp.name, "xorlab": __version__, "source": source_digest(),
            "scale": asdict(scale), "engine": engine, "engine_version": ENGINE_VERSIONS[engine],
            **{k: v for k, v in machine.provenance().items() if k != "host"}}  # any host, same numbers


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def runs_digest(configs: Sequence[RunConfig], engine: str) -> str:
    keys = sorted({run_key(c, engine) for c in configs})
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()


def write_manifest(section: Section, written: Sequence[Path], made_by: dict, runs: str, out_dir: Path) -> None:
    """The section's manifest, written last and atomically: a section interrupted while
    writing its files has none, so it is run again."""
    f = section.findings
    record = {
        "producer": made_by, "runs_digest": runs,
        "files": {str(p.relative_to(out_dir)): file_digest(p) for p in written},
        "section": {"title": section.title, "question": section.question, "figures": section.figures,
                    "runs": section.runs, "seeds": section.seeds, "replay": section.replay,
                    "seconds": section.seconds},
        # NaN stays NaN here (Python's JSON dialect): the report reads these, not the CSVs.
        "findings": {"answer": f.answer, "tables": f.tables, "numbers": f.numbers},
    }
    folder = out_dir / section.name
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(record, default=_plain))
    os.replace(tmp, folder / MANIFEST)


def _plain(value):
    """numpy scalars and arrays as Python values, for the manifest."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} cannot be recorded in a manifest")


def reusable(exp: Experiment, made_by: dict, out_dir: Path) -> Section | None:
    """The section recorded by an earlier study, if the same producer made it and every
    file it wrote is unchanged; otherwise None."""
    path = out_dir / exp.name / MANIFEST
    try:
        record = json.loads(path.read_text())
        if record["producer"] != made_by:
            return None
        if any(not (out_dir / rel).is_file() or file_digest(out_dir / rel) != digest
               for rel, digest in record["files"].items()):
            return None
        s, f = record["section"], record["findings"]
        return Section(exp.name, s["title"], s["question"],
                       findings=Findings(answer=f["answer"], tables=f["tables"], numbers=f["numbers"]),
                       figures=s["figures"], runs=s["runs"], seeds=s["seeds"], replay=s["replay"],
                       seconds=s["seconds"], reused=True)
    except (OSError, ValueError, KeyError, TypeError):  # absent or unreadable: run the section
        return None


def run_section(exp: Experiment, store: Store, scale: Scale, out_dir: Path, engine: str = "auto",
                progress: RunProgress | None = None, chunk_runs: int | None = None) -> Section:
    """Run one experiment on the store and write its findings under out_dir/NAME, unless
    an earlier study left them complete and current (see `reusable`).
    An exception becomes the section's error; Ctrl-C is not caught."""
    out_dir = Path(out_dir)
    made_by = producer(exp, scale, resolve(engine))
    found = reusable(exp, made_by, out_dir)
    if found is not None:
        return found
    (out_dir / exp.name / MANIFEST).unlink(missing_ok=True)
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
        try:
            write_manifest(section, written, made_by, runs_digest(lab.configs, made_by["engine"]), out_dir)
        except (TypeError, ValueError):  # findings JSON cannot hold: the section is simply run again
            (out_dir / exp.name / (MANIFEST + ".tmp")).unlink(missing_ok=True)
    return section


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
