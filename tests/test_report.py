"""The report: opened in headless Chromium (Debian's), every section and figure present;
the Markdown twin links figures that exist; both say how to reproduce."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from test_study import FAKES, install
from xorlab import __version__, machine
from xorlab.experiments.base import Scale
from xorlab.report import write_report
from xorlab.study import run_study

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ORDER = ("tiny", "broken", "centre")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    with pytest.MonkeyPatch.context() as mp:
        install(mp, *ORDER)
        s = run_study(out, Scale(seeds=2, epochs=1), engine="classic",
                      command="xorlab study --seeds 2 --epochs 1")
    write_report(s)
    return s


@pytest.fixture(scope="module")
def page(study):
    """The HTML report loaded in Chromium with every network request refused (and recorded)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is missing: run scripts/setup.sh --test"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.requests_outside = []

        def refuse(route):
            page.requests_outside.append(route.request.url)
            route.abort()

        page.route(re.compile(r"^(?!file:|data:).*"), refuse)
        page.goto((study.out_dir / "report.html").as_uri())
        page.wait_for_load_state("load")
        yield page
        browser.close()


def test_every_section_title_is_there_in_order(page):
    titles = page.locator("section > h2").all_inner_texts()
    assert titles == [FAKES[n].title for n in ORDER] + ["How to reproduce"]


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
    assert quotes == [FAKES[n].question for n in ORDER]
    answers = page.locator("p.answer").all_inner_texts()
    assert len(answers) == 2 and answers[0].startswith("Best final loss")


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
    assert headings == [FAKES[n].title for n in ORDER] + ["How to reproduce"]
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) == 3 and all((study.out_dir / link).is_file() for link in links)
    for n in ORDER:
        assert f"> {FAKES[n].question}" in md
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
