"""The report: opened in headless Chromium (Debian's), every section and figure present;
the Markdown twin links figures that exist; both say how to reproduce."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import FAKES, Tiny, install
from xorlab import __version__, machine
from xorlab.experiments.base import Findings, Scale
from xorlab.report import write_report
from xorlab.report.text import FOLD_ROWS, GLANCE_TITLE
from xorlab.study import run_study

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ORDER = ("tiny", "broken", "centre", "wide")


class Wide(Tiny):
    """A table of many long columns and a long unbroken command: what a page must hold."""

    name = "wide"
    title = "Experiment Bonus (extend the neural network)"
    question = "At what points did you need to change the size of the hidden layer?"

    def run(self, lab, scale):
        row = {f"a_rather_long_column_name_{i}": 1234567.891 * i for i in range(24)}
        row.update({"success_rate": 0.71, "ci_low": 0.61, "ci_high": 0.79})
        long = [{"seed": i, "final_accuracy": i / 20} for i in range(FOLD_ROWS + 5)]
        return Findings(answer="`xorlab train --seed 0 " + "--a-very-long-option-value" * 8 + "`. A second sentence.",
                        tables={"wide": [row, row], "long": long})


SECTIONS = {**FAKES, "wide": Wide()}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(FAKES, "wide", SECTIONS["wide"])
        install(mp, *ORDER)
        s = run_study(out, Scale(seeds=2, epochs=1), engine="classic",
                      command="xorlab study --seeds 2 --epochs 1")
    write_report(s)
    return s


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is missing: run scripts/setup.sh --test"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(study, browser):
    """The HTML report loaded in Chromium with every network request refused (and recorded)."""
    page = browser.new_page()
    page.requests_outside = []

    def refuse(route):
        page.requests_outside.append(route.request.url)
        route.abort()

    page.route(re.compile(r"^(?!file:|data:).*"), refuse)
    page.goto((study.out_dir / "report.html").as_uri())
    page.wait_for_load_state("load")
    yield page
    page.close()


# Each section's right edge, and the right edge of every table's box in it (px).
OVERFLOW_JS = """() => [...document.querySelectorAll('section')].map(s => ({
    id: s.id, right: s.getBoundingClientRect().right,
    boxes: [...s.querySelectorAll('table')].map(t => (t.closest('.scroll') || t).getBoundingClientRect().right),
    tables: [...s.querySelectorAll('table')].map(t => t.getBoundingClientRect().right)}))"""


@pytest.mark.parametrize("width", [1280, 800])
def test_no_table_is_wider_than_its_section(study, browser, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto((study.out_dir / "report.html").as_uri())
        page.wait_for_load_state("load")
        sections = page.evaluate(OVERFLOW_JS)
        page_width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    finally:
        page.close()
    assert page_width[0] <= page_width[1], f"the page scrolls sideways at {width} px"
    for s in sections:
        assert all(right <= s["right"] + 0.5 for right in s["boxes"]), (width, s["id"])
    wide = next(s for s in sections if s["id"] == "wide")
    assert max(wide["tables"]) > wide["right"]  # the wide table really is wider: its box scrolls


def test_tables_have_human_headers_and_one_rate_column(page):
    headers = page.locator("#tiny table thead th").all_inner_texts()
    assert "success rate (95% CI)" in headers
    assert not any("_" in h for h in headers) and "ci_low" not in headers
    cells = page.locator("#wide table tbody tr").first.locator("td").all_inner_texts()
    assert "71% [61, 79]" in cells


def test_how_to_reproduce_is_stated_once_with_the_machine(page):
    assert page.locator("h2", has_text="How to reproduce").count() == 1
    text = page.locator("#reproduce").inner_text()
    import torch

    assert torch.backends.cpu.get_cpu_capability() in text and torch.__version__ in text


def test_every_section_title_is_there_in_order(page):
    titles = page.locator("section > h2").all_inner_texts()
    assert titles == [SECTIONS[n].title for n in ORDER] + ["How to reproduce"]


def test_every_figure_is_embedded_and_loads(page, study):
    expected = sum(len(s.figures) for s in study.sections)
    assert expected == 3
    images = page.eval_on_selector_all(
        "img", "els => els.map(e => ({src: e.src.slice(0, 22), ok: e.complete && e.naturalWidth > 0}))")
    assert len(images) == expected
    assert all(i["ok"] and i["src"] == "data:image/png;base64," for i in images)
    assert page.requests_outside == []


def test_each_question_is_quoted_and_answered(page):
    quotes = page.locator("section blockquote").all_inner_texts()
    assert quotes == [SECTIONS[n].question for n in ORDER]
    answers = page.locator("p.answer").all_inner_texts()
    assert len(answers) == 3 and answers[0].startswith("Best final loss")


def test_tables_show_the_evidence(page, study):
    tiny = study.sections[0].findings.tables["success"]
    first_row = page.locator("#tiny table tbody tr").first.locator("td").all_inner_texts()
    assert first_row[0] == tiny[0]["activation"] and first_row[1] == str(tiny[0]["runs"])


def test_a_failed_experiment_shows_its_error_in_its_section(page):
    text = page.locator("#broken .error").inner_text()
    assert "RuntimeError: analysis exploded" in text


def test_reproduction_is_stated_exactly(page, study):
    text = page.locator("#reproduce").inner_text()
    for fact in ("xorlab study --seeds 2 --epochs 1", __version__, "seeds 0–1", "classic (version 1)",
                 study.started, "xorlab train --seed S", "runs.sqlite", "digit for digit on the same machine",
                 f"torch {machine.torch_version()}, CPU capability {machine.cpu_capability()}"):
        assert fact in text, fact
    assert "xorlab train --seed 0 --epochs 1" in page.locator("#tiny").inner_text()


def test_markdown_has_the_same_sections_and_figures_that_exist(study):
    md = (study.out_dir / "report.md").read_text()
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings == [GLANCE_TITLE] + [SECTIONS[n].title for n in ORDER] + ["How to reproduce"]
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) == 3 and all((study.out_dir / link).is_file() for link in links)
    for n in ORDER:
        assert f"> {SECTIONS[n].question}" in md
    assert "RuntimeError: analysis exploded" in md and "| activation |" in md


@pytest.mark.parametrize("value, text", [
    (0.123456, "0.1235"), (float("nan"), "nan"), (float("-inf"), "-inf"), (None, "–"),
    (True, "yes"), (7, "7"), ("tanh", "tanh"),
])
def test_table_cells_read_the_same_in_html_and_markdown(value, text):
    import numpy as np

    from xorlab.report.text import cell

    assert cell(value) == text
    if isinstance(value, float):
        assert cell(np.float64(value)) == text


def test_seed_ranges_are_compact_and_exact():
    from xorlab.report.text import seed_ranges

    assert seed_ranges([0, 1, 2, 42]) == "0–2, 42"
    assert seed_ranges([5]) == "5"
    assert seed_ranges([0, 2, 3, 9, 10]) == "0, 2–3, 9–10"


def test_the_report_opens_with_the_answers_at_a_glance(page, study):
    assert page.locator("h2").first.inner_text() == GLANCE_TITLE
    rows = page.locator("#glance tbody tr")
    assert rows.count() == len(ORDER)
    links = page.locator("#glance tbody a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert links == [f"#{n}" for n in ORDER]
    cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(len(ORDER))]
    assert [c[1] for c in cells] == [SECTIONS[n].question for n in ORDER]
    assert cells[0][2] == study.sections[0].findings.answer
    assert cells[1][2] == "This experiment failed: RuntimeError: analysis exploded"
    assert cells[3][2].endswith("value`.".replace("`", "")) and "second sentence" not in cells[3][2]


def test_the_key_figure_follows_the_answer_and_long_tables_are_folded(page, study):
    order = page.locator("#tiny").evaluate("s => [...s.children].map(e => e.tagName + (e.className ? '.' + e.className : ''))")
    assert order.index("FIGURE") == order.index("P.answer") + 1 < order.index("H3", order.index("FIGURE"))
    folded = page.locator("#wide details.table")
    assert folded.count() == 1 and f"{FOLD_ROWS + 5} rows" in folded.locator("summary").inner_text()
    assert not folded.evaluate("d => d.open")
    assert page.locator("#wide > .scroll table").count() == 1  # the short table stays open
    md = (study.out_dir / "report.md").read_text()
    assert md.count("| 19 | ") == 1  # Markdown keeps the long table whole


@pytest.mark.parametrize("answer, first", [
    ("Tanh learns best: 71% of runs. Sigmoid is worst.", "Tanh learns best: 71% of runs."),
    ("At lr 0.01 it learns, e.g. seed 42. Above 1 it diverges.", "At lr 0.01 it learns, e.g. seed 42."),
    ("One sentence only", "One sentence only"),
    ("N = 3 needs H = 3. `xorlab train` replays it.", "N = 3 needs H = 3."),
])
def test_a_headline_is_the_first_sentence(answer, first):
    from xorlab.report.text import headline

    assert headline(answer) == first
