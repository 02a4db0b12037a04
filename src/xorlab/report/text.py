"""Wording and number formatting shared by the HTML and Markdown reports (and the CLI)."""

from __future__ import annotations

import math

from ..study import Section, Study

REPLAY_NOTE = ("Any single run can be replayed, printing the tutorial's log lines, with "
               "`xorlab train --seed S` and the run's options (as in each section).")


def cell(value) -> str:
    """A table value as text: floats to 4 significant digits, non-finite as 'nan'/'inf'."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy scalars
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "–"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    return str(value)


def columns(rows: list[dict]) -> list[str]:
    """Every key of the rows, in first-seen order (rows may differ slightly)."""
    return list(dict.fromkeys(k for r in rows for k in r))


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def seed_ranges(seeds: list[int]) -> str:
    """Ascending distinct seeds as ranges: [0, 1, 2, 42] -> '0–2, 42'."""
    parts, start = [], None
    for i, s in enumerate(seeds):
        if start is None:
            start = s
        if i + 1 == len(seeds) or seeds[i + 1] != s + 1:
            parts.append(str(s) if s == start else f"{start}–{s}")
            start = None
    return ", ".join(parts)


def evidence_line(section: Section) -> str:
    if not section.runs:
        return f"Took {section.seconds:.1f} s; no training runs."
    return (f"{plural(section.runs, 'run')} (seeds {seed_ranges(section.seeds)}), {section.seconds:.1f} s. "
            f"Replay one: `{section.replay}`.")


def files_line(section: Section) -> str:
    """Where the section's numbers live, beside the report."""
    return (f"Files: `{section.name}/findings.json` (answer and numbers), one CSV per table, "
            "PNG and SVG per figure, in the same folder.")


def reproduce_items(study: Study) -> list[tuple[str, str]]:
    """(label, value) pairs stating exactly how to reproduce the study."""
    scale = study.scale
    seeds = f"{scale.seeds} per setting (seeds 0–{scale.seeds - 1})"
    if scale.quick:
        seeds += ", quick version"
    if scale.epochs is not None:
        seeds += f", every budget overridden to {scale.epochs} epochs"
    return [
        ("Command", f"`{study.command}`"),
        ("xorlab version", study.version),
        ("Seeds", seeds + "; the seeds each section used are listed with it"),
        ("Engine", f"{study.engine} (version {study.engine_version})"),
        ("Date (UTC)", study.started),
        ("PyTorch / Python", f"{study.torch_version} / {study.python_version}"),
        ("Exactness", f"digit for digit on the same machine (torch {study.torch_version}, CPU capability "
         f"{study.cpu_capability}); on another CPU the last digits may differ, as PyTorch's float "
         "rounding depends on the vector unit (`ATEN_CPU_CAPABILITY` selects the kernels)"),
        ("Stored runs", f"`{study.store_file}` (SQLite, in this folder): every run's config, "
         "seed, engine, status, curves and final weights; re-running the command reuses them"),
    ]
