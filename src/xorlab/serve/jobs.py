"""A playground job: settings in, the engine in a worker thread, events out.

The worker trains through `engines.run_many` (the default engine, its own batching)
and keeps every epoch snapshot; readers (the event stream, the results route) take
what is new since their cursor, so any number of them can follow a job, late or
reconnecting, and see the same sequence. Runs already in the results store are not
retrained: their stored curves are replayed as snapshots. Stopping raises `Stopped`
inside the engine's per-epoch callback, so training ends after the epoch in flight.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import diagnosis
from ..config import RunConfig
from ..engines import EpochSnapshot, resolve, run_many
from ..formatting import json_number, json_safe
from ..result import RunResult
from ..stats import wilson
from ..store import Store, run_key
from ..replay import train_command
from .settings import Settings

ENGINE = "auto"  # the default engine, whichever that is
MAX_RUNNING = 2  # jobs training at once; more get HTTP 429 (2 cores shared by all)
# Finished jobs kept in memory for their results routes; a 500-seed, 1000-epoch job holds
# ~32 MB of curves as Python lists, so a few.
KEEP_FINISHED = 8
# A job that nobody streams or polls for this long stops (after its epoch in flight):
# a page that posted a job and went away, or a script that never reads its results.
IDLE_SECONDS = 60.0
# Open event streams: each polls its job ten times a second, so a hundred of them slow
# every job; a page needs one per job (two while it reconnects).
MAX_STREAMS_PER_JOB = 4
MAX_STREAMS = 16
ACCURACY_BINS = 20  # histogram of final accuracy: 5% bins

RUNNING, DONE, STOPPED, ERROR = "running", "done", "stopped", "error"
FINISHED = (DONE, STOPPED, ERROR)


class Stopped(Exception):
    """Raised from the engine's per-epoch callback to end a job early."""


class Busy(Exception):
    """Too many jobs are training (or streams open); the caller should try again later."""


def finite(values: Sequence[float], digits: int = 6) -> list[float | None]:
    """JSON-safe numbers: NaN and infinities (a diverged run) become null."""
    return [json_number(round(v, digits)) for v in map(float, values)]


def params_json(params: dict[str, np.ndarray] | None) -> dict[str, list] | None:
    """A run's parameters as nested lists, non-finite entries as null."""
    if params is None:
        return None
    return {name: json_safe(np.round(np.asarray(value, dtype=np.float64), 7)) for name, value in params.items()}


def rate_json(k: int, n: int) -> dict[str, Any]:
    r = wilson(k, n)
    return {"k": r.k, "n": r.n, "low": r.low if n else None, "high": r.high if n else None}


@dataclass
class Job:
    """One job's state. The worker appends; readers copy under the lock."""

    settings: Settings
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: str = RUNNING
    error: str | None = None
    cached: int = 0  # runs that came from the store
    snapshots: list[dict] = field(default_factory=list)  # one per engine snapshot, JSON-ready
    params: list[dict | None] = field(default_factory=list)  # latest parameters of each run
    params_version: int = 0
    results: list[RunResult] | None = None
    summary: dict | None = None
    started: float = field(default_factory=time.monotonic)
    seconds: float | None = None
    idle_seconds: float = IDLE_SECONDS

    @property
    def idle(self) -> bool:
        """Nobody has streamed or polled this job for `idle_seconds`."""
        return self.listeners == 0 and time.monotonic() - self.seen > self.idle_seconds

    def touch(self) -> None:
        self.seen = time.monotonic()

    def __post_init__(self) -> None:
        self.configs: list[RunConfig] = self.settings.configs()
        self.params = [None] * len(self.configs)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.listeners = 0
        self.seen = self.started

    # --- reading (any thread) ---
    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def read(self, cursor: int) -> tuple[list[dict], str]:
        with self._lock:
            return self.snapshots[cursor:], self.state

    def copy(self) -> tuple[list[dict], list[dict | None]]:
        """Every snapshot so far and each run's latest parameters, consistent with each other."""
        with self._lock:
            return list(self.snapshots), list(self.params)

    def latest_params(self) -> tuple[int, list[dict | None]]:
        with self._lock:
            return self.params_version, list(self.params)

    def replay(self, i: int) -> str:
        return train_command(self.configs[i])

    def start_info(self) -> dict[str, Any]:
        return {"id": self.id, "settings": self.settings.to_dict(), "runs": len(self.configs),
                "seeds": [c.seed for c in self.configs], "replay": self.replay(0), "state": self.state}

    def status(self) -> dict[str, Any]:
        with self._lock:
            epoch = self.snapshots[-1]["epoch"] if self.snapshots else 0
        return {**self.start_info(), "epoch": epoch, "cached": self.cached, "error": self.error,
                "seconds": self.seconds, "summary": self.summary}

    # --- control ---
    def stop(self) -> None:
        self._stop.set()

    # --- the worker ---
    def run(self, store_path: Path) -> None:
        try:
            self._train(store_path)
            self._finish(DONE)
        except Stopped:
            self._finish(STOPPED)
        except Exception as err:  # shown on the page as "error: ..."; the server keeps serving
            self.error = f"{type(err).__name__}: {err}"
            self._finish(ERROR)

    def _train(self, store_path: Path) -> None:
        engine = resolve(ENGINE)
        with Store(store_path) as store:
            found = store.get(self.configs, engine)
            keys = [run_key(c, engine) for c in self.configs]
            stored = [i for i, k in enumerate(keys) if k in found]
            missing = [i for i, k in enumerate(keys) if k not in found]
            self.cached = len(stored)
            results: list[RunResult | None] = [found.get(k) for k in keys]
            if stored:
                self._replay(stored, [results[i] for i in stored])
            if missing:
                trained = run_many([self.configs[i] for i in missing], engine=ENGINE,
                                   on_epoch=lambda snap: self._on_epoch(snap, missing))
                store.put(trained, engine)
                for i, r in zip(missing, trained):
                    results[i] = r
        self.results = results  # type: ignore[assignment]
        self.summary = summarise(self.results)

    def _on_epoch(self, snap: EpochSnapshot, positions: Sequence[int]) -> None:
        if self._stop.is_set() or self.idle:
            raise Stopped
        self._add(snap.epoch, [positions[i] for i in snap.indices], snap.test_loss, snap.test_correct, snap.params)

    def _replay(self, indices: list[int], results: list[RunResult]) -> None:
        """Stored runs as the snapshots training would have sent (all at once)."""
        loss = np.stack([r.test_loss for r in results])  # (R, E)
        correct = np.stack([r.test_correct for r in results])  # (R, E)
        for e in range(loss.shape[1]):
            last = e == loss.shape[1] - 1
            self._add(e + 1, indices, loss[:, e], correct[:, e], [r.params for r in results] if last else None)

    def _add(self, epoch: int, indices: list[int], loss: np.ndarray, correct: np.ndarray,
             params: Sequence[dict[str, np.ndarray]] | None) -> None:
        total = self.configs[0].test_total
        snap = {"epoch": epoch, "runs": indices, "loss": finite(loss),
                "accuracy": [round(int(c) / total, 4) for c in correct]}
        with self._lock:
            self.snapshots.append(snap)
            if params is not None:
                for i, p in zip(indices, params):
                    self.params[i] = p
                self.params_version += 1

    def _finish(self, state: str) -> None:
        with self._lock:
            self.seconds = time.monotonic() - self.started
            self.state = state


