"""A sweep locally against the same sweep on a loopback Dask cluster.

    .venv/bin/python benchmarks/cluster.py            # 10,000 seeds of the tutorial's config
    .venv/bin/python benchmarks/cluster.py --quick    # a smoke run (1,000 seeds, 10 epochs)

Local: the sweep's own path (`run_chunks`, jax engine) in a fresh process, its
threads as PyTorch chooses. Cluster: `dask scheduler` and WORKERS `dask worker
--nthreads 1 --no-nanny` processes (OMP_NUM_THREADS=1) on 127.0.0.1, started here and
stopped at the end; this process is the client. Workers import torch and xorlab
before the clock starts, as the local process does.

Printed: both wall times and their ratio; the cluster's overhead per task,
(wall x workers - compute reported by the tasks) / tasks, which counts scheduling,
(de)serialisation, transfer and the idle tail; Dask's bare round trip for a task
carrying one task's results and no compute; and the client's cost per run to store a
result (the one serial part of a cluster study).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent

LOCAL = r"""
import json, sys, time
from xorlab.sweep import Grid, run_chunks
seeds, epochs = int(sys.argv[1]), int(sys.argv[2])
configs = Grid(seeds=tuple(range(seeds)), epochs=(epochs,)).configs()
t0 = time.perf_counter()
n = sum(len(chunk) for chunk in run_chunks(configs, "jax"))
print(json.dumps({"seconds": time.perf_counter() - t0, "runs": n}))
"""


def local_sweep(seeds: int, epochs: int) -> float:
    out = subprocess.run([sys.executable, "-c", LOCAL, str(seeds), str(epochs)], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"local sweep failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def start_cluster(workers: int, folder: Path) -> tuple[str, list[subprocess.Popen]]:
    info = folder / "scheduler.json"
    procs = [subprocess.Popen([BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", info],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip():
            if time.monotonic() > deadline:
                raise SystemExit("the scheduler did not start")
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written in one go, but give it a moment
        address = json.loads(info.read_text())["address"]
        for _ in range(workers):
            procs.append(subprocess.Popen(
                [BIN / "dask", "worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
                 "--no-dashboard", "--death-timeout", "30"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"}))
        return address, procs
    except BaseException:
        stop(procs)
        raise


def stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def warm_up() -> None:
    import xorlab.engines.jax_engine  # noqa: F401  (torch and the engine, as the local process imports them)


def payload(nbytes: int) -> bytes:
    return bytes(nbytes)


def cluster_sweep(address: str, seeds: int, epochs: int, task_runs: int, workers: int) -> dict:
    from distributed import Client

    from xorlab.cluster import DaskExecutor
    from xorlab.sweep import Grid, run_chunks

    with Client(address, set_as_default=False) as c:
        c.wait_for_workers(workers, timeout=120)
        c.run(warm_up)
    configs = Grid(seeds=tuple(range(seeds)), epochs=(epochs,)).configs()
    with DaskExecutor(address, task_runs=task_runs) as ex:
        t0 = time.perf_counter()
        results = [r for chunk in run_chunks(configs, "jax", executor=ex) for r in chunk]
        wall = time.perf_counter() - t0
        return {"wall": wall, "tasks": ex.tasks, "compute": ex.compute_seconds, "results": results}


def round_trip(address: str, nbytes: int, tasks: int = 200) -> float:
    """Seconds per task for tasks that do nothing but return `nbytes` (a task's results)."""
    from distributed import Client, as_completed

    with Client(address, set_as_default=False) as c:
        c.gather(c.map(payload, [nbytes] * 10, pure=False))  # connections up
        t0 = time.perf_counter()
        for f in as_completed(c.map(payload, [nbytes] * tasks, pure=False), loop=c.loop):
            f.result()
        return (time.perf_counter() - t0) / tasks


def store_cost(results) -> float:
    """Seconds per run for the client to write results to the store (pack + SQLite)."""
    from xorlab.store import Store

    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "runs.sqlite") as store:
        t0 = time.perf_counter()
        for start in range(0, len(results), 1024):
            store.put(results[start:start + 1024], "jax")
        return (time.perf_counter() - t0) / len(results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 seeds of 10 epochs (default: off)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds in the sweep (default: 10000)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run (default: 100)")
    parser.add_argument("--workers", type=int, default=2, help="single-threaded workers (default: 2)")
    parser.add_argument("--task-runs", type=int, default=None,
                        help="runs per task (default: xorlab.cluster.TASK_RUNS)")
    args = parser.parse_args()
    from xorlab.cluster import TASK_RUNS

    seeds = args.seeds or (1000 if args.quick else 10_000)
    epochs = args.epochs or (10 if args.quick else 100)
    task_runs = args.task_runs or TASK_RUNS

    local = local_sweep(seeds, epochs)
    with tempfile.TemporaryDirectory() as folder:
        address, procs = start_cluster(args.workers, Path(folder))
        try:
            m = cluster_sweep(address, seeds, epochs, task_runs, args.workers)
            nbytes = len(__import__("pickle").dumps(m["results"][:task_runs]))
            trip = round_trip(address, nbytes)
        finally:
            stop(procs)
    per_store = store_cost(m["results"])

    overhead = (m["wall"] * args.workers - m["compute"]) / m["tasks"]
    per_task = m["compute"] / m["tasks"]
    print(f"sweep: {seeds} seeds x {epochs} epochs, jax engine; cluster: {args.workers} workers x 1 thread, "
          f"{m['tasks']} tasks of up to {task_runs} runs")
    print(f"local (one process):        {local:8.1f} s   {1000 * local / seeds:7.2f} ms per run")
    print(f"loopback cluster:           {m['wall']:8.1f} s   {1000 * m['wall'] / seeds:7.2f} ms per run   "
          f"local / cluster = {local / m['wall']:.2f}")
    print(f"compute per task (mean):    {per_task:8.2f} s   {1000 * m['compute'] / seeds:7.2f} ms per run per worker")
    print(f"overhead per task:          {1000 * overhead:8.1f} ms  ({100 * overhead / per_task:.2f}% of a task's "
          "compute; scheduling, transfer and the idle tail)")
    print(f"bare round trip per task:   {1000 * trip:8.2f} ms  (no compute, {nbytes / 2**20:.1f} MiB of results)")
    print(f"client, storing a result:   {1000 * per_store:8.3f} ms per run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
