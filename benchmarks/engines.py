"""Time the one-run loop against the fused and batched engines on the tutorial's config.

    .venv/bin/python benchmarks/engines.py            # the full table (several minutes)
    .venv/bin/python benchmarks/engines.py --quick    # a small smoke version

Every measurement runs in its own fresh process, so each has its own peak memory
(ru_maxrss) and the fused engine's first call is really cold: numba's on-disk cache is
pointed at a new empty folder for it.
Times include making each run's data (the tutorial's exact stream) and initial weights.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

# The arithmetic floor of one 100-epoch tutorial run (benchmarks/README.md): ~17.5
# MFLOP and ~1 M exp, ~0.4 ms on one AVX-512 core with a vectorised exp.
FLOOR_S_PER_RUN_PER_CORE = 0.4e-3

CHILD = r"""
import json, resource, sys, time
import torch
from xorlab.config import RunConfig
from xorlab.engines import run_many
from xorlab.data import make_data
engine, runs, epochs, what = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
configs = [RunConfig(seed=s, epochs=epochs) for s in range(runs)]
if what == "data":
    make_data([0])  # load the compiled stream (from numba's cache) before timing
elif what == "warm" and engine == "fused":
    run_many([RunConfig(seed=0, epochs=1)], engine=engine)  # load the compiled kernels
t0 = time.perf_counter()
if what == "data":
    make_data(list(range(runs)))
else:
    run_many(configs, engine=engine)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak_bytes": peak, "threads": torch.get_num_threads()}))
"""


def measure(engine: str, runs: int, epochs: int, what: str = "train", env: dict | None = None) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, engine, str(runs), str(epochs), what],
                         capture_output=True, text=True, env={**os.environ, **(env or {})})
    if out.returncode != 0:
        raise SystemExit(f"measurement failed ({engine}, R={runs}):\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def row(label: str, runs: int, epochs: int, m: dict, base_per_run: float | None) -> str:
    per_run = m["seconds"] / runs * (100 / epochs)  # per 100-epoch run
    ratio = f"{base_per_run / per_run:10.0f}x" if base_per_run else f"{'1x':>11}"
    return (f"{label:<22}{runs:>7}{per_run * 1000:>14.2f}{ratio}{runs / m['seconds']:>10.1f}"
            f"{m['peak_bytes'] / 2**20:>11.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and 2 epochs, for a smoke run (default: off)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None,
                        help="batch sizes R to time (default: 1 100 1000 10000)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run (default: 100)")
    parser.add_argument("--engines", nargs="+", default=["fused", "batched"],
                        help="engines timed at every size (default: fused batched)")
    parser.add_argument("--loop-epochs", type=int, default=None,
                        help="epochs of the one-run loop, scaled to 100 (default: --epochs)")
    args = parser.parse_args()
    sizes = args.sizes or ([1, 64] if args.quick else [1, 100, 1000, 10_000])
    epochs = args.epochs or (2 if args.quick else 100)

    print(f"xorlab engine benchmark: tutorial config (2-2-1 sigmoid, SGD lr 0.01, {epochs} epochs of 500 "
          f"batches), {os.cpu_count()} CPUs; times per 100-epoch run, data and init included")
    print(f"{'engine':<22}{'runs R':>7}{'ms per run':>14}{'vs loop':>11}{'runs/s':>10}{'peak MiB':>11}")
    t0 = time.perf_counter()
    loop_epochs = args.loop_epochs or epochs
    base = measure("classic", 1, loop_epochs)
    base_per_run = base["seconds"] * (100 / loop_epochs)
    print(row("classic (one-run loop)", 1, loop_epochs, base, None))
    if "fused" in args.engines:
        with tempfile.TemporaryDirectory() as cache:
            cold = measure("fused", 1, 1, env={"NUMBA_CACHE_DIR": cache})
            print(f"{'fused: first call':<22}{1:>7}  cold JIT compile + 1 epoch: {cold['seconds']:.1f} s "
                  "(once per install: cached on disk)")
    for engine in args.engines:
        for r in sizes:
            m = measure(engine, r, epochs, what="warm")
            print(row(engine, r, epochs, m, base_per_run), flush=True)
            if engine == "fused":
                per_run = m["seconds"] / r * (100 / epochs)
                floor = FLOOR_S_PER_RUN_PER_CORE / min(os.cpu_count() or 1, r)
                print(f"{'  distance to floor':<22}{r:>7}{per_run / floor:>13.0f}x  (floor {floor * 1e3:.2f} ms per run)")
    n = sizes[-1]
    data = measure("fused", n, epochs, what="data")
    print(f"making the tutorial's data for {n} seeds: {data['seconds']:.2f} s "
          f"({data['seconds'] / n * 1000:.2f} ms per seed)")
    print(f"total benchmark time {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
