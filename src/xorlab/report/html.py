"""The HTML report: one file, figures embedded as data URIs, no network needed to view it."""

from __future__ import annotations

import base64
import re
from html import escape

from ..study import Section, Study
from .text import (FOLD_ROWS, GLANCE_TITLE, REPLAY_NOTE, display_columns, evidence_line, files_line, glance_rows,
                   header, key_figure, reproduce_items)

TITLE = "xorlab study: the XOR tutorial's experiments, answered with evidence"

CSS = """
body { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f;
       max-width: 60rem; margin: 2rem auto; padding: 0 1.25rem; background: #fff; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; }
h2 { font-size: 1.35rem; margin-top: 2.8rem; padding-top: .6rem; border-top: 1px solid #ddd; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; color: #444; }
blockquote { margin: .8rem 0; padding: .5rem 1rem; border-left: 4px solid #7a9cc6;
             background: #f3f6fa; font-style: italic; }
.answer { font-size: 1.05rem; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, monospace; background: #f2f2f2;
       padding: .1em .3em; border-radius: 3px; }
pre { background: #f7f7f7; padding: .8rem; overflow-x: auto; font-size: .85rem; }
/* A table never widens the page: its headers wrap, and what still does not fit scrolls
   inside its own box. */
table { border-collapse: collapse; margin: .6rem 0 1.2rem; font-size: .88rem; }
caption { text-align: left; font-weight: 600; padding-bottom: .3rem; position: sticky; left: 0; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #e3e3e3; text-align: right; }
th { background: #fafafa; border-bottom: 2px solid #ccc; font-weight: 600; vertical-align: bottom;
     max-width: 10em; overflow-wrap: normal; }  /* wraps between words, never inside one */
td { white-space: nowrap; font-variant-numeric: tabular-nums; }
td:first-child, th:first-child { text-align: left; }
.scroll { overflow-x: auto; max-width: 100%; }
section, p, dd, li { overflow-wrap: anywhere; }
dd { min-width: 0; }
figure { margin: 1rem 0; }
figure img { max-width: min(100%, 48rem); height: auto; border: 1px solid #eee; }
figcaption { font-size: .85rem; color: #555; }
.error { border-left: 4px solid #c0392b; background: #fdf0ef; padding: .5rem 1rem; }
.meta { color: #555; font-size: .9rem; }
dl { display: grid; grid-template-columns: minmax(auto, 12rem) minmax(0, 1fr); gap: .3rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; }
nav ol { padding-left: 1.4rem; }
details.table > summary { cursor: pointer; font-weight: 600; margin: .6rem 0; }
#glance td, #glance th { white-space: normal; text-align: left; vertical-align: top; }
#glance td:first-child { min-width: 9em; }
"""


def inline(text: str) -> str:
    """Escaped text with `code` spans, as in the Markdown version."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def table_html(name: str, rows: list[dict]) -> str:
    if not rows:
        return f"<p class='meta'>{escape(name)}: no rows.</p>"
    cols = display_columns(rows)
    head = "".join(f"<th scope='col'>{escape(title)}</th>" for title, _ in cols)
    body = "".join("<tr>" + "".join(f"<td>{escape(text(r))}</td>" for _, text in cols) + "</tr>"
                   for r in rows)
    table = (f"<div class='scroll'><table><caption>{escape(header(name))}</caption>"
             f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")
    if len(rows) <= FOLD_ROWS:
        return table
    return (f"<details class='table'><summary>{escape(header(name))}: {len(rows)} rows "
            f"(table)</summary>{table}</details>")


def figure_html(study: Study, relpath: str) -> str:
    data = base64.b64encode((study.out_dir / relpath).read_bytes()).decode("ascii")
    name = relpath.rsplit("/", 1)[-1].removesuffix(".png")
    return (f"<figure><img src='data:image/png;base64,{data}' alt='{escape(name)}'>"
            f"<figcaption>{escape(name)} (also <code>{escape(relpath)}</code> and SVG)</figcaption></figure>")


def section_html(study: Study, s: Section) -> str:
    parts = [f"<section id='{escape(s.name)}'><h2>{escape(s.title)}</h2>"]
    if s.question:
        parts.append(f"<blockquote>{inline(s.question)}</blockquote>")
    if s.error is not None:
        first, _, rest = s.error.partition("\n")
        parts.append(f"<div class='error'><p><strong>This experiment failed:</strong> "
                     f"{escape(first)}</p><details><summary>Traceback</summary>"
                     f"<pre>{escape(rest.strip())}</pre></details></div>")
    else:
        f = s.findings
        key, others = key_figure(s)
        parts.append(f"<h3>Answer</h3><p class='answer'>{inline(f.answer)}</p>")
        parts.extend(figure_html(study, p) for p in key)
        parts.append("<h3>Evidence</h3>")
        parts.extend(table_html(name, rows) for name, rows in f.tables.items())
        parts.extend(figure_html(study, p) for p in others)
        parts.append(f"<p class='meta'>{inline(files_line(s))}</p>")
    parts.append(f"<p class='meta'>{inline(evidence_line(s))}</p></section>")
    return "".join(parts)


def reproduce_html(study: Study) -> str:
    items = "".join(f"<dt>{escape(k)}</dt><dd>{inline(v)}</dd>" for k, v in reproduce_items(study))
    return (f"<section id='reproduce'><h2>How to reproduce</h2><dl>{items}</dl>"
            f"<p>{inline(REPLAY_NOTE)}</p></section>")


def glance_html(study: Study) -> str:
    """The answers at a glance: each section's question and one-line answer, linked."""
    rows = "".join(f"<tr><td><a href='#{escape(s.name)}'>{escape(s.title)}</a></td>"
                   f"<td>{inline(s.question)}</td><td>{inline(answer)}</td></tr>"
                   for s, answer in glance_rows(study))
    return (f"<div id='glance'><h2>{GLANCE_TITLE}</h2><div class='scroll'><table>"
            "<thead><tr><th scope='col'>Section</th><th scope='col'>The tutorial asks</th>"
            f"<th scope='col'>Answer</th></tr></thead><tbody>{rows}</tbody></table></div></div>")


def render_html(study: Study) -> str:
    toc = "".join(f"<li><a href='#{escape(s.name)}'>{escape(s.title)}</a></li>" for s in study.sections)
    failed = ""
    if study.failed:
        names = ", ".join(s.name for s in study.failed)
        failed = f"<p class='error'>Experiments that failed (see their sections): {escape(names)}.</p>"
    body = "".join(section_html(study, s) for s in study.sections)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{escape(TITLE)}</title><style>{CSS}</style></head><body>"
            f"<h1>{escape(TITLE)}</h1><p class='meta'>xorlab {escape(study.version)}, "
            f"{escape(study.started)}, <code>{escape(study.command)}</code></p>{failed}"
            f"{glance_html(study)}"
            f"<nav><ol>{toc}<li><a href='#reproduce'>How to reproduce</a></li></ol></nav>"
            f"{body}{reproduce_html(study)}</body></html>\n")
