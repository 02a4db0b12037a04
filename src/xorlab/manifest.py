"""The manifest cache: a finished section's record of what made its files.

A finished section leaves `OUT/NAME/manifest.json` beside its files: what produced
them (xorlab's version and a digest of its source, the scale, the engine and its
version, PyTorch and the CPU capability), a digest of the runs' store keys, a digest of
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
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from . import __version__, machine
from .config import RunConfig
from .engines import ENGINE_VERSIONS
from .experiments.base import Experiment, Findings, Scale
from .store import run_key

MANIFEST = "manifest.json"


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


def write_manifest(name: str, section: dict, findings: Findings, written: Sequence[Path],
                   made_by: dict, runs: str, out_dir: Path) -> None:
    """Section `name`'s manifest (`section`: what the report shows of it besides its
    findings), written last and atomically: a section interrupted while writing its
    files has none, so it is run again."""
    record = {
        "producer": made_by, "runs_digest": runs,
        "files": {str(p.relative_to(out_dir)): file_digest(p) for p in written},
        "section": section,
        # NaN stays NaN here (Python's JSON dialect): the report reads these, not the CSVs.
        "findings": {"answer": findings.answer, "tables": findings.tables, "numbers": findings.numbers},
    }
    folder = out_dir / name
    tmp = folder / (MANIFEST + ".tmp")
    try:
        tmp.write_text(json.dumps(record, default=_plain))
    except (TypeError, ValueError):  # findings JSON cannot hold: the section is simply run again
        tmp.unlink(missing_ok=True)
        return
    os.replace(tmp, folder / MANIFEST)


def _plain(value):
    """numpy scalars and arrays as Python values, for the manifest."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} cannot be recorded in a manifest")


def reusable(name: str, made_by: dict, out_dir: Path) -> tuple[dict, Findings] | None:
    """What an earlier study recorded of section `name` (its section record and
    findings), if the same producer made it and every file it wrote is unchanged;
    otherwise None."""
    path = out_dir / name / MANIFEST
    try:
        record = json.loads(path.read_text())
        if record["producer"] != made_by:
            return None
        if any(not (out_dir / rel).is_file() or file_digest(out_dir / rel) != digest
               for rel, digest in record["files"].items()):
            return None
        f = record["findings"]
        return record["section"], Findings(answer=f["answer"], tables=f["tables"], numbers=f["numbers"])
    except (OSError, ValueError, KeyError, TypeError):  # absent or unreadable: run the section
        return None


def forget(name: str, out_dir: Path) -> None:
    """Section `name` is being made again: until it is finished, nothing is reusable."""
    (out_dir / name / MANIFEST).unlink(missing_ok=True)
