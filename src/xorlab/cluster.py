"""Training on a Dask cluster: chunks of runs as tasks, results back to the client.

`DaskExecutor(address)` connects to a running `dask scheduler`, checks that every
worker has this client's xorlab and torch versions, and trains chunks of runs there:
each chunk is cut into tasks of at most `task_runs` runs (a run's numbers do not
depend on which runs share its batch, so the cut changes no number), the tasks go to
the workers, and the client reassembles each chunk as its tasks complete. Dask
reruns the tasks of a worker that dies; the client is the only writer of results.

Importing this module does not import Dask; connecting does (`distributed`, the
optional extra `xorlab[cluster]`).
"""

from __future__ import annotations

import socket
import time
from collections import defaultdict
from concurrent.futures import CancelledError
from typing import Iterator, Sequence

from . import __version__, machine
from .config import RunConfig
from .engines import ProgressCallback, run_many
from .executor import Chunk, stamp
from .result import RunResult

# An unreachable scheduler must fail fast (the CLI's promise: exit 2 within 10 s,
# Dask's import included).
CONNECT_TIMEOUT_S = 5
# How long to wait for a first worker at a reachable scheduler.
WORKERS_TIMEOUT_S = 30

# Runs per task. Dask's cost per task is milliseconds (measured in
# benchmarks/cluster.py); 1024 runs of 100 epochs are a few seconds of compute, so Dask's share is far
# under 1% and a 10,000-seed sweep still gives each of a few workers several tasks.
TASK_RUNS = 1024


class ClusterError(RuntimeError):
    """A cluster that cannot be used (unreachable, no workers, other versions): one
    line for the user, exit status 2."""


def versions() -> dict[str, str]:
    """What a worker must share with the client to give the same numbers."""
    import torch

    return {"xorlab": __version__, "torch": torch.__version__}


def worker_versions() -> dict[str, str]:
    """`versions()` as the worker that runs this sees them (sent by reference, so the
    worker answers with its own installed code)."""
    return versions()


def train_task(configs: list[RunConfig], engine: str, expected: dict[str, str]) -> tuple[list[RunResult], float]:
    """One task, on a worker: the runs' results (with where they ran) and the seconds
    of compute. Refuses on a worker whose versions differ from the client's, which
    may have joined after the client checked."""
    mine = versions()
    if mine != expected:
        raise ClusterError(f"a worker has {describe(mine)}, the client {describe(expected)}")
    start = time.perf_counter()
    results = run_many(configs, engine=engine)
    seconds = time.perf_counter() - start
    return stamp(results, machine.provenance()), seconds


def describe(v: dict[str, str]) -> str:
    return f"xorlab {v['xorlab']} and torch {v['torch']}"


def split(chunk: Chunk, size: int) -> list[list[RunConfig]]:
    """A chunk as consecutive tasks of at most `size` runs."""
    return [list(chunk[start:start + size]) for start in range(0, len(chunk), size)]


def first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


class DaskExecutor:
    """Chunks trained on the workers of a Dask cluster (see the module docstring).

    After `map`, `tasks` and `compute_seconds` say how many tasks ran and the compute
    they reported (what the benchmark compares with the wall time).
    """

    def __init__(self, address: str, task_runs: int | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT_S, workers_timeout: float = WORKERS_TIMEOUT_S):
        self.address = address
        self.task_runs = task_runs or TASK_RUNS
        self.tasks, self.compute_seconds = 0, 0.0
        self.client = connect(address, connect_timeout)
        try:
            wait_for_workers(self.client, address, workers_timeout)
            self.versions = versions()
            check_workers(self.client, self.versions)
        except (OSError, CancelledError) as err:  # the scheduler went away meanwhile
            self.client.close()
            raise ClusterError(f"lost the Dask scheduler at {address!r} ({first_line(err)})") from None
        except BaseException:
            self.client.close()
            raise

    def map(self, chunks: Sequence[Chunk], engine: str,
            on_progress: ProgressCallback | None = None) -> Iterator[tuple[int, list[RunResult]]]:
        from distributed import as_completed

        futures = {}
        for i, chunk in enumerate(chunks):
            for t, part in enumerate(split(chunk, self.task_runs)):
                # pure=False: a random key; hashing thousands of configs for one buys nothing
                future = self.client.submit(train_task, part, engine, self.versions, pure=False)
                futures[future] = (i, t)
        left = defaultdict(int)  # tasks still out, per chunk
        for i, _ in futures.values():
            left[i] += 1
        parts: dict[int, dict[int, list[RunResult]]] = defaultdict(dict)
        try:
            for future in as_completed(list(futures), loop=self.client.loop):  # not a default client
                i, t = futures.pop(future)
                results, seconds = result_of(future)
                future.release()  # the worker may forget it now
                self.tasks += 1
                self.compute_seconds += seconds
                if on_progress is not None:
                    on_progress(len(results))
                parts[i][t] = results
                left[i] -= 1
                if left[i] == 0:
                    done = parts.pop(i)
                    yield i, [r for t in sorted(done) for r in done[t]]
        finally:
            if futures and self.client.status == "running":  # interrupted or failed: stop their work
                self.client.cancel(list(futures))

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


