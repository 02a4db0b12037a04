"""The playground page in Debian's Chromium (Playwright), against a real `xorlab serve`:
what a person sees and does. Every request to another host is refused and recorded.
The page's one global is its state object, `xorlab` (the job on screen is `xorlab.job`)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from test_serve import server  # noqa: F401 (the module's server fixture)
from xorlab.serve.app import STATIC

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
    modules = [name for name in STATIC if name.endswith(".js") and not name.startswith("uPlot")]
    assert all(any(u.endswith("/static/" + m) for u in browser.inside) for m in modules)
    # The page's modules add one global, its state object, beside the vendored uPlot.
    added = page.evaluate("""() => {
        const f = document.createElement('iframe'); document.body.append(f);
        const base = new Set(Object.keys(f.contentWindow)); f.remove();
        return Object.keys(window).filter((k) => !base.has(k) && !/^\\d+$/.test(k)).sort(); }""")
    assert added == ["uPlot", "xorlab"]
    assert browser.outside == [] and page.errors == []
    page.close()


def test_every_control_has_a_visible_label(browser, server):  # noqa: F811
    page = open_page(browser, server)
    for testid in ("activation", "init", "center", "lr", "epochs", "inputs", "hidden", "seeds", "first-seed", "preset",
                   "optimizer", "momentum", "batch-size", "noise", "weight-decay", "layers", "compare"):
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
    assert again.evaluate("xorlab.job.loss") == trained.evaluate("xorlab.job.loss")
    assert again.inner_text("[data-testid=success-rate]") == trained.inner_text("[data-testid=success-rate]")
    assert "from the results store" in again.inner_text("#job-info")
    again.close()


SETTINGS = {"activation": "relu", "init": "uniform", "optimizer": "nesterov", "lr": "0.5", "momentum": "0.8",
            "batch-size": "25", "noise": "0.2", "weight-decay": "0.001", "layers": "2", "epochs": "7", "inputs": "3",
            "hidden": "4", "seeds": "5", "first-seed": "11"}
CHOICE_IDS = ("activation", "init", "optimizer")


def test_the_url_round_trips_the_settings(browser, server):  # noqa: F811
    page = open_page(browser, server)
    for testid, value in SETTINGS.items():
        if testid in CHOICE_IDS:
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


def training_long_job(browser, server):  # noqa: F811
    """A page training 2 seeds for 1000 epochs, past its first epoch: long enough to stop,
    pause or step it by hand."""
    page = open_page(browser, server)
    page.fill("[data-testid=epochs]", "1000")
    page.fill("[data-testid=seeds]", "2")
    page.click("[data-testid=train]")
    wait_status(page, r"^training: epoch [1-9]")
    return page


def test_stop_ends_a_job(browser, server):  # noqa: F811
    page = training_long_job(browser, server)
    page.click("[data-testid=stop]")
    wait_status(page, "^stopped$", timeout=30_000)
    job_id = page.evaluate("xorlab.job.id")
    page.close()
    import httpx2

    status = httpx2.get(f"{server['url']}api/jobs/{job_id}", timeout=10).json()
    assert status["state"] == "stopped" and status["epoch"] < 1000


def test_a_closed_tab_cancels_its_job(browser, server):  # noqa: F811
    import time

    import httpx2

    page = training_long_job(browser, server)
    job_id = page.evaluate("xorlab.job.id")
    page.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = httpx2.get(f"{server['url']}api/jobs/{job_id}", timeout=10).json()
        if status["state"] != "running":
            break
        time.sleep(0.1)
    assert status["state"] == "stopped" and status["epoch"] < 1000


def test_momentum_is_greyed_out_unless_the_optimizer_reads_it(browser, server):  # noqa: F811
    page = open_page(browser, server)
    meta = page.evaluate("xorlab.meta")
    for choice in meta["choices"]["optimizer"]:
        page.select_option("[data-testid=optimizer]", choice["value"])
        assert page.is_disabled("[data-testid=momentum]") == (choice["value"] not in meta["uses"]["momentum"])
    page.close()


def test_the_presets_come_in_two_groups(browser, server):  # noqa: F811
    page = open_page(browser, server)
    groups = page.eval_on_selector_all("[data-testid=preset] optgroup",
                                       "gs => gs.map(g => [g.label, g.querySelectorAll('option').length])")
    assert [g for g, _ in groups] == ["The tutorial", "Beyond the tutorial"] and all(n > 0 for _, n in groups)
    page.close()


def test_the_url_holds_both_settings_of_a_comparison(browser, server):  # noqa: F811
    page = open_page(browser, server)
    page.check("[data-testid=compare]")
    page.select_option("[data-testid=b-optimizer]", "adam")
    page.fill("[data-testid=b-layers]", "2")
    page.dispatch_event("[data-testid=b-layers]", "change")
    assert "optimizer, layers" in page.inner_text("[data-testid=b-differs]")
    fresh = open_page(browser, server, "?" + urlsplit(page.url).query)
    assert fresh.is_checked("[data-testid=compare]")
    assert fresh.input_value("[data-testid=b-optimizer]") == "adam" and fresh.input_value("[data-testid=b-layers]") == "2"
    assert fresh.input_value("[data-testid=optimizer]") == "sgd" and fresh.input_value("[data-testid=layers]") == "1"
    page.close()
    fresh.close()


def test_a_bad_setting_of_b_shows_its_message_beside_b_control(browser, server):  # noqa: F811
    page = open_page(browser, server)
    page.check("[data-testid=compare]")
    page.fill("[data-testid=b-lr]", "20")
    page.click("[data-testid=train]")
    status = wait_status(page, "^error: ", timeout=10_000)
    assert page.inner_text(".field:has([data-testid=b-lr]) .msg") == "b.lr must be a number from 0.0001 to 10 (got 20)"
    assert status.endswith("b.lr must be a number from 0.0001 to 10 (got 20)")
    page.close()


def train_to_done(page, settings: dict, b: dict | None = None) -> None:
    """Fill A's controls (and B's, comparing), train, wait for `done`."""
    for side, values in (("", settings), ("b-", b or {})):
        for testid, value in values.items():
            if testid in CHOICE_IDS:
                page.select_option(f"[data-testid={side}{testid}]", value)
            else:
                page.fill(f"[data-testid={side}{testid}]", str(value))
                page.dispatch_event(f"[data-testid={side}{testid}]", "change")
        if side == "" and b is not None:
            page.check("[data-testid=compare]")
    page.click("[data-testid=train]")
    wait_status(page, "^done$")


def k_n(page, testid: str) -> tuple[int, int]:
    return tuple(map(int, re.search(r"(\d+)/(\d+)", page.inner_text(f"[data-testid={testid}]")).groups()))


def test_an_adam_job_has_the_success_count_of_xorlab_sweep(browser, server, run_cli, tmp_path):  # noqa: F811
    page = open_page(browser, server)
    train_to_done(page, {"optimizer": "adam", "epochs": EPOCHS, "seeds": SEEDS})
    expected = sweep_successes(run_cli, tmp_path, "--optimizer", "adam", "--epochs", str(EPOCHS), "--seeds", f"0:{SEEDS}")
    assert k_n(page, "success-rate") == (expected, SEEDS)
    assert page.inner_text("[data-testid=replay]") == f"xorlab train --seed 0 --epochs {EPOCHS} --optimizer adam"
    assert page.errors == []
    page.close()


def test_a_comparison_shows_both_rates_of_xorlab_sweep_and_their_difference(browser, server, run_cli, tmp_path):  # noqa: F811
    page = open_page(browser, server)
    seeds = 12
    train_to_done(page, {"epochs": EPOCHS, "seeds": seeds}, b={"optimizer": "momentum"})
    a = sweep_successes(run_cli, tmp_path, "--epochs", str(EPOCHS), "--seeds", f"0:{seeds}")
    b = sweep_successes(run_cli, tmp_path, "--optimizer", "momentum", "--epochs", str(EPOCHS), "--seeds", f"0:{seeds}")
    assert k_n(page, "success-rate") == (a, seeds) and k_n(page, "rate-b") == (b, seeds)
    assert "Wilson 95% CI" in page.inner_text("[data-testid=rate-b]")
    difference = page.inner_text("[data-testid=difference]")
    assert f"B - A = {'+' if b >= a else ''}{round(100 * (b - a) / seeds)} points (95% CI " in difference
    assert "Newcombe" in page.inner_text("#method")
    # Both bundles drawn: a line per run of each side, and one median per side.
    assert page.evaluate("xorlab.job.loss.length") == 2 * seeds
    assert page.evaluate("xorlab.job.loss.every((l) => l.every((v) => v !== null))")
    assert page.errors == []
    page.close()


def test_step_trains_exactly_one_epoch_of_a_paused_job(browser, server):  # noqa: F811
    import httpx2

    page = training_long_job(browser, server)
    page.click("[data-testid=pause]")
    epoch = int(re.match(r"paused at epoch (\d+)/1000", wait_status(page, "^paused at epoch ")).group(1))
    assert page.is_enabled("[data-testid=resume]") and page.is_disabled("[data-testid=pause]")
    page.click("[data-testid=step]")
    wait_status(page, f"^paused at epoch {epoch + 1}/", timeout=30_000)
    page.wait_for_timeout(500)  # a job that kept training would show a later epoch by now
    assert page.inner_text(STATUS) == f"paused at epoch {epoch + 1}/1000"
    job_id = page.evaluate("xorlab.job.id")
    status = httpx2.get(f"{server['url']}api/jobs/{job_id}", timeout=10).json()
    assert status["paused"] and status["epoch"] == epoch + 1
    drawn = page.evaluate("xorlab.job.loss.map((l) => l.filter((v) => v !== null).length)")
    assert drawn == [epoch + 1, epoch + 1]  # the charts hold the paused epoch, and no later one
    page.click("[data-testid=resume]")
    page.wait_for_function(f"xorlab.job.epoch > {epoch + 1}", timeout=30_000)  # training again
    page.click("[data-testid=stop]")
    wait_status(page, "^stopped$", timeout=30_000)
    page.close()


def test_a_two_layer_net_draws_every_unit_and_weight(browser, server):  # noqa: F811
    page = open_page(browser, server)
    N, H, L = 3, 3, 2
    train_to_done(page, {"activation": "tanh", "layers": L, "hidden": H, "inputs": N, "epochs": 2, "seeds": 2})
    page.wait_for_function("document.querySelectorAll('[data-testid=network] canvas').length > 0")
    columns = page.eval_on_selector_all("[data-testid=network] .net-col", "cs => cs.map(c => c.querySelectorAll('canvas').length)")
    assert columns == [N] + [H] * L + [1]
    # Every map painted: every pixel opaque, and each hidden unit and the output shaded (not one colour).
    shades = page.eval_on_selector_all("[data-testid=network] canvas", """cs => cs.map(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, seen = new Set();
        for (let p = 0; p < d.length; p += 4) { if (d[p + 3] !== 255) return -1; seen.add(d[p] << 16 | d[p + 1] << 8 | d[p + 2]); }
        return seen.size; })""")
    assert min(shades) >= 1 and all(n > 1 for n in shades[N:])
    edges = page.eval_on_selector_all("[data-testid=network] svg line", "ls => ls.map(l => l.getAttribute('stroke'))")
    assert len(edges) == N * H + H * H * (L - 1) + H
    assert f"x3..x{N} are held at 0" in page.inner_text("#network-note")
    assert page.errors == []
    page.close()


@pytest.mark.parametrize("activation,layers", [("sigmoid", 1), ("tanh", 2), ("relu", 3)])
def test_the_network_views_forward_pass_is_xornets(browser, server, activation, layers):  # noqa: F811
    # The maps are the page's own forward pass (static/model.js) from streamed weights:
    # it must be the model's, for every depth and the formula /api/meta names.
    import torch

    from xorlab.model import XorNet

    torch.manual_seed(7)
    model = XorNet(inputs=3, hidden=4, activation=activation, layers=layers).double()
    params = {k: v.tolist() for k, v in model.state_dict().items()}
    x = torch.rand(25, 3, dtype=torch.float64) * 3 - 1.5  # (25, N)
    with torch.no_grad():
        expected = model(x).tolist()
    page = open_page(browser, server)
    got = page.evaluate("""async ([params, xs, activation]) => {
        const { net } = await import('/static/model.js');
        const f = net(params, xorlab.meta.activations[activation]);
        return xs.map((x) => f(x).out); }""", [params, x.tolist(), activation])
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
    page.close()


@pytest.mark.parametrize("width", [390, 800, 1280])
def test_the_page_fits_its_width_without_scrolling_sideways(browser, server, width):  # noqa: F811
    page = open_page(browser, server, "?compare=1&epochs=2&seeds=3&b.optimizer=adam&b.layers=3&b.hidden=8&run=1")
    page.set_viewport_size({"width": width, "height": 900})
    wait_status(page, "^done$")
    page.select_option("[data-testid=pick-side]", "B")  # the widest network view: B's three layers
    page.wait_for_function("document.querySelectorAll('[data-testid=network] .net-col').length == 5")
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for testid in ("train", "network", "rate-b", "loss-chart"):
        box = page.locator(f"[data-testid={testid}]").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, testid
    assert page.errors == []
    page.close()


def test_no_request_left_for_another_host(browser):
    # Last in the module: every page above loaded, trained and drew without the network.
    assert browser.outside == []
