"""The results store: every run of a study in one embedded SQLite file.

A run is keyed by its config (which carries its seed), the engine that trained it and
that engine's version (`engines.ENGINE_VERSIONS`), so a re-run reuses finished runs and
a changed engine retrains. Runs are trained in chunks and each chunk is committed
before the next starts (WAL journal), so an interrupted study (Ctrl-C, kill -9)
resumes where it stopped and loses at most the chunk in flight.

A run's arrays are stored as their raw NumPy bytes, with dtype and shape beside them,
rather than as numbers, because Python's sqlite3 turns NaN into NULL; a run's status
('ok' or 'diverged') is stored explicitly for the same reason. (Raw bytes rather than
`.npy`/`.npz`: parsing their headers cost over 2 ms a run when loading a study.)
"""

from __future__ import annotations

import json
import math
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from . import machine
from .config import RunConfig
from .engines import ENGINE_VERSIONS, ProgressCallback, resolve, run_many
from .result import RunResult

FILENAME = "runs.sqlite"

# Runs trained (and committed) together. Big enough that the batched engine works on
# full batches, small enough that an interruption loses seconds, not minutes.
CHUNK_RUNS = 4096

# Bumped whenever the table below changes; a store of another version is refused, not
# misread. (Columns only added, like PROVENANCE, are added to older stores instead.)
SCHEMA_VERSION = 1
PROVENANCE = ("torch_version", "cpu_capability")

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
    layout TEXT NOT NULL,          -- JSON [name, dtype, shape, offset] of each array in `arrays`
    arrays BLOB NOT NULL,          -- train_loss (epochs, 5), test_loss (epochs,),
                                   -- test_correct (epochs,), then each final parameter
    torch_version TEXT,            -- what trained it: float32 digits are exact only for the
    cpu_capability TEXT,           -- same torch and CPU kernels (see machine.py); NULL: unknown
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
"""

Runner = Callable[..., list[RunResult]]


PARAM = "param:"  # prefix of parameter names in a layout


def pack(arrays: dict[str, np.ndarray]) -> tuple[str, bytes]:
    """Arrays as one blob plus a JSON layout giving each one's dtype, shape and offset."""
    layout, parts, offset = [], [], 0
    for name, a in arrays.items():
        data = np.ascontiguousarray(a).tobytes()
        layout.append([name, np.asarray(a).dtype.str, list(np.shape(a)), offset])
        parts.append(data)
        offset += len(data)
    return json.dumps(layout), b"".join(parts)


def unpack(layout: str, blob: bytes) -> dict[str, np.ndarray]:
    arrays = {}
    for name, dtype, shape, offset in json.loads(layout):
        count = math.prod(shape)
        arrays[name] = np.frombuffer(blob, dtype=dtype, count=count, offset=offset).reshape(shape).copy()
    return arrays


def run_key(config: RunConfig, engine: str) -> str:
    """The store key of a config trained by a (resolved) engine at its current version."""
    return f"{config.key()}:{engine}:{ENGINE_VERSIONS[engine]}"


def batch_group(config: RunConfig) -> tuple:
    """Configs with equal groups have the same shapes and schedule, so an engine can
    train them as one batch; chunks are cut along these groups."""
    return (config.epochs, config.dtype, config.inputs, config.hidden,
            config.activation, config.init, config.center)


def chunks(configs: Sequence[RunConfig], size: int) -> Iterator[list[RunConfig]]:
    """Configs ordered by batch group (stable), cut into chunks of at most `size`."""
    ordered = sorted(configs, key=batch_group)
    for start in range(0, len(ordered), size):
        yield ordered[start:start + size]


class StoreError(ValueError):
    """The store file exists but cannot be used (damaged, read-only, or another schema)."""


# A row that cannot be read back (its layout not JSON, its arrays cut short, ...) is
# treated as missing: its run is trained again and the row replaced.
DAMAGED_ROW = (ValueError, TypeError, KeyError, IndexError)


@contextmanager
def reporting(path: Path):
    """SQLite's errors as one StoreError naming the file and what to do about it."""
    try:
        yield
    except sqlite3.DatabaseError as err:
        text = str(err)
        if "readonly" in text or "unable to open" in text or "read-only" in text:
            advice = "make the file and its folder writable, or use another output folder"
        elif "malformed" in text or "not a database" in text or "corrupt" in text:
            advice = ("move it away and run again to start afresh (sqlite3's .recover may save its "
                      "runs), or use another output folder")
        else:
            advice = "check the file, or use another output folder"
        raise StoreError(f"cannot use the results store {path} ({text}): {advice}") from None


