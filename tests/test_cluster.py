"""Training on a Dask cluster (`--scheduler`): loopback clusters only.

An in-process `distributed.LocalCluster` (2 worker processes, one module-wide) checks
that the cluster's numbers are the local engine's bit for bit, that provenance is
stored and that a study resumes; real `dask scheduler` and `dask worker` processes
check a worker killed with SIGKILL mid-sweep and Ctrl-C on the client. Every process
a test starts is stopped by that test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import distributed  # the test extra installs it, as the cluster extra does
import numpy as np
import pytest

from xorlab.cluster import ClusterError, DaskExecutor, check_workers, train_task, versions
from xorlab.config import RunConfig
from xorlab.engines import run_many
from xorlab.executor import LocalExecutor
from xorlab.machine import provenance
from xorlab.experiments.base import Experiment, Findings, Lab, Scale
from xorlab.store import FILENAME, Store


BIN = Path(sys.executable).parent
# A tiny sweep: 2 activations x 6 seeds of 2 epochs.
SWEEP = ["sweep", "--activation", "sigmoid", "tanh", "--seeds", "6", "--epochs", "2", "--quiet"]


@pytest.fixture(scope="module")
def local_cluster():
    """Two single-threaded worker processes on 127.0.0.1, ephemeral ports, no dashboard."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", scheduler_port=0, dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def same_results(a, b) -> None:
    """Bit-for-bit: every array of every run, NaN in the same places."""
    assert [r.config for r in a] == [r.config for r in b]
    for x, y in zip(a, b):
        for name in ("train_loss", "test_loss", "test_correct"):
            np.testing.assert_array_equal(getattr(x, name), getattr(y, name), strict=True)
        assert x.params.keys() == y.params.keys()
        for k in x.params:
            np.testing.assert_array_equal(x.params[k], y.params[k], strict=True)


