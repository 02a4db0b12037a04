"""The default study's compile, in all: the distinct programs it compiles and their time.

    .venv/bin/python benchmarks/compile.py             # the default study (a few minutes cold)
    .venv/bin/python benchmarks/compile.py --quick     # the study's --quick scale

The study's runs are what `xorlab cost` counts (`experiments.cost.experiment_configs`,
upper bounds where an experiment decides as it goes). Each experiment's runs are planned
as the engine plans them (`plan.plan`, then each piece's device groups), and every
distinct program (setting, span, lanes per device, devices) is compiled once, timed, in a fresh
process (xorlab owns it: `configure_process`) with an empty compilation cache; then
again in a second process from that cache. Compiling counts tracing and the XLA
compile, from the arguments' shapes (`jax_engine.abstract_args`, as the engine compiles
ahead): a program's first call also moves its block's data (not counted here).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, sys, time
from xorlab.engines.jax_engine import configure_process
configure_process()
import jax, numpy as np
from xorlab.engines import jax_engine, plan
from xorlab.experiments import cost
from xorlab.experiments.base import Scale
quick = sys.argv[1] == "quick"
from xorlab.experiments import budget
scale = Scale(quick=quick, epochs=budget.QUICK_EPOCHS if quick else None)
devices = len(jax.devices("cpu"))
programs = {}
for name, configs in cost.experiment_configs(scale).items():
    for piece in plan.plan(configs):
        c = configs[piece[0]]
        for group in plan.device_groups(len(piece), devices):
            lanes = max(plan.padded_lanes(len(b)) for b in group)
            key = (plan.setting(c), jax_engine.span_of(c.epochs, False), lanes, len(group))
            programs.setdefault(key, c)
times = []
for (setting, span, lanes, used), c in programs.items():
    mesh = jax.sharding.Mesh(np.array(jax.devices("cpu")[:used]), ("lanes",))  # as jax_engine.Piece
    args = jax_engine.abstract_args(setting, lanes * used, mesh)
    t0 = time.perf_counter()
    jax_engine.compile_program(setting, span, args, mesh)
    times.append(time.perf_counter() - t0)
print(json.dumps({"programs": len(times), "seconds": sum(times), "slowest": max(times), "devices": devices}))
"""


def compile_all(scale: str, cache: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, scale], capture_output=True, text=True,
                         env={**os.environ, "JAX_COMPILATION_CACHE_DIR": cache})
    if out.returncode != 0:
        raise SystemExit(f"measurement failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the study's --quick scale (default: the full study)")
    args = parser.parse_args()
    scale = "quick" if args.quick else "default"
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        cold = compile_all(scale, cache)
        warm = compile_all(scale, cache)
    print(f"the {scale} study: {cold['programs']} distinct programs on {cold['devices']} device(s)")
    print(f"compile, empty cache: {cold['seconds']:.1f} s in all (slowest {cold['slowest']:.2f} s)")
    print(f"again in a new process, from the cache: {warm['seconds']:.1f} s in all (slowest {warm['slowest']:.2f} s)")
    print(f"total benchmark time {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
