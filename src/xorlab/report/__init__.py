"""The study report: one self-contained HTML file and a Markdown twin.

Both are organised by the tutorial's own sections, in the tutorial's order: each
section quotes the tutorial's question, then gives the answer and its evidence
(tables, figures), then how many runs and which seeds stand behind it.
"""

from __future__ import annotations

from pathlib import Path

from ..files import write_text_atomic
from ..study import Study
from .html import render_html
from .markdown import render_markdown

HTML_FILE = "report.html"
MARKDOWN_FILE = "report.md"


def write_report(study: Study) -> tuple[Path, Path]:
    """Write report.html and report.md into the study folder; return their paths."""
    html_path = study.out_dir / HTML_FILE
    md_path = study.out_dir / MARKDOWN_FILE
    write_text_atomic(html_path, render_html(study))  # never a half-written report
    write_text_atomic(md_path, render_markdown(study))
    return html_path, md_path


__all__ = ["HTML_FILE", "MARKDOWN_FILE", "render_html", "render_markdown", "write_report"]