class Store:
    """Runs in an SQLite file; `run` trains only what is missing."""

    def __init__(self, path: str | Path, runner: Runner | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._runner = runner or run_many
        with reporting(self.path):
            self.db = sqlite3.connect(self.path)
            self.db.execute("PRAGMA journal_mode=WAL")
            self._check_schema()

    def _check_schema(self) -> None:
        (version,) = self.db.execute("PRAGMA user_version").fetchone()
        empty = not self.db.execute("SELECT name FROM sqlite_master").fetchall()
        if empty:
            with self.db:
                self.db.executescript(SCHEMA)
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION:
            self.db.close()
            raise StoreError(f"{self.path} was written by another version of xorlab's store "
                             f"(schema {version}, this is {SCHEMA_VERSION}); use another output folder")
        have = {column for _, column, *_ in self.db.execute("PRAGMA table_info(runs)")}
        with self.db:
            for column in PROVENANCE:
                if column not in have:  # a store from before these columns: its runs say NULL
                    self.db.execute(f"ALTER TABLE runs ADD COLUMN {column} TEXT")
        # A store that cannot be written is found now, not after its first chunk has trained:
        # a write of what is there, rolled back (in WAL mode only a write finds it out).
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        finally:
            self.db.execute("ROLLBACK")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        with reporting(self.path):
            return self.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def put(self, results: Sequence[RunResult], engine: str) -> None:
        """Store results trained by `engine` (resolved name) in one transaction."""
        with reporting(self.path), self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO runs (key, config_key, config, seed, engine, engine_version, "
                "status, final_test_loss, final_correct, final_accuracy, success, layout, arrays, "
                "torch_version, cpu_capability) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*row(r, engine), machine.torch_version(), machine.cpu_capability()) for r in results],
            )

    def get(self, configs: Sequence[RunConfig], engine: str) -> dict[str, RunResult]:
        """Stored results for the configs, by store key (missing ones absent)."""
        return self._get(list(dict.fromkeys(run_key(c, engine) for c in configs)))

    def _get(self, keys: list[str]) -> dict[str, RunResult]:
        found = {}
        with reporting(self.path):
            for start in range(0, len(keys), 500):  # SQLite caps the number of parameters
                part = keys[start:start + 500]
                marks = ",".join("?" * len(part))
                for rec in self.db.execute(
                    "SELECT key, config, engine, layout, arrays "
                    f"FROM runs WHERE key IN ({marks})", part):
                    try:
                        found[rec[0]] = from_row(rec)
                    except DAMAGED_ROW:
                        pass  # missing, then: trained again and replaced
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
        keys = [run_key(c, name) for c in configs]  # hashing a config is not free: once each
        found = self._get(list(dict.fromkeys(keys)))
        missing = {k: c for k, c in zip(keys, configs) if k not in found}
        if on_progress is not None:
            on_progress(sum(k in found for k in keys))
        for chunk in chunks(list(missing.values()), chunk_runs or CHUNK_RUNS):
            results = self._runner(chunk, engine=name, on_progress=on_progress)
            self.put(results, name)
            found.update((run_key(r.config, name), r) for r in results)
        return [found[k] for k in keys]


def row(r: RunResult, engine: str) -> tuple:
    c = r.config
    final_loss = r.final_test_loss
    layout, blob = pack({"train_loss": r.train_loss, "test_loss": r.test_loss,
                         "test_correct": r.test_correct,
                         **{PARAM + k: v for k, v in r.params.items()}})
    return (run_key(c, engine), c.key(), c.to_json(), c.seed, engine, ENGINE_VERSIONS[engine],
            "diverged" if r.diverged else "ok", final_loss if np.isfinite(final_loss) else None,
            r.final_correct, r.final_accuracy, int(r.success), layout, blob)


def from_row(rec: tuple) -> RunResult:
    _, config, engine, layout, blob = rec
    arrays = unpack(layout, blob)
    params = {k[len(PARAM):]: v for k, v in arrays.items() if k.startswith(PARAM)}
    return RunResult(config=RunConfig.from_dict(json.loads(config)), train_loss=arrays["train_loss"],
                     test_loss=arrays["test_loss"], test_correct=arrays["test_correct"],
                     params=params, engine=engine)