def free_port() -> int:
    """A port where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def configs(seeds=range(5), epochs=2):
    return [RunConfig(activation=a, seed=s, epochs=epochs) for a in ("relu", "sigmoid") for s in seeds]


# --- without a scheduler ---------------------------------------------------------------

def test_without_a_scheduler_dask_is_never_imported(tmp_path):
    code = ("import sys; from xorlab.cli import main; import xorlab.cluster; "
            f"code = main({SWEEP[:4] + ['--seeds', '2', '--epochs', '1', '--quiet', '--out', str(tmp_path / 'o')]!r}); "
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')); "
            "print(code, loaded)")
    env = {k: v for k, v in os.environ.items() if k != "XORLAB_SCHEDULER"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.split() == ["0", "[]"], out.stderr


@pytest.mark.parametrize("how", ["option", "environment"])
def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path, how):
    address = f"tcp://127.0.0.1:{free_port()}"
    args = [*SWEEP, "--out", str(tmp_path / "o.jsonl")]
    env = dict(os.environ)
    if how == "option":
        args += ["--scheduler", address]
    else:
        env["XORLAB_SCHEDULER"] = address
    # the timeout only guards against a hang; the connect timeout is CONNECT_TIMEOUT_S
    out = subprocess.run([str(BIN / "xorlab"), *args], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and address in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_a_worker_with_other_versions_refuses_its_task():
    with pytest.raises(ClusterError, match="torch 0.0"):
        train_task(configs()[:1], "jax", {**versions(), "torch": "0.0"})


def test_the_local_executor_yields_pieces_in_order_with_provenance():
    pieces = [configs()[:3], configs()[3:4]]
    done = list(LocalExecutor().map(pieces, "jax"))
    assert [i for i, _ in done] == [0, 1]
    assert all(r.extras["provenance"] == provenance() for _, rs in done for r in rs)
    same_results([r for _, rs in done for r in rs], run_many(configs()[:4], engine="jax"))



def test_the_local_executor_trains_one_block_chunks_side_by_side_with_the_same_numbers():
    """Chunks of one lane block each train two at once, one per device (a wider chunk
    in between waits for them and uses both); every chunk comes back once, with the
    numbers of training it alone."""
    import threading

    narrow = [configs(range(k, k + 3)) for k in range(0, 12, 3)]
    wide = [RunConfig(seed=s, epochs=2, hidden=3) for s in range(40)]
    pieces = narrow[:2] + [wide] + narrow[2:]
    executor = LocalExecutor()
    assert executor.devices(pieces, "jax") == [0, 1, None, 0, 1]
    seen: list[float] = []
    lock = threading.Lock()

    def progress(n):
        with lock:
            seen.append(n)

    done = dict(executor.map(pieces, "jax", on_progress=progress))
    assert sorted(done) == [0, 1, 2, 3, 4]
    assert sum(seen) == sum(len(p) for p in pieces)
    for k, piece in enumerate(pieces):
        assert all(r.extras["provenance"] == provenance() for r in done[k])
        same_results(done[k], run_many(piece, engine="jax"))

# --- an in-process LocalCluster --------------------------------------------------------

def test_a_cluster_sweep_writes_the_local_sweeps_file_byte_for_byte(local_cluster, tmp_path, run_cli):
    local, remote = tmp_path / "local.jsonl", tmp_path / "cluster.jsonl"
    assert run_cli(*SWEEP, "--out", local).code == 0
    # 5 runs per task: tasks straddle the activations and finish in any order
    r = run_cli(*SWEEP, "--out", remote, "--scheduler", local_cluster, "--task-runs", "5")
    assert r.code == 0, r.err
    assert remote.read_bytes() == local.read_bytes()
    assert len(remote.read_text().splitlines()) == 12


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cluster_runs_equal_local_runs_bit_for_bit_and_record_where_they_ran(local_cluster, tmp_path, dtype):
    cs = [RunConfig(activation=a, seed=s, epochs=2, dtype=dtype, center=s % 2 == 0, lr=0.1)
          for a in ("sigmoid", "tanh", "relu") for s in range(4)]
    with DaskExecutor(local_cluster, task_runs=4) as ex, Store(tmp_path / FILENAME, executor=ex) as store:
        remote = store.run(cs, "jax")
        assert ex.tasks == 3 and ex.compute_seconds > 0
        rows = store.db.execute("SELECT host, torch_version, cpu_capability FROM runs").fetchall()
    same_results(remote, run_many(cs, engine="jax"))
    # loopback workers: the same machine, torch and CPU capability as this process
    where = provenance()
    assert rows == [(where["host"], where["torch"], where["cpu_capability"])] * len(cs)


def test_a_client_with_other_versions_is_refused_in_one_line(local_cluster, monkeypatch, run_cli):
    import xorlab.cluster

    monkeypatch.setattr(xorlab.cluster, "versions", lambda: {"xorlab": "0.0.0", "torch": "0.0"})
    r = run_cli(*SWEEP, "--scheduler", local_cluster)
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1
    assert "xorlab 0.0.0 and torch 0.0" in r.err and "install the same versions" in r.err


def test_an_interrupted_client_resumes_from_the_store_without_retraining(local_cluster, tmp_path):
    cs = configs(seeds=range(8))  # 16 runs, 8 per activation: pieces (= tasks) of 4
    calls = []

    def interrupt_after_first_piece(n):
        calls.append(n)
        if len(calls) == 3:  # 1: runs found stored; 2: first task done (then stored); 3: second
            raise KeyboardInterrupt

    with DaskExecutor(local_cluster, task_runs=4) as ex, Store(tmp_path / FILENAME, executor=ex) as store:
        with pytest.raises(KeyboardInterrupt):
            store.run(cs, "jax", on_progress=interrupt_after_first_piece, chunk_runs=4)
        assert len(store) == 4
    with DaskExecutor(local_cluster, task_runs=4) as ex, Store(tmp_path / FILENAME, executor=ex) as store:
        results = store.run(cs, "jax", chunk_runs=4)
        assert ex.tasks == 3  # only the 12 missing runs
    same_results(results, run_many(cs, engine="jax"))


class Tiny(Experiment):
    """Two activations x the scale's seeds; a table and an answer from the runs, no figures."""

    name, title, question = "tiny", "Experiment 1 (activation units)", "Which activation works best?"

    def run(self, lab, scale):
        results = lab.run([RunConfig(activation=a, center=c, epochs=scale.budget(2), seed=s)
                           for a in ("sigmoid", "tanh") for c in (False, True) for s in scale.seed_list()])
        losses = [r.final_test_loss for r in results]
        return Findings(answer=f"Best final loss {min(losses)!r}.", tables={"loss": [{"loss": x} for x in losses]})