def summarise(results: Sequence[RunResult]) -> dict[str, Any]:
    """What the page shows when a job is done: success k/n with its Wilson interval,
    the histogram of final accuracy, and each run's failure mode (`diagnosis`)."""
    modes = [diagnosis.diagnose(r).mode for r in results]
    counts: dict[str, int] = {}
    for m in modes:
        counts[m] = counts.get(m, 0) + 1
    acc = np.array([r.final_accuracy for r in results])
    hist, _ = np.histogram(acc, bins=ACCURACY_BINS, range=(0.0, 1.0))
    k = sum(r.success for r in results)
    return {"rate": rate_json(k, len(results)), "histogram": hist.tolist(),
            "modes": sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])),
            "runs": [{"seed": r.config.seed, "success": r.success, "final_accuracy": r.final_accuracy,
                      "final_loss": finite([r.final_test_loss])[0], "diverged": r.diverged, "mode": m}
                     for r, m in zip(results, modes)]}


def live_modes(job: Job) -> list[tuple[str, int]]:
    """Failure modes of the runs as they stand now (their latest parameters and curves)."""
    snaps, params = job.copy()
    loss: dict[int, list[float]] = {}
    correct: dict[int, list[float]] = {}
    for s in snaps:
        for i, l, a in zip(s["runs"], s["loss"], s["accuracy"]):
            loss.setdefault(i, []).append(np.nan if l is None else l)
            correct.setdefault(i, []).append(a)
    counts: dict[str, int] = {}
    for i, p in enumerate(params):
        if p is None or i not in loss:
            continue
        c = job.configs[i]
        tl = np.array(loss[i])
        r = RunResult(c, np.zeros((len(tl), 5)), tl, np.round(np.array(correct[i]) * c.test_total).astype(np.int64), p)
        m = diagnosis.diagnose(r).mode
        counts[m] = counts.get(m, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


class Jobs:
    """The server's jobs: at most `max_running` training at once, the last few kept."""

    def __init__(self, store_path: Path, max_running: int = MAX_RUNNING, idle_seconds: float = IDLE_SECONDS,
                 max_streams: tuple[int, int] = (MAX_STREAMS_PER_JOB, MAX_STREAMS)):
        self.store_path = Path(store_path)
        self.max_running = max_running
        self.idle_seconds = idle_seconds
        self.max_streams = max_streams  # (per job, in all)
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        # Reentrant: a stream dropped before it began is uncounted by a finalizer that may
        # run, in garbage collection, while this thread holds the lock.
        self._lock = threading.RLock()

    def create(self, settings: Settings) -> Job:
        with self._lock:
            running = sum(not j.finished for j in self._jobs.values())
            if running >= self.max_running:
                raise Busy(f"{running} jobs are training, the most this server runs at once; "
                           "stop one or try again when one finishes")
            job = Job(settings, idle_seconds=self.idle_seconds)
            self._jobs[job.id] = job
            self._forget_old()
        threading.Thread(target=job.run, args=(self.store_path,), name=f"xorlab-job-{job.id}",
                         daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None:
            job.touch()  # polled: someone still wants it
        return job

    def open_stream(self, job: Job) -> None:
        """Count a new event stream of `job` (`close_stream` uncounts it); Busy beyond the limits."""
        per_job, total = self.max_streams
        with self._lock:
            streams = sum(j.listeners for j in self._jobs.values())
            if job.listeners >= per_job or streams >= total:
                raise Busy(f"{job.listeners} event streams are open on this job and {streams} in all "
                           f"(at most {per_job} and {total}); close one and try again")
            job.listeners += 1

    def close_stream(self, job: Job) -> None:
        with self._lock:
            job.listeners -= 1
            job.touch()

    def stop_all(self, timeout: float = 10.0) -> None:
        with self._lock:
            jobs = list(self._jobs.values())
        for j in jobs:
            j.stop()
        deadline = time.monotonic() + timeout
        while any(not j.finished for j in jobs) and time.monotonic() < deadline:
            time.sleep(0.02)

    def _forget_old(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.finished]
        for k in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[k]