SCHEMES = ("tcp://", "tls://")
ADDRESS_FORM = "tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786"
# A Dask scheduler speaks first: on accepting a connection it sends its handshake, a
# TCP message whose 8-byte length prefix and 8-byte frame count are small numbers
# (distributed/comm/tcp.py, utils.unpack_frames). An HTTP server or a silent listener
# sends nothing until asked, and Dask's own client would wait for it for minutes.
HANDSHAKE_BYTES = 16
MAX_HANDSHAKE = 1 << 20


def host_port(address: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a scheduler address; ClusterError for any other text."""
    scheme = next((s for s in SCHEMES if address.startswith(s)), "")
    host, sep, port = address.removeprefix(scheme).rpartition(":")
    if ("://" in address and not scheme) or not sep or not port.isdigit() or not 0 < int(port) < 65536 \
            or not host or "/" in host:
        raise ClusterError(f"{address!r} is not a Dask scheduler address: expected {ADDRESS_FORM}")
    return scheme, host.strip("[]"), int(port)


def looks_like_dask(head: bytes) -> bool:
    total, frames = int.from_bytes(head[:8], "little"), int.from_bytes(head[8:16], "little")
    return len(head) == HANDSHAKE_BYTES and 8 < total < MAX_HANDSHAKE and 0 < frames < 64


def read_head(sock: socket.socket, deadline: float) -> bytes:
    """The first HANDSHAKE_BYTES the peer sends, fewer if it closes or the deadline passes."""
    head = b""
    while len(head) < HANDSHAKE_BYTES and (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(HANDSHAKE_BYTES - len(head))
        except (TimeoutError, socket.timeout):
            break
        if not chunk:
            break
        head += chunk
    return head


def probe(address: str, timeout: float) -> None:
    """Fail within `timeout` (before Dask is even imported) unless a Dask scheduler
    answers at `address`: Dask's own connect retries a refused port until its timeout
    and waits on a listener that is not Dask far longer."""
    scheme, host, port = host_port(address)
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            head = b"" if scheme == "tls://" else read_head(sock, deadline)
    except OSError as err:
        raise ClusterError(f"cannot reach the Dask scheduler at {address!r} ({err.strerror or err})") from None
    if scheme != "tls://" and not looks_like_dask(head):  # TLS: the client speaks first
        what = "closed the connection" if not head and time.monotonic() < deadline else \
            f"sent nothing within {timeout:g} s" if not head else "answered in another protocol"
        raise ClusterError(f"{address!r} is not a Dask scheduler: it {what}")


def connect(address: str, timeout: float):
    probe(address, timeout)
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError("--scheduler needs Dask distributed: pip install 'xorlab[cluster]'") from None
    try:
        return Client(address, timeout=f"{timeout}s", set_as_default=False)
    except Exception as err:  # refused, timed out, bad address: all one line for the user
        raise ClusterError(f"cannot reach the Dask scheduler at {address!r} within {timeout:g} s "
                           f"({first_line(err)})") from None


def wait_for_workers(client, address: str, timeout: float) -> None:
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        raise ClusterError(f"the Dask scheduler at {address!r} has no workers after {timeout:g} s "
                           f"(start some with 'dask worker {address}')") from None


def check_workers(client, expected: dict[str, str]) -> None:
    """Refuse a cluster whose workers run other xorlab or torch versions than this
    client: their numbers could differ, and stored results would mix them."""
    for worker, theirs in sorted(client.run(worker_versions).items()):
        if theirs != expected:
            raise ClusterError(f"worker {worker} has {describe(theirs)} but this client has "
                               f"{describe(expected)}; install the same versions on every machine")


def result_of(future) -> tuple[list[RunResult], float]:
    """A task's result. A task Dask gave up on (its workers kept dying) or a lost
    scheduler is one line; an error in the task itself is raised as a local run
    would raise it."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker as err:
        raise ClusterError(f"a task was lost with every worker that ran it ({first_line(err)})") from None
    except (OSError, CancelledError) as err:
        raise ClusterError(f"lost the Dask scheduler ({first_line(err)}); the runs stored so far are "
                           "kept: run the same command again to resume") from None
