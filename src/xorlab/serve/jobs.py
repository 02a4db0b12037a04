"""A playground job: settings in, the engine in a worker thread, events out.

The worker trains through `engines.run_many` (the default engine, its own batching)
and keeps every epoch snapshot; readers (the event stream, the results route) take
what is new since their cursor, so any number of them can follow a job, late or
reconnecting, and see the same sequence. Runs already in the results store are not
retrained (`Store.lookup`, as `Store.run`): their stored curves are replayed as
snapshots. A comparison trains both settings' runs in one call, so the engine steps
them in lockstep, epoch by epoch. The engine's per-epoch callback is where a job is
controlled: stopping raises `Stopped` there, so training ends after the epoch in
flight, and a paused job waits there on a condition (no CPU) until resumed, stepped,
stopped, forgotten (nobody follows it) or paused too long.
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

from ..config import RunConfig
from ..engines import EpochSnapshot, resolve, run_many
from ..result import RunResult
from ..store import Store
from ..replay import train_command
from .settings import Settings
from .views import Side, difference_json, finite, summarise

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

# A job paused and forgotten (nobody resumes it) stops after this long, streamed or not.
PAUSE_SECONDS = 300.0
WAIT_SECONDS = 1.0  # a paused worker looks at the clocks above this often

RUNNING, PAUSED, DONE, STOPPED, ERROR = "running", "paused", "done", "stopped", "error"
FINISHED = (DONE, STOPPED, ERROR)


class Stopped(Exception):
    """Raised from the engine's per-epoch callback to end a job early."""


class Busy(Exception):
    """Too many jobs are training (or streams open); the caller should try again later."""


