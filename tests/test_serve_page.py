"""The playground page in Debian's Chromium (Playwright), against a real `xorlab serve`:
what a person sees and does. Every request to another host is refused and recorded."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from test_serve import server  # noqa: F401 (the module's server fixture)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
STATUS = "[data-testid=status]"
# A job with some successes and some failures after a few epochs (tanh, default init).
PRESET, EPOCHS, SEEDS = "exp1", 10, 20


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):  # noqa: F811
    """One Chromium for the module, with a fresh profile; requests to any host but the
    server's are aborted and listed in `context.outside`."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is missing: run scripts/setup.sh --test"
    origin = server["url"].rstrip("/")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        context.outside, context.inside = [], []

        def guard(route):
            url = route.request.url
            if url == origin or url.startswith(origin + "/"):
                context.inside.append(url)
                route.continue_()
            else:
                context.outside.append(url)
                route.abort()

        context.route(re.compile(r".*"), guard)
        yield context
        context.close()


def open_page(browser, server, query: str = ""):  # noqa: F811
    page = browser.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(server["url"] + query)
    page.wait_for_selector("body[data-ready='1']")
    return page


def wait_status(page, pattern: str, timeout: float = 120_000) -> str:
    page.wait_for_function(f"new RegExp({json.dumps(pattern)}).test(document.querySelector('{STATUS}').textContent)",
                           timeout=timeout)
    return page.inner_text(STATUS)


def sweep_successes(run_cli, tmp_path, *args: str) -> int:
    out = tmp_path / "sweep.jsonl"
    result = run_cli("sweep", *args, "--out", out, "--quiet")
    assert result.code == 0, result.err
    return sum(r["final_correct"] == r["test_total"] for r in map(json.loads, out.read_text().splitlines()))


@pytest.fixture(scope="module")
def trained(browser, server):  # noqa: F811
    """A page that trained the preset's 20 seeds for a few epochs, to `done`."""
    page = open_page(browser, server)
    page.select_option("[data-testid=preset]", PRESET)
    page.fill("[data-testid=epochs]", str(EPOCHS))
    page.fill("[data-testid=seeds]", str(SEEDS))
    page.click("[data-testid=train]")
    wait_status(page, "^done$")
    page.wait_for_function("document.querySelector('[data-testid=replay]').textContent.length > 0")
    yield page
    page.close()


def test_the_page_loads_everything_from_its_own_server(browser, server):  # noqa: F811
    page = open_page(browser, server)
    assert page.evaluate("typeof uPlot") == "function"  # the vendored chart library ran
    assert any(u.endswith("/static/uPlot.iife.min.js") for u in browser.inside)
    assert browser.outside == [] and page.errors == []
    page.close()


def test_every_control_has_a_visible_label(browser, server):  # noqa: F811
    page = open_page(browser, server)
    for testid in ("activation", "init", "center", "lr", "epochs", "inputs", "hidden", "seeds", "first-seed", "preset"):
        control = page.locator(f"[data-testid={testid}]")
        label = page.locator(f"label[for={control.get_attribute('id')}]")
        assert label.is_visible() and label.inner_text().strip(), testid
    page.close()


def test_a_preset_trains_20_seeds_with_the_success_count_of_xorlab_sweep(trained, run_cli, tmp_path):
    text = trained.inner_text("[data-testid=success-rate]")
    k, n = map(int, re.search(r"(\d+)/(\d+)", text).groups())
    expected = sweep_successes(run_cli, tmp_path, "--activation", "tanh", "--epochs", str(EPOCHS), "--seeds", str(SEEDS))
    assert (k, n) == (expected, SEEDS)
    assert "Wilson 95% CI" in text
    assert trained.inner_text("[data-testid=replay]") == f"xorlab train --seed 0 --activation tanh --epochs {EPOCHS}"
    assert trained.locator("[data-testid=loss-chart] canvas").count() == 1
    assert trained.errors == []


def test_picking_a_seed_shows_its_replay_command(trained):
    trained.fill("[data-testid=pick-seed]", "13")
    trained.dispatch_event("[data-testid=pick-seed]", "change")
    trained.wait_for_function("document.querySelector('[data-testid=replay]').textContent.includes('--seed 13 ')")
    assert "seed=13" in trained.url


