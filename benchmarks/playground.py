"""Time the playground as a person meets it: page interactive after load, first epoch
on screen after Train (warm), frame gaps while 500 seeds stream (and while a stored
500-seed job replays at once), and a comparison of 2 x 100 seeds against one 100-seed
job. Starts `xorlab serve` on a free loopback port with a fresh store, drives Debian's
Chromium at 1280 px, prints the figures, stops the server.

    .venv/bin/python benchmarks/playground.py [--stream-seconds 30] [--screenshot docs/playground.png]
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]

# Records the gap between animation frames and every long task (main thread busy > 50 ms).
FRAME_PROBE = """
window.__gaps = []; window.__long = [];
(function tick(last) { requestAnimationFrame((now) => { if (last) window.__gaps.push(now - last); tick(now); }); })();
new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push([e.startTime, e.duration]); })
  .observe({ type: "longtask", buffered: true });
"""


def mark(page, name: str) -> float:
    return page.evaluate(f"performance.getEntriesByName({name!r}).at(-1)?.startTime ?? null")


def frames(page) -> dict:
    """Frame gaps, long tasks (main thread busy > 50 ms) and the page's own draw time per
    frame (`xorlab.probe`), apart from time the renderer waited for a CPU: on a shared
    machine a frame gap can be long while the draw is short."""
    draws = sorted(page.evaluate("xorlab.probe"))
    gaps = sorted(page.evaluate("window.__gaps"))
    long = [d for _, d in page.evaluate("window.__long")]
    return {"frames": len(gaps), "median_ms": gaps[len(gaps) // 2] if gaps else None,
            "p99_ms": gaps[int(0.99 * (len(gaps) - 1))] if gaps else None, "max_ms": gaps[-1] if gaps else None,
            "long_tasks": len(long), "longest_task_ms": max(long, default=0.0),
            "slowest_draw_ms": round(draws[-1], 1) if draws else None,
            "p99_draw_ms": round(draws[int(0.99 * (len(draws) - 1))], 1) if draws else None}


def reset_frames(page) -> None:
    page.evaluate("window.__gaps = []; window.__long = []; xorlab.probe = []")


def status_is(page, text: str, timeout: float = 600_000) -> None:
    page.wait_for_function(f"document.querySelector('[data-testid=status]').textContent == {text!r}", timeout=timeout)


def fill(page, settings: dict, side: str = "") -> None:
    for testid, value in settings.items():
        selector = f"[data-testid={side}{testid}]"
        if page.eval_on_selector(selector, "e => e.tagName") == "SELECT":
            page.select_option(selector, str(value))
        else:
            page.fill(selector, str(value))
            page.dispatch_event(selector, "change")


def train_seconds(page) -> float:
    """Train a new job to `done`; seconds from the click to `done` on the page."""
    old = page.evaluate("xorlab.job && xorlab.job.id")
    start = time.monotonic()
    page.click("[data-testid=train]")
    page.wait_for_function(f"xorlab.job && xorlab.job.id !== {json.dumps(old)} && "
                           "document.querySelector('[data-testid=status]').textContent == 'done'", timeout=600_000)
    return time.monotonic() - start


def first_epoch(page) -> None:
    fill(page, {"seeds": 20, "epochs": 5, "first-seed": 1000})  # warm-up: the server's first job
    train_seconds(page)
    page.select_option("[data-testid=preset]", "tutorial")  # 20 seeds, 100 epochs
    marks = "performance.getEntriesByName('xorlab:first-epoch').length"
    before = page.evaluate(marks)
    page.click("[data-testid=train]")
    page.wait_for_function(f"{marks} > {before}", timeout=60_000)
    first = mark(page, "xorlab:first-epoch") - mark(page, "xorlab:train")
    print(f"first epoch of a 20-seed tutorial job on screen (warm): {first:.0f} ms after Train")
    status_is(page, "done")


def streaming(page, seconds: float, epochs: int) -> None:
    fill(page, {"seeds": 500, "epochs": epochs})
    page.click("[data-testid=train]")
    page.wait_for_function("/epoch [1-9]/.test(document.querySelector('[data-testid=status]').textContent)",
                           timeout=120_000)
    reset_frames(page)
    start = time.monotonic()
    try:  # until the job is done, or for `seconds` at most
        status_is(page, "done", timeout=seconds * 1000)
    except PlaywrightTimeout:
        page.click("[data-testid=stop]")
        status_is(page, "stopped")
    status = page.inner_text("[data-testid=status]")
    print(f"500 seeds x {epochs} epochs streaming, {time.monotonic() - start:.1f} s watched (then {status}): "
          f"{frames(page)}")
    fill(page, {"seeds": 500, "epochs": 5})
    train_seconds(page)
    reset_frames(page)
    train_seconds(page)  # the same job again: from the store, every epoch at once
    page.wait_for_timeout(500)
    print(f"500 seeds x 5 epochs replayed from the store: {frames(page)}")


def comparison(page, screenshot: str | None) -> None:
    """One 100-seed tutorial job, then A (the tutorial) against B (momentum) on 100 other
    seeds each, so nothing comes from the store, timed once B's program is compiled (as
    the one job's was, by the warm-up job)."""
    page.select_option("[data-testid=preset]", "tutorial")
    fill(page, {"seeds": 100, "first-seed": 2000})
    one = train_seconds(page)
    fill(page, {"first-seed": 3000})
    page.check("[data-testid=compare]")
    fill(page, {"optimizer": "momentum"}, side="b-")
    train_seconds(page)  # warm-up: B's program is compiled (or loaded) on its first use
    fill(page, {"first-seed": 4000})
    two = train_seconds(page)
    print(f"one 100-seed job: {one:.1f} s; compare 2 x 100 seeds: {two:.1f} s; ratio {two / one:.2f}")
    if screenshot:  # with the first seed of B that learned XOR selected
        page.evaluate("xorlab.select(xorlab.job.n + Math.max(0, xorlab.job.summary.b.runs.findIndex((r) => r.success)))")
        page.wait_for_timeout(1000)
        page.screenshot(path=screenshot, full_page=True)
        print(f"screenshot: {screenshot}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stream-seconds", type=float, default=30.0, help="how long 500 seeds stream (default: 30)")
    ap.add_argument("--epochs", type=int, default=100, help="epochs of the 500-seed job (default: 100)")
    ap.add_argument("--screenshot", default=None, help="also save a screenshot of the finished comparison here")
    args = ap.parse_args()
    store = Path(tempfile.mkdtemp()) / "store.sqlite"
    server = subprocess.Popen([sys.executable, "-m", "xorlab", "serve", "--port", "0", "--store", str(store)],
                              stdout=subprocess.PIPE, text=True)
    try:
        url = re.search(r"http://\S+/", server.stdout.readline()).group(0)
        with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
            context = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=ARGS,
                                                           viewport={"width": 1280, "height": 1000})
            context.add_init_script(FRAME_PROBE)
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']")
            page.evaluate("xorlab.probe = []")
            print(f"page interactive: {mark(page, 'xorlab:ready'):.0f} ms after navigation start")
            first_epoch(page)
            streaming(page, args.stream_seconds, args.epochs)
            comparison(page, args.screenshot)
            context.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
