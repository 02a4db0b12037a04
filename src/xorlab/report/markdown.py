"""The Markdown report: the same content as the HTML, figures as relative file links."""

from __future__ import annotations

from ..study import Section, Study
from .html import TITLE
from .text import (GLANCE_TITLE, REPLAY_NOTE, display_columns, evidence_line, files_line, glance_rows, header,
                   key_figure, reproduce_items)


def md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def table_md(name: str, rows: list[dict]) -> str:
    if not rows:
        return f"*{name}: no rows.*"
    cols = display_columns(rows)
    lines = [f"**{header(name)}**", "", "| " + " | ".join(md_cell(title) for title, _ in cols) + " |",
             "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(md_cell(text(r)) for _, text in cols) + " |" for r in rows]
    return "\n".join(lines)


def quote(text: str) -> str:
    return "\n".join("> " + line for line in text.splitlines())


def figure_md(path: str) -> str:
    name = path.rsplit("/", 1)[-1].removesuffix(".png")
    return f"![{name}]({path})"


def glance_md(study: Study) -> str:
    """The answers at a glance: each section's question and one-line answer, linked."""
    lines = [f"## {GLANCE_TITLE}", "", "| Section | The tutorial asks | Answer |", "|---|---|---|"]
    lines += [f"| [{md_cell(s.title)}](#{anchor(s.title)}) | {md_cell(one_line(s.question))} | "
              f"{md_cell(one_line(answer))} |" for s, answer in glance_rows(study)]
    return "\n".join(lines)


def one_line(text: str) -> str:
    return " ".join(text.split())


def anchor(title: str) -> str:
    """The fragment GitHub-style renderers give a heading: lower case, spaces to '-',
    punctuation dropped."""
    return "-".join("".join(ch for ch in title.lower() if ch.isalnum() or ch in " -_").split(" "))


def section_md(s: Section) -> str:
    parts = [f"## {s.title}"]
    if s.question:
        parts.append(quote(s.question))
    if s.error is not None:
        first, _, rest = s.error.partition("\n")
        parts.append(f"**This experiment failed:** `{first}`")
        parts.append("```\n" + rest.strip() + "\n```")
    else:
        key, others = key_figure(s)
        parts += ["### Answer", s.findings.answer, *map(figure_md, key), "### Evidence"]
        parts += [table_md(name, rows) for name, rows in s.findings.tables.items()]
        parts += map(figure_md, others)
        parts.append(f"*{files_line(s)}*")
    parts.append(f"*{evidence_line(s)}*")
    return "\n\n".join(parts)


def render_markdown(study: Study) -> str:
    parts = [f"# {TITLE}", f"xorlab {study.version}, {study.started}, `{study.command}`"]
    if study.failed:
        parts.append("**Experiments that failed** (see their sections): "
                     + ", ".join(s.name for s in study.failed) + ".")
    parts.append(glance_md(study))
    parts += [section_md(s) for s in study.sections]
    parts.append("## How to reproduce")
    parts.append("\n".join(f"- **{k}**: {v}" for k, v in reproduce_items(study)))
    parts.append(REPLAY_NOTE)
    return "\n\n".join(parts) + "\n"
