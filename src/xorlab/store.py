"""The results store: every run of a study in one embedded SQLite file.

A run is keyed by its config (which carries its seed), the engine that trained it and
that engine's version (`engines.ENGINE_VERSIONS`), so a re-run reuses finished runs and
a changed engine retrains. Runs are trained in chunks and each chunk is committed
before the next starts (WAL journal), so an interrupted study (Ctrl-C, kill -9)
resumes where it stopped and loses at most the chunk in flight.

Arrays are stored as `.npy` bytes (dtype and shape included) rather than as numbers,
because Python's sqlite3 turns NaN into NULL; a run's status ('ok' or 'diverged') is
stored explicitly for the same reason.
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from .config import RunConfig
from .engines import ENGINE_VERSIONS, ProgressCallback, resolve, run_many
from .result import RunResult

FILENAME = "runs.sqlite"

# Runs trained (and committed) together. Big enough that the batched engine works on
# full batches, small enough that an interruption loses seconds, not minutes.
CHUNK_RUNS = 2000

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,          -- config key + engine + engine version
    config_key TEXT NOT NULL,
    config TEXT NOT NULL,          -- RunConfig as JSON
    seed INTEGER,
    engine TEXT NOT NULL,
    engine_version TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'diverged')),
    final_test_loss REAL,          -- NULL when not finite; the curves keep the NaN
    final_correct INTEGER NOT NULL,
    final_accuracy REAL NOT NULL,
    success INTEGER NOT NULL,
    train_loss BLOB NOT NULL,      -- .npy (epochs, 5)
    test_loss BLOB NOT NULL,       -- .npy (epochs,)
    test_correct BLOB NOT NULL,    -- .npy (epochs,)
    params BLOB NOT NULL,          -- .npz, one array per parameter name
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
"""

Runner = Callable[..., list[RunResult]]


def array_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(a), allow_pickle=False)
    return buf.getvalue()


def bytes_array(b: bytes) -> np.ndarray:
    return np.load(io.BytesIO(b), allow_pickle=False)


def params_bytes(params: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{name: np.asarray(p) for name, p in params.items()})
    return buf.getvalue()


def bytes_params(b: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(b), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def run_key(config: RunConfig, engine: str) -> str:
    """The store key of a config trained by a (resolved) engine at its current version."""
    return f"{config.key()}:{engine}:{ENGINE_VERSIONS[engine]}"


def batch_group(config: RunConfig) -> tuple:
    """Configs with equal groups have the same shapes and schedule, so an engine can
    train them as one batch; chunks are cut along these groups."""
    return (config.inputs, config.hidden, config.epochs, config.dtype,
            config.activation, config.init, config.center)


def chunks(configs: Sequence[RunConfig], size: int) -> Iterator[list[RunConfig]]:
    """Configs ordered by batch group (stable), cut into chunks of at most `size`."""
    ordered = sorted(configs, key=batch_group)
    for start in range(0, len(ordered), size):
        yield ordered[start:start + size]


class Store:
    """Runs in an SQLite file; `run` trains only what is missing."""

    def __init__(self, path: str | Path, runner: Runner | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._runner = runner or run_many
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def put(self, results: Sequence[RunResult], engine: str) -> None:
        """Store results trained by `engine` (resolved name) in one transaction."""
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO runs (key, config_key, config, seed, engine, engine_version, "
                "status, final_test_loss, final_correct, final_accuracy, success, train_loss, "
                "test_loss, test_correct, params) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [row(r, engine) for r in results],
            )

    def get(self, configs: Sequence[RunConfig], engine: str) -> dict[str, RunResult]:
        """Stored results for the configs, by store key (missing ones absent)."""
        keys = list(dict.fromkeys(run_key(c, engine) for c in configs))
        found = {}
        for start in range(0, len(keys), 500):  # SQLite caps the number of parameters
            part = keys[start:start + 500]
            marks = ",".join("?" * len(part))
            for rec in self.db.execute(
                "SELECT key, config, engine, train_loss, test_loss, test_correct, params "
                f"FROM runs WHERE key IN ({marks})", part):
                found[rec[0]] = from_row(rec)
        return found

    def run(self, configs: Sequence[RunConfig], engine: str = "auto",
            on_progress: ProgressCallback | None = None, chunk_runs: int | None = None) -> list[RunResult]:
        """Results for the configs, in order: stored ones reused, missing ones trained
        chunk by chunk, each chunk committed before the next. `on_progress(n)` is called
        with the runs found stored, then with each batch of runs trained.
        `chunk_runs` defaults to CHUNK_RUNS."""
        if any(c.seed is None for c in configs):
            raise ValueError("every config in a study must carry its seed")
        name = resolve(engine)
        found = self.get(configs, name)
        missing = list({run_key(c, name): c for c in configs if run_key(c, name) not in found}.values())
        if on_progress is not None:
            on_progress(len(configs) - sum(run_key(c, name) not in found for c in configs))
        for chunk in chunks(missing, chunk_runs or CHUNK_RUNS):
            results = self._runner(chunk, engine=name, on_progress=on_progress)
            self.put(results, name)
            found.update((run_key(r.config, name), r) for r in results)
        return [found[run_key(c, name)] for c in configs]

    def seeds(self) -> list[int]:
        return [s for (s,) in self.db.execute("SELECT DISTINCT seed FROM runs ORDER BY seed")]


def row(r: RunResult, engine: str) -> tuple:
    c = r.config
    final_loss = r.final_test_loss
    return (run_key(c, engine), c.key(), c.to_json(), c.seed, engine, ENGINE_VERSIONS[engine],
            "diverged" if r.diverged else "ok", final_loss if np.isfinite(final_loss) else None,
            r.final_correct, r.final_accuracy, int(r.success), array_bytes(r.train_loss),
            array_bytes(r.test_loss), array_bytes(r.test_correct), params_bytes(r.params))


def from_row(rec: tuple) -> RunResult:
    _, config, engine, train_loss, test_loss, test_correct, params = rec
    return RunResult(config=RunConfig.from_dict(json.loads(config)),
                     train_loss=bytes_array(train_loss), test_loss=bytes_array(test_loss),
                     test_correct=bytes_array(test_correct), params=bytes_params(params),
                     engine=engine)