def test_a_screenshot_shows_a_drawn_decision_map(trained, tmp_path):
    from matplotlib.image import imread

    trained.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    png = trained.locator("[data-testid=boundary]").screenshot()
    pixels = imread(io.BytesIO(png))[..., :3]  # (H, W, 3) in [0, 1]
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50  # a shaded map, not a blank or one-colour canvas
    orange = (pixels[..., 0] > 0.7) & (pixels[..., 2] < 0.4)
    blue = (pixels[..., 2] > 0.6) & (pixels[..., 0] < 0.4)
    assert orange.mean() > 0.05 and blue.mean() > 0.05  # both classes' regions are drawn


def test_a_shared_url_replays_the_same_runs_digit_for_digit(trained, browser, server):  # noqa: F811
    query = parse_qs(urlsplit(trained.url).query)
    assert query["run"] == ["1"] and query["activation"] == ["tanh"] and query["epochs"] == [str(EPOCHS)]
    again = open_page(browser, server, "?" + urlsplit(trained.url).query)
    wait_status(again, "^done$")
    assert again.evaluate("job.loss") == trained.evaluate("job.loss")
    assert again.inner_text("[data-testid=success-rate]") == trained.inner_text("[data-testid=success-rate]")
    assert "from the results store" in again.inner_text("#job-info")
    again.close()


SETTINGS = {"activation": "relu", "init": "uniform", "lr": "0.5", "epochs": "7", "inputs": "3", "hidden": "4",
            "seeds": "5", "first-seed": "11"}


def test_the_url_round_trips_the_settings(browser, server):  # noqa: F811
    page = open_page(browser, server)
    for testid, value in SETTINGS.items():
        if testid in ("activation", "init"):
            page.select_option(f"[data-testid={testid}]", value)
        else:
            page.fill(f"[data-testid={testid}]", value)
            page.dispatch_event(f"[data-testid={testid}]", "change")
    page.check("[data-testid=center]")
    url = page.url
    assert "run=" not in url  # settings only: opening it sets the controls, trains nothing
    fresh = open_page(browser, server, "?" + urlsplit(url).query)
    for testid, value in SETTINGS.items():
        assert fresh.input_value(f"[data-testid={testid}]") == value, testid
    assert fresh.is_checked("[data-testid=center]")
    assert fresh.inner_text(STATUS) == "idle"
    page.close()
    fresh.close()


@pytest.mark.parametrize("testid,value,message", [
    ("lr", "20", "lr must be a number from 0.0001 to 10 (got 20)"),
    ("epochs", "1001", "epochs must be an integer from 1 to 1000 (got 1001)"),
    ("hidden", "0", "hidden must be an integer from 1 to 16 (got 0)"),
])
def test_an_out_of_range_value_shows_its_message_beside_the_control(browser, server, testid, value, message):  # noqa: F811
    page = open_page(browser, server)
    page.fill(f"[data-testid={testid}]", value)
    page.click("[data-testid=train]")
    status = wait_status(page, "^error: ", timeout=10_000)
    field = testid.replace("-", "_")
    beside = page.locator(f"[data-testid={testid}] ~ .msg, [data-testid={testid}] + .msg, "
                          f".field:has([data-testid={testid}]) .msg[data-for={field}]").first
    assert beside.inner_text() == message
    assert status == "error: " + message
    page.close()


def test_stop_ends_a_job(browser, server):  # noqa: F811
    page = open_page(browser, server)
    page.fill("[data-testid=epochs]", "1000")
    page.fill("[data-testid=seeds]", "2")
    page.click("[data-testid=train]")
    wait_status(page, r"^training: epoch [1-9]")
    page.click("[data-testid=stop]")
    wait_status(page, "^stopped$", timeout=30_000)
    job_id = page.evaluate("job.id")
    page.close()
    import httpx2

    status = httpx2.get(f"{server['url']}api/jobs/{job_id}", timeout=10).json()
    assert status["state"] == "stopped" and status["epoch"] < 1000


def test_a_closed_tab_cancels_its_job(browser, server):  # noqa: F811
    import time

    import httpx2

    page = open_page(browser, server)
    page.fill("[data-testid=epochs]", "1000")
    page.fill("[data-testid=seeds]", "2")
    page.click("[data-testid=train]")
    wait_status(page, r"^training: epoch [1-9]")
    job_id = page.evaluate("job.id")
    page.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = httpx2.get(f"{server['url']}api/jobs/{job_id}", timeout=10).json()
        if status["state"] != "running":
            break
        time.sleep(0.1)
    assert status["state"] == "stopped" and status["epoch"] < 1000


def test_no_request_left_for_another_host(browser):
    # Last in the module: every page above loaded, trained and drew without the network.
    assert browser.outside == []