def test_a_study_on_the_cluster_resumes_and_reports_like_a_local_one(local_cluster, tmp_path, monkeypatch):
    from xorlab import experiments
    from xorlab.study import run_study

    monkeypatch.setattr(experiments, "get", lambda name: Tiny())
    scale = Scale(seeds=3, epochs=1)
    with DaskExecutor(local_cluster, task_runs=4) as ex:
        first = run_study(tmp_path, scale, names=["tiny"], executor=ex)
        trained = ex.tasks
    # stored under the local engine's keys: a local study on this store trains nothing
    local = run_study(tmp_path, scale, names=["tiny"], executor=LocalExecutor(refuse))
    with DaskExecutor(local_cluster, task_runs=4) as ex:
        again = run_study(tmp_path, scale, names=["tiny"], executor=ex)
        assert ex.tasks == 0  # everything came from the store
    assert trained == 4  # 12 runs: two programs (sigmoid, tanh) of 6, tasks of at most 4
    fresh = Tiny().run(Lab(), scale)  # trained here on the default engine, no store
    for study in (first, local, again):
        [section] = study.sections
        assert section.error is None and section.runs == 12
        assert section.findings.answer == fresh.answer and section.findings.tables == fresh.tables


def refuse(configs, **_):
    raise AssertionError(f"asked to train {len(configs)} runs that should be stored")


def test_check_workers_names_the_mismatch(local_cluster):
    with distributed.Client(local_cluster, set_as_default=False) as client:
        check_workers(client, versions())  # the same: accepted
        with pytest.raises(ClusterError, match=r"worker tcp://127\.0\.0\.1:\d+ has xorlab"):
            check_workers(client, {**versions(), "xorlab": "9.9"})


# --- real scheduler and worker processes ------------------------------------------------

# SIGINT back to its default action, then the program: exec keeps a default action,
# and Python installs its KeyboardInterrupt handler only over a default one.
DEFAULT_SIGINT_THEN_EXEC = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                            "os.execv(sys.argv[1], sys.argv[1:])")


