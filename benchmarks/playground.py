"""Time the playground as a person meets it: page interactive after load, first epoch
on screen after Train, and frame gaps while 500 seeds stream (and while a stored
500-seed job replays at once). Starts `xorlab serve` on a free loopback port with a
fresh store, drives Debian's Chromium, prints the figures, stops the server.

    .venv/bin/python benchmarks/playground.py [--stream-seconds 30] [--screenshot docs/playground.png]
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

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


# The page's own work per animation frame (its draw), apart from time the renderer
# waited for a CPU: on a shared machine a frame gap can be long while the draw is short.
DRAW_PROBE = """
window.__draws = [];
const __frame = frame;
window.frame = (now) => { const t = performance.now(); __frame(now); window.__draws.push(performance.now() - t); };
"""


def frames(page) -> dict:
    draws = sorted(page.evaluate("window.__draws"))
    gaps = sorted(page.evaluate("window.__gaps"))
    long = [d for _, d in page.evaluate("window.__long")]
    return {"frames": len(gaps), "median_ms": gaps[len(gaps) // 2] if gaps else None,
            "p99_ms": gaps[int(0.99 * (len(gaps) - 1))] if gaps else None, "max_ms": gaps[-1] if gaps else None,
            "long_tasks": len(long), "longest_task_ms": max(long, default=0.0),
            "slowest_draw_ms": round(draws[-1], 1) if draws else None,
            "p99_draw_ms": round(draws[int(0.99 * (len(draws) - 1))], 1) if draws else None}


def reset_frames(page) -> None:
    page.evaluate("window.__gaps = []; window.__long = []; window.__draws = []")


def fill(page, settings: dict) -> None:
    for testid, value in settings.items():
        page.fill(f"[data-testid={testid}]", str(value))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stream-seconds", type=float, default=30.0, help="how long 500 seeds stream (default: 30)")
    ap.add_argument("--epochs", type=int, default=100, help="epochs of the 500-seed job (default: 100)")
    ap.add_argument("--screenshot", default=None, help="also save a screenshot of a finished tutorial job here")
    args = ap.parse_args()
    store = Path(tempfile.mkdtemp()) / "store.sqlite"
    server = subprocess.Popen([sys.executable, "-m", "xorlab", "serve", "--port", "0", "--store", str(store)],
                              stdout=subprocess.PIPE, text=True)
    try:
        url = re.search(r"http://\S+/", server.stdout.readline()).group(0)
        with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
            context = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=ARGS,
                                                           viewport={"width": 1400, "height": 1000})
            context.add_init_script(FRAME_PROBE)
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']")
            page.evaluate(DRAW_PROBE)
            print(f"page interactive: {mark(page, 'xorlab:ready'):.0f} ms after navigation start")

            page.select_option("[data-testid=preset]", "tutorial")  # 20 seeds, 100 epochs
            page.click("[data-testid=train]")
            page.wait_for_function("performance.getEntriesByName('xorlab:first-epoch').length > 0", timeout=60_000)
            first = mark(page, "xorlab:first-epoch") - mark(page, "xorlab:train")
            print(f"first epoch of a 20-seed tutorial job on screen: {first:.0f} ms after Train")
            page.wait_for_function("document.querySelector('[data-testid=status]').textContent == 'done'",
                                   timeout=600_000)
            if args.screenshot:  # with the first seed that learned XOR selected
                page.evaluate("select(Math.max(0, job.summary.runs.findIndex((r) => r.success)))")
                page.wait_for_timeout(1000)
                page.screenshot(path=args.screenshot, full_page=True)
                print(f"screenshot: {args.screenshot}")

            fill(page, {"seeds": 500, "epochs": args.epochs})
            page.click("[data-testid=train]")
            page.wait_for_function("/epoch [1-9]/.test(document.querySelector('[data-testid=status]').textContent)",
                                   timeout=120_000)
            reset_frames(page)
            page.wait_for_timeout(args.stream_seconds * 1000)
            status = page.inner_text("[data-testid=status]")
            print(f"500 seeds streaming for {args.stream_seconds:.0f} s ({status}): {frames(page)}")
            page.click("[data-testid=stop]")
            page.wait_for_function("document.querySelector('[data-testid=status]').textContent == 'stopped'")

            fill(page, {"seeds": 500, "epochs": 5})
            page.click("[data-testid=train]")
            page.wait_for_function("document.querySelector('[data-testid=status]').textContent == 'done'",
                                   timeout=600_000)
            reset_frames(page)
            page.click("[data-testid=train]")  # the same job again: from the store, every epoch at once
            page.wait_for_function("document.querySelector('[data-testid=status]').textContent == 'done'")
            page.wait_for_timeout(500)
            print(f"500 seeds x 5 epochs replayed from the store: {frames(page)}")
            context.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