@dataclass
class Job:
    """One job's state: one setting's seeds, or two settings' on the same seeds (runs
    0..n-1 are A's, n..2n-1 B's of the same seeds). The worker appends; readers copy
    under the lock. The worker waits on `_gate` (the lock's condition) while paused."""

    settings: Settings
    compare: Settings | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: str = RUNNING
    error: str | None = None
    reason: str | None = None  # why a stopped job stopped
    cached: int = 0  # runs that came from the store
    epoch: int = 0  # of the latest snapshot
    snapshots: list[dict] = field(default_factory=list)  # one per engine snapshot, JSON-ready
    changes: list[dict] = field(default_factory=list)  # `state` events: paused, running again
    params: list[dict | None] = field(default_factory=list)  # latest parameters of each run
    params_version: int = 0
    results: list[RunResult] | None = None
    summary: dict | None = None
    started: float = field(default_factory=time.monotonic)
    seconds: float | None = None
    idle_seconds: float = IDLE_SECONDS
    pause_seconds: float = PAUSE_SECONDS

    @property
    def idle(self) -> bool:
        """Nobody has streamed or polled this job for `idle_seconds`."""
        return self.listeners == 0 and time.monotonic() - self.seen > self.idle_seconds

    def touch(self) -> None:
        self.seen = time.monotonic()

    def __post_init__(self) -> None:
        self.sides = [Side("A", 0, self.settings.seeds)]
        self.configs: list[RunConfig] = self.settings.configs()
        if self.compare is not None:
            self.sides.append(Side("B", len(self.configs), self.compare.seeds))
            self.configs += self.compare.configs()
        self.params = [None] * len(self.configs)
        self._lock = threading.Lock()
        self._gate = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._pause = False  # asked to pause (in effect once the epoch in flight ends)
        self._steps = 0  # epochs a paused job may still train (a step)
        self.listeners = 0
        self.seen = self.started

    # --- reading (any thread) ---
    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def read(self, cursor: int, changes: int = 0) -> tuple[list[dict], list[dict], str]:
        """Snapshots and state changes since the cursors, and the state, consistent."""
        with self._lock:
            return self.snapshots[cursor:], self.changes[changes:], self.state

    def copy(self) -> tuple[list[dict], list[dict | None]]:
        """Every snapshot so far and each run's latest parameters, consistent with each other."""
        with self._lock:
            return list(self.snapshots), list(self.params)

    def latest_params(self) -> tuple[int, list[dict | None]]:
        with self._lock:
            return self.params_version, list(self.params)

    def replay(self, i: int) -> str:
        return train_command(self.configs[i])

    def side(self, i: int) -> str:
        return next(s.name for s in self.sides if i in s.runs)

    def start_info(self) -> dict[str, Any]:
        b = self.sides[1] if self.compare is not None else None
        return {"id": self.id, "state": self.state, "settings": self.settings.to_dict(),
                "compare": self.compare.to_dict() if self.compare is not None else None,
                "runs": len(self.configs), "seeds": [c.seed for c in self.configs[: self.settings.seeds]],
                "sides": [s.json() for s in self.sides], "replay": self.replay(0),
                "replay_b": self.replay(b.first) if b is not None else None,
                "epochs": max(c.epochs for c in self.configs)}

    def status(self) -> dict[str, Any]:
        with self._lock:
            live = {"epoch": self.epoch, "paused": self._pause, "pause_seconds": self.pause_seconds}
        return {**self.start_info(), **live, "cached": self.cached, "error": self.error, "reason": self.reason,
                "seconds": self.seconds, "summary": self.summary}

    # --- control (any thread) ---
    def stop(self, reason: str = "cancelled") -> None:
        with self._gate:
            if not self.finished and self.reason is None:
                self.reason = reason
            self._stop.set()
            self._gate.notify_all()

    def cancel(self) -> dict[str, Any]:
        """Stop after the epoch in flight (at once if paused)."""
        self.stop()
        with self._lock:
            return self.control_state()

    def pause(self) -> dict[str, Any]:
        """Pause after the epoch in flight."""
        with self._gate:
            self._pause, self._steps = not self.finished, 0
            return self.control_state()

    def resume(self) -> dict[str, Any]:
        with self._gate:
            self._pause = False
            self._gate.notify_all()
            return self.control_state()

    def step(self) -> dict[str, Any]:
        """A paused job trains one more epoch of every run and pauses again; a running
        one pauses after the epoch in flight."""
        with self._gate:
            if self.state == PAUSED:
                self._steps = 1
                self._gate.notify_all()
            elif not self.finished:
                self._pause = True
            return self.control_state()

    def control_state(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "paused": self._pause, "epoch": self.epoch}

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
            keys, found = store.lookup(self.configs, engine)
            results: list[RunResult | None] = [found.get(k) for k in keys]
            stored = [i for i, r in enumerate(results) if r is not None]
            missing = [i for i, r in enumerate(results) if r is None]
            self.cached = len(stored)
            if stored:
                self._replay(stored, [results[i] for i in stored])
            if missing:
                trained = run_many([self.configs[i] for i in missing], engine=ENGINE,
                                   on_epoch=lambda snap: self._on_epoch(snap, missing))
                store.put(trained, engine)
                for i, r in zip(missing, trained):
                    results[i] = r
        self.results = results  # type: ignore[assignment]
        self.summary = self._summarise()

    def _summarise(self) -> dict[str, Any]:
        a, *b = [summarise([self.results[i] for i in s.runs]) for s in self.sides]
        if not b:
            return a
        return {**a, "b": b[0], "difference": difference_json(a["rate"], b[0]["rate"])}

    def _on_epoch(self, snap: EpochSnapshot, positions: Sequence[int]) -> None:
        self._check(time.monotonic())
        self._add(snap.epoch, [positions[i] for i in snap.indices], snap.test_loss, snap.test_correct, snap.params)
        self._wait_if_paused()

    def _check(self, paused_since: float) -> None:
        """Raise Stopped when cancelled, when nobody follows the job, or paused too long."""
        if time.monotonic() - paused_since > self.pause_seconds:
            self.stop(f"paused for more than {self.pause_seconds:g} s")
        elif self.idle:
            self.stop(f"nobody followed it for {self.idle_seconds:g} s")
        if self._stop.is_set():
            raise Stopped

    def _wait_if_paused(self) -> None:
        """Hold here, between epochs, while paused: waiting on the condition, no CPU."""
        since = time.monotonic()
        with self._gate:
            if not self._pause or self._steps:
                self._steps = max(0, self._steps - 1)
                return
            self._change(PAUSED)
            while self._pause and not self._steps:
                self._gate.release()  # _check may stop (which takes the lock)
                try:
                    self._check(since)
                finally:
                    self._gate.acquire()
                self._gate.wait(min(WAIT_SECONDS, self.idle_seconds / 4, self.pause_seconds / 4))
            self._steps = 0
            self._change(RUNNING)

    def _change(self, state: str) -> None:
        """A paused or running-again job (the lock held): its state and a `state` event."""
        self.state = state
        self.changes.append({"state": state, "epoch": self.epoch})

    def _replay(self, indices: list[int], results: list[RunResult]) -> None:
        """Stored runs as the snapshots training would have sent (all at once); the two
        sides of a comparison may have different budgets."""
        lengths = [len(r.test_loss) for r in results]
        for e in range(max(lengths)):
            here = [k for k, n in enumerate(lengths) if n > e]
            self._add(e + 1, [indices[k] for k in here], np.array([results[k].test_loss[e] for k in here]),
                      np.array([results[k].test_correct[e] for k in here]),
                      [results[k].params if lengths[k] == e + 1 else None for k in here])

    def _add(self, epoch: int, indices: list[int], loss: np.ndarray, correct: np.ndarray,
             params: Sequence[dict[str, np.ndarray] | None]) -> None:
        total = self.configs[0].test_total
        snap = {"epoch": epoch, "runs": indices, "loss": finite(loss),
                "accuracy": [round(int(c) / total, 4) for c in correct]}
        with self._lock:
            self.snapshots.append(snap)
            self.epoch = epoch
            fresh = [(i, p) for i, p in zip(indices, params) if p is not None]
            for i, p in fresh:
                self.params[i] = p
            self.params_version += bool(fresh)

    def _finish(self, state: str) -> None:
        with self._gate:
            self.seconds = time.monotonic() - self.started
            self.state = state
            self._pause = False


class Jobs:
    """The server's jobs: at most `max_running` training at once, the last few kept."""

    def __init__(self, store_path: Path, max_running: int = MAX_RUNNING, idle_seconds: float = IDLE_SECONDS,
                 max_streams: tuple[int, int] = (MAX_STREAMS_PER_JOB, MAX_STREAMS),
                 pause_seconds: float = PAUSE_SECONDS):
        self.store_path = Path(store_path)
        self.max_running = max_running
        self.idle_seconds = idle_seconds
        self.pause_seconds = pause_seconds
        self.max_streams = max_streams  # (per job, in all)
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        # Reentrant: a stream dropped before it began is uncounted by a finalizer that may
        # run, in garbage collection, while this thread holds the lock.
        self._lock = threading.RLock()

    def create(self, settings: Settings, compare: Settings | None = None) -> Job:
        with self._lock:
            running = sum(not j.finished for j in self._jobs.values())
            if running >= self.max_running:
                raise Busy(f"{running} jobs are training, the most this server runs at once; "
                           "stop one or try again when one finishes")
            job = Job(settings, compare, idle_seconds=self.idle_seconds, pause_seconds=self.pause_seconds)
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