class Processes:
    """Processes a test started, each stopped (by PID) when the test ends."""

    def __init__(self, tmp_path: Path):
        self.tmp_path, self.started = tmp_path, []

    def start(self, *args: str, name: str, env: dict | None = None, ctrl_c: bool = False) -> subprocess.Popen:
        """ctrl_c: the process takes SIGINT as a terminal's Ctrl-C, even where the suite
        itself was started with SIGINT ignored (a shell's background job: its children
        inherit that, and Python then raises no KeyboardInterrupt)."""
        log = open(self.tmp_path / f"{name}.log", "w")
        if ctrl_c:
            args = (sys.executable, "-c", DEFAULT_SIGINT_THEN_EXEC, *args)
        p = subprocess.Popen([str(a) for a in args], stdout=log, stderr=subprocess.STDOUT,
                             env={**os.environ, **(env or {})}, start_new_session=True)
        log.close()
        self.started.append(p)
        return p

    def stop_all(self) -> None:
        """Last started first (workers before their scheduler, which they say goodbye to)."""
        for p in reversed(self.started):
            if p.poll() is None:
                p.terminate()
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture
def dask_cluster(tmp_path):
    """`dask scheduler` and two `dask worker` processes (no nanny: the PID we start is
    the worker), on 127.0.0.1 with ephemeral ports; yields (address, workers)."""
    procs = Processes(tmp_path)
    info = tmp_path / "scheduler.json"
    try:
        procs.start(BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", info, name="scheduler")
        address = wait_for_address(info)
        workers = [procs.start(BIN / "dask", "worker", address, "--nthreads", "1", "--no-nanny",
                               "--host", "127.0.0.1", "--no-dashboard", "--death-timeout", "10",
                               name=f"worker{i}", env={"OMP_NUM_THREADS": "1"})
                   for i in range(2)]
        with distributed.Client(address, set_as_default=False, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        procs.stop_all()


def wait_for_address(info: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if info.exists():
            try:
                return json.loads(info.read_text())["address"]
            except (ValueError, KeyError):
                pass  # being written
        time.sleep(0.1)
    raise AssertionError("the scheduler did not start")


def busy_worker(address: str, timeout: float = 60) -> str:
    """The address of a worker running a task, once one does."""
    with distributed.Client(address, set_as_default=False) as client:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = [w for w, tasks in client.processing().items() if tasks]
            if busy:
                return busy[0]
            time.sleep(0.05)
    raise AssertionError("no worker ever ran a task")


def worker_pid(address: str, worker: str) -> int:
    with distributed.Client(address, set_as_default=False) as client:
        return client.run(os.getpid, workers=[worker])[worker]


def test_a_worker_killed_mid_sweep_loses_nothing(dask_cluster, tmp_path, run_cli):
    address, workers = dask_cluster
    args = [*SWEEP, "--seeds", "12", "--task-runs", "2"]  # 12 tasks of 2 runs
    local = tmp_path / "local.jsonl"
    assert run_cli(*args, "--out", local).code == 0
    remote = tmp_path / "cluster.jsonl"
    procs = Processes(tmp_path)
    try:
        client = procs.start(BIN / "xorlab", *args, "--out", remote, "--scheduler", address, name="client")
        victim = worker_pid(address, busy_worker(address))
        assert victim in {w.pid for w in workers}
        os.kill(victim, signal.SIGKILL)
        assert client.wait(timeout=300) == 0, (tmp_path / "client.log").read_text()
    finally:
        procs.stop_all()
    assert remote.read_bytes() == local.read_bytes()
    assert len(remote.read_text().splitlines()) == 24


def test_ctrl_c_on_the_client_cancels_the_clusters_tasks(dask_cluster, tmp_path):
    address, _ = dask_cluster
    procs = Processes(tmp_path)
    try:
        client = procs.start(BIN / "xorlab", *SWEEP, "--seeds", "40", "--task-runs", "2", "--out",
                             tmp_path / "o.jsonl", "--scheduler", address, name="client", ctrl_c=True)
        busy_worker(address)
        client.send_signal(signal.SIGINT)
        assert client.wait(timeout=60) == 130
    finally:
        procs.stop_all()
    assert "interrupted" in (tmp_path / "client.log").read_text()
    # the client's tasks are gone from the cluster, not left running for nobody
    with distributed.Client(address, set_as_default=False) as watcher:
        deadline = time.monotonic() + 30
        while watcher.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        assert watcher.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0


# --- addresses that are not a Dask scheduler ---------------------------------------------

class Listener:
    """A loopback listener on an ephemeral port: 'silent' accepts and never answers,
    'http' answers as a web server does (only when asked)."""

    def __init__(self, kind: str):
        import http.server
        import threading

        if kind == "http":
            self.server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
            self.port = self.server.server_address[1]
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
            self.close = lambda: (self.server.shutdown(), self.server.server_close())
        else:
            self.sock = socket.socket()
            self.sock.bind(("127.0.0.1", 0))
            self.sock.listen()
            self.port = self.sock.getsockname()[1]
            self.close = self.sock.close


NOT_DASK = ["closed port", "silent listener", "http server", "http scheme", "garbage", "no port", "ws scheme"]


@pytest.mark.parametrize("kind", NOT_DASK)
def test_an_address_that_is_not_a_dask_scheduler_is_one_line_and_exit_2(kind, tmp_path):
    listener = Listener(kind.split()[0]) if kind in ("silent listener", "http server") else None
    try:
        port = listener.port if listener else free_port()
        address = {"garbage": "!!garbage!!", "http scheme": f"http://127.0.0.1:{port}", "no port": "tcp://127.0.0.1",
                   "ws scheme": f"ws://127.0.0.1:{port}"}.get(kind, f"tcp://127.0.0.1:{port}")
        # the timeout fails a hang (Dask's own client waited minutes here), not a slow start
        out = subprocess.run([str(BIN / "xorlab"), *SWEEP, "--scheduler", address, "--out", str(tmp_path / "o")],
                             capture_output=True, text=True, timeout=60)
    finally:
        if listener:
            listener.close()
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and address in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "o").exists()


def test_a_dask_scheduler_passes_the_probe(local_cluster):
    from xorlab.cluster import probe

    probe(local_cluster, 5)  # raises ClusterError otherwise
    probe(local_cluster.removeprefix("tcp://"), 5)
