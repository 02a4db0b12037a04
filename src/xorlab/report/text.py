"""Wording and number formatting shared by the HTML and Markdown reports (and the CLI)."""

from __future__ import annotations

import math
import re

from .. import formatting
from ..formatting import plural
from ..study import Section, Study

# A table longer than this is folded in the HTML report (its row count on the fold); the
# Markdown report and the CSV files keep every table whole.
FOLD_ROWS = 15
GLANCE_TITLE = "The answers at a glance"

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


# Column headers a reader understands; any other key reads with spaces for underscores.
# The CSV and JSON files keep the keys.
LABELS = {
    "activation": "activation", "init": "weight init", "center": "centred inputs", "lr": "learning rate",
    "inputs": "inputs N", "hidden": "hidden units H", "epochs": "epochs", "seed": "seed",
    "runs": "runs", "successes": "runs at 100%", "diverged": "diverged runs",
    "mean_accuracy": "mean test accuracy", "median_accuracy": "median test accuracy",
    "max_accuracy": "best test accuracy", "final_accuracy": "final test accuracy",
    "final_test_loss": "final test loss", "min_hidden": "smallest H", "ci_low": "95% CI low",
    "ci_high": "95% CI high",
}
CI_KEYS = ("ci_low", "ci_high")


def header(key: str) -> str:
    return LABELS.get(key, key.replace("_", " "))


def _finite(value) -> bool:
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy scalars
        value = value.item()
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def percent(value, digits: int = 0) -> str:
    """A fraction as a percent; anything else as `cell` writes it."""
    return formatting.percent(float(value), digits) if _finite(value) else cell(value)


def rate_with_ci(p, low, high) -> str:
    """'71% [61, 79]': a rate and its 95% interval, in percent."""
    if not all(_finite(v) for v in (p, low, high)):
        return percent(p)
    return formatting.rate_text(float(p), float(low), float(high))


def is_rate(key: str) -> bool:
    return key.endswith("rate") or key.startswith("share_")


def display_columns(rows: list[dict]) -> list[tuple[str, object]]:
    """The table as a reader sees it: (header, row -> text) per column. A rate followed by
    its Wilson interval (`X_rate, ci_low, ci_high`) becomes one column 'X rate (95% CI)'
    reading '71% [61, 79]'; rates, shares and accuracies read as percents."""
    keys = columns(rows)
    with_ci = {i for i, key in enumerate(keys) if is_rate(key) and tuple(keys[i + 1:i + 3]) == CI_KEYS}
    out = []
    for i, key in enumerate(keys):
        if i - 1 in with_ci or i - 2 in with_ci:
            continue  # the interval, shown with its rate
        if i in with_ci:
            out.append((f"{header(key)} (95% CI)",
                        lambda r, k=key: rate_with_ci(r.get(k), r.get("ci_low"), r.get("ci_high"))))
        elif is_rate(key):
            out.append((header(key), lambda r, k=key: percent(r.get(k))))
        elif key.endswith("accuracy"):
            out.append((header(key), lambda r, k=key: percent(r.get(k), 1)))
        else:
            out.append((header(key), lambda r, k=key: cell(r.get(k))))
    return out


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
    scale, where = study.scale, study.provenance
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
        ("Host", where["host"]),
        ("PyTorch / Python", f"PyTorch {where['torch']} (build {study.torch_git}) / Python {study.python_version}"),
        ("CPU capability", f"{where['cpu_capability']} (`torch.backends.cpu.get_cpu_capability()`)"),
        ("Exactness", f"digit for digit on the same machine (torch {where['torch']}, CPU capability "
         f"{where['cpu_capability']}); on another CPU the last digits may differ, as PyTorch's float "
         "rounding depends on the vector unit (`ATEN_CPU_CAPABILITY` selects the kernels)"),
        ("Stored runs", f"`{study.store_file}` (SQLite, in this folder): every run's config, "
         "seed, engine, status, curves and final weights; re-running the command reuses them"),
    ]


# A sentence ends at '.', '!' or '?' followed by a space and a capital, a digit or a code
# span: '0.01' or 'e.g. the' do not end one.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`(])")


def headline(answer: str) -> str:
    """The first sentence of an answer: its one-line form in the answers at a glance."""
    return _SENTENCE_END.split(answer.strip(), maxsplit=1)[0]


def glance_rows(study: Study) -> list[tuple[Section, str]]:
    """(section, one-line answer) for every section, in report order; a failed one says so."""
    rows = []
    for s in study.sections:
        if s.error is not None:
            rows.append((s, "This experiment failed: " + s.error.partition("\n")[0]))
        else:
            rows.append((s, headline(s.findings.answer)))
    return rows


def key_figure(section: Section) -> tuple[list[str], list[str]]:
    """(the key figure, the other figures): an experiment lists its key figure first."""
    return section.figures[:1], section.figures[1:]
