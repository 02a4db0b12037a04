"""Time the jax engine beside the one-run loop and the hand-written JAX peer, in one run.

    .venv/bin/python benchmarks/engines.py            # the full table (10-20 minutes)
    .venv/bin/python benchmarks/engines.py --quick    # a small smoke version

Every measurement runs in its own fresh process (xorlab owns it: `configure_process`,
as the CLI does: one XLA device per core, whole loops in one kernel), so each first
call is really cold: JAX's compilation cache is pointed at a new empty folder for it.
Rows:
- `with data`: `run_many` of R tutorial runs after a 1-run warm-up of the same program
  (the tutorial's exact data stream, seeded init, training, results);
- `train`: the same runs in the same planned pieces, each built untimed, only their
  training timed (what the peer times);
- `peer`: ../shared/bench/peers/peer_jax.py --variant elementwise (both cores), where
  that checkout is present (same venv, same JAX);
- `first call`: a new setting's compile plus one 1-epoch run, with an empty cache;
- `adam`, `layers 2 hidden 4`: ms per run per parameter and step, against the tutorial's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PEER = Path(__file__).resolve().parents[2] / "shared" / "bench" / "peers" / "peer_jax.py"

CHILD = r"""
import json, sys, time
from xorlab.engines.jax_engine import configure_process
configure_process()
import jax, xorlab.data  # the libraries' import (seconds under load) is not a first call's compile
from xorlab.config import RunConfig
from xorlab.engines import jax_engine, plan, run_many
xorlab.data.make_data([0])  # nor is loading the compiled data stream
what, runs, epochs, knobs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
configs = [RunConfig(seed=s, epochs=epochs, **knobs) for s in range(runs)]
if what != "first":  # compile (or load) the programs of R runs' blocks on every device first
    run_many(configs if runs <= 1000 else configs[:runs // 2], engine="jax")
if what == "train":  # the pieces run_many trains, each built untimed: only their training timed
    seconds = 0.0
    for part in plan.plan(configs):
        piece = jax_engine.Piece([configs[i] for i in part])
        piece.build()  # data and initial weights: not training
        t0 = time.perf_counter()
        piece.train(epochs)
        seconds += time.perf_counter() - t0
        del piece
else:
    t0 = time.perf_counter()
    run_many(configs if what != "first" else configs[:1], engine="jax")
    seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds}))
"""


def measure(what: str, runs: int, epochs: int, knobs: dict | None = None, env: dict | None = None) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, what, str(runs), str(epochs), json.dumps(knobs or {})],
                         capture_output=True, text=True, env={**os.environ, **(env or {})})
    if out.returncode != 0:
        raise SystemExit(f"measurement failed ({what}, R={runs}):\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def peer(runs: int, epochs: int) -> float | None:
    """The JAX peer's training ms per 100-epoch run, or None where it is not checked out."""
    if not PEER.exists() or runs % 2:
        return None
    out = subprocess.run([sys.executable, str(PEER), "--variant", "elementwise", "--runs", str(runs),
                          "--epochs", str(epochs)], capture_output=True, text=True)
    found = re.search(r"^JSON (.*)$", out.stdout + out.stderr, re.M)
    return json.loads(found.group(1))["train_ms_per_run_100ep"] if found else None


def per_run_ms(seconds: float, runs: int, epochs: int) -> float:
    return seconds / runs * (100 / epochs) * 1000


def params(inputs: int = 2, hidden: int = 2, layers: int = 1) -> int:
    return hidden * (inputs + 1) + (layers - 1) * hidden * (hidden + 1) + hidden + 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and 2 epochs, for a smoke run (default: off)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="runs R to time (default: 100 1000 10000)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run (default: 100)")
    parser.add_argument("--first-calls", action="store_true", help="only the first-call lines (default: off)")
    args = parser.parse_args()
    sizes = args.sizes or ([64] if args.quick else [100, 1000, 10_000])
    epochs = args.epochs or (2 if args.quick else 100)
    print(f"xorlab jax engine: tutorial config (2-2-1 sigmoid, SGD lr 0.01, {epochs} epochs of 500 batches), "
          f"{os.cpu_count()} CPUs; ms per 100-epoch run")
    print(f"{'':<26}{'runs R':>7}{'ms per run':>12}{'vs peer':>9}")
    t0 = time.perf_counter()
    if not args.first_calls:
        speed(sizes, epochs)
    first_calls()
    print(f"total benchmark time {time.perf_counter() - t0:.0f} s")
    return 0


def speed(sizes: list[int], epochs: int) -> None:
    """The tutorial's ms per run beside the peer's, then Adam's and a deeper net's."""
    for r in sizes:
        base = peer(r, epochs)
        for label, what in (("jax, with data", "warm"), ("jax, train", "train")):
            ms = per_run_ms(measure(what, r, epochs), r, epochs)
            ratio = f"{ms / base:8.2f}x" if base else f"{'-':>9}"
            print(f"{label:<26}{r:>7}{ms:>12.2f}{ratio}", flush=True)
        if base:
            print(f"{'peer (hand-written JAX)':<26}{r:>7}{base:>12.2f}{'1x':>9}", flush=True)
    r = sizes[min(1, len(sizes) - 1)]
    tutorial = per_run_ms(measure("train", r, epochs), r, epochs) / params()
    for label, knobs, n in (("adam", {"optimizer": "adam"}, params()),
                            ("layers 2, hidden 4", {"layers": 2, "hidden": 4}, params(hidden=4, layers=2))):
        ms = per_run_ms(measure("train", r, epochs, knobs), r, epochs) / n
        print(f"{label + ' per parameter':<26}{r:>7}{ms:>12.4f}{ms / tutorial:8.2f}x the tutorial's "
              f"({tutorial:.4f} ms per parameter)", flush=True)


def first_calls() -> None:
    """A new setting's compile plus a 1-epoch run: in an empty cache, then from it."""
    for label, knobs in (("tutorial", {}), ("adam", {"optimizer": "adam"}), ("layers 2, hidden 4",
                                                                            {"layers": 2, "hidden": 4})):
        with tempfile.TemporaryDirectory() as cache:
            s = measure("first", 1, 1, knobs, env={"JAX_COMPILATION_CACHE_DIR": cache})
            again = measure("first", 1, 1, knobs, env={"JAX_COMPILATION_CACHE_DIR": cache})
        print(f"first call, {label}: compile + 1 epoch {s:.2f} s; in a new process, from the cache {again:.2f} s")


if __name__ == "__main__":
    raise SystemExit(main())
